#include "fs/log/reader.h"

#include <sys/uio.h>

#include <algorithm>

#include "fs/corrupt.h"
#include "fs/format/geometry.h"
#include "fs/log/record.h"

namespace xfsfuse::fs::xlog {

int LogReader::internal(bc::BlockDevice& dev, const Superblock& sb, uint64_t* start_bytes, uint32_t* blocks,
                        std::string* why) {
  if (sb.logstart == 0) return corrupt(why, "the log is external (sb_logstart 0)");
  const uint64_t start = daddr_to_bytes(fsblock_to_daddr(sb, sb.logstart));
  const uint64_t bytes = fsblocks_to_bytes(sb, sb.logblocks);
  if (bytes / kBlock < 64 || bytes / kBlock > UINT32_MAX) return corrupt(why, "the log is " + std::to_string(bytes) + " bytes");
  if (start + bytes > dev.size_bytes()) return corrupt(why, "the log runs past the end of the device");
  *start_bytes = start;
  *blocks = static_cast<uint32_t>(bytes / kBlock);
  return 0;
}

int LogReader::read(uint64_t blk, uint32_t count, std::byte* out) const {
  blk %= blocks_;
  const uint32_t first = static_cast<uint32_t>(std::min<uint64_t>(count, blocks_ - blk));
  iovec iov{out, size_t{first} * kBlock};
  if (int err = dev_.preadv(&iov, 1, start_ + blk * kBlock)) return err;
  if (first == count) return 0;
  iovec rest{out + size_t{first} * kBlock, size_t{count - first} * kBlock};
  return dev_.preadv(&rest, 1, start_);
}

}  // namespace xfsfuse::fs::xlog
