// SpaceMap claims written once over a RangeStore (range_store.h), and the
// in-memory store: per AG a sorted map from start agbno to the range.
#include "tools/fsck/space_map.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <map>
#include <mutex>
#include <vector>

#include "fs/ag.h"
#include "tools/fsck/context.h"
#include "tools/fsck/range_store.h"

namespace xfsfuse::fsck {

const char* owner_name(Owner o) {
  switch (o) {
    case Owner::kAgHeaders: return "agheaders";
    case Owner::kAgfl: return "agfl";
    case Owner::kFree: return "free";
    case Owner::kBnobt: return "bnobt";
    case Owner::kCntbt: return "cntbt";
    case Owner::kInobt: return "inobt";
    case Owner::kFinobt: return "finobt";
    case Owner::kRmapbt: return "rmapbt";
    case Owner::kRefcountbt: return "refcountbt";
    case Owner::kInodes: return "inodes";
    case Owner::kLog: return "log";
    case Owner::kData: return "data";
    case Owner::kAttr: return "attr";
    case Owner::kBmbt: return "bmbt";
    case Owner::kCowStaging: return "cow staging";
  }
  return "?";
}

namespace {

// The structure a problem about an owner's claim is reported under.
const char* structure_of(Owner o) {
  switch (o) {
    case Owner::kData:
    case Owner::kAttr: return "inode";
    case Owner::kAgfl: return "agfl";
    case Owner::kFree: return "bnobt";
    case Owner::kCowStaging: return "refcountbt";
    case Owner::kAgHeaders:
    case Owner::kLog: return "space";
    default: return owner_name(o);
  }
}

std::string owner_desc(Owner o, uint64_t ino) {
  std::string s = owner_name(o);
  if (ino != 0) s += " of inode " + std::to_string(ino);
  return s;
}

class MemoryRangeStore final : public RangeStore {
 public:
  explicit MemoryRangeStore(uint32_t agcount) : ags_(agcount) {}
  void overlapping(uint32_t agno, uint32_t start, uint32_t end, std::vector<Range>* out) override {
    auto& m = ags_[agno];
    auto it = m.upper_bound(start);
    if (it != m.begin() && std::prev(it)->second.end > start) --it;
    for (; it != m.end() && it->first < end; ++it) out->push_back(it->second);
  }
  std::optional<Range> ending_at(uint32_t agno, uint32_t at) override {
    auto& m = ags_[agno];
    auto it = m.lower_bound(at);
    if (it == m.begin()) return std::nullopt;
    --it;
    if (it->second.end != at) return std::nullopt;
    return it->second;
  }
  std::optional<Range> starting_at(uint32_t agno, uint32_t at) override {
    auto& m = ags_[agno];
    auto it = m.find(at);
    if (it == m.end()) return std::nullopt;
    return it->second;
  }
  void put(uint32_t agno, const Range& r) override { ags_[agno][r.start] = r; }
  void erase(uint32_t agno, const Range& r) override { ags_[agno].erase(r.start); }
  void for_each(uint32_t agno, const std::function<void(const Range&)>& fn) override {
    for (const auto& [start, r] : ags_[agno]) fn(r);
  }

 private:
  std::vector<std::map<uint32_t, Range>> ags_;  // per AG: start -> range
};

// Claims over any RangeStore: per-AG mutexes, merging adjacent ranges of the
// same owner (so a whole AG of free space or one big file is one range).
class StoreSpaceMap final : public SpaceMap {
 public:
  StoreSpaceMap(const fs::Superblock& sb, Reporter* rep, std::unique_ptr<RangeStore> store)
      : sb_(sb), rep_(rep), store_(std::move(store)), mu_(sb.agcount) {}

