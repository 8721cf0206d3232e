// fs/log/replay_buf.cc — replaying buffer items: the cancel table, regular
// buffers (dirty 128-byte chunks, then the verifier stamps the LSN and the
// CRC), inode buffers (only di_next_unlinked).  Facts: docs/log.md
// "Buffer items" and "Recovery".
#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <cstring>

#include "fs/format/ag.h"
#include "fs/format/btree.h"
#include "fs/format/dir.h"
#include "fs/format/endian.h"
#include "fs/format/inode.h"
#include "fs/format/log.h"
#include "fs/format/magic.h"
#include "fs/format/sb.h"
#include "fs/inode.h"
#include "fs/log/replay_internal.h"

namespace xfsfuse::fs::xlog {

namespace {

constexpr uint64_t kUnknownLsn = ~uint64_t{0};

uint64_t load64(std::span<const std::byte> b, size_t off) {
  return off + 8 <= b.size() ? bc::load_be(b.data() + off, 8) : kUnknownLsn;
}
uint32_t load32(std::span<const std::byte> b, size_t off) {
  return off + 4 <= b.size() ? static_cast<uint32_t>(bc::load_be(b.data() + off, 4)) : 0;
}
uint16_t load16(std::span<const std::byte> b, size_t off) {
  return off + 2 <= b.size() ? static_cast<uint16_t>(bc::load_be(b.data() + off, 2)) : 0;
}

bool bit_set(const uint32_t* map, uint32_t bit) { return (map[bit / 32] >> (bit % 32)) & 1; }

std::string hex(uint64_t v) {
  char s[24];
  std::snprintf(s, sizeof s, "0x%llx", static_cast<unsigned long long>(v));
  return s;
}

}  // namespace

uint64_t metadata_lsn(std::span<const std::byte> buf, const Superblock& sb) {
  auto with_uuid = [&](size_t lsn_off, size_t uuid_off, const bc::Uuid& want) {
    if (uuid_off + 16 > buf.size() || std::memcmp(buf.data() + uuid_off, want.data(), 16) != 0) return kUnknownLsn;
    return load64(buf, lsn_off);
  };
  switch (load32(buf, 0)) {
    case kBnobtMagic: case kCntbtMagic: case kInobtMagic: case kFinobtMagic: case kRmapbtMagic: case kRefcountbtMagic:
      return with_uuid(offsetof(xd_btree_sblock, bb_lsn), offsetof(xd_btree_sblock, bb_uuid), sb.meta_uuid);
    case kBmbtMagic:
      return with_uuid(offsetof(xd_btree_lblock, bb_lsn), offsetof(xd_btree_lblock, bb_uuid), sb.meta_uuid);
    case kAgfMagic: return with_uuid(offsetof(xd_agf, agf_lsn), offsetof(xd_agf, agf_uuid), sb.meta_uuid);
    case kAgflMagic: return with_uuid(offsetof(xd_agfl, agfl_lsn), offsetof(xd_agfl, agfl_uuid), sb.meta_uuid);
    case kAgiMagic: return with_uuid(offsetof(xd_agi, agi_lsn), offsetof(xd_agi, agi_uuid), sb.meta_uuid);
    case kSymlinkMagic:
      return with_uuid(offsetof(xd_dsymlink_hdr, sl_lsn), offsetof(xd_dsymlink_hdr, sl_uuid), sb.meta_uuid);
    case kDir3BlockMagic: case kDir3DataMagic: case kDir3FreeMagic:
      return with_uuid(offsetof(xd_dir3_blk_hdr, lsn), offsetof(xd_dir3_blk_hdr, uuid), sb.meta_uuid);
    case kAttr3RemoteMagic: return kUnknownLsn;  // written in place, never logged: always replay over it
    case kSbMagic:
      // The superblock holds the metadata uuid in sb_meta_uuid only with the
      // META_UUID feature; Superblock::meta_uuid is sb_uuid otherwise.
      return with_uuid(offsetof(xd_dsb, sb_lsn),
                       sb.meta_uuid == sb.uuid ? offsetof(xd_dsb, sb_uuid) : offsetof(xd_dsb, sb_meta_uuid), sb.meta_uuid);
    default: break;
  }
  switch (load16(buf, offsetof(xd_da_blkinfo, magic))) {
    case kDir3Leaf1Magic: case kDir3LeafnMagic: case kDa3NodeMagic:
      // The kernel compares these with sb_uuid, not the metadata uuid.
      return with_uuid(offsetof(xd_da3_blkinfo, lsn), offsetof(xd_da3_blkinfo, uuid), sb.uuid);
    default: break;
  }
  return kUnknownLsn;  // inode clusters, unknown contents
}

int Replayer::corrupt(const std::string& what) {
  why_ = what;
  return EUCLEAN;
}

int Replayer::read(uint64_t daddr, uint32_t sectors, std::vector<std::byte>* out) {
  out->assign(size_t{sectors} << 9, std::byte{0});
  iovec v{out->data(), out->size()};
  if (int e = dev_.preadv(&v, 1, daddr << 9)) {
    why_ = "reading " + std::to_string(sectors) + " sectors at daddr " + hex(daddr) + ": " + std::strerror(e);
    return e;
  }
  return 0;
}

int Replayer::write(uint64_t daddr, std::span<const std::byte> data) {
  iovec v{const_cast<std::byte*>(data.data()), data.size()};
  if (int e = dev_.pwritev(&v, 1, daddr << 9)) {
    why_ = "writing " + std::to_string(data.size()) + " bytes at daddr " + hex(daddr) + ": " + std::strerror(e);
    return e;
  }
  return 0;
}

int Replayer::decode_buf_format(const LogItem& it, BufFormat* f) {
  const auto& r0 = it.regions.at(0);
  if (r0.size() < XD_BUF_LOG_FORMAT_HEAD)
    return corrupt("buffer item format of " + std::to_string(r0.size()) + " bytes");
  xd_buf_log_format raw{};
  std::memcpy(&raw, r0.data(), std::min(r0.size(), sizeof raw));
  if (raw.blf_map_size > XD_BLF_MAP_WORDS || r0.size() < XD_BUF_LOG_FORMAT_HEAD + 4 * size_t{raw.blf_map_size})
    return corrupt("buffer item map of " + std::to_string(raw.blf_map_size) + " words in " + std::to_string(r0.size()) +
                   " bytes");
  if (raw.blf_len == 0 || raw.blf_blkno < 0 ||
      uint64_t(raw.blf_blkno) + raw.blf_len > (uint64_t{sb_.dblocks} << (sb_.blocklog - 9)))
    return corrupt("buffer item for daddr " + hex(uint64_t(raw.blf_blkno)) + " length " + std::to_string(raw.blf_len) +
                   " outside the filesystem");
  if (raw.blf_map_size * 32u * XD_BLF_CHUNK < raw.blf_len * 512u && !(raw.blf_flags & XD_BLF_CANCEL))
    return corrupt("buffer item map of " + std::to_string(raw.blf_map_size) + " words for " +
                   std::to_string(raw.blf_len) + " sectors");
  f->flags = raw.blf_flags;
  f->len = raw.blf_len;
  f->blkno = raw.blf_blkno;
  f->map_size = raw.blf_map_size;
  std::memcpy(f->map, raw.blf_data_map, sizeof f->map);
  return 0;
}

int Replayer::note_cancel(const LogItem& it) {
  if (it.type != XD_LI_BUF) return 0;
  BufFormat f;
  if (int e = decode_buf_format(it, &f)) return e;
  if (f.flags & XD_BLF_CANCEL) cancels_[{f.blkno, f.len}]++;
  return 0;
}

bool Replayer::cancelled(int64_t blkno, uint32_t len, bool put) {
  auto c = cancels_.find({blkno, len});
  if (c == cancels_.end()) return false;
  if (put && --c->second == 0) cancels_.erase(c);
  return true;
}

const bc::BufOps* Replayer::ops_for(unsigned type, std::span<const std::byte> buf) const {
  const uint32_t m32 = load32(buf, 0);
  const uint16_t mda = load16(buf, offsetof(xd_da_blkinfo, magic));
  switch (type) {
    case XD_BLFT_BTREE:
      switch (m32) {
        case kBnobtMagic: return &sbtree_ops(SbtreeKind::kBnobt);
        case kCntbtMagic: return &sbtree_ops(SbtreeKind::kCntbt);
        case kInobtMagic: return &sbtree_ops(SbtreeKind::kInobt);
        case kFinobtMagic: return &sbtree_ops(SbtreeKind::kFinobt);
        case kRmapbtMagic: return &sbtree_ops(SbtreeKind::kRmapbt);
        case kRefcountbtMagic: return &sbtree_ops(SbtreeKind::kRefcountbt);
        case kBmbtMagic: return &bmbt_ops();
        default: return nullptr;
      }
    case XD_BLFT_AGF: return m32 == kAgfMagic ? &ops_.agf() : nullptr;
    case XD_BLFT_AGFL: return m32 == kAgflMagic ? &ops_.agfl() : nullptr;
    case XD_BLFT_AGI: return m32 == kAgiMagic ? &ops_.agi() : nullptr;
    case XD_BLFT_DINO: return load16(buf, 0) == kInodeMagic ? &ops_.inode_cluster() : nullptr;
    case XD_BLFT_SYMLINK: return m32 == kSymlinkMagic ? &symlink_ops() : nullptr;
    case XD_BLFT_DIR_BLOCK: return m32 == kDir3BlockMagic ? &dir3_block_ops() : nullptr;
    case XD_BLFT_DIR_DATA: return m32 == kDir3DataMagic ? &dir3_data_ops() : nullptr;
    case XD_BLFT_DIR_FREE: return m32 == kDir3FreeMagic ? &dir3_free_ops() : nullptr;
    case XD_BLFT_DIR_LEAF1: return mda == kDir3Leaf1Magic ? &dir3_leaf_ops() : nullptr;
    case XD_BLFT_DIR_LEAFN: return mda == kDir3LeafnMagic ? &dir3_leaf_ops() : nullptr;
    case XD_BLFT_DA_NODE: return mda == kDa3NodeMagic ? &dir3_leaf_ops() : nullptr;
    case XD_BLFT_ATTR_LEAF: return mda == kAttr3LeafMagic ? &attr3_leaf_ops() : nullptr;
    case XD_BLFT_ATTR_RMT: return m32 == kAttr3RemoteMagic ? &attr3_remote_ops() : nullptr;
    case XD_BLFT_SB: return m32 == kSbMagic ? &superblock_ops() : nullptr;
    default: return nullptr;
  }
}

int Replayer::replay_buf(const LogItem& it, uint64_t lsn, bool partial) {
  BufFormat f;
  if (int e = decode_buf_format(it, &f)) return e;
  if (f.flags & XD_BLF_CANCEL) {  // nothing to write: drops one cancel reference
    cancelled(f.blkno, f.len, true);
    st_.cancels++;
    return 0;
  }
  if (cancelled(f.blkno, f.len, false)) {
    st_.buffers_cancelled++;
    return 0;
  }
  if (f.flags & XD_BLF_DQUOT_BUFS) {
    st_.quota_items++;
    return 0;
  }
  std::vector<std::byte> buf;
  if (int e = read(uint64_t(f.blkno), f.len, &buf)) return e;
  const uint64_t disk_lsn = metadata_lsn(buf, sb_);
  const auto mine = stamped_.find(uint64_t(f.blkno));
  const bool stamped_now = mine != stamped_.end() && mine->second == lsn && disk_lsn == lsn;
  if (disk_lsn != 0 && disk_lsn != kUnknownLsn && disk_lsn >= lsn && !stamped_now) {
    st_.buffers_newer++;
    return 0;
  }

  // The logged chunks, in map order: each run of set bits comes from the
  // next region(s); a region may end a run early (the run goes on in the
  // next region).
  std::vector<bool> logged(buf.size() / XD_BLF_CHUNK, false);
  std::vector<std::byte> img = buf;
  size_t ri = 1;
  const uint32_t nbits = f.map_size * 32;
  for (uint32_t bit = 0; bit < nbits;) {
    if (!bit_set(f.map, bit)) {
      bit++;
      continue;
    }
    uint32_t run = 0;
    while (bit + run < nbits && bit_set(f.map, bit + run)) run++;
    if (ri >= it.regions.size())
      return corrupt("buffer item for daddr " + hex(uint64_t(f.blkno)) + " has fewer regions than its map needs");
    const auto& reg = it.regions[ri++];
    if (reg.size() % XD_BLF_CHUNK != 0 || reg.empty())
      return corrupt("buffer item region of " + std::to_string(reg.size()) + " bytes for daddr " + hex(uint64_t(f.blkno)));
    run = std::min<uint32_t>(run, static_cast<uint32_t>(reg.size() / XD_BLF_CHUNK));
    if ((size_t{bit} + run) * XD_BLF_CHUNK > img.size())
      return corrupt("buffer item map reaches past the " + std::to_string(img.size()) + "-byte buffer at daddr " +
                     hex(uint64_t(f.blkno)));
    std::memcpy(img.data() + size_t{bit} * XD_BLF_CHUNK, reg.data(), size_t{run} * XD_BLF_CHUNK);
    for (uint32_t b = bit; b < bit + run; b++) logged[b] = true;
    bit += run;
  }

  if (f.flags & XD_BLF_INODE_BUF) {
    // Only the unlinked pointers come from the log; the rest of each inode
    // is the inode items' (docs/log.md).  Each inode touched gets its CRC.
    for (size_t off = 0; off + sb_.inodesize <= buf.size(); off += sb_.inodesize) {
      const size_t p = off + offsetof(xd_dinode, di_next_unlinked);
      if (!logged[p / XD_BLF_CHUNK]) continue;
      if (load32(img, p) == 0)
        return corrupt("inode buffer item at daddr " + hex(uint64_t(f.blkno)) + " logs a zero di_next_unlinked");
      std::memcpy(buf.data() + p, img.data() + p, 4);
      inode_update_crc({buf.data() + off, sb_.inodesize});
    }
    st_.inode_buffers++;
    return write(uint64_t(f.blkno), buf);
  }

  const unsigned type = (f.flags & XD_BLF_TYPE_MASK) >> XD_BLF_TYPE_SHIFT;
  const bc::BufOps* ops = partial ? nullptr : ops_for(type, img);
  if (partial) st_.buffers_partial++;
  else if (!ops) st_.buffers_untyped++;
  if (ops) {
    std::string w;
    if (!ops->verify_write(img, uint64_t(f.blkno), &sb_.meta_uuid, lsn, &w))
      return corrupt(std::string("the replayed ") + ops->name() + " at daddr " + hex(uint64_t(f.blkno)) +
                     " fails its verifier: " + w);
  }
  st_.buffers++;
  if (ops || partial) stamped_[uint64_t(f.blkno)] = lsn;  // a partial one carries its logged LSN
  return write(uint64_t(f.blkno), img);
}

}  // namespace xfsfuse::fs::xlog
