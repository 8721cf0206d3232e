// buffer_cache/writeback.cc — the dirty bit and writing buffers back.
//
// A whole buffer is written back (one pwritev per map), not only the bytes
// that changed: verify_write() changes the CRC, which covers the whole
// buffer.  So the cache keeps no dirty ranges, only the dirty bit; which
// bytes a transaction changed is the transaction's record (fs/trans), and
// the log's.
#include <cstring>

#include "buffer_cache/buffer.h"

namespace xfsfuse::bc {

int BufferCache::mark_dirty(BufHandle& h, size_t off, size_t len) {
  if (!h || h.cache_ != this || !h.excl_) return EINVAL;
  Buffer* b = h.buf_;
  if (len == 0 || off > b->size || len > b->size - off) return EINVAL;
  if (!b->dirty.exchange(true, std::memory_order_acq_rel)) dirty_bytes_.fetch_add(b->size, std::memory_order_relaxed);
  return 0;
}

int BufferCache::set_lsn(BufHandle& h, uint64_t lsn) {
  if (!h || h.cache_ != this || !h.excl_) return EINVAL;
  h.buf_->lsn.store(lsn, std::memory_order_relaxed);
  return 0;
}

int BufferCache::write(BufHandle& h) {
  if (!h || h.cache_ != this || !h.excl_) return EINVAL;
  return write_locked(h.buf_, nullptr);
}

void BufferCache::clear_dirty(Buffer* b) {
  if (b->dirty.exchange(false, std::memory_order_acq_rel))
    dirty_bytes_.fetch_sub(b->size, std::memory_order_relaxed);
}

int BufferCache::write_locked(Buffer* b, bool* wrote) {
  if (b->stale()) {  // invalidated: its blocks are free, its contents dead
    clear_dirty(b);
    return 0;
  }
  if (!b->dirty.load(std::memory_order_acquire)) return 0;
  // Stopped (the filesystem shut down with a log): nothing more reaches the
  // disk, so what is there stays what the log can replay over.
  if (stop_writeback_.load(std::memory_order_acquire)) return EROFS;
  // Stable while we hold the content lock: pin() needs it exclusively.
  if (b->pins.load(std::memory_order_acquire) != 0) {
    skipped_pinned_.fetch_add(1, std::memory_order_relaxed);
    return EBUSY;
  }
  int e = dev_->writable() ? 0 : EROFS;
  if (e == 0 && b->ops) {
    std::string why;
    Uuid uuid;
    if (!b->ops->verify_write({b->addr, b->size}, b->daddr, uuid_snapshot(&uuid), b->lsn.load(std::memory_order_relaxed), &why)) {
      report(b, b->ops->name(), "refusing to write back: " + why);
      e = EUCLEAN;
    }
    // verify_write stamped the LSN and CRC in place: the undo copy (undo.cc)
    // must hold them too, or a later cancel would put the old ones back.
    if (b->undo) std::memcpy(b->undo.get(), b->addr, b->size);
  }
  if (e == 0) e = io_maps(b, true);
  b->write_error.store(e, std::memory_order_relaxed);
  if (e != 0) {
    write_failed(b->daddr, e, b->ops ? b->ops->name() : "buffer");
    return e;
  }
  ail_written(b);
  clear_dirty(b);
  if (wrote) *wrote = true;
  return 0;
}

std::vector<Buffer*> BufferCache::collect_dirty() {
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
  return dirty;
}

int BufferCache::flush_all() {
  std::vector<Buffer*> dirty = collect_dirty();
  int first = 0;
  bool pinned = false;
  for (Buffer* b : dirty) {
    b->content.lock();
    int e = write_locked(b, nullptr);
    release(b, true);
    if (e == EBUSY)
      pinned = true;
    else if (e != 0 && first == 0)
      first = e;
  }
  // Sync whatever was written since the last good sync (here, by write(),
  // or before a sync that failed), even if some buffer failed.
  if (unsynced_.load(std::memory_order_acquire))
    if (int e = sync(); e != 0 && first == 0) first = e;
  return first != 0 ? first : pinned ? EBUSY : 0;
}

}  // namespace xfsfuse::bc
