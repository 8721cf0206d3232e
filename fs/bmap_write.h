// fs/bmap_write.h — changing a file's block map inside a transaction:
// allocating blocks for holes, converting unwritten extents to written, and
// unmapping (freeing) ranges of either fork: the data fork, or with
// kBmapAttrFork the attr fork (the kernel's XFS_BMAPI_ATTRFORK).
//
// The in-core extent list (CachedInode::df.extents / af.extents) is the map; a
// btree-format fork's bmbt follows every change record by record, and the
// fork changes format as the kernel's XFS changes it (checked on kernel-made
// images, docs/format.md "File extents (bmbt)"): an extents fork becomes a
// bmbt of one leaf as soon as di_nextents would exceed fork bytes / 16 (a
// 192-byte fork holds 12 extents, the 13th makes a btree; 336 bytes hold 21);
// a bmbt whose root is level 1 goes back to extents format (its leaf freed)
// as soon as the extents fit the fork again.  di_nblocks counts data and
// bmbt blocks (of both forks); the attr fork's extent count is
// di_anextents, its format di_aformat.  New extents merge with neighbours that are contiguous in file
// offset and fsblock and in the same state (written or unwritten), up to the
// record's 2^21 - 1 blocks.
//
// Allocation target: right after the previous extent, shifted by the hole
// between them (its startblock + blockcount + (off - its end)) when that
// stays inside its AG, else the inode's own block.  AGs are tried from the
// target's upward, the first waiting for its AGF and the later ones with
// trylock; an AG below the highest AGF the transaction holds is never locked
// (docs/locking.md), and AGs whose in-core counters show no free extent are
// skipped unlocked.  Freed blocks (data and bmbt) are given back at the end
// of each call, in ascending agno order.
//
// Units: file offsets ("off") and lengths ("len") in fsblocks (attr fork
// offsets are attr fork blocks, "dablk" for attr leaves).
// REQUIRES: ip joined to tp (its lock held exclusively); the caller reserved
// the blocks named by the *_reservation functions; ip is not reflinked
// (freed blocks go straight back to free space).  Nothing here changes
// di_size or touches file data.
// Errors (positive errno): ENOSPC (no AG has the space; the transaction
// must be cancelled), EFBIG (a range past file block 2^54 - 1, or more
// extents than di_nextents counts), EUCLEAN (a
// bmbt or free-space structure found inconsistent, one log line), EIO,
// EINVAL (the fork in local or device format, an inode with no attr fork
// for kBmapAttrFork, or max_extents 0),
// EAGAIN (rare: a freed block lies in an AG below one this transaction holds
// and another transaction holds that AG; cancel and retry).  After any error
// the transaction must be cancelled.
// Thread safety: as the transaction.
#pragma once

#include <cstdint>
#include <vector>

#include "fs/format/records.h"
#include "fs/incore_inode.h"
#include "fs/superblock.h"
#include "fs/trans/trans.h"

namespace xfsfuse::fs {

enum BmapFlags : unsigned {
  kBmapUnwritten = 1u << 0,  ///< new extents are unwritten (read as zeros)
  kBmapAttrFork = 1u << 1,   ///< map the attr fork, not the data fork
};

/// Blocks a transaction must reserve before bmap_write() of at most len new
/// blocks: the data, bmbt splits for the records it may add, the leaf of an
/// extents -> btree conversion, AGFL refills.
uint64_t bmap_write_reservation(const Superblock& sb, uint64_t len);

/// The bmbt blocks that mapping `blocks` new fsblocks may take, as the
/// kernel reserves them (XFS_NEXTENTADD_SPACE_RES): a split of every level
/// below the inode root for each bmbt leaf's worth (maxrecs - minrecs) of
/// new records.  Directory operations reserve this per directory block.
uint64_t bmap_extent_add_reservation(const Superblock& sb, uint64_t blocks);

/// Maps file blocks [off, off + len) of ip's data fork (kBmapAttrFork: attr
/// fork): holes get newly allocated blocks (kBmapUnwritten: as unwritten
/// extents), existing extents stay as they are.  *out = the mapping of
/// exactly [off, off + len) afterwards (extents clipped to the range, in
/// order, no holes).  Updates the fork's extents, its bmbt, core.nextents
/// (anextents) and core.nblocks, and logs the inode (kDirtyCore and
/// kDirtyData or kDirtyAttr).  Errors: above.
int bmap_write(Transaction& tp, CachedInode* ip, uint64_t off, uint64_t len, unsigned flags, std::vector<Extent>* out);

/// Converts the unwritten extents inside [off, off + len) to written
/// (splitting records at the range's ends, merging with written
/// neighbours).  Needs bmap_unmap_reservation() blocks.  Errors: above.
int bmap_convert_written(Transaction& tp, CachedInode* ip, uint64_t off, uint64_t len);

/// Unmaps [off, off + len), freeing the blocks, from the end of the range
/// backwards, touching at most max_extents extents (>= 1); extents partly
/// inside the range are trimmed or split.  *more = whether mapped blocks
/// remain in the range (commit, then call again in a new transaction).
/// flags: kBmapAttrFork to unmap the attr fork.  Errors: above.
int bmap_unmap(Transaction& tp, CachedInode* ip, uint64_t off, uint64_t len, uint32_t max_extents, bool* more,
               unsigned flags = 0);

/// Moves the boundary between ip's forks: di_forkoff = forkoff (8-byte
/// units; 0 = no attr fork), and the data fork made to fit its new size as
/// the kernel's xfs_bmap_add_attrfork does: an extents fork with more
/// records than fit becomes a btree (needs bmap_unmap_reservation()
/// blocks), a btree root is laid out again for the new size (its pointers
/// follow room for maxrecs keys), a local fork keeps its di_size bytes and
/// a device fork its number.
/// The attr fork's own bytes are the caller's (local or empty here).
/// Logs the inode.  Returns 0, EOPNOTSUPP (a local data fork or a bmbt root
/// that does not fit the new size: the kernel would convert the directory
/// or symlink or add a bmbt level, which is not written here; nothing was
/// changed), or an allocation's errno.
int bmap_set_forkoff(Transaction& tp, CachedInode* ip, uint8_t forkoff);

/// Blocks to reserve before bmap_unmap() or bmap_convert_written(): a record
/// split in two may split the bmbt at every level (or turn an extents fork
/// into a btree), and AGFL refills.
uint64_t bmap_unmap_reservation(const Superblock& sb);

}  // namespace xfsfuse::fs
