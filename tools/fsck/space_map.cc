// The in-memory SpaceMap: per AG, the claimed ranges as a sorted map from
// start agbno to (end, owner, ino), merged when adjacent with the same owner
// (so a whole AG of free space or one big file is one entry).
#include "tools/fsck/space_map.h"

#include <array>
#include <atomic>
#include <map>
#include <mutex>
#include <vector>

#include "fs/ag.h"
#include "tools/fsck/context.h"

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

struct Range {
  uint32_t end;  // exclusive
  Owner owner;
  uint64_t ino;
};

class MemorySpaceMap final : public SpaceMap {
 public:
  MemorySpaceMap(const fs::Superblock& sb, Reporter* rep) : sb_(sb), rep_(rep), ags_(sb.agcount) {}

  void claim(uint32_t agno, uint32_t agbno, uint32_t len, Owner owner, uint64_t ino) override {
    if (agno >= sb_.agcount || len == 0 || agbno >= fs::ag_length(sb_, agno) ||
        len > fs::ag_length(sb_, agno) - agbno) {
      rep_->report(structure_of(owner), agno < sb_.agcount ? int64_t{agno} : kNoAg, ino, kNoDaddr,
                   owner_desc(owner, ino) + " extent agno " + std::to_string(agno) + " agbno " + std::to_string(agbno) +
                       " length " + std::to_string(len) + " lies outside the filesystem");
      return;
    }
    claimed_[static_cast<size_t>(owner)].fetch_add(len, std::memory_order_relaxed);
    Ag& ag = ags_[agno];
    std::lock_guard<std::mutex> g(ag.mu);
    const uint32_t end = agbno + len;
    // One read-only pass over the ranges overlapping [agbno, end): the gaps
    // between them are claimed, the overlaps reported.
    struct Overlap {
      uint32_t start, end;
      Owner owner;
      uint64_t ino;
    };
    std::vector<std::pair<uint32_t, uint32_t>> gaps;
    std::vector<Overlap> overlaps;
    uint32_t pos = agbno;
    auto it = ag.map.upper_bound(pos);
    if (it != ag.map.begin() && std::prev(it)->second.end > pos) --it;
    while (pos < end) {
      if (it == ag.map.end() || it->first >= end) {
        gaps.emplace_back(pos, end);
        break;
      }
      if (it->first > pos) gaps.emplace_back(pos, it->first);
      const uint32_t ov_end = std::min(end, it->second.end);
      overlaps.push_back(Overlap{std::max(pos, it->first), ov_end, it->second.owner, it->second.ino});
      pos = ov_end;
      ++it;
    }
    for (const auto& [from, to] : gaps) insert(ag, from, to, owner, ino);
    for (const Overlap& o : overlaps)
      rep_->report(structure_of(owner), agno, ino, agb_daddr(sb_, agno, o.start),
                   owner_desc(owner, ino) + " claims agbno " + std::to_string(o.start) + ".." +
                       std::to_string(o.end - 1) + ", already " + owner_desc(o.owner, o.ino));
  }

  void check_coverage() override {
    for (uint32_t agno = 0; agno < sb_.agcount; agno++) {
      Ag& ag = ags_[agno];
      std::lock_guard<std::mutex> g(ag.mu);
      uint32_t next = 0;
      const uint32_t len = fs::ag_length(sb_, agno);
      auto gap = [&](uint32_t from, uint32_t to) {
        rep_->report("space", agno, kNoIno, agb_daddr(sb_, agno, from),
                     "agbno " + std::to_string(from) + ".." + std::to_string(to - 1) + " (" + std::to_string(to - from) +
                         " blocks) is neither free nor in use");
      };
      for (const auto& [start, r] : ag.map) {
        if (start > next) gap(next, start);
        next = std::max(next, r.end);
      }
      if (next < len) gap(next, len);
    }
  }

  uint64_t claimed(Owner owner) const override {
    return claimed_[static_cast<size_t>(owner)].load(std::memory_order_relaxed);
  }

 private:
  struct Ag {
    std::mutex mu;
    std::map<uint32_t, Range> map;  // GUARDED_BY(mu), start -> range; ranges never overlap
  };

  // REQUIRES: ag.mu held; [start, end) overlaps nothing.  Merges with equal neighbours.
  static void insert(Ag& ag, uint32_t start, uint32_t end, Owner owner, uint64_t ino) {
    auto next = ag.map.lower_bound(start);
    if (next != ag.map.begin()) {
      auto prev = std::prev(next);
      if (prev->second.end == start && prev->second.owner == owner && prev->second.ino == ino) {
        prev->second.end = end;
        if (next != ag.map.end() && next->first == end && next->second.owner == owner && next->second.ino == ino) {
          prev->second.end = next->second.end;
          ag.map.erase(next);
        }
        return;
      }
    }
    if (next != ag.map.end() && next->first == end && next->second.owner == owner && next->second.ino == ino) {
      const Range r{next->second.end, owner, ino};
      ag.map.erase(next);
      ag.map.emplace(start, r);
      return;
    }
    ag.map.emplace(start, Range{end, owner, ino});
  }

  const fs::Superblock sb_;
  Reporter* const rep_;
  std::vector<Ag> ags_;
  std::array<std::atomic<uint64_t>, 16> claimed_{};
};

}  // namespace

std::unique_ptr<SpaceMap> make_memory_space_map(const fs::Superblock& sb, Reporter* rep) {
  return std::make_unique<MemorySpaceMap>(sb, rep);
}

}  // namespace xfsfuse::fsck
