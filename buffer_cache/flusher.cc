// buffer_cache/flusher.cc — background write-back and the write-error handler.
//
// One thread writes dirty buffers back every flush_interval, and sooner when
// an exclusive handle of a dirty buffer is released with the dirty bytes past
// flush_dirty_percent of the budget (reclaim never evicts a dirty buffer, so
// a burst of changes would otherwise hold the cache over its budget).  While
// pinned buffers keep the dirty bytes over the line, each such release runs
// another pass (wake-ups coalesce: at most one pass waits).  A pass never waits: it passes over
// pinned buffers, buffers whose content lock is held (trylock), and buffers
// whose last write failed (the handler heard of it once; write() and
// flush_all() try them again, the flusher does not, so a dead disk is not
// hammered in a loop).  It writes but does not sync: flush_all() is the
// durable path.
#include "buffer_cache/buffer.h"

#include <pthread.h>

namespace xfsfuse::bc {

void BufferCache::set_write_error_handler(WriteErrorHandler handler) {
  std::lock_guard<std::mutex> g(handler_mu_);
  handler_ = std::move(handler);
}

void BufferCache::write_failed(uint64_t daddr, int error, const char* structure) {
  write_errors_.fetch_add(1, std::memory_order_relaxed);
  WriteErrorHandler handler;
  {
    std::lock_guard<std::mutex> g(handler_mu_);
    handler = handler_;
  }
  if (handler) handler(WriteError{daddr, error, structure});
}

void BufferCache::kick_flusher() {
  {
    std::lock_guard<std::mutex> g(flush_mu_);
    flush_kick_ = true;
  }
  flush_cv_.notify_one();
}

void BufferCache::flusher_loop() {
  pthread_setname_np(pthread_self(), "xfsfuse-flush");  // names in ps -T, perf, gdb
  std::unique_lock<std::mutex> l(flush_mu_);
  for (;;) {
    flush_cv_.wait_for(l, opts_.flush_interval, [this] { return flush_stop_ || flush_kick_; });
    if (flush_stop_) return;
    flush_kick_ = false;
    l.unlock();
    flush_pass();
    l.lock();
  }
}

void BufferCache::flush_pass() {
  flusher_passes_.fetch_add(1, std::memory_order_relaxed);
  for (Buffer* b : collect_dirty()) {
    if (b->pins.load(std::memory_order_acquire) != 0) {
      skipped_pinned_.fetch_add(1, std::memory_order_relaxed);
    } else if (b->write_error.load(std::memory_order_relaxed) != 0) {
      skipped_failed_.fetch_add(1, std::memory_order_relaxed);
    } else if (!b->content.try_lock()) {
      skipped_busy_.fetch_add(1, std::memory_order_relaxed);
    } else {
      bool wrote = false;
      write_locked(b, &wrote);  // errors went to the handler
      b->content.unlock();
      if (wrote) flusher_writes_.fetch_add(1, std::memory_order_relaxed);
    }
    put_hold(b);
  }
}

int BufferCache::push() {
  flush_pass();
  return sync();
}

}  // namespace xfsfuse::bc
