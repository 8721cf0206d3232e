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
//
// Waiters sleep on condition variables, woken by the release that frees the
// lock (notify_one to one writer, all readers), but never for longer than
// 200 ms at a time: each then looks at the word again.  So the lock does not
// rest on every signal reaching its sleeper: the condition variable of glibc
// 2.25 and later has a known defect (sourceware bug 25847, fixed upstream
// long after; a distribution's glibc may or may not carry the fix) in which
// a pthread_cond_signal under contention wakes nobody.  With one signal per
// release, a lost one would leave every waiting writer asleep on a free lock
// for good; now it costs one slice.
//
// Hangs: a thread that waits longer than the stall time (30 s by default,
// set_stall_report) reports it once, with the lock's state at that moment
// (held exclusively, by how many readers, or free: released that moment),
// and waits on.  Built with -DXFSFUSE_LOCK_DEBUG=ON, the lock also remembers
// the thread and call stack that took it exclusively, and the report names
// them (a leaked or self-deadlocked holder).  Releasing a lock that is not
// held (a double release) aborts with a message: the state would be lost.
#pragma once

#include <sys/types.h>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace xfsfuse::bc {

class RwLock;

/// A wait for an RwLock that lasted the stall time (RwLock::set_stall_report).
struct RwLockStall {
  const RwLock* lock = nullptr;
  bool exclusive = false;            ///< the waiter wants it exclusively
  uint32_t state = 0;                ///< the lock word: kWriter bit 31, waiters bit 30, readers below
  uint32_t writers_waiting = 0;      ///< including this waiter when exclusive
  uint32_t readers_waiting = 0;      ///< including this waiter when shared
  std::chrono::milliseconds waited{0};
  pid_t owner_tid = 0;               ///< the exclusive holder's thread (XFSFUSE_LOCK_DEBUG; 0: unknown)
  const void* const* owner_stack = nullptr;  ///< its call stack when it took the lock (owner_depth frames)
  int owner_depth = 0;
  bool held_exclusively() const { return state & (1u << 31); }
  uint32_t readers() const { return state & ((1u << 30) - 1); }
  /// Nobody held it when the stall time ran out: released at that moment, or a lost wake-up.
  bool free() const { return (state & ~(1u << 30)) == 0; }
};

class RwLock {
 public:
  using StallFn = void (*)(const RwLockStall&);
  /// Every RwLock: a wait longer than after calls fn (with the lock's
  /// internal mutex held: fn must not touch any RwLock), once per wait.
  /// fn null restores the default, one line on stderr (with the holder's
  /// stack under XFSFUSE_LOCK_DEBUG).  Default: 30 s.  For tests and tools.
  static void set_stall_report(std::chrono::milliseconds after, StallFn fn);
  /// Writes the default report of st to stderr.
  static void print_stall(const RwLockStall& st);
  /// Every RwLock: how long a waiter sleeps at most before it looks at the
  /// lock again (default 200 ms).  Tests set it long to see whether
  /// every wake-up arrives.
  static void set_recheck(std::chrono::milliseconds every);

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
  // REQUIRES: mu_ held.  Waits on cv until notified, for one re-check slice
  // at most; once the stall time has passed since t0, reports the stall
  // (once: *reported).
  void wait(std::condition_variable& cv, std::unique_lock<std::mutex>& l, bool exclusive,
            std::chrono::steady_clock::time_point t0, bool* reported);
  [[noreturn]] void bad_release(const char* what, uint32_t state);
#ifdef XFSFUSE_LOCK_DEBUG
  static constexpr int kStackDepth = 12;
  void note_owner();
  std::atomic<pid_t> owner_tid_{0};
  std::array<std::atomic<const void*>, kStackDepth> owner_stack_{};
  std::atomic<int> owner_depth_{0};
#else
  void note_owner() {}
#endif

  std::atomic<uint32_t> state_{0};  // kWriter | kWaiters | readers holding it
  std::mutex mu_;
  std::condition_variable readers_cv_, writers_cv_;
  // kWaiters is set exactly while either count is non-zero.
  uint32_t readers_waiting_ = 0;  // GUARDED_BY(mu_)
  uint32_t writers_waiting_ = 0;  // GUARDED_BY(mu_)
};

}  // namespace xfsfuse::bc
