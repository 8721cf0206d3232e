// fs/alloc/iunlink.h — the AGI unlinked lists: inodes whose link count
// reached 0 but which are still in use (open, or held by the kernel's FUSE
// node table), kept so that they are freed later — at their last release,
// or by the next mount after a crash.
//
// Format (XFS Algorithms & Data Structures, "AG Inode Management"; the
// insertion order checked against the kernel, docs/format.md "Unlinked
// lists"): agi_unlinked[64] holds the heads, be32 aginos, NULLAGINO
// (0xffffffff) for an empty bucket; an inode of agino a is in bucket a % 64;
// the list continues through each inode's di_next_unlinked (NULLAGINO at the
// end).  A new inode goes at the head of its bucket, as the kernel puts it.
//
// di_next_unlinked belongs to this code: it is changed only here, in the
// inode's cluster buffer joined to the transaction (the inode's CRC fixed,
// its bytes logged), never through the in-core inode (encode_inode() takes
// the field from the buffer: fs/incore_inode.h), so the predecessor of an
// inode need not be locked (lock order: the victim's inode lock, then the
// AGI, then the cluster buffers, docs/locking.md).  The in-core
// next_unlinked of the inode passed in follows, for information.
//
// Errors: EUCLEAN (one log line: a chain that leaves the AG, loops, or does
// not hold the inode), EIO, ENOMEM.  After an error the transaction must be
// cancelled.  Thread safety: as the transaction; the AGI buffer is the lock.
#pragma once

#include <array>
#include <cstdint>

#include "fs/trans/trans.h"

namespace xfsfuse::fs {

/// Puts ip at the head of its AG's unlinked bucket.
/// REQUIRES: ip joined to tp (its lock held exclusively), link count 0.
int iunlink(Transaction& tp, CachedInode* ip);

/// Takes ip off its AG's unlinked list.  The predecessor is found by
/// walking the bucket from its head, each cluster buffer only read shared
/// and let go; then the clusters of the joined inodes, ip and the
/// predecessor are joined ascending (docs/locking.md).  REQUIRES: ip joined
/// to tp, and tp holding no cluster buffer yet (the walk may wait for one).
int iunlink_remove(Transaction& tp, CachedInode* ip);

/// The 64 bucket heads of AG agno's AGI as they are now (read shared, not
/// in a transaction).  Returns 0 or the AGI read's errors.
int iunlink_heads(Mount& m, uint32_t agno, std::array<uint32_t, 64>* heads);

}  // namespace xfsfuse::fs
