// buffer_cache/invalidate.cc — the map index and invalidate().
//
// The hash finds a buffer by its first daddr only, but freeing blocks must
// find every buffer with any map overlapping them.  The index lists every map
// of every hashed buffer, ordered by daddr, under its own mutex; it changes
// when a buffer enters or leaves the hash (a miss, reclaim, a failed read,
// invalidate) and is never looked at on a cache hit.  No map is longer than
// kMaxBufferBytes, so the maps overlapping [d, d + len) start in
// [d - kMaxMapSectors + 1, d + len).
#include <algorithm>

#include "buffer_cache/buffer.h"

namespace xfsfuse::bc {

namespace {

constexpr uint64_t kMaxMapSectors = kMaxBufferBytes >> kSectorShift;

bool overlaps(const DiskRange& a, const DiskRange& b) {
  return a.daddr < b.daddr + b.len && b.daddr < a.daddr + a.len;
}

bool any_overlap(std::span<const DiskRange> maps, std::span<const DiskRange> freed) {
  for (const DiskRange& m : maps)
    for (const DiskRange& f : freed)
      if (overlaps(m, f)) return true;
  return false;
}

}  // namespace

void BufferCache::index_insert(Buffer* b) {
  std::lock_guard<std::mutex> g(index_mu_);
  for (const DiskRange& m : b->maps) index_.emplace(m.daddr, IndexEntry{m.len, b});
}

void BufferCache::index_erase(Buffer* b) {
  std::lock_guard<std::mutex> g(index_mu_);
  for (const DiskRange& m : b->maps) {
    auto [lo, hi] = index_.equal_range(m.daddr);
    for (auto it = lo; it != hi; ++it) {
      if (it->second.b == b) {
        index_.erase(it);
        break;
      }
    }
  }
}

size_t BufferCache::invalidate(std::span<const DiskRange> freed) {
  std::vector<std::pair<uint64_t, Buffer*>> found;  // (hash key, buffer)
  {
    std::lock_guard<std::mutex> g(index_mu_);
    for (const DiskRange& f : freed) {
      if (f.len == 0) continue;
      auto it = index_.lower_bound(f.daddr >= kMaxMapSectors ? f.daddr - kMaxMapSectors + 1 : 0);
      for (; it != index_.end() && it->first < f.daddr + f.len; ++it)
        if (it->first + it->second.len > f.daddr) found.emplace_back(it->second.b->daddr, it->second.b);
    }
  }
  std::sort(found.begin(), found.end());
  found.erase(std::unique(found.begin(), found.end()), found.end());
  size_t n = 0;
  for (auto [key, b] : found) {
    Bucket& bk = bucket_for(key);
    uint32_t prev;
    {
      std::lock_guard<std::mutex> g(bk.mu);
      // Reclaimed or invalidated since the index was read (b may be freed,
      // or its memory reused by another buffer): trust only the hash.
      auto it = bk.map.find(key);
      if (it == bk.map.end() || it->second != b || !any_overlap(b->maps, freed)) continue;
      clear_dirty(b);
      if (b->pins.load(std::memory_order_acquire) != 0) invalidated_pinned_.fetch_add(1, std::memory_order_relaxed);
      // Its AIL LSN moves to the stale list and the stale bit goes on in
      // one ail_mu_ section, so unpin_logged() (which checks the bit under
      // ail_mu_) files a later LSN as stale too.  b is not touched after
      // the bit: a holder's last put_hold() may free it at once.
      std::lock_guard<std::mutex> a(ail_mu_);
      ail_stale_locked(b);
      prev = unhash_locked(bk, it);
    }
    n++;
    if (prev == 0) free_buffer(b);  // unheld: nobody else will
  }
  invalidations_.fetch_add(n, std::memory_order_relaxed);
  return n;
}

}  // namespace xfsfuse::bc
