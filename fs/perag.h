// fs/perag.h — per-AG in-core state (the kernel's struct xfs_perag): the AG's
// free-space and inode counters, read from its AGF and AGI on first use and
// from then on set from those headers by every transaction that commits a
// change to them.
//
// Changes to an AG are serialized by its header buffers' exclusive locks,
// as in XFS: a transaction that changes the AGI, inobt or finobt holds the
// AGI buffer until it commits, one that changes the AGF, AGFL, bnobt or cntbt
// holds the AGF buffer (lock order: docs/locking.md).  The counters are
// atomics so statfs can sum them without any lock (each value is exact; a
// sum over AGs taken while allocators run is a moment's view, as the
// kernel's per-cpu counters are).
// Thread safety: every method may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "buffer_cache/buffer_cache.h"
#include "fs/ag.h"

namespace xfsfuse::fs {

/// In-core counters of one AG, in fsblocks (AGF) and inodes (AGI).
class PerAg {
 public:
  explicit PerAg(uint32_t n) : agno(n) {}
  const uint32_t agno;

  // From the AGF (valid once agf_ready()): agf_freeblks, agf_longest,
  // agf_flcount, agf_btreeblks, agf_rmap_blocks.
  std::atomic<uint32_t> freeblks{0}, longest{0}, flcount{0}, btreeblks{0}, rmap_blocks{0};
  // From the AGI (valid once agi_ready()): agi_count, agi_freecount.
  std::atomic<uint32_t> icount{0}, ifree{0};

  bool agf_ready() const { return agf_ready_.load(std::memory_order_acquire); }
  bool agi_ready() const { return agi_ready_.load(std::memory_order_acquire); }

 private:
  friend class PerAgTable;
  std::mutex init_mu_;  // serializes the first reads of the AGF / AGI
  std::atomic<bool> agf_ready_{false}, agi_ready_{false};
};

/// Every AG's PerAg, built at mount.
class PerAgTable {
 public:
  /// ag reads the headers through cache; both must outlive the table.
  PerAgTable(const Superblock& sb, bc::BufferCache* cache, const AgHeaders* ag);
  uint32_t agcount() const { return static_cast<uint32_t>(ags_.size()); }
  /// AG agno's state (REQUIRES: agno < agcount()), its counters not
  /// necessarily read yet.
  PerAg& at(uint32_t agno) { return *ags_[agno]; }
  /// AG agno's state with its AGF (agf = true) or AGI counters read.
  /// Returns 0, EINVAL (agno out of range), or AgHeaders::read_agf/read_agi's
  /// errors (EUCLEAN, EIO); a failed read is tried again next time.
  int get(uint32_t agno, bool agf, PerAg** out);

 private:
  bc::BufferCache* const cache_;
  const AgHeaders* const ag_;
  std::vector<std::unique_ptr<PerAg>> ags_;
};

}  // namespace xfsfuse::fs
