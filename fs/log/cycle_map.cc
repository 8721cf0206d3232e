#include "fs/log/cycle_map.h"

#include <algorithm>
#include <vector>

#include "fs/log/record.h"

namespace xfsfuse::fs::xlog {

namespace {
constexpr uint32_t kRunBlocks = 2048;  // log blocks per read of load()
}  // namespace

void CycleMap::keep(uint32_t b, const std::byte* blk) {
  Chunk& c = chunks_[b / kChunk];
  const uint64_t bit = uint64_t{1} << (b % kChunk);
  c.known |= bit;
  c.cycle[b % kChunk] = block_cycle(blk);
  if (is_record_header(blk))
    c.header |= bit;
  else
    c.header &= ~bit;
}

bool CycleMap::known(uint64_t t) const {
  const auto b = static_cast<uint32_t>(t % n_);
  auto it = chunks_.find(b / kChunk);
  return it != chunks_.end() && (it->second.known >> (b % kChunk) & 1) != 0;
}

int CycleMap::get(uint64_t t, uint32_t* cycle, bool* header) {
  const auto b = static_cast<uint32_t>(t % n_);
  if (!known(b)) {
    std::byte blk[kBlock];
    if (int err = read(b, 1, blk)) return err;
    keep(b, blk);
  }
  const Chunk& c = chunks_.find(b / kChunk)->second;
  *cycle = c.cycle[b % kChunk];
  if (header) *header = (c.header >> (b % kChunk) & 1) != 0;
  return 0;
}

int CycleMap::load(uint64_t t, uint64_t count) {
  std::vector<std::byte> buf;
  count = std::min<uint64_t>(count, n_);
  while (count > 0) {
    // Skip what is known, then read the run of unknown blocks after it,
    // stopping at the log's end so a run never wraps.
    if (known(t)) {
      t++;
      count--;
      continue;
    }
    const auto b = static_cast<uint32_t>(t % n_);
    uint32_t run = 1;
    while (run < count && run < kRunBlocks && b + run < n_ && !known(b + run)) run++;
    buf.resize(size_t{run} * kBlock);
    if (int err = read(b, run, buf.data())) return err;
    for (uint32_t i = 0; i < run; i++) keep(b + i, buf.data() + size_t{i} * kBlock);
    t += run;
    count -= run;
  }
  return 0;
}

int CycleMap::read(uint64_t blk, uint32_t count, std::byte* out) {
  read_ += count;
  return r_.read(blk, count, out);
}

}  // namespace xfsfuse::fs::xlog
