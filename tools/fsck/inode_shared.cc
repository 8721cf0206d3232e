// tools/fsck/inode_shared.cc — reflinked data blocks.  On a reflink
// filesystem a block of regular file data may belong to several files: the
// refcountbt holds one record per shared extent (start agbno, length,
// refcount >= 2; CoW staging records have the top bit of start set and are
// claimed by the AG phase as Owner::kCowStaging).  The AG phase hands the
// shared records over in AgTotals::shared.  Files' claims of shared blocks
// are counted here instead of claimed, and every shared extent is claimed
// once at the end, so the space map sees no overlap where the refcountbt
// says the sharing is legitimate, and a refcount the files do not bear out
// (block by block) is reported.  Format:
// XFS Algorithms & Data Structures, "Reference Count B+tree".
#include <algorithm>

#include "tools/fsck/inode_check.h"

namespace xfsfuse::fsck {

SharedBlocks::SharedBlocks(Context& cx) : cx_(cx), ags_(cx.sb.agcount) {
  // The AG phase walked the refcountbt and kept its sound shared records.
  for (uint32_t agno = 0; agno < cx.sb.agcount && agno < cx.ags.size(); agno++) {
    std::vector<AgTotals::SharedExtent>& from = cx.ags[agno].shared;
    ags_[agno].reserve(from.size());
    for (const AgTotals::SharedExtent& e : from) ags_[agno].push_back(Rec{e.start, e.len, e.refcount, e.daddr, {}});
    std::vector<AgTotals::SharedExtent>().swap(from);
  }
}

void SharedBlocks::claim_data(uint32_t agno, uint32_t agbno, uint32_t len, uint64_t ino) {
  if (agno >= ags_.size() || ags_[agno].empty()) return cx_.space.claim(agno, agbno, len, Owner::kData, ino);
  std::vector<Rec>& recs = ags_[agno];
  uint64_t at = agbno;
  const uint64_t end = uint64_t{agbno} + len;
  // The first record ending after `at` (records are sorted and disjoint).
  auto it = std::upper_bound(recs.begin(), recs.end(), at,
                             [](uint64_t v, const Rec& r) { return v < uint64_t{r.start} + r.len; });
  while (at < end) {
    if (it == recs.end() || it->start >= end) {
      cx_.space.claim(agno, static_cast<uint32_t>(at), static_cast<uint32_t>(end - at), Owner::kData, ino);
      return;
    }
    if (it->start > at) {
      cx_.space.claim(agno, static_cast<uint32_t>(at), static_cast<uint32_t>(it->start - at), Owner::kData, ino);
      at = it->start;
    }
    const uint64_t stop = std::min<uint64_t>(end, uint64_t{it->start} + it->len);
    it->refs.emplace_back(static_cast<uint32_t>(at), static_cast<uint32_t>(stop));
    at = stop;
    ++it;
  }
}

void SharedBlocks::finish() {
  for (uint32_t agno = 0; agno < ags_.size(); agno++) {
    for (Rec& r : ags_[agno]) {
      cx_.space.claim(agno, r.start, r.len, Owner::kData, 0);
      // Sweep the record's blocks with the mappings' starts and ends: each
      // run of blocks mapped a number of times other than refcount is one
      // problem (a per-record sum would let an over- and an under-mapped
      // block cancel out).
      std::vector<std::pair<uint32_t, int>> edges;  // (agbno, +1 / -1)
      edges.reserve(2 * r.refs.size());
      for (const auto& [from, to] : r.refs) {
        edges.emplace_back(from, 1);
        edges.emplace_back(to, -1);
      }
      std::sort(edges.begin(), edges.end());
      const uint32_t end = r.start + r.len;
      auto mismatch = [&](uint32_t from, uint32_t to, int64_t refs) {
        if (from < to && refs != r.refcount)
          cx_.rep.report("refcountbt", agno, kNoIno, r.daddr,
                         "shared extent agbno " + std::to_string(r.start) + " length " + std::to_string(r.len) +
                             " has refcount " + std::to_string(r.refcount) + ", but files map agbno " +
                             std::to_string(from) + ".." + std::to_string(to - 1) + " " + std::to_string(refs) +
                             " times");
      };
      uint32_t run = r.start;  // blocks [run, next edge) are mapped `refs` times
      int64_t refs = 0;
      for (size_t i = 0; i < edges.size();) {
        const uint32_t pos = edges[i].first;
        int64_t next = refs;
        for (; i < edges.size() && edges[i].first == pos; i++) next += edges[i].second;
        if (pos >= end) break;  // mappings are clipped to the record: only ends are here
        if (next != refs) {
          mismatch(run, pos, refs);
          run = pos;
          refs = next;
        }
      }
      mismatch(run, end, refs);
      std::vector<std::pair<uint32_t, uint32_t>>().swap(r.refs);
    }
  }
}

}  // namespace xfsfuse::fsck
