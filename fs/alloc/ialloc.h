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
// agi_count / agi_freecount.  With the sparse inodes feature, an AG where no
// aligned chunk is free gets a sparse piece instead: sb_spino_align blocks
// aligned to sb_spino_align, recorded in the chunk-aligned inobt / finobt
// record of its chunk with the rest marked as holes (holemask, and free
// bits set), merged into that record when an earlier piece made it.
// ifree() gives an inode number back and frees a chunk whose allocated
// inodes are all free again (its records deleted, the blocks of each run of
// non-hole inodes freed) — except the chunk of the root directory and
// chunks smaller than a block (over 64 inodes a block), as the kernel keeps
// them.  Holes are never handed out.
// agi_iblocks / agi_fblocks follow the trees' blocks (inobtcount feature);
// the AG's in-core counters follow at commit.
//
// A piece goes where the kernel puts it: the aligned run closest to the
// inobt root.  Not yet: the kernel's exact nearest-to-parent search, and its
// placement of whole chunks (after agi_newino, else near the inobt root:
// alloc_extent's aligned policy picks the shortest free extent that holds
// one instead).  Unlike the kernel, a piece is found even when the AG's
// longest free extent is shorter than sb_spino_align * 2 - 1 blocks (the
// kernel's xfs_alloc_space_available asks minlen + alignment - 1 and moves
// on to another AG or answers ENOSPC).
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
