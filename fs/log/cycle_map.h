// fs/log/cycle_map.h — the cycle stamps of log blocks, read on demand and
// kept, so that finding the ends of the log (fs/log/ends.h) reads only the
// blocks it looks at; counts every log block read.
// Thread safety: none; one finder owns it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <unordered_map>

#include "fs/log/reader.h"

namespace xfsfuse::fs::xlog {

class CycleMap {
 public:
  explicit CycleMap(const LogReader& r) : r_(r), n_(r.blocks()) {}

  uint32_t blocks() const { return n_; }
  /// Log blocks read so far through this map (get, load and read).
  uint64_t blocks_read() const { return read_; }

  /// The cycle stamp (first word) of log block t % blocks() and whether it
  /// starts a record header; reads that one block if it is not known yet.
  /// Returns 0 or the device's errno.
  int get(uint64_t t, uint32_t* cycle, bool* header = nullptr);
  bool known(uint64_t t) const;
  /// Makes count log blocks from t on (wrapping) known, reading those not
  /// known yet in runs of at most 2048 blocks.  Returns 0 or the device's errno.
  int load(uint64_t t, uint64_t count);
  /// LogReader::read, counted.
  int read(uint64_t blk, uint32_t count, std::byte* out);

 private:
  static constexpr uint32_t kChunk = 64;  // log blocks per entry
  struct Chunk {
    uint64_t known = 0;   // bit i: block i of the chunk was read
    uint64_t header = 0;  // bit i: it starts with the record magic
    uint32_t cycle[kChunk] = {};
  };
  void keep(uint32_t b, const std::byte* blk);

  const LogReader& r_;
  const uint32_t n_;
  uint64_t read_ = 0;
  std::unordered_map<uint32_t, Chunk> chunks_;  // by block / kChunk
};

}  // namespace xfsfuse::fs::xlog
