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

int Mount::statfs(StatFs* out) {
  const Superblock& sb = sb_;
  uint64_t fdblocks = sb.fdblocks, icount = sb.icount, ifree = sb.ifree;
  uint64_t allocbt_blocks = 0;
  uint64_t sum_free = 0, sum_count = 0, sum_ifree = 0;
  for (uint32_t agno = 0; agno < sb.agcount; agno++) {
    PerAg* pag;
    if (int err = perag_->get(agno, /*agf=*/true, &pag)) return err;
    if (int err = perag_->get(agno, /*agf=*/false, &pag)) return err;
    const uint32_t btreeblks = pag->btreeblks.load(std::memory_order_relaxed);
    const int64_t alloc = int64_t{btreeblks} - ((sb.features_ro_compat & kRoCompatRmapbt)
                                                    ? int64_t{pag->rmap_blocks.load(std::memory_order_relaxed)} - 1
                                                    : 0);
    if (alloc > 0) allocbt_blocks += alloc;
    sum_free += uint64_t{pag->freeblks.load(std::memory_order_relaxed)} + pag->flcount.load(std::memory_order_relaxed) +
                btreeblks;
    sum_count += pag->icount.load(std::memory_order_relaxed);
    sum_ifree += pag->ifree.load(std::memory_order_relaxed);
  }
  if (log_dirty_ || recovered_ || opts_.writable) {  // the lazy counters on disk may be stale
    fdblocks = sum_free;
    icount = sum_count;
    ifree = sum_ifree;
  }
  out->bsize = sb.blocksize;
  out->blocks = sb.dblocks - (sb.logstart ? sb.logblocks : 0);
  const uint64_t unavailable = uint64_t{sb.agcount} * kSetAsidePerAg + allocbt_blocks;
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
