// fs/ops/inactivate.h — freeing an unlinked inode once nothing uses it (the
// kernel's xfs_inactive), and freeing every inode left on the AGI unlinked
// lists (at unmount, and when a read-write mount opens).
//
// inactivate() sets the size to 0 and frees every data-fork block, then
// every attr-fork block (leaves and remote values), a few extents per
// transaction (the kernel's truncate loop), then, in one
// transaction, frees the inode number (fs/alloc/ialloc.h ifree), takes the
// inode off its unlinked list (fs/alloc/iunlink.h) and clears it as the
// kernel's xfs_ifree does (checked with xfs_db on a kernel-freed inode,
// docs/format.md "Unlinked lists"): di_mode 0, data fork format extents
// with no extents, no attr fork (forkoff 0, aformat extents), size and
// block count 0, di_flags 0, di_flags2 what a new inode gets (BIGTIME /
// NREXT64 as the filesystem has them), generation + 1; timestamps, owner
// and the literal area's old bytes stay.  The in-core inode is marked free
// at commit (Mount::iget answers ENOENT for it from then on).
// A local attr fork is dropped with the inode.
//
// Errors: ENOSPC, EROFS, EIO, EUCLEAN.  An inode that is
// linked again or free already is left alone (0).
// Thread safety: any thread; takes the inode's lock through its
// transactions.  REQUIRES: nothing but the caller will use ip again (its
// inode number may be reused as soon as this returns).
#pragma once

#include "fs/incore_inode.h"

namespace xfsfuse::fs {

class Mount;

/// Frees the blocks and the inode number of ip, whose link count is 0.
int inactivate(Mount& m, const InodeRef& ip);

/// Inactivates every inode on every AG's unlinked lists.  Returns 0 or the
/// first error (the walk stops at a bucket that cannot be emptied; one log
/// line says which inode).  *freed (if non-null) = inodes freed.
int inactivate_unlinked(Mount& m, uint64_t* freed = nullptr);

}  // namespace xfsfuse::fs