  void claim(uint32_t agno, uint32_t agbno, uint32_t len, Owner owner, uint64_t ino) override {
    if (agno >= sb_.agcount || len == 0 || agbno >= fs::ag_length(sb_, agno) ||
        len > fs::ag_length(sb_, agno) - agbno) {
      rep_->report(structure_of(owner), agno < sb_.agcount ? int64_t{agno} : kNoAg, ino, kNoDaddr,
                   owner_desc(owner, ino) + " extent agno " + std::to_string(agno) + " agbno " + std::to_string(agbno) +
                       " length " + std::to_string(len) + " lies outside the filesystem");
      return;
    }
    claimed_[static_cast<size_t>(owner)].fetch_add(len, std::memory_order_relaxed);
    const uint32_t end = agbno + len;
    std::vector<Range> overlaps;
    std::lock_guard<std::mutex> g(mu_[agno]);
    store_->overlapping(agno, agbno, end, &overlaps);
    // The gaps between the ranges already claimed are claimed now; the overlaps are reported.
    uint32_t pos = agbno;
    for (const Range& o : overlaps) {
      if (o.start > pos) insert(agno, Range{pos, o.start, owner, ino});
      pos = std::max(pos, o.end);
    }
    if (pos < end) insert(agno, Range{pos, end, owner, ino});
    for (const Range& o : overlaps) {
      const uint32_t from = std::max(agbno, o.start), to = std::min(end, o.end);
      rep_->report(structure_of(owner), agno, ino, fs::agbno_to_daddr(sb_, agno, from),
                   owner_desc(owner, ino) + " claims agbno " + std::to_string(from) + ".." + std::to_string(to - 1) +
                       ", already " + owner_desc(o.owner, o.ino));
    }
  }

  void check_coverage() override {
    for (uint32_t agno = 0; agno < sb_.agcount; agno++) {
      std::lock_guard<std::mutex> g(mu_[agno]);
      auto gap = [&](uint32_t from, uint32_t to) {
        rep_->report("space", agno, kNoIno, fs::agbno_to_daddr(sb_, agno, from),
                     "agbno " + std::to_string(from) + ".." + std::to_string(to - 1) + " (" + std::to_string(to - from) +
                         " blocks) is neither free nor in use");
      };
      uint32_t next = 0;
      store_->for_each(agno, [&](const Range& r) {
        if (r.start > next) gap(next, r.start);
        next = std::max(next, r.end);
      });
      if (next < fs::ag_length(sb_, agno)) gap(next, fs::ag_length(sb_, agno));
    }
  }

  uint64_t claimed(Owner owner) const override {
    return claimed_[static_cast<size_t>(owner)].load(std::memory_order_relaxed);
  }

 private:
  // REQUIRES: mu_[agno] held; r overlaps nothing.  Merges with equal neighbours.
  void insert(uint32_t agno, Range r) {
    auto same = [&](const Range& o) { return o.owner == r.owner && o.ino == r.ino; };
    if (auto prev = store_->ending_at(agno, r.start); prev && same(*prev)) {
      store_->erase(agno, *prev);
      r.start = prev->start;
    }
    if (auto next = store_->starting_at(agno, r.end); next && same(*next)) {
      store_->erase(agno, *next);
      r.end = next->end;
    }
    store_->put(agno, r);
  }

  const fs::Superblock sb_;
  Reporter* const rep_;
  std::unique_ptr<RangeStore> store_;
  std::vector<std::mutex> mu_;  // per AG
  std::array<std::atomic<uint64_t>, 16> claimed_{};  // by Owner
  static_assert(static_cast<size_t>(Owner::kCowStaging) < 16, "claimed_ has a slot per Owner");
};

}  // namespace

std::unique_ptr<RangeStore> make_memory_range_store(uint32_t agcount) {
  return std::make_unique<MemoryRangeStore>(agcount);
}

std::unique_ptr<SpaceMap> make_space_map(const fs::Superblock& sb, Reporter* rep, std::unique_ptr<RangeStore> store) {
  return std::make_unique<StoreSpaceMap>(sb, rep, std::move(store));
}

std::unique_ptr<SpaceMap> make_memory_space_map(const fs::Superblock& sb, Reporter* rep) {
  return make_space_map(sb, rep, make_memory_range_store(sb.agcount));
}

}  // namespace xfsfuse::fsck
