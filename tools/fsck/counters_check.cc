// check_counters: the superblock's summary counters against the AGs.
//
// sb_icount = sum of agi_count, sb_ifree = sum of agi_freecount, and
// sb_fdblocks = sum of (agf_freeblks + agf_flcount + agf_btreeblks): free
// extents, the AGFL's blocks and the free-space btrees' blocks beyond their
// roots all count as free to the allocator (checked on the kernel image:
// 58,934 = the four AGs' sums).  The AG phase has already compared each AGF /
// AGI with its own trees; this compares what they add up to.
#include "tools/fsck/context.h"

namespace xfsfuse::fsck {

void check_counters(Context& cx) {
  uint64_t icount = 0, ifree = 0, fdblocks = 0;
  for (const AgTotals& t : cx.ags) {
    if (!t.ok) return;  // an unreadable AG header was reported; its sums would be wrong
    icount += t.icount;
    ifree += t.ifree;
    fdblocks += t.free_blocks + t.agfl_blocks + t.btree_blocks;
  }
  auto field = [&](const char* name, uint64_t sb_value, uint64_t sum, const char* what) {
    if (sb_value != sum)
      cx.rep.report("counters", kNoAg, kNoIno, 0,
                    std::string(name) + " " + std::to_string(sb_value) + " but the AGs hold " + std::to_string(sum) + " " + what);
  };
  field("sb_icount", cx.sb.icount, icount, "inodes");
  field("sb_ifree", cx.sb.ifree, ifree, "free inodes");
  field("sb_fdblocks", cx.sb.fdblocks, fdblocks, "free blocks");
}

}  // namespace xfsfuse::fsck
