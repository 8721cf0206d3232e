#include "fs/log.h"

#include <sys/uio.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "fs/format/geometry.h"
#include "fs/corrupt.h"
#include "fs/format/endian.h"

namespace xfsfuse::fs {

namespace {

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
  const uint64_t start = daddr_to_bytes(fsblock_to_daddr(sb, sb.logstart));
  const uint64_t bytes = fsblocks_to_bytes(sb, sb.logblocks);
  if (start + bytes > dev.size_bytes()) return corrupt(why, "the log runs past the end of the device");
  // Record header fields (xlog_rec_header): h_magicno 0, h_cycle 4, h_version 8,
  // h_len 12, h_lsn 16, h_num_logops 40, h_size 328 (v2 logs).
  std::vector<std::byte> chunk(kChunk);
  std::byte best[512] = {};
  uint64_t best_sector = 0;
  for (uint64_t off = 0; off < bytes; off += kChunk) {
    const size_t len = static_cast<size_t>(std::min<uint64_t>(kChunk, bytes - off));
    iovec iov{chunk.data(), len};
    if (int err = dev.preadv(&iov, 1, start + off)) return err;
    for (size_t s = 0; s < len; s += 512) {
      const std::byte* h = chunk.data() + s;
      if (word(h, 0) != kLogRecordMagic) continue;
      const uint64_t lsn = uint64_t{word(h, 16)} << 32 | word(h, 20);
      if (out->records++ == 0 || lsn > out->head_lsn) {
        out->head_lsn = lsn;
        best_sector = (off + s) / 512;
        std::memcpy(best, h, sizeof best);
      }
    }
  }
  if (out->records == 0) return 0;
  const uint32_t version = word(best, 8), h_size = word(best, 328);
  uint64_t hdr_sectors = 1;
  if (version == 2 && h_size > kHeaderCycleSize) hdr_sectors = (h_size + kHeaderCycleSize - 1) / kHeaderCycleSize;
  const uint64_t op_sector = (best_sector + hdr_sectors) % (bytes / 512);
  std::byte op[512];
  iovec iov{op, sizeof op};
  if (int err = dev.preadv(&iov, 1, start + op_sector * 512)) return err;
  out->clean = word(best, 40) == 1 && (static_cast<uint8_t>(op[kOpFlagsOff]) & kUnmountTrans);
  return 0;
}

}  // namespace xfsfuse::fs
