// fs/log/reader.h — reading the internal log by log block (512 bytes from
// the log's start), wrapping past its end.  Where the log is: docs/log.md
// "Where the log is".
// Thread safety: read() may be called from any thread (the device's preadv).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "buffer_cache/block_device.h"
#include "fs/superblock.h"

namespace xfsfuse::fs::xlog {

class LogReader {
 public:
  /// The log of blocks log blocks at byte start_bytes of dev.
  LogReader(bc::BlockDevice& dev, uint64_t start_bytes, uint32_t blocks)
      : dev_(dev), start_(start_bytes), blocks_(blocks) {}

  /// The internal log of sb.  Returns 0, or EUCLEAN with *why for a log
  /// that is external, runs past the device, or is smaller than 64 blocks.
  static int internal(bc::BlockDevice& dev, const Superblock& sb, uint64_t* start_bytes, uint32_t* blocks,
                      std::string* why);

  uint32_t blocks() const { return blocks_; }
  /// Reads count log blocks from block blk on (blk taken modulo the log's
  /// size; the read wraps past the end) into out (count * 512 bytes).
  /// REQUIRES: count <= blocks().  Returns 0 or the device's errno.
  int read(uint64_t blk, uint32_t count, std::byte* out) const;

 private:
  bc::BlockDevice& dev_;
  const uint64_t start_;
  const uint32_t blocks_;
};

}  // namespace xfsfuse::fs::xlog
