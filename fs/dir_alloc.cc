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
  // As the kernel reserves for a name added (XFS_DIRENTER_SPACE_RES, docs/
  // format.md "Space reservations"): a directory block for every da btree
  // level, a data block and a free-index block, each with the bmbt blocks
  // its mapping may need.  AGFL refills come out of the blocks every mount
  // holds back (Mount::reserve_blocks), as in the kernel.
  const uint64_t blk = 1u << sb.dirblklog, blocks = btree::kDaNodeMaxDepth + 2;
  return blocks * blk + dir_remove_reservation(sb);
}

uint64_t dir_remove_reservation(const Superblock& sb) {
  // XFS_DIRREMOVE_SPACE_RES: the bmbt blocks of unmapping (or mapping) one
  // directory block at each of those places (an extent split in the middle
  // of a btree-format fork adds a record).
  return (btree::kDaNodeMaxDepth + 2) * bmap_extent_add_reservation(sb, 1u << sb.dirblklog);
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
