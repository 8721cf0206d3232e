// buffer_cache/readahead.cc — background reads: one worker thread and a
// bounded queue.  A request is a get() whose handle is dropped at once, so
// the buffer lands in the cache (verified) for the get() that follows.
#include "buffer_cache/buffer.h"

#include <pthread.h>

namespace xfsfuse::bc {

void BufferCache::readahead(std::span<const DiskRange> maps, const BufOps* ops) {
  size_t bytes = 0;
  if (check_maps(maps, &bytes) != 0) return;
  {
    std::lock_guard<std::mutex> g(ra_mu_);
    if (ra_queue_.size() >= opts_.readahead_queue) {
      readahead_dropped_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    ra_queue_.push_back(RaRequest{{maps.begin(), maps.end()}, ops});
  }
  readahead_.fetch_add(1, std::memory_order_relaxed);
  ra_cv_.notify_one();
}

void BufferCache::readahead_loop() {
  pthread_setname_np(pthread_self(), "xfsfuse-ra");  // names in ps -T, perf, gdb
  std::unique_lock<std::mutex> l(ra_mu_);
  for (;;) {
    ra_cv_.wait(l, [this] { return ra_stop_ || !ra_queue_.empty(); });
    if (ra_stop_) return;
    RaRequest r = std::move(ra_queue_.front());
    ra_queue_.pop_front();
    l.unlock();
    BufHandle h;
    get(r.maps, r.ops, kAnyOwner, kGetShared, &h);  // errors surface at the caller's own get()
    h.release();
    l.lock();
  }
}

}  // namespace xfsfuse::bc
