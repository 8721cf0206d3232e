// fs/alloc/ialloc.h — allocating and freeing inode numbers through an AG's
// inobt (every inode chunk: 64 inodes, their free mask) and finobt (the
// chunks with free inodes), inside a transaction.
//
// ialloc() takes a free inode from the finobt of the parent's AG (the chunk
// at or after the parent's, else the first), trying the other AGs in turn;
// an AG without free inodes gets a new chunk: 64 inodes in blocks aligned to
// sb_inoalignmt (docs/format.md "Inodes and the inobt"), each cluster written
// as free v3 inodes (magic, version, di_ino, uuid, a generation, a null
// unlinked pointer, CRC), recorded in the inobt and finobt, and counted in
// agi_count / agi_freecount.  ifree() gives an inode number back and frees a
// chunk whose inodes are all free again (its records deleted, its blocks
// freed) — except the chunk of the root directory, as the kernel keeps it.
// agi_iblocks / agi_fblocks follow the trees' blocks (inobtcount feature);
// the AG's in-core counters follow at commit.
//
// Not yet: sparse chunks (smaller aligned pieces when no aligned extent is
// free: ialloc fails with ENOSPC instead), the kernel's exact
// nearest-to-parent search.
//
// The inode itself (its core, mode and forks) is the caller's: a new inode
// is free on disk until the caller writes its core; a freed one must have
// been made free (mode 0) by the caller.
// Errors: ENOSPC (no AG can give an inode; nothing changed), EUCLEAN (one log
// line) for inconsistent AGI / inobt / finobt, EINVAL for an inode number
// outside the filesystem.  After an error the transaction must be cancelled.
// Thread safety: as the transaction; the AGI buffer is the AG's lock.
#pragma once

#include <cstdint>

#include "fs/trans/trans.h"

namespace xfsfuse::fs {

/// Blocks a transaction must reserve before ialloc(): a new chunk and
/// splits of the inobt, finobt and free-space btrees.
uint32_t ialloc_reservation(const Superblock& sb);

/// Allocates an inode number near parent_ino.  Returns 0 with *ino.
int ialloc(Transaction& tp, uint64_t parent_ino, uint64_t* ino);

/// Blocks a transaction must reserve before ifree(): a finobt record
/// inserted for a chunk that had no free inode may split the tree.
uint32_t ifree_reservation(const Superblock& sb);

/// Frees inode number ino.  Returns 0, ENOSPC (no reservation for a finobt
/// split), or EUCLEAN when it is not allocated.
int ifree(Transaction& tp, uint64_t ino);

}  // namespace xfsfuse::fs
