// bmap_write, bmap_convert_written and the reservations (fs/bmap_write.h).
#include "fs/bmap_write.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <optional>

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

// A target near a neighbouring extent, as the kernel's xfs_bmap_adjacent
// picks it (docs/format.md "Where new blocks go"): agbno + delta of the AG
// of agbno, or nothing when that leaves the AG.
std::optional<uint64_t> in_ag(const Superblock& sb, uint32_t agno, uint64_t agbno, int64_t delta) {
  const int64_t b = static_cast<int64_t>(agbno) + delta;
  if (b < 0 || static_cast<uint64_t>(b) >= ag_length(sb, agno)) return std::nullopt;
  return agbno_to_fsblock(sb, agno, static_cast<uint32_t>(b));
}

// Where len blocks for the hole at file block off (before extent i) are best
// allocated. At the end of the file: right after the previous extent, moved
// on by the gap when that stays in its AG. Inside the file: the previous
// extent's end and the next extent's start are both candidates, each moved
// by the gap only when the gap is at most kGapUnits * len (the next one
// otherwise backs off by len), and the one with the smaller distance wins.
// With neither, the inode's own block.
uint64_t target_for(const Superblock& sb, const CachedInode& ip, const std::vector<Extent>& ext, size_t i, uint64_t off,
                    uint64_t len) {
  constexpr uint64_t kGapUnits = 4;
  std::optional<uint64_t> prev, next;
  uint64_t prev_dist = 0, next_dist = 0;
  if (i > 0) {
    const Extent& p = ext[i - 1];
    const uint32_t agno = fsblock_to_agno(sb, p.startblock);
    const uint64_t gap = off - end_of(p);
    const uint64_t end_agbno = uint64_t{fsblock_to_agbno(sb, p.startblock)} + p.blockcount;
    prev = in_ag(sb, agno, end_agbno, 0);
    if (prev && i == ext.size()) {
      if (auto moved = in_ag(sb, agno, end_agbno, static_cast<int64_t>(gap))) return *moved;
      return *prev;
    }
    prev_dist = gap;
    if (prev) {
      auto moved = gap <= kGapUnits * len ? in_ag(sb, agno, end_agbno, static_cast<int64_t>(gap)) : std::nullopt;
      if (moved) prev = moved;
      else prev_dist += gap;
    }
  }
  if (i < ext.size()) {
    const Extent& n = ext[i];
    const uint32_t agno = fsblock_to_agno(sb, n.startblock);
    const uint64_t agbno = fsblock_to_agbno(sb, n.startblock);
    const uint64_t gap = n.startoff - off;
    next_dist = gap;
    if (auto moved = gap <= kGapUnits * len ? in_ag(sb, agno, agbno, -static_cast<int64_t>(gap)) : std::nullopt) {
      next = moved;
    } else if (auto before = in_ag(sb, agno, agbno, -static_cast<int64_t>(len))) {
      next = before;
      next_dist += gap - len;
    } else {
      next = n.startblock;
      next_dist += gap;
    }
  }
  if (prev && next) return prev_dist <= next_dist ? *prev : *next;
  if (prev) return *prev;
  if (next) return *next;
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

uint64_t bmap_extent_add_reservation(const Superblock& sb, uint64_t blocks) {
  const uint32_t maxrecs = btree::kBmbtBlockLayout.maxrecs(sb.blocksize, 0);
  const uint64_t per_leaf = std::max<uint32_t>(1, maxrecs - maxrecs / 2);
  return (blocks + per_leaf - 1) / per_leaf * (bmbt_maxlevels(sb) - 1);
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
  // File data, as the kernel's XFS_ALLOC_USERDATA: a regular file's data
  // fork (directories, symlinks and attr forks are metadata).
  const bool userdata = !attr && S_ISREG(ip->core.mode);
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
    if (int e = bmap_alloc(tp, target_for(sb, *ip, ext, i, pos, want), want, userdata, &fsblock, &got)) return e;
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
