// Mount::statfs: the numbers the kernel's XFS gives statfs(2) (xfs_fs_statfs),
// from the superblock counters on a clean read-only mount, or from the sums
// of the per-AG counters (fs/perag.h) on a read-write mount (which changes
// them) and when a dirty log was mounted with norecovery (as the kernel
// recomputes lazy counters when the log was not clean).
#include <algorithm>
#include <cerrno>

#include "fs/mount.h"

namespace xfsfuse::fs {

namespace {

constexpr uint64_t kMaxInumber = (uint64_t{1} << 56) - 1;  // XFS_MAXINUMBER
// Blocks per AG held back from allocation so the AGFL can always be refilled
// (the kernel's alloc set-aside: 4 for the AGFL reserve + 4).
constexpr uint64_t kSetAsidePerAg = 8;

}  // namespace

int Mount::sum_ag_counters(AgCounterSums* out) {
  *out = AgCounterSums{};
  for (uint32_t agno = 0; agno < sb_.agcount; agno++) {
    PerAg* pag;
    if (int err = perag_->get(agno, /*agf=*/true, &pag)) return err;
    if (int err = perag_->get(agno, /*agf=*/false, &pag)) return err;
    const uint32_t btreeblks = pag->btreeblks.load(std::memory_order_relaxed);
    // agf_btreeblks counts the rmapbt's blocks but its root; agf_rmap_blocks the root too.
    const int64_t alloc = int64_t{btreeblks} - ((sb_.features_ro_compat & kRoCompatRmapbt)
                                                    ? int64_t{pag->rmap_blocks.load(std::memory_order_relaxed)} - 1
                                                    : 0);
    if (alloc > 0) out->allocbt_blocks += alloc;
    out->free_blocks += uint64_t{pag->freeblks.load(std::memory_order_relaxed)} +
                        pag->flcount.load(std::memory_order_relaxed) + btreeblks;
    out->icount += pag->icount.load(std::memory_order_relaxed);
    out->ifree += pag->ifree.load(std::memory_order_relaxed);
  }
  return 0;
}

int Mount::statfs(StatFs* out) {
  if (opts_.writable) igc_->flush();  // df counts what an rm just freed
  const Superblock& sb = sb_;
  AgCounterSums sums;
  if (int err = sum_ag_counters(&sums)) return err;
  uint64_t fdblocks = sb.fdblocks, icount = sb.icount, ifree = sb.ifree;
  if (log_dirty_ || recovered_ || opts_.writable) {  // the lazy counters on disk may be stale
    fdblocks = sums.free_blocks;
    icount = sums.icount;
    ifree = sums.ifree;
  }
  out->bsize = sb.blocksize;
  out->blocks = sb.dblocks - (sb.logstart ? sb.logblocks : 0);
  const uint64_t unavailable = uint64_t{sb.agcount} * kSetAsidePerAg + sums.allocbt_blocks;
  out->bfree = out->bavail = fdblocks > unavailable ? fdblocks - unavailable : 0;

  uint64_t files = std::min(icount + fsblocks_to_inodes(sb, out->bfree), kMaxInumber);
  if (sb.imax_pct) {
    const uint64_t chunk_blocks = std::max<uint64_t>(1, kInodesPerChunk >> sb.inopblog);
    const uint64_t maxicount = fsblocks_to_inodes(sb, sb.dblocks * sb.imax_pct / 100 / chunk_blocks * chunk_blocks);
    files = std::min(files, maxicount);
  }
  out->files = std::max(files, icount);
  out->ffree = out->files - (icount - std::min(ifree, icount));
  out->namemax = 255;
  return 0;
}

}  // namespace xfsfuse::fs
