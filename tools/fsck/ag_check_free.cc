// The free-space side of check_ags: bnobt and cntbt (records inside the AG,
// no zero lengths, no overlaps, the same extent set in both), agf_freeblks,
// agf_longest and agf_btreeblks against them, then the rmapbt and the
// refcountbt when their features are on (walked for block claims, record
// order and their AGF block counts).
//
// agf_btreeblks counts the blocks of the bnobt, cntbt and rmapbt beyond
// their roots: checked with xfs_db on a fragmented image (bnobt and cntbt 4
// blocks each: btreeblks 6; with rmapbt=1 and a 19-block rmapbt: 24).
// agf_rmap_blocks and agf_refcount_blocks count every block of their tree.
#include <algorithm>
#include <iterator>
#include <utility>
#include <vector>

#include "fs/format/records.h"
#include "tools/fsck/ag_check_internal.h"

namespace xfsfuse::fsck {

namespace {

using Extent = std::pair<uint32_t, uint32_t>;  // agbno, length in fsblocks

// Collects one free-space tree's records, reporting records that cannot be free space.
std::vector<Extent> walk_free_tree(const AgScan& s, btree::SbtreeKind kind, uint32_t root, uint32_t levels,
                                   Owner owner, uint64_t* blocks) {
  std::vector<Extent> out;
  const char* name = btree::sbtree_name(kind);
  auto record = [&](std::span<const std::byte> rec, uint64_t daddr) {
    const fs::AllocRec r = fs::decode_alloc_rec(rec.data());
    const uint32_t start = r.startblock, len = r.blockcount;
    if (len == 0) {
      s.report(name, daddr, "free extent at agbno " + std::to_string(start) + " has length 0");
    } else if (start == 0 || uint64_t{start} + len > s.length) {
      s.report(name, daddr, "free extent agbno " + std::to_string(start) + " length " + std::to_string(len) +
                                " is not inside the AG (" + std::to_string(s.length) + " blocks)");
    } else {
      out.emplace_back(start, len);
    }
  };
  *blocks = walk_tree(s, kind, root, levels, owner, record).blocks;
  return out;
}

// Reports extents of a that b lacks, up to kMaxListed and then a count.
void report_missing(const AgScan& s, uint64_t daddr, const std::vector<Extent>& a, const std::vector<Extent>& b,
                    const char* in, const char* not_in) {
  std::vector<Extent> diff;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(diff));
  for (size_t i = 0; i < diff.size() && i < kMaxListed; i++)
    s.report(in, daddr, "free extent agbno " + std::to_string(diff[i].first) + " length " +
                            std::to_string(diff[i].second) + " is in the " + in + " but not in the " + not_in);
  if (diff.size() > kMaxListed)
    s.report(in, daddr, std::to_string(diff.size() - kMaxListed) + " more free extents are in the " + in +
                            " but not in the " + not_in);
}

// The AGF's count of a tree's blocks against the walk.
void check_count(const AgScan& s, uint64_t agf_daddr, const char* field, uint64_t want, uint64_t got,
                 const char* what) {
  if (want != got)
    s.report("agf", agf_daddr, std::string(field) + " " + std::to_string(want) + " but " + what + " " +
                                   std::to_string(got) + " blocks");
}

// Walks the refcountbt; the sound shared records go to *shared for the inode phase.
void check_refcountbt(const AgScan& s, const fs::AgfInfo& agf, uint64_t agf_daddr,
                      std::vector<AgTotals::SharedExtent>* shared) {
  auto record = [&](std::span<const std::byte> rec, uint64_t daddr) {
    const fs::RefcountRec r = fs::decode_refcount_rec(rec.data());
    const uint32_t start = r.startblock, len = r.blockcount, refcount = r.refcount;
    if (len == 0 || start == 0 || uint64_t{start} + len > s.length) {
      s.report("refcountbt", daddr, "extent agbno " + std::to_string(start) + " length " + std::to_string(len) +
                                        " is not inside the AG");
    } else if (r.cow ? refcount != 1 : refcount < 2) {
      s.report("refcountbt", daddr, "extent agbno " + std::to_string(start) + " has refcount " +
                                        std::to_string(refcount) + (r.cow ? " (CoW staging: 1)" : " (shared: >= 2)"));
    } else if (r.cow) {
      // Staging blocks belong to no inode yet: the refcountbt accounts for them.
      s.cx.space.claim(s.agno, start, len, Owner::kCowStaging, 0);
    } else if (shared->empty() || start >= shared->back().start + shared->back().len) {
      // (Out-of-order records are the walk's to report; they are not kept.)
      shared->push_back(AgTotals::SharedExtent{start, len, refcount, daddr});
    }
  };
  const auto st = walk_tree(s, btree::SbtreeKind::kRefcountbt, agf.refcount_root, agf.refcount_level,
                            Owner::kRefcountbt, record);
  check_count(s, agf_daddr, "agf_refcount_blocks", agf.refcount_blocks, st.blocks, "the refcountbt has");
}

}  // namespace

