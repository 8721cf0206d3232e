// buffer_cache/writeback.cc — dirty ranges and writing buffers back.
//
// A whole buffer is written back (one pwritev per map), not only its dirty
// ranges: verify_write() changes the CRC, which covers the whole buffer.
// The dirty ranges are kept for the (later) transaction/log code.
#include <algorithm>
#include <cstring>

#include "buffer_cache/buffer.h"

namespace xfsfuse::bc {

int BufferCache::mark_dirty(BufHandle& h, size_t off, size_t len) {
  if (!h || h.cache_ != this || !h.excl_) return EINVAL;
  Buffer* b = h.buf_;
  if (len == 0 || off > b->size || len > b->size - off) return EINVAL;
  auto& r = b->dirty_ranges;
  size_t lo = off, hi = off + len;
  // Merge with every range that overlaps or touches [lo, hi).
  auto it = std::remove_if(r.begin(), r.end(), [&](const std::pair<size_t, size_t>& x) {
    if (x.second < lo || x.first > hi) return false;
    lo = std::min(lo, x.first);
    hi = std::max(hi, x.second);
    return true;
  });
  r.erase(it, r.end());
  r.emplace_back(lo, hi);
  std::sort(r.begin(), r.end());
  b->dirty.store(true, std::memory_order_release);
  return 0;
}

int BufferCache::write(BufHandle& h) {
  if (!h || h.cache_ != this || !h.excl_) return EINVAL;
  return write_locked(h.buf_);
}

int BufferCache::write_locked(Buffer* b) {
  if (b->stale()) {  // invalidated: its blocks are free, its contents dead
    b->dirty_ranges.clear();
    b->dirty.store(false, std::memory_order_release);
    return 0;
  }
  if (!b->dirty.load(std::memory_order_acquire)) return 0;
  if (!dev_->writable()) return EROFS;
  if (b->ops) {
    std::string why;
    Uuid uuid;
    if (!b->ops->verify_write({b->addr, b->size}, b->daddr, uuid_snapshot(&uuid), /*lsn=*/0, &why)) {
      report(b, b->ops->name(), "refusing to write back: " + why);
      return EUCLEAN;
    }
  }
  if (int e = io_maps(b, true)) return e;
  b->dirty_ranges.clear();
  b->dirty.store(false, std::memory_order_release);
  return 0;
}

int BufferCache::flush_all() {
  std::vector<Buffer*> dirty;
  for (uint64_t i = 0; i <= bucket_mask_; i++) {
    std::lock_guard<std::mutex> g(buckets_[i].mu);
    for (auto& [daddr, b] : buckets_[i].map) {
      if (b->dirty.load(std::memory_order_acquire)) {
        b->hold.fetch_add(1, std::memory_order_acquire);
        dirty.push_back(b);
      }
    }
  }
  int first = 0;
  for (Buffer* b : dirty) {
    b->content.lock();
    int e = write_locked(b);
    release(b, true);
    if (e != 0 && first == 0) first = e;
  }
  if (!dirty.empty() && first == 0) first = dev_->sync();
  return first;
}

}  // namespace xfsfuse::bc
