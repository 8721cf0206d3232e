// tools/fsck/ag_check_internal.h — what the AG phase's files share
// (ag_check.cc: headers and AGFL; ag_check_free.cc: bnobt, cntbt, rmapbt,
// refcountbt; ag_check_inodes.cc: inobt, finobt).  Not for other phases.
#pragma once

#include <cstdint>
#include <string>

#include "btree/sbtree.h"
#include "fs/ag.h"
#include "tools/fsck/context.h"

namespace xfsfuse::fsck {

/// Differences reported one by one before the rest are summed up in one line.
inline constexpr unsigned kMaxListed = 16;

/// One AG being checked.
struct AgScan {
  Context& cx;
  uint32_t agno = 0;
  uint32_t length = 0;  ///< fsblocks in this AG
  uint64_t daddr(uint32_t agbno) const { return fs::agbno_to_daddr(cx.sb, agno, agbno); }
  void report(const std::string& structure, uint64_t daddr, std::string what) const {
    cx.rep.report(structure, agno, kNoIno, daddr, std::move(what));
  }
};

/// Reads `sectors` 512-byte sectors at daddr through the cache without a
/// verifier, then runs ops->verify_read on them (so the reason reaches the
/// report, not the log).  Returns 0; EUCLEAN with *why when the check failed
/// (*h then still holds the data); or the read's errno with *h empty — EUCLEAN
/// too when the cache already holds the block as corrupt (the driver read it
/// with its verifier first), so test *h before reading it.
int read_checked(Context& cx, uint64_t daddr, uint32_t sectors, const bc::BufOps& ops, bc::BufHandle* h,
                 std::string* why);

/// Walks one btree of the AG: reports its faults (a block that fails its
/// verifier or owner check on anything but the magic is reported and still
/// walked), claims its blocks as owner, hands records to record (may be empty).
btree::SbtreeStats walk_tree(const AgScan& s, btree::SbtreeKind kind, uint32_t root, uint32_t levels, Owner owner,
                             const btree::SbtreeRecordFn& record);

/// bnobt and cntbt against each other and the AGF; rmapbt and refcountbt
/// when their features are on.  Fills t->free_blocks and t->btree_blocks.
void check_free_space(const AgScan& s, const fs::AgfInfo& agf, uint64_t agf_daddr, AgTotals* t);

/// inobt and finobt against each other and the AGI; fills the inode table
/// and t->icount / t->ifree.
void check_inode_btrees(const AgScan& s, const fs::AgiInfo& agi, uint64_t agi_daddr, AgTotals* t);

}  // namespace xfsfuse::fsck
