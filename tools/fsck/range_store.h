// tools/fsck/range_store.h — where a SpaceMap keeps its claimed ranges: per
// AG, non-overlapping [start, end) ranges of agbno with their owner.  The
// claim logic (space_map.cc) is written once over this interface; memory
// (a sorted map per AG) and RocksDB (scratch.cc) store the ranges.
// Thread safety: none; the SpaceMap serialises calls per AG.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "tools/fsck/space_map.h"

namespace xfsfuse::fsck {

/// One claimed range of agbno.
struct Range {
  uint32_t start = 0, end = 0;  ///< [start, end)
  Owner owner = Owner::kFree;
  uint64_t ino = 0;
};

class RangeStore {
 public:
  virtual ~RangeStore() = default;
  /// Appends the ranges of AG agno overlapping [start, end) to *out, ascending.
  virtual void overlapping(uint32_t agno, uint32_t start, uint32_t end, std::vector<Range>* out) = 0;
  /// The range of agno that ends exactly at `at`, if any.
  virtual std::optional<Range> ending_at(uint32_t agno, uint32_t at) = 0;
  /// The range of agno that starts exactly at `at`, if any.
  virtual std::optional<Range> starting_at(uint32_t agno, uint32_t at) = 0;
  /// Adds r, which overlaps no range of agno.
  virtual void put(uint32_t agno, const Range& r) = 0;
  /// Removes r (as returned by the lookups above) from agno.
  virtual void erase(uint32_t agno, const Range& r) = 0;
  /// Visits every range of agno, ascending.
  virtual void for_each(uint32_t agno, const std::function<void(const Range&)>& fn) = 0;
};

/// The in-memory store for agcount AGs.
std::unique_ptr<RangeStore> make_memory_range_store(uint32_t agcount);

/// A SpaceMap over store (space_map.h's contract).
std::unique_ptr<SpaceMap> make_space_map(const fs::Superblock& sb, Reporter* rep, std::unique_ptr<RangeStore> store);

}  // namespace xfsfuse::fsck
