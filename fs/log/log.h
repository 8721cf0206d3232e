// fs/log/log.h — the running log of a read-write mount: write-ahead logging
// of every committed transaction in the kernel's log format, so a crash
// loses no change that was forced and leaves nothing recovery cannot replay.
//
// The parts (docs/log.md "The running log"):
//  - Space.  Transaction::begin reserves log space for one transaction
//    before it locks anything (reserve()); while the log is too full to
//    grant it, the caller waits and the log thread pushes write-back so the
//    tail can move.  Every reservation is granted against the space behind
//    the tail already on the disk, so a committed transaction can always be
//    written without waiting for write-back (which may need the locks of a
//    transaction waiting for the log).
//  - Commit.  commit() queues the transaction with the pins of every
//    buffer it changed (write-ahead: a pinned buffer is never written home).
//  - Group commit.  One log thread merges everything queued into
//    checkpoints (fs/log/checkpoint.h: each buffer and inode once, as the
//    kernel's CIL), formats them (fs/log/format.h), writes them as records
//    at the head (fs/log/writer.h) and syncs: when forced (fsync, a data write
//    over blocks freed by a queued transaction, unmount), when the queued
//    transactions' estimates reach an eighth of the log (8 MiB at most),
//    and every 50 ms.  Then each pin is released with the
//    LSN of the record that holds its transaction (the buffer enters the AIL,
//    buffer_cache/ail.cc), and waiters of those transactions wake.
//  - Tail.  Records carry the AIL's smallest LSN as their tail (the head when
//    it is empty).  When space runs short the thread pushes: writes back the
//    buffers it can (never waiting for a lock), syncs, and writes a
//    transaction logging the superblock as it is, to record the new tail.
//  - Busy extents.  Blocks a queued transaction freed are not overwritten by
//    file data before that transaction is in the log (wait_busy()): a crash
//    would otherwise bring back the old owner over the new data.
// Thread safety: every method may be called from any thread.  Lock order:
// the log's mutex is taken under buffer content locks (commit runs inside a
// transaction) and is never held while taking one; the thread takes none.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "buffer_cache/buffer_cache.h"
#include "fs/log/ends.h"
#include "fs/log/writer.h"
#include "fs/superblock.h"
#include "fs/trans/trans.h"

namespace xfsfuse::fs::xlog {

/// What the log did (xfsfuse-ctl MNT log).
struct LogStats {
  uint32_t log_blocks = 0;        ///< the log's size, log blocks (512 bytes)
  uint64_t head_lsn = 0;          ///< where the next record goes
  uint64_t tail_lsn = 0;          ///< the tail the last record on disk carries
  uint64_t ail_tail_lsn = 0;      ///< the AIL's smallest LSN now (0: nothing waits for write-back)
  uint64_t used_blocks = 0;       ///< from the tail on disk to the head
  uint64_t reserved_blocks = 0;   ///< granted to running transactions and queued ones
  uint64_t transactions = 0;      ///< committed and queued
  uint64_t written_transactions = 0;
  uint64_t records = 0;           ///< records written
  uint64_t blocks_written = 0;    ///< log blocks written (records, tail records)
  uint64_t bytes = 0;             ///< op payload bytes of the transactions written
  uint64_t writes = 0;            ///< group commits: record runs written and synced
  uint64_t largest_group = 0;     ///< most transactions in one group commit
  uint64_t forces = 0;            ///< force() calls that had to wait
  uint64_t busy_forces = 0;       ///< of them: file data over blocks freed by a queued transaction
  uint64_t pushes = 0;            ///< write-back pushes for space
  uint64_t tail_records = 0;      ///< superblock-only transactions written to record a moved tail
  uint64_t reserve_waits = 0;     ///< reservations that waited for space
  uint64_t largest_trans_blocks = 0;  ///< the largest transaction's log blocks (estimate)
  uint64_t reservation_blocks = 0;    ///< what each transaction reserves
};

class Log {
 public:
  /// Starts the log of log_blocks log blocks at byte log_start of dev,
  /// which ends (find_log_ends) found clean; the buffer cache writes dev's
  /// metadata.  shut_down is called once if the log cannot be written (the
  /// mount must stop writing).  Returns 0, or EINVAL with *why (a log that
  /// is not clean, a geometry that does not fit).
  static int start(bc::BlockDevice* dev, bc::BufferCache* cache, const Superblock& sb, uint64_t log_start,
                   uint32_t log_blocks, const LogEnds& ends, std::function<void(const std::string&)> shut_down,
                   std::unique_ptr<Log>* out, std::string* why);
  /// Writes what is queued (unless shut down) and stops the thread; every
  /// pin is released.  REQUIRES: no transaction running.
  ~Log();
  Log(const Log&) = delete;
  Log& operator=(const Log&) = delete;

