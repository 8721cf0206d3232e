// bmap_write, bmap_convert_written and the reservations (fs/bmap_write.h).
#include "fs/bmap_write.h"

#include <algorithm>
#include <cerrno>

#include "btree/layout.h"
#include "fs/alloc/agf_tx.h"
#include "fs/bmap_fork.h"
#include "fs/mount.h"

namespace xfsfuse::fs {

namespace {

uint64_t end_of(const Extent& e) { return e.startoff + e.blockcount; }

// Blocks the AGFL refills of one call may take (the free-space btrees of a
// few AGs split at every level).
uint64_t agfl_refills(const Superblock& sb) { return 4 * uint64_t{alloc_maxlevels(sb)}; }

// Where a hole at file block off (before extent i) is best allocated: after
// the previous extent, shifted by the gap, if that stays in its AG; else the
// inode's own block.
uint64_t target_for(const Superblock& sb, const CachedInode& ip, const std::vector<Extent>& ext, size_t i, uint64_t off) {
  if (i > 0) {
    const Extent& p = ext[i - 1];
    const uint32_t agno = fsblock_to_agno(sb, p.startblock);
    const uint64_t agbno = uint64_t{fsblock_to_agbno(sb, p.startblock)} + p.blockcount + (off - end_of(p));
    if (agbno < ag_length(sb, agno)) return agbno_to_fsblock(sb, agno, static_cast<uint32_t>(agbno));
  }
  const uint64_t ino = ip.core.ino;
  return agbno_to_fsblock(sb, ino_to_agno(sb, ino), agino_to_agbno(sb, ino_to_agino(sb, ino)));
}

}  // namespace

uint64_t bmap_write_reservation(const Superblock& sb, uint64_t len) {
  // Each new record may split the bmbt at every level; the new records lie
  // side by side, so past the first few splits a leaf splits once per
  // leaf_min records added (and each split may climb every level).
  const uint64_t leaf_min = std::max<uint32_t>(1, btree::kBmbtBlockLayout.maxrecs(sb.blocksize, 0) / 2);
  const uint64_t splits = uint64_t{bmbt_maxlevels(sb)} * (2 + 2 * ((len + leaf_min - 1) / leaf_min));
  return len + splits + 1 + agfl_refills(sb);
}

uint64_t bmap_unmap_reservation(const Superblock& sb) {
  // At most two records added (a record split in three), the leaf of an
  // extents -> btree conversion, AGFL refills.
  return 2 * uint64_t{bmbt_maxlevels(sb)} + 1 + agfl_refills(sb);
}

int bmap_write(Transaction& tp, CachedInode* ip, uint64_t off, uint64_t len, unsigned flags, std::vector<Extent>* out) {
  out->clear();
  if (len == 0) return 0;
  if (off >= kBmbtMaxStartoff || len > kBmbtMaxStartoff - off) return EFBIG;
  const bool attr = flags & kBmapAttrFork;
  if (!bmap_fork_mapped(*ip, attr)) return EINVAL;
  const Superblock& sb = tp.mount().sb();
  const uint64_t end = off + len;
  ForkEditor fe(tp, ip, attr);
  for (uint64_t pos = off; pos < end;) {
    const std::vector<Extent>& ext = fe.extents();
    const size_t i = fe.find(pos);
    if (i < ext.size() && ext[i].startoff <= pos) {
      pos = end_of(ext[i]);
      continue;
    }
    const uint64_t hole_end = std::min(end, i < ext.size() ? ext[i].startoff : end);
    const auto want = static_cast<uint32_t>(std::min(hole_end - pos, kBmbtMaxBlockcount));
    uint64_t fsblock = 0;
    uint32_t got = 0;
    if (int e = bmap_alloc(tp, target_for(sb, *ip, ext, i, pos), want, &fsblock, &got)) return e;
    ip->core.nblocks += got;
    if (int e = fe.merge_replace(i, i, {Extent{pos, fsblock, got, (flags & kBmapUnwritten) != 0}})) return e;
    pos += got;
  }
  if (int e = fe.finish()) return e;
  const std::vector<Extent>& ext = fe.extents();
  for (size_t i = fe.find(off); i < ext.size() && ext[i].startoff < end; i++) {
    Extent e = ext[i];
    const uint64_t s = std::max(e.startoff, off), t = std::min(end_of(e), end);
    e.startblock += s - e.startoff;
    e.startoff = s;
    e.blockcount = t - s;
    out->push_back(e);
  }
  return 0;
}

int bmap_convert_written(Transaction& tp, CachedInode* ip, uint64_t off, uint64_t len) {
  if (len == 0) return 0;
  if (off >= kBmbtMaxStartoff || len > kBmbtMaxStartoff - off) return EFBIG;
  if (!bmap_fork_mapped(*ip)) return EINVAL;
  const uint64_t end = off + len;
  ForkEditor fe(tp, ip);
  for (uint64_t pos = off;;) {
    const std::vector<Extent>& ext = fe.extents();
    size_t i = fe.find(pos);
    while (i < ext.size() && ext[i].startoff < end && !ext[i].unwritten) i++;
    if (i == ext.size() || ext[i].startoff >= end) break;
    const Extent e = ext[i];
    const uint64_t s = std::max(e.startoff, off), t = std::min(end_of(e), end);
    std::vector<Extent> pieces;
    if (s > e.startoff) pieces.push_back({e.startoff, e.startblock, s - e.startoff, true});
    pieces.push_back({s, e.startblock + (s - e.startoff), t - s, false});
    if (t < end_of(e)) pieces.push_back({t, e.startblock + (t - e.startoff), end_of(e) - t, true});
    if (int err = fe.merge_replace(i, i + 1, std::move(pieces))) return err;
    pos = t;
  }
  return fe.finish();
}

}  // namespace xfsfuse::fs
