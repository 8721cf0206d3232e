// fs/inodegc.h — deferred freeing of unlinked inodes (the kernel's inodegc).
//
// When the last user of an inode whose link count is 0 lets go of it (the
// kernel's FORGET, the last RELEASE of an open file), its blocks and its
// inode number are freed by fs/ops/inactivate.h.  Doing that at once, on the
// thread that delivered the FORGET, makes every `rm` pay for two transactions
// that compete with the next UNLINK for the same AGI and CPU (measured:
// docs/performance.md "Deferred inode freeing").  So, as the kernel's XFS
// queues such inodes for its inodegc workers, the mount queues them here and
// one thread frees them in batches: when kBatch are queued, kDelay after the
// first of a batch was queued, or at once when someone waits (flush()).
//
// What waits, as in the kernel: statfs (df must count the freed blocks and
// inodes: xfs_fs_statfs flushes inodegc), a change that met ENOSPC
// (Transaction's retry_change() flushes and tries once more, as
// xfs_trans_alloc retries after freeing space), and unmount (stop()).  A
// crash loses nothing: an inode waiting here is still on its AGI unlinked
// list, and the next mount (or xfs_repair) frees it.
//
// Back-pressure: queue() waits while kMaxQueued inodes wait, so a
// million-file `rm` holds a bounded number of in-core inodes.
// Thread safety: any thread.  flush() and queue() must not be called by
// the GC thread itself, nor with a transaction open or any lock held that
// an inactivation takes (inode, AG header or buffer locks): every caller
// calls them between whole changes.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "fs/incore_inode.h"

namespace xfsfuse::fs {

class Mount;

/// What the inode GC did (xfsfuse-ctl MNT stats: inodes.gc_*).
struct InodeGcStats {
  uint64_t queued = 0;   ///< inodes queued since the mount
  uint64_t pending = 0;  ///< queued and not yet freed, now
  uint64_t batches = 0;  ///< batches the GC thread took
  uint64_t flushes = 0;  ///< flush() calls that had to wait
};

class InodeGc {
 public:
  /// Inodes queued that start a batch at once.
  static constexpr size_t kBatch = 64;
  /// How long the first inode of a batch waits for more (kernel: its
  /// inodegc work is delayed by a few jiffies too).
  static constexpr std::chrono::milliseconds kDelay{5};
  /// queue() waits while this many inodes wait.
  static constexpr size_t kMaxQueued = 4096;

  explicit InodeGc(Mount& m) : m_(m) {}
  /// stop()s.
  ~InodeGc();
  InodeGc(const InodeGc&) = delete;
  InodeGc& operator=(const InodeGc&) = delete;

  /// Queues ip (link count 0, nobody uses it any more) for inactivate();
  /// starts the thread on the first call.  An inode that is linked again or
  /// freed meanwhile is left alone when its turn comes.
  void queue(InodeRef ip);
  /// Returns once every inode queued before the call is freed (or failed to
  /// be: the error is logged and the inode stays on its unlinked list).
  void flush();
  /// Whether any inode waits (cheap: ENOSPC checks it before flush()).
  bool pending() const;
  /// Frees whatever waits and stops the thread; later queue() calls free
  /// the inode on the caller's thread.  For unmount.
  void stop();
  InodeGcStats stats() const;
  /// How long the first inode of a batch waits for more (kDelay unless
  /// changed): tests make it long, so that only flush(), a full batch or
  /// stop() frees anything.
  void set_delay(std::chrono::milliseconds d);

 private:
  void run();
  void free_batch(std::vector<InodeRef>& batch);

  Mount& m_;
  mutable std::mutex mu_;
  std::condition_variable work_cv_;  // the thread: work, a flush, stop
  std::condition_variable done_cv_;  // flush() and queue() waiters: a batch was freed
  std::vector<InodeRef> queue_;      // GUARDED_BY(mu_)
  std::chrono::steady_clock::time_point first_at_;  // GUARDED_BY(mu_): when queue_'s first came
  std::chrono::milliseconds delay_ = kDelay;         // GUARDED_BY(mu_)
  uint64_t queued_seq_ = 0;          // GUARDED_BY(mu_): inodes ever queued
  uint64_t done_seq_ = 0;            // GUARDED_BY(mu_): of them, taken and finished
  uint32_t flushers_ = 0;            // GUARDED_BY(mu_): flush() calls waiting
  bool stopping_ = false;            // GUARDED_BY(mu_)
  bool started_ = false;             // GUARDED_BY(mu_)
  InodeGcStats st_;                  // GUARDED_BY(mu_), pending aside
  std::thread thread_;
};

}  // namespace xfsfuse::fs
