// Directory blocks in the data fork (the kernel's xfs_da_grow_inode /
// xfs_da_shrink_inode): mapped and unmapped through the bmap write path,
// which keeps the extent list, the bmbt and the inode's counters.
#include <cerrno>

#include "btree/da_btree.h"
#include "fs/bmap_write.h"
#include "fs/dir_write_internal.h"
#include "fs/mount.h"

namespace xfsfuse::fs {

uint64_t dir_add_reservation(const Superblock& sb) {
  // A data block and a free-index block, and a split of the leaf, of every
  // da node above it and of the root (which takes one more block for its
  // copy); each mapping may split the bmbt and refill the AGFL.  Then what
  // a removal may need (a rename removes too).
  const uint32_t blk = 1u << sb.dirblklog;
  return (btree::kDaNodeMaxDepth + 2) * bmap_write_reservation(sb, blk) + dir_remove_reservation(sb);
}

uint64_t dir_remove_reservation(const Superblock& sb) {
  // An emptied data block, a free-index block, a leaf and a node per level
  // joined, the LEAF1 block and block form's block going back: each unmap
  // may split an extent.
  return (btree::kDaNodeMaxDepth + 4) * bmap_unmap_reservation(sb);
}

}  // namespace xfsfuse::fs

namespace xfsfuse::fs::dir {

int dir_alloc_block(Transaction& tp, CachedInode* dp, uint64_t dablk, std::vector<bc::DiskRange>* maps) {
  const uint32_t want = 1u << tp.mount().sb().dirblklog;
  std::vector<Extent> map;
  if (int e = bmap_write(tp, dp, dablk, want, 0, &map)) return e;
  return tp.mount().map_blocks(*dp, false, dablk, want, maps);
}

int dir_free_block(Transaction& tp, CachedInode* dp, uint64_t dablk, bc::BufHandle* h) {
  const uint32_t blk = 1u << tp.mount().sb().dirblklog;
  bool more = false;
  if (int e = bmap_unmap(tp, dp, dablk, blk, blk, &more)) return e;
  // An invariant, kept as a check: a range of blk fsblocks holds at most blk
  // extents, so one call unmaps it all.
  if (more) return EIO;
  tp.stale_buf(h);
  return 0;
}

}  // namespace xfsfuse::fs::dir
