// fs/attr_check.h — deep checks of one inode's attr fork: what the readers
// (fs/attr.h) do not look at, or look at only for the entries a lookup
// touches.  Written for xfsfuse-fsck; the driver may call it too.
//
// Already checked at read time, and relied on here (fs/attr_leaf.cc,
// btree/da_btree.cc, fs/attr_remote.cc): each attr block's v5 header
// (magic, CRC, blkno, uuid, owner), a leaf's count / firstused and every
// entry's flags, hash order and record bounds; each da node's level, count
// and hash order; each remote value block's "XARM" header.  Added here:
//   - short form: every entry inside totsize, totsize where the entries end,
//     no two entries with the same name in the same namespace;
//   - leaf blocks: each entry's hashval is its name's da hash, usedbytes is
//     the sum of the entries' record sizes, each freemap region inside the
//     block and 4-byte aligned, a remote entry's value (valueblk, valuelen)
//     non-empty, at most 64 KiB and inside the fork;
//   - the da btree from attr fork block 0: a child's level is its parent's
//     minus one (leaves 0), each node key is the largest hash of its child's
//     subtree, leaves in hash order from one to the next, each level linked
//     in tree order by forw/back, no block reached twice;
//   - remote values: each block read through the remote verifier, its owner,
//     offset and bytes; no fork block used twice (by two values, or by a
//     value and a leaf or node).
// Format facts: XFS Algorithms & Data Structures, "Extended Attributes";
// docs/format.md.  Thread safety: as fs/attr.h.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "fs/mount.h"

namespace xfsfuse::fs {

/// One finding of the attr deep checks.
struct AttrFault {
  uint64_t daddr = 0;  ///< 512-byte sector of the block at fault (the inode's for short form)
  std::string why;     ///< one sentence, no trailing period; the caller names the inode
  /// A finding xfs_repair -n 6.1 does not report (duplicate short-form
  /// names; an empty remote value; a remote value block's owner, offset or
  /// bytes; a block two remote values share): not counted by a checker that must agree with it.
  bool repair_silent = false;
};

/// Findings past this many are summed up in one last fault.
inline constexpr size_t kMaxAttrFaults = 64;

/// Checks a short-form attr fork's bytes (the whole attr fork of the
/// inode), appending one AttrFault at daddr (the inode's) per finding.
void attr_sf_check(std::span<const std::byte> fork, uint64_t daddr, std::vector<AttrFault>* faults);

/// Checks one attr leaf block (one fsblock, magic 0x3bee) beyond its header:
/// the entry table as the reader's verifier checks it, then the hashes,
/// usedbytes, freemap and remote value fields (fork_blocks: the attr fork's
/// size in fsblocks, past the last mapped block), appending one AttrFault
/// (daddr 0: the caller's to fill) per finding.  Returns true if there was
/// none; false if the entry table itself failed (one fault, no more checks)
/// or any other check did.
bool attr_leaf_block_check(std::span<const std::byte> block, uint64_t fork_blocks, std::vector<AttrFault>* faults);

/// Runs the deep checks (see the file comment) on ip's attr fork, appending
/// one AttrFault per finding to *faults (a block that cannot be read or
/// fails its verifier is a fault naming its daddr; the buffer cache also
/// logged why).  Nothing to do for an inode without an attr fork.
/// Returns 0 once the checks ran, or EUCLEAN (logged) when the fork is in no
/// attr format.
int attr_deep_check(Mount& m, const CachedInode& ip, std::vector<AttrFault>* faults);

}  // namespace xfsfuse::fs
