// bmap_unmap (fs/bmap_write.h): freeing a range of a fork from its end.
#include <algorithm>
#include <cerrno>

#include "fs/bmap_fork.h"
#include "fs/bmap_write.h"
#include "fs/mount.h"

namespace xfsfuse::fs {

int bmap_unmap(Transaction& tp, CachedInode* ip, uint64_t off, uint64_t len, uint32_t max_extents, bool* more,
               unsigned flags) {
  *more = false;
  const bool attr = flags & kBmapAttrFork;
  if (max_extents == 0 || !bmap_fork_mapped(*ip, attr)) return EINVAL;
  if (len == 0 || off >= kBmbtMaxStartoff) return 0;
  const uint64_t end = off + std::min(len, kBmbtMaxStartoff - off);
  const Superblock& sb = tp.mount().sb();
  ForkEditor fe(tp, ip, attr);
  const std::vector<Extent>& ext = fe.extents();
  // Extents [first, last) meet the range; the last max_extents of them go now.
  const size_t first = fe.find(off);
  const size_t last = static_cast<size_t>(
      std::partition_point(ext.begin(), ext.end(), [end](const Extent& e) { return e.startoff < end; }) - ext.begin());
  if (first >= last) return 0;
  const size_t lo = last - std::min<size_t>(last - first, max_extents);
  // Every AGF this call frees into, taken up front in ascending order (and
  // the inode's, where its bmbt blocks usually sit).
  std::vector<uint32_t> agnos;
  for (size_t i = lo; i < last; i++) agnos.push_back(fsblock_to_agno(sb, ext[i].startblock));
  if (ip->fork(attr).format == ForkFormat::kBtree) agnos.push_back(ino_to_agno(sb, ip->core.ino));
  if (int e = bmap_lock_agfs(tp, std::move(agnos))) return e;
  for (size_t i = last; i-- > lo;) {
    const Extent e = ext[i];
    const uint64_t s = std::max(e.startoff, off), t = std::min(e.startoff + e.blockcount, end);
    std::vector<Extent> keep;
    if (s > e.startoff) keep.push_back({e.startoff, e.startblock, s - e.startoff, e.unwritten});
    if (t < e.startoff + e.blockcount)
      keep.push_back({t, e.startblock + (t - e.startoff), e.startoff + e.blockcount - t, e.unwritten});
    fe.free_later(e.startblock + (s - e.startoff), t - s);
    ip->core.nblocks -= t - s;
    if (int err = fe.replace(i, i + 1, std::move(keep))) return err;
  }
  *more = lo > first;
  return fe.finish();
}

}  // namespace xfsfuse::fs
