// buffer_cache/writeback.cc — dirty ranges and writing buffers back.
//
// A whole buffer is written back (one pwritev per map), not only its dirty
// ranges: verify_write() changes the CRC, which covers the whole buffer.
// The dirty ranges are kept for the (later) transaction/log code.
#include <algorithm>
#include <cstring>
#include <utility>

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

int BufferCache::set_lsn(BufHandle& h, uint64_t lsn) {
  if (!h || h.cache_ != this || !h.excl_) return EINVAL;
  h.buf_->lsn = lsn;
  return 0;
}

int BufferCache::pin(BufHandle& h, PinRef* out) {
  out->unpin();
  if (!h || h.cache_ != this || !h.excl_) return EINVAL;
  Buffer* b = h.buf_;
  b->hold.fetch_add(1, std::memory_order_relaxed);  // already held by h: not 0 -> 1
  b->pins.fetch_add(1, std::memory_order_release);
  pins_.fetch_add(1, std::memory_order_relaxed);
  out->cache_ = this;
  out->buf_ = b;
  return 0;
}

void BufferCache::unpin(Buffer* b) {
  b->pins.fetch_sub(1, std::memory_order_release);
  unpins_.fetch_add(1, std::memory_order_relaxed);
  put_hold(b);
}

PinRef& PinRef::operator=(PinRef&& o) noexcept {
  if (this != &o) {
    unpin();
    cache_ = std::exchange(o.cache_, nullptr);
    buf_ = std::exchange(o.buf_, nullptr);
  }
  return *this;
}

uint64_t PinRef::daddr() const { return buf_->daddr; }
bool PinRef::stale() const { return buf_->stale(); }

void PinRef::unpin() {
  if (!buf_) return;
  cache_->unpin(std::exchange(buf_, nullptr));
  cache_ = nullptr;
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
  // Stable while we hold the content lock: pin() needs it exclusively.
  if (b->pins.load(std::memory_order_acquire) != 0) {
    skipped_pinned_.fetch_add(1, std::memory_order_relaxed);
    return EBUSY;
  }
  if (!dev_->writable()) return EROFS;
  if (b->ops) {
    std::string why;
    Uuid uuid;
    if (!b->ops->verify_write({b->addr, b->size}, b->daddr, uuid_snapshot(&uuid), b->lsn, &why)) {
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
  bool pinned = false;
  for (Buffer* b : dirty) {
    b->content.lock();
    int e = write_locked(b);
    release(b, true);
    if (e == EBUSY)
      pinned = true;
    else if (e != 0 && first == 0)
      first = e;
  }
  // Sync whatever was written since the last good sync (here, by write(),
  // or before a sync that failed), even if some buffer failed.
  if (unsynced_.exchange(false, std::memory_order_acq_rel)) {
    if (int e = dev_->sync()) {
      unsynced_.store(true, std::memory_order_release);
      if (first == 0) first = e;
    }
  }
  return first != 0 ? first : pinned ? EBUSY : 0;
}

}  // namespace xfsfuse::bc
