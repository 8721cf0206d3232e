// buffer_cache/rw_lock.cc — see rw_lock.h.
//
// Fast paths succeed only while kWaiters is clear.  A waiter sets kWaiters
// under mu_ before it looks at the word, and every release that sees
// kWaiters takes mu_ to notify, so a release cannot slip between a waiter's
// check and its wait.  Only slow paths (under mu_) take the lock while
// kWaiters is set, which is how waiting writers hold new readers back.
#include "buffer_cache/rw_lock.h"

#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>

#ifdef XFSFUSE_LOCK_DEBUG
#include <execinfo.h>
#endif

namespace xfsfuse::bc {

namespace {

std::atomic<int64_t> g_stall_ms{30000};
std::atomic<int64_t> g_recheck_ms{200};
std::atomic<RwLock::StallFn> g_stall_fn{nullptr};

}  // namespace

void RwLock::set_stall_report(std::chrono::milliseconds after, StallFn fn) {
  g_stall_ms.store(after.count(), std::memory_order_relaxed);
  g_stall_fn.store(fn, std::memory_order_release);
}

void RwLock::set_recheck(std::chrono::milliseconds every) {
  g_recheck_ms.store(every.count(), std::memory_order_relaxed);
}

void RwLock::print_stall(const RwLockStall& st) {
  const char* held = st.held_exclusively() ? "held exclusively"
                     : st.readers() != 0   ? "held shared"
                                           : "free (released just now, or a wake-up was lost)";
  std::fprintf(stderr,
               "xfsfuse: rw lock %p: a %s waited %" PRId64 " ms: %s, state 0x%08x (%u readers), "
               "%u writers and %u readers waiting",
               static_cast<const void*>(st.lock), st.exclusive ? "writer" : "reader",
               static_cast<int64_t>(st.waited.count()), held, st.state, st.readers(), st.writers_waiting,
               st.readers_waiting);
  if (st.owner_tid != 0) std::fprintf(stderr, "; taken exclusively by thread %d at:", static_cast<int>(st.owner_tid));
  std::fprintf(stderr, "\n");
#ifdef XFSFUSE_LOCK_DEBUG
  if (st.owner_tid != 0 && st.owner_depth > 0)
    backtrace_symbols_fd(const_cast<void* const*>(st.owner_stack), st.owner_depth, STDERR_FILENO);
#endif
}

#ifdef XFSFUSE_LOCK_DEBUG
void RwLock::note_owner() {
  void* pcs[kStackDepth + 1];
  const int n = backtrace(pcs, kStackDepth + 1) - 1;  // not this frame
  for (int i = 0; i < n; i++) owner_stack_[i].store(pcs[i + 1], std::memory_order_relaxed);
  owner_depth_.store(n < 0 ? 0 : n, std::memory_order_relaxed);
  owner_tid_.store(gettid(), std::memory_order_relaxed);
}
#endif

void RwLock::lock() {
  uint32_t s = 0;
  if (!state_.compare_exchange_strong(s, kWriter, std::memory_order_acquire, std::memory_order_relaxed))
    lock_slow();
  else
    note_owner();
}

bool RwLock::try_lock() {
  uint32_t s = 0;
  if (!state_.compare_exchange_strong(s, kWriter, std::memory_order_acquire, std::memory_order_relaxed)) return false;
  note_owner();
  return true;
}

void RwLock::unlock() {
#ifdef XFSFUSE_LOCK_DEBUG
  owner_tid_.store(0, std::memory_order_relaxed);
#endif
  const uint32_t s = state_.fetch_and(~kWriter, std::memory_order_release);
  if (!(s & kWriter)) bad_release("unlock() of a lock not held exclusively", s);
  if (s & kWaiters) wake();
}

void RwLock::lock_shared() {
  if (!try_lock_shared()) lock_shared_slow();
}

bool RwLock::try_lock_shared() {
  uint32_t s = state_.load(std::memory_order_relaxed);
  while (!(s & (kWriter | kWaiters))) {
    if (state_.compare_exchange_weak(s, s + 1, std::memory_order_acquire, std::memory_order_relaxed)) return true;
  }
  return false;
}

void RwLock::unlock_shared() {
  const uint32_t s = state_.fetch_sub(1, std::memory_order_release);
  if ((s & kReaders) == 0 || (s & kWriter)) bad_release("unlock_shared() of a lock not held shared", s);
  if ((s & kWaiters) && (s & kReaders) == 1) wake();
}

void RwLock::bad_release(const char* what, uint32_t state) {
  std::fprintf(stderr, "xfsfuse: rw lock %p: %s (state was 0x%08x): aborting\n", static_cast<void*>(this), what,
               state);
  std::abort();
}

void RwLock::wait(std::condition_variable& cv, std::unique_lock<std::mutex>& l, bool exclusive,
                  std::chrono::steady_clock::time_point t0, bool* reported) {
  // A slice at a time: the caller looks at the word again after each, so a
  // wake-up that never arrives costs one slice (see rw_lock.h).
  const auto stall = t0 + std::chrono::milliseconds(g_stall_ms.load(std::memory_order_relaxed));
  const auto slice = std::chrono::milliseconds(g_recheck_ms.load(std::memory_order_relaxed));
  auto until = std::chrono::steady_clock::now() + slice;
  if (!*reported && stall < until) until = stall;
  cv.wait_until(l, until);
  if (*reported || std::chrono::steady_clock::now() < stall) return;
  *reported = true;
  RwLockStall st;
  st.lock = this;
  st.exclusive = exclusive;
  st.state = state_.load(std::memory_order_relaxed);
  st.writers_waiting = writers_waiting_;
  st.readers_waiting = readers_waiting_;
  st.waited = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
#ifdef XFSFUSE_LOCK_DEBUG
  std::array<const void*, kStackDepth> stack{};
  if (st.held_exclusively()) {
    st.owner_tid = owner_tid_.load(std::memory_order_relaxed);
    st.owner_depth = owner_depth_.load(std::memory_order_relaxed);
    for (int i = 0; i < st.owner_depth; i++) stack[i] = owner_stack_[i].load(std::memory_order_relaxed);
    st.owner_stack = stack.data();
  }
#endif
  const StallFn fn = g_stall_fn.load(std::memory_order_acquire);
  (fn ? fn : print_stall)(st);
}

void RwLock::lock_slow() {
  std::unique_lock<std::mutex> l(mu_);
  writers_waiting_++;
  state_.fetch_or(kWaiters, std::memory_order_relaxed);
  const auto t0 = std::chrono::steady_clock::now();
  bool reported = false;
  for (;;) {
    uint32_t s = state_.load(std::memory_order_relaxed);
    // Nobody holds it; only slow paths (serialised by mu_) take it now.
    if ((s & ~kWaiters) == 0 &&
        state_.compare_exchange_strong(s, s | kWriter, std::memory_order_acquire, std::memory_order_relaxed))
      break;
    if ((s & ~kWaiters) != 0) wait(writers_cv_, l, true, t0, &reported);
  }
  writers_waiting_--;
  left_waiting();
  note_owner();
}

void RwLock::lock_shared_slow() {
  std::unique_lock<std::mutex> l(mu_);
  readers_waiting_++;
  state_.fetch_or(kWaiters, std::memory_order_relaxed);
  const auto t0 = std::chrono::steady_clock::now();
  bool reported = false;
  for (;;) {
    if (!(state_.load(std::memory_order_relaxed) & kWriter) && writers_waiting_ == 0) {
      state_.fetch_add(1, std::memory_order_acquire);
      break;
    }
    wait(readers_cv_, l, false, t0, &reported);
  }
  readers_waiting_--;
  left_waiting();
}

void RwLock::left_waiting() {
  // Readers still waiting behind a writer that just got in stay asleep: its
  // unlock() sees kWaiters and wakes them.
  if (readers_waiting_ == 0 && writers_waiting_ == 0) state_.fetch_and(~kWaiters, std::memory_order_relaxed);
}

void RwLock::wake() {
  std::lock_guard<std::mutex> g(mu_);
  if (writers_waiting_ != 0) writers_cv_.notify_one();
  if (readers_waiting_ != 0) readers_cv_.notify_all();
}

uint32_t RwLock::writers_waiting() {
  std::lock_guard<std::mutex> g(mu_);
  return writers_waiting_;
}

}  // namespace xfsfuse::bc