  /// Reserves the log space of one transaction (*blocks), waiting while the
  /// log is full.  Returns 0 or EIO (shut down).
  int reserve(uint64_t* blocks);
  /// Gives back a reservation that was not committed (a cancelled transaction).
  void unreserve(uint64_t blocks);
  /// Queues ct for the next group commit, taking over the pins of
  /// the buffers it changed and the reservation, exchanged for what ct may
  /// take (estimate_log_bytes); freed: the disk ranges it freed (busy until
  /// it is written).  *seq = its place in commit order.  A transaction with
  /// nothing to log is not queued (its reservation goes back; *seq = the
  /// last one queued).  Never fails: a transaction the formatter refuses,
  /// which only corrupt in-core state makes, shuts the log down at its
  /// group commit (fail()), and every waiter gets EIO.
  void commit(CommittedTrans ct, std::vector<bc::PinRef> pins, std::span<const bc::DiskRange> freed,
              uint64_t reservation, uint64_t* seq);
  /// Waits until transaction seq (and all before it) is on the disk.
  /// Returns 0 or EIO (shut down: it may never be).
  int force(uint64_t seq);
  /// force() of everything committed so far.
  int force_all();
  /// The seq of the last transaction queued (0: none yet).
  uint64_t last_seq() const;
  /// Before file data is written over disk range r (512-byte sectors):
  /// forces the transactions that freed any of it, if still queued.
  /// Returns 0 or EIO.
  int wait_busy(bc::DiskRange r);
  /// Ends the log at unmount: REQUIRES everything forced, written back and
  /// synced, no transaction running.  Stops the log thread, then writes the
  /// unmount record at the head (fs/log/unmount.h) unless nothing was
  /// logged since the log was last clean.  Returns 0, EBUSY (a change not
  /// yet written back: the log stays dirty), EIO (shut down) or the
  /// errno of the write, with *why.  No commit may follow.
  int write_unmount(std::string* why);
  /// Stops writing: queued transactions are dropped with their pins (their
  /// buffers must not reach the disk: the caller stopped write-back first),
  /// waiters get EIO.
  void shut_down();

  LogStats stats() const;

 private:
  struct Queued {
    uint64_t seq = 0;
    CommittedTrans ct;
    std::vector<bc::PinRef> pins;
    uint64_t blocks = 0;  // log blocks it may take (estimate_log_bytes)
  };
  struct Busy {
    uint32_t len = 0;
    uint64_t seq = 0;
  };

  Log(bc::BlockDevice* dev, bc::BufferCache* cache, const Superblock& sb);
  void thread_main();
  // Writes the queue as one group commit.  Returns 0 or an errno (the log
  // is then shut down).
  int write_queued();
  // One push for space: write-back of what can be written now, a sync, and
  // a tail record if the tail moved.
  int push();
  // Writes ops at the head with the AIL's tail; fills *w.
  int write_at_head(const std::vector<LogOp>& ops, Written* w);
  // Drops the AIL's stale-buffer LSNs when every committed transaction is
  // on the disk (no later group commit may come to release them).
  void release_stale_if_idle();
  // REQUIRES: mu_ held.  Log blocks the log may still grant.
  int64_t free_blocks_locked() const;
  // REQUIRES: mu_ held.  Blocks from the tail on disk to the head.
  uint64_t used_blocks_locked() const;
  void fail(const std::string& why);

  bc::BlockDevice* const dev_;
  bc::BufferCache* const cache_;
  const Superblock sb_;
  LogPlace place_;                 // head, prev_block, tail on disk (limit_lsn); only the thread changes it
  uint64_t reservation_ = 0;       // log blocks per transaction
  uint64_t slack_ = 0;             // never granted: tail records, rounding
  uint64_t group_blocks_ = 0;      // queued estimates that start a group commit
  std::function<void(const std::string&)> shut_down_cb_;

  mutable std::mutex mu_;
  std::condition_variable cv_;       // the thread's wake-ups
  std::condition_variable done_cv_;  // durable_seq_ moved, space freed, or shut down
  std::deque<Queued> queue_;         // GUARDED_BY(mu_)
  uint64_t queued_blocks_ = 0;       // GUARDED_BY(mu_)
  uint64_t next_seq_ = 1;            // GUARDED_BY(mu_)
  uint64_t durable_seq_ = 0;         // GUARDED_BY(mu_)
  uint64_t force_seq_ = 0;           // GUARDED_BY(mu_): the highest seq a caller waits for
  uint64_t reserved_ = 0;            // GUARDED_BY(mu_): granted, not yet written (blocks)
  uint64_t head_lsn_ = 0, disk_tail_lsn_ = 0;  // GUARDED_BY(mu_): copies of place_ for the granting side
  uint64_t last_lsn_ = 0;            // GUARDED_BY(mu_): the last record written (or found at mount)
  bool wrote_ = false;               // GUARDED_BY(mu_): records since the log was last clean
  bool push_wanted_ = false;         // GUARDED_BY(mu_)
  bool stop_ = false, dead_ = false; // GUARDED_BY(mu_)
  uint32_t next_tid_ = 0;            // GUARDED_BY(mu_)
  std::multimap<uint64_t, Busy> busy_;  // GUARDED_BY(mu_): freed ranges by daddr
  uint32_t busy_max_len_ = 0;           // GUARDED_BY(mu_)
  LogStats st_;                         // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace xfsfuse::fs::xlog
