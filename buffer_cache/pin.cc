// buffer_cache/pin.cc — pins: a changed buffer kept from the disk until its
// change is committed.  Write-back checks Buffer::pins under the content
// lock, which pin() also needs, so a buffer cannot be pinned mid-write.
#include <utility>

#include "buffer_cache/buffer.h"

namespace xfsfuse::bc {

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

}  // namespace xfsfuse::bc
