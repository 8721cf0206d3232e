#include "fs/log.h"

#include <sys/uio.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "fs/bmap.h"
#include "fs/corrupt.h"
#include "fs/format/endian.h"

namespace xfsfuse::fs {

namespace {

constexpr uint32_t kLogMagic = 0xfeedbabe;
constexpr uint8_t kUnmountTrans = 0x20;      // op header flag of an unmount record
constexpr size_t kOpFlagsOff = 9;            // oh_tid 4, oh_len 4, oh_clientid 1, oh_flags 1
constexpr uint32_t kHeaderCycleSize = 32768; // data bytes covered by one header sector
constexpr size_t kChunk = 1u << 20;          // bytes read per preadv

uint32_t word(const std::byte* p, size_t off) {
  uint32_t v;
  std::memcpy(&v, p + off, 4);
  return be32(v);
}

}  // namespace

int check_log(bc::BlockDevice& dev, const Superblock& sb, LogState* out, std::string* why) {
  *out = LogState{};
  const uint64_t start = fsblock_to_daddr(sb, sb.logstart) << 9;
  const uint64_t bytes = uint64_t{sb.logblocks} << sb.blocklog;
  if (start + bytes > dev.size_bytes()) return corrupt(why, "the log runs past the end of the device");
  std::vector<std::byte> log(bytes);
  for (uint64_t off = 0; off < bytes; off += kChunk) {
    iovec iov{log.data() + off, static_cast<size_t>(std::min<uint64_t>(kChunk, bytes - off))};
    if (int err = dev.preadv(&iov, 1, start + off)) return err;
  }
  // Record header fields (xlog_rec_header): h_magicno 0, h_cycle 4, h_version 8,
  // h_len 12, h_lsn 16, h_num_logops 40, h_size 328 (v2 logs).
  uint64_t best_sector = 0;
  bool found = false;
  for (uint64_t sector = 0; sector < bytes / 512; sector++) {
    const std::byte* h = log.data() + sector * 512;
    if (word(h, 0) != kLogMagic) continue;
    const uint64_t lsn = uint64_t{word(h, 16)} << 32 | word(h, 20);
    out->records++;
    if (!found || lsn > out->head_lsn) {
      found = true;
      out->head_lsn = lsn;
      best_sector = sector;
    }
  }
  if (!found) return 0;
  const std::byte* h = log.data() + best_sector * 512;
  const uint32_t version = word(h, 8), h_size = word(h, 328);
  uint64_t hdr_sectors = 1;
  if (version == 2 && h_size > kHeaderCycleSize) hdr_sectors = (h_size + kHeaderCycleSize - 1) / kHeaderCycleSize;
  const uint64_t op_sector = (best_sector + hdr_sectors) % (bytes / 512);
  const std::byte op_flags = log[op_sector * 512 + kOpFlagsOff];
  out->clean = word(h, 40) == 1 && (static_cast<uint8_t>(op_flags) & kUnmountTrans);
  return 0;
}

}  // namespace xfsfuse::fs
