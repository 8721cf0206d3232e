// fs/trans/buf_log_type.cc — the buffer type a log buffer item carries,
// from the buffer's magic (docs/log.md "Items recovery replays" lists the
// types; the magics are fs/format/magic.h's).
#include <cstddef>

#include "fs/format/endian.h"
#include "fs/format/log.h"
#include "fs/format/magic.h"
#include "fs/trans/trans.h"

namespace xfsfuse::fs {

uint16_t buf_log_type(std::span<const std::byte> data) {
  if (data.size() < 16) return XD_BLFT_UNKNOWN;
  const uint32_t m32 = static_cast<uint32_t>(bc::load_be(data.data(), 4));
  switch (m32) {
    case kSbMagic: return XD_BLFT_SB;
    case kAgfMagic: return XD_BLFT_AGF;
    case kAgiMagic: return XD_BLFT_AGI;
    case kAgflMagic: return XD_BLFT_AGFL;
    case kBnobtMagic:
    case kCntbtMagic:
    case kInobtMagic:
    case kFinobtMagic:
    case kRefcountbtMagic:
    case kRmapbtMagic:
    case kBmbtMagic: return XD_BLFT_BTREE;
    case kDir3BlockMagic: return XD_BLFT_DIR_BLOCK;
    case kDir3DataMagic: return XD_BLFT_DIR_DATA;
    case kDir3FreeMagic: return XD_BLFT_DIR_FREE;
    case kSymlinkMagic: return XD_BLFT_SYMLINK;
    case kAttr3RemoteMagic: return XD_BLFT_ATTR_RMT;
    default: break;
  }
  if (static_cast<uint16_t>(bc::load_be(data.data(), 2)) == kInodeMagic) return XD_BLFT_DINO;
  // Da btree blocks: the magic is the 16 bits at byte 8 (xd_da3_blkinfo).
  switch (static_cast<uint16_t>(bc::load_be(data.data() + 8, 2))) {
    case kDir3Leaf1Magic: return XD_BLFT_DIR_LEAF1;
    case kDir3LeafnMagic: return XD_BLFT_DIR_LEAFN;
    case kDa3NodeMagic: return XD_BLFT_DA_NODE;
    case kAttr3LeafMagic: return XD_BLFT_ATTR_LEAF;
    default: return XD_BLFT_UNKNOWN;
  }
}

}  // namespace xfsfuse::fs
