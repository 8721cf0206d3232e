// buffer_cache/reclaim.cc — the LRU: budget reclaim, the shrinker, drop_caches.
//
// The LRU is a CLOCK: buffers join it on their first release and stay on it
// while held, so a cache hit never takes the LRU mutex.  Reclaim walks from the
// back: a held or dirty buffer is skipped (moved to the front), a buffer
// referenced since the last pass loses its bit and is moved to the front
// (second chance), anything else is taken out of its bucket and freed.
// invalidate() takes stale buffers off the LRU itself (see unhash_locked).
#include "buffer_cache/buffer.h"

namespace xfsfuse::bc {

size_t BufferCache::reclaim(size_t target_bytes, size_t nr_pages, bool everything, size_t* nbufs) {
  std::lock_guard<std::mutex> rg(reclaim_mu_);
  size_t pages_released = 0, pages_freed = 0, evicted = 0;
  size_t scans;
  {
    std::lock_guard<std::mutex> g(lru_mu_);
    scans = 2 * lru_.size();  // two passes: enough for every second chance to run out
  }
  for (; scans > 0; scans--) {
    if (!everything &&
        (nr_pages ? pages_released >= nr_pages : held_bytes() <= target_bytes))
      break;
    Buffer* b;
    uint64_t key;
    {
      std::lock_guard<std::mutex> g(lru_mu_);
      if (lru_.empty()) break;
      b = lru_.back();
      bool skip = b->hold.load(std::memory_order_acquire) != 0 || b->dirty.load(std::memory_order_acquire) ||
                  (!everything && b->referenced.exchange(false, std::memory_order_relaxed));
      if (skip) {
        lru_.splice(lru_.begin(), lru_, b->lru_it);
        continue;
      }
      lru_.pop_back();
      b->on_lru.store(false, std::memory_order_release);
      key = b->daddr;
    }
    {
      Bucket& bk = bucket_for(key);
      std::lock_guard<std::mutex> g(bk.mu);
      // Off the LRU, b may have been invalidated and freed since: touch it
      // only if it is still the buffer hashed at its daddr.
      auto it = bk.map.find(key);
      if (it == bk.map.end() || it->second != b) continue;
      if (b->hold.load(std::memory_order_acquire) != 0 || b->dirty.load(std::memory_order_acquire)) {
        // Taken or dirtied since: back on the LRU (its holder may already
        // have seen on_lru set and skipped adding it).
        std::lock_guard<std::mutex> lg(lru_mu_);
        lru_add_locked(b);
        continue;
      }
      bk.map.erase(it);
      index_erase(b);
      // Its last holder may have put it back on the LRU after we took it off.
      std::lock_guard<std::mutex> lg(lru_mu_);
      if (b->on_lru.load(std::memory_order_relaxed)) {
        lru_.erase(b->lru_it);
        b->on_lru.store(false, std::memory_order_relaxed);
      }
    }
    buffers_.fetch_sub(1, std::memory_order_relaxed);
    pages_released += b->pages.size();
    pages_freed += free_memory(b);
    delete b;
    evicted++;
  }
  evictions_.fetch_add(evicted, std::memory_order_relaxed);
  if (nbufs) *nbufs = evicted;
  return pages_freed;
}

size_t BufferCache::shrink(size_t nr_pages) { return reclaim(0, nr_pages == 0 ? 1 : nr_pages, false, nullptr); }

size_t BufferCache::drop_caches() {
  size_t n = 0;
  reclaim(0, 0, true, &n);
  return n;
}

}  // namespace xfsfuse::bc
