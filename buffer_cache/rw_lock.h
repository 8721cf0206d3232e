// buffer_cache/rw_lock.h — a reader/writer lock that any thread may release.
//
// std::shared_mutex must be unlocked by the thread that locked it, but a
// transaction may lock a buffer on one FUSE thread and release it on another
// (after its log write completes).  RwLock's state is counts under a
// std::mutex, with waiters on std::condition_variables, so no thread owns it
// and TSan sees every hand-over through the mutex.
//
// Writer preference: once a writer waits, new readers (lock_shared,
// try_lock_shared) wait behind it, so a stream of readers cannot starve a
// writer.  So a thread holding the lock shared must not ask for it shared
// again: with a writer waiting in between, that deadlocks.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace xfsfuse::bc {

class RwLock {
 public:
  void lock();
  /// Takes the lock exclusively if nobody holds it.  Returns whether it did.
  bool try_lock();
  void unlock();
  void lock_shared();
  /// Takes the lock shared unless a writer holds it or waits.  Returns whether it did.
  bool try_lock_shared();
  void unlock_shared();
  /// Writers waiting now (tests use it to know a writer has queued).
  uint32_t writers_waiting();

 private:
  std::mutex mu_;
  std::condition_variable readers_cv_, writers_cv_;
  uint32_t readers_ = 0;          // GUARDED_BY(mu_): holding it shared
  uint32_t readers_waiting_ = 0;  // GUARDED_BY(mu_)
  uint32_t writers_waiting_ = 0;  // GUARDED_BY(mu_)
  bool writer_ = false;           // GUARDED_BY(mu_): held exclusively
};

}  // namespace xfsfuse::bc
