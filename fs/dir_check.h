// fs/dir_check.h — deep checks of one directory: what only shows across its
// blocks, beyond what each block's verifier checks when the block is read.
// Written for xfsfuse-fsck; the driver may call it too.
//
// Already checked at read time, and relied on here (fs/dir_data.cc,
// fs/dir_leaf.cc, fs/dir_sf.cc, btree/da_btree.cc): each data block's v5
// header and CRC, its entries (tags, names 1..255 bytes without '/' or NUL,
// ftype range) and its bestfree (exactly the 3 longest free regions, longest
// first); block form's leaf in full (hash order, each live leaf entry naming a
// distinct entry with that entry's hash, every entry named, stale count) and
// its di_size; each LEAF1/LEAFN block's hash order and stale count within the
// block; each da node's level, count and hash order; short-form forks in
// full.  dir_deep_check() adds, for leaf and node forms:
//   - di_size: the data-space byte offset where the last data block ends
//     (one directory block for block form: dir_check_walk lists a block
//     directory whose di_size is wrong, which dir_iterate refuses);
//   - the leaf space as a tree: each node entry's hashval is the largest hash
//     of its child's subtree, children one level down, the leaves in hash
//     order from one to the next, sibling links (forw/back) in tree order;
//   - leaf entries against data entries: every live leaf entry names a data
//     entry whose name hashes to its hashval, every data entry is named by
//     exactly one leaf entry;
//   - leaf form: LEAF1 bestcount = data blocks (holes included), bests[db] =
//     bestfree[0] length of data block db (0xffff for a hole);
//   - node form: the free-index blocks (XDF3): v5 header (magic, CRC, blkno,
//     uuid, owner), firstdb = (free block index) * bests per block, nused <=
//     nvalid <= bests per block, nused = non-0xffff bests, each best as for
//     LEAF1, and every data block covered by one free block's bests.
// Format facts: XFS Algorithms & Data Structures, "Directories".
// Thread safety: as fs/dir.h (any thread).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "fs/dir.h"
#include "fs/mount.h"

namespace xfsfuse::fs {

/// One finding of the deep checks.
struct DirFault {
  uint64_t daddr = 0;  ///< 512-byte sector of the block at fault (the inode's for di_size)
  std::string why;     ///< one sentence, no trailing period; the caller names the directory
  /// A finding xfs_repair -n does not report (di_size of a block, leaf or
  /// node directory, and the back pointer of a level's first da node:
  /// repair rewrites them silently); a checker that must agree with
  /// xfs_repair -n does not count these.
  bool repair_silent = false;
};

/// Findings past this many are summed up in one last fault.
inline constexpr size_t kMaxDirFaults = 64;

/// Runs the deep checks (see the file comment) on directory dir, appending
/// one DirFault per finding to *faults.  A block that cannot be read is a
/// fault too (a verifier failure is also logged by the buffer cache); the
/// checks that need it are skipped.  Short-form directories have nothing to
/// add, block form only its di_size.  Returns 0 once the checks ran, ENOTDIR, or EUCLEAN
/// (logged) when dir_form() refuses the directory's fork.
int dir_deep_check(Mount& m, const CachedInode& dir, std::vector<DirFault>* faults);

/// dir_deep_check() that also lists the directory to fn (if non-empty), for
/// a checker that wants both and reads each block once: leaf and node forms
/// pass every entry of every data block that reads and verifies, in
/// data-space order, as DirEntry values like dir_iterate()'s (same `next`);
/// a block that fails is a fault and its entries are skipped, the listing
/// goes on.  Short-form and block-form directories are listed as
/// dir_iterate() lists them, whose error (it stops there) is returned.
/// Returns 0, ENOTDIR, EUCLEAN (logged), or that errno.
int dir_check_walk(Mount& m, const CachedInode& dir, const std::function<void(const DirEntry&)>& fn,
                   std::vector<DirFault>* faults);

}  // namespace xfsfuse::fs
