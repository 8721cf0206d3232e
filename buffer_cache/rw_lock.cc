// buffer_cache/rw_lock.cc — see rw_lock.h.
//
// Fast paths succeed only while kWaiters is clear.  A waiter sets kWaiters
// under mu_ before it looks at the word, and every release that sees
// kWaiters takes mu_ to notify, so a release cannot slip between a waiter's
// check and its wait.  Only slow paths (under mu_) take the lock while
// kWaiters is set, which is how waiting writers hold new readers back.
#include "buffer_cache/rw_lock.h"

namespace xfsfuse::bc {

void RwLock::lock() {
  uint32_t s = 0;
  if (!state_.compare_exchange_strong(s, kWriter, std::memory_order_acquire, std::memory_order_relaxed)) lock_slow();
}

bool RwLock::try_lock() {
  uint32_t s = 0;
  return state_.compare_exchange_strong(s, kWriter, std::memory_order_acquire, std::memory_order_relaxed);
}

void RwLock::unlock() {
  if (state_.fetch_and(~kWriter, std::memory_order_release) & kWaiters) wake();
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
  if ((s & kWaiters) && (s & kReaders) == 1) wake();
}

void RwLock::lock_slow() {
  std::unique_lock<std::mutex> l(mu_);
  writers_waiting_++;
  state_.fetch_or(kWaiters, std::memory_order_relaxed);
  for (;;) {
    uint32_t s = state_.load(std::memory_order_relaxed);
    // Nobody holds it; only slow paths (serialised by mu_) take it now.
    if ((s & ~kWaiters) == 0 &&
        state_.compare_exchange_strong(s, s | kWriter, std::memory_order_acquire, std::memory_order_relaxed))
      break;
    if ((s & ~kWaiters) != 0) writers_cv_.wait(l);
  }
  writers_waiting_--;
  left_waiting();
}

void RwLock::lock_shared_slow() {
  std::unique_lock<std::mutex> l(mu_);
  readers_waiting_++;
  state_.fetch_or(kWaiters, std::memory_order_relaxed);
  for (;;) {
    if (!(state_.load(std::memory_order_relaxed) & kWriter) && writers_waiting_ == 0) {
      state_.fetch_add(1, std::memory_order_acquire);
      break;
    }
    readers_cv_.wait(l);
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