void check_free_space(const AgScan& s, const fs::AgfInfo& agf, uint64_t agf_daddr, AgTotals* t) {
  const fs::Superblock& sb = s.cx.sb;
  uint64_t bno_blocks = 0, cnt_blocks = 0;
  std::vector<Extent> bno = walk_free_tree(s, btree::SbtreeKind::kBnobt, agf.roots[0], agf.levels[0], Owner::kBnobt,
                                           &bno_blocks);
  std::vector<Extent> cnt = walk_free_tree(s, btree::SbtreeKind::kCntbt, agf.roots[1], agf.levels[1], Owner::kCntbt,
                                           &cnt_blocks);
  // The bnobt walk checked start order; overlaps are the ones left to find.
  uint64_t freeblks = 0, longest = 0;
  uint64_t prev_end = 0;
  for (const Extent& e : bno) {
    if (e.first < prev_end) {
      s.report("bnobt", agf_daddr, "free extent agbno " + std::to_string(e.first) + " length " +
                                       std::to_string(e.second) + " overlaps the one before it");
    } else {
      s.cx.space.claim(s.agno, e.first, e.second, Owner::kFree, 0);
    }
    prev_end = std::max<uint64_t>(prev_end, uint64_t{e.first} + e.second);
    freeblks += e.second;
    longest = std::max<uint64_t>(longest, e.second);
  }
  std::sort(bno.begin(), bno.end());
  std::sort(cnt.begin(), cnt.end());
  report_missing(s, agf_daddr, bno, cnt, "bnobt", "cntbt");
  report_missing(s, agf_daddr, cnt, bno, "cntbt", "bnobt");
  if (agf.freeblks != freeblks)
    s.report("agf", agf_daddr, "agf_freeblks " + std::to_string(agf.freeblks) + " but the bnobt holds " +
                                   std::to_string(freeblks) + " free blocks");
  if (agf.longest != longest)
    s.report("agf", agf_daddr, "agf_longest " + std::to_string(agf.longest) + " but the longest free extent has " +
                                   std::to_string(longest) + " blocks");

  uint64_t btreeblks = (bno_blocks ? bno_blocks - 1 : 0) + (cnt_blocks ? cnt_blocks - 1 : 0);
  if (sb.features_ro_compat & fs::kRoCompatRmapbt) {
    const auto st = walk_tree(s, btree::SbtreeKind::kRmapbt, agf.roots[2], agf.levels[2], Owner::kRmapbt, {});
    btreeblks += st.blocks ? st.blocks - 1 : 0;
    check_count(s, agf_daddr, "agf_rmap_blocks", agf.rmap_blocks, st.blocks, "the rmapbt has");
  }
  if (agf.btreeblks != btreeblks)
    s.report("agf", agf_daddr, "agf_btreeblks " + std::to_string(agf.btreeblks) + " but the free-space btrees hold " +
                                   std::to_string(btreeblks) + " blocks beyond their roots");
  if (sb.features_ro_compat & fs::kRoCompatReflink) check_refcountbt(s, agf, agf_daddr, &t->shared);
  t->free_blocks = freeblks;
  t->btree_blocks = btreeblks;
}

}  // namespace xfsfuse::fsck
