// buffer_cache/rw_lock.h — a reader/writer lock that any thread may release.
//
// std::shared_mutex must be unlocked by the thread that locked it, but a
// transaction may lock a buffer on one FUSE thread and release it on another
// (after its log write completes).  No thread owns an RwLock.  Uncontended,
// it is one atomic word (a cache hit takes and drops it shared with one
// compare-exchange and one subtract); a thread that must wait goes to a
// std::mutex and std::condition_variables.  TSan sees every hand-over: the
// word's acquire/release operations, and the mutex on the slow path.
//
// Writer preference: once a writer waits, new readers (lock_shared,
// try_lock_shared) wait behind it, so a stream of readers cannot starve a
// writer.  So a thread holding the lock shared must not ask for it shared
// again: with a writer waiting in between, that deadlocks.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace xfsfuse::bc {

class RwLock {
 public:
  void lock();
  /// Takes the lock exclusively if nobody holds it or waits for it.  Returns whether it did.
  bool try_lock();
  void unlock();
  void lock_shared();
  /// Takes the lock shared unless a writer holds it or anyone waits for it
  /// (a waiting writer, or readers queued behind one).  Returns whether it did.
  bool try_lock_shared();
  void unlock_shared();
  /// Writers waiting now (tests use it to know a writer has queued).
  uint32_t writers_waiting();

 private:
  static constexpr uint32_t kWriter = 1u << 31;   // held exclusively
  static constexpr uint32_t kWaiters = 1u << 30;  // someone waits: the fast paths step aside
  static constexpr uint32_t kReaders = kWaiters - 1;

  void lock_slow();
  void lock_shared_slow();
  // Wakes the waiters after a release saw kWaiters.
  void wake();
  // REQUIRES: mu_ held.  Clears kWaiters when nobody waits any more.
  void left_waiting();

  std::atomic<uint32_t> state_{0};  // kWriter | kWaiters | readers holding it
  std::mutex mu_;
  std::condition_variable readers_cv_, writers_cv_;
  // kWaiters is set exactly while either count is non-zero.
  uint32_t readers_waiting_ = 0;  // GUARDED_BY(mu_)
  uint32_t writers_waiting_ = 0;  // GUARDED_BY(mu_)
};

}  // namespace xfsfuse::bc
