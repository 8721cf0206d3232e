// Directory blocks in the data fork: allocated from free space near the
// inode and added to the fork's extent list, or freed again.  A stand-in for
// the bmap write path (the kernel's xfs_da_grow_inode / xfs_da_shrink_inode):
// extents-format forks only, no bmbt.
#include <algorithm>
#include <cerrno>

#include "fs/alloc/alloc.h"
#include "fs/dir_write_internal.h"
#include "fs/format/geometry.h"

namespace xfsfuse::fs {

uint64_t dir_add_reservation(const Superblock& sb) {
  // The directory block, and slack for the AGFL refills of up to one
  // allocation per fsblock of it (each may split a free-space btree).
  return (uint64_t{1} << sb.dirblklog) + 16;
}

}  // namespace xfsfuse::fs

namespace xfsfuse::fs::dir {

namespace {

// Inserts e into the sorted extent list, merged with a neighbour that
// continues it both in the file and on the disk.
void add_extent(std::vector<Extent>& ext, const Extent& e) {
  auto it = std::lower_bound(ext.begin(), ext.end(), e.startoff,
                             [](const Extent& x, uint64_t off) { return x.startoff < off; });
  it = ext.insert(it, e);
  if (it != ext.begin()) {
    auto prev = std::prev(it);
    if (!prev->unwritten && prev->startoff + prev->blockcount == it->startoff &&
        prev->startblock + prev->blockcount == it->startblock) {
      prev->blockcount += it->blockcount;
      it = std::prev(ext.erase(it));
    }
  }
  auto next = std::next(it);
  if (next != ext.end() && !next->unwritten && it->startoff + it->blockcount == next->startoff &&
      it->startblock + it->blockcount == next->startblock) {
    it->blockcount += next->blockcount;
    ext.erase(next);
  }
}

}  // namespace

int dir_alloc_block(Transaction& tp, CachedInode* dp, uint64_t dablk, std::vector<bc::DiskRange>* maps) {
  Mount& m = tp.mount();
  const Superblock& sb = m.sb();
  const uint32_t want = 1u << sb.dirblklog;
  const size_t max_recs = fork_size(dp->core, false) / sizeof(xd_bmbt_rec);
  if (dp->df.format != ForkFormat::kExtents || dp->df.extents.size() >= max_recs) return ENOSPC;
  const uint32_t first = ino_to_agno(sb, dp->core.ino);
  uint32_t target = agino_to_agbno(sb, ino_to_agino(sb, dp->core.ino));
  std::vector<Extent> got;
  uint32_t have = 0;
  // The inode's AG first; the others in turn with trylock (they may come
  // before it in agno order, and this transaction may hold its AGF).
  for (uint32_t i = 0; i < sb.agcount && have < want; i++) {
    const uint32_t agno = (first + i) % sb.agcount;
    if (i > 0) target = 0;
    bool contiguous = true;  // the rest in one extent first, then in pieces
    while (have < want) {
      AllocRequest r;
      r.agno = agno;
      r.target = target;
      r.maxlen = want - have;
      r.minlen = contiguous ? r.maxlen : 1;
      r.trylock = i > 0;
      uint32_t agbno = 0, len = 0;
      const int e = alloc_extent(tp, r, &agbno, &len);
      if (e == ENOSPC && contiguous) {
        contiguous = false;
        continue;
      }
      if (e == ENOSPC || e == EAGAIN) break;
      if (e) return e;
      got.push_back(Extent{dablk + have, agbno_to_fsblock(sb, agno, agbno), len, false});
      have += len;
      target = agbno + len;
    }
  }
  if (have < want) return ENOSPC;
  for (const Extent& e : got) add_extent(dp->df.extents, e);
  if (dp->df.extents.size() > max_recs) return ENOSPC;
  dp->core.nextents = dp->df.extents.size();
  dp->core.nblocks += want;
  tp.log_inode(dp, kDirtyCore | kDirtyData);
  return m.map_blocks(*dp, false, dablk, want, maps);
}

int dir_free_block(Transaction& tp, CachedInode* dp, uint64_t dablk, bc::BufHandle* h) {
  const Superblock& sb = tp.mount().sb();
  const uint64_t end = dablk + (uint64_t{1} << sb.dirblklog);
  std::vector<Extent> kept;
  for (const Extent& e : dp->df.extents) {
    const uint64_t lo = std::max(e.startoff, dablk), hi = std::min(e.startoff + e.blockcount, end);
    if (lo >= hi) {
      kept.push_back(e);
      continue;
    }
    const uint64_t fsb = e.startblock + (lo - e.startoff);
    if (int err = free_extent(tp, fsblock_to_agno(sb, fsb), fsblock_to_agbno(sb, fsb), static_cast<uint32_t>(hi - lo)))
      return err;
    dp->core.nblocks -= hi - lo;
    if (e.startoff < lo) kept.push_back(Extent{e.startoff, e.startblock, lo - e.startoff, e.unwritten});
    if (hi < e.startoff + e.blockcount)
      kept.push_back(Extent{hi, e.startblock + (hi - e.startoff), e.startoff + e.blockcount - hi, e.unwritten});
  }
  dp->df.extents = std::move(kept);
  dp->core.nextents = dp->df.extents.size();
  tp.stale_buf(h);
  tp.log_inode(dp, kDirtyCore | kDirtyData);
  return 0;
}

}  // namespace xfsfuse::fs::dir
