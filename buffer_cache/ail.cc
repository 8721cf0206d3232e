// buffer_cache/ail.cc — the AIL: which logged changes are not yet durable
// in place, so the log knows how far its tail may move.
//
// Changes are logged by range, only what each transaction changed (not the
// whole dirty region, as the kernel relogs), so a buffer stands in the AIL
// at the LSN of its *oldest* logged change still waiting for write-back:
// every record from there on may hold part of what it must replay.  A
// write-back leaves that LSN held until a sync() makes the write durable;
// an invalidated buffer leaves it held until the transaction that freed
// the blocks is in the log (ail_release_stale): before then a crash would
// replay neither the change nor the freeing.
#include <algorithm>

#include "buffer_cache/buffer.h"

namespace xfsfuse::bc {

void BufferCache::ail_erase_locked(uint64_t lsn) {
  auto it = ail_.find(lsn);
  if (it != ail_.end()) ail_.erase(it);
}

void BufferCache::unpin_logged(Buffer* b, uint64_t lsn) {
  uint64_t cur = b->lsn.load(std::memory_order_relaxed);
  while (cur < lsn && !b->lsn.compare_exchange_weak(cur, lsn, std::memory_order_relaxed)) {
  }
  {
    std::lock_guard<std::mutex> g(ail_mu_);
    if (b->stale()) {
      // Freed by a later transaction, maybe not logged yet: held until it is.
      ail_.insert(lsn);
      ail_stale_.emplace_back(lsn, stale_gen_);
    } else if (b->ail_lsn == 0) {
      b->ail_lsn = lsn;
      ail_.insert(lsn);
    }
  }
  unpin(b);
}

void BufferCache::ail_written(Buffer* b) {
  std::lock_guard<std::mutex> g(ail_mu_);
  if (b->ail_lsn == 0) return;
  ail_written_.emplace_back(b->ail_lsn, sync_gen_);
  b->ail_lsn = 0;
}

void BufferCache::ail_stale_locked(Buffer* b) {
  if (b->ail_lsn == 0) return;
  ail_stale_.emplace_back(b->ail_lsn, stale_gen_);
  b->ail_lsn = 0;
}

uint64_t BufferCache::ail_tail() const {
  std::lock_guard<std::mutex> g(ail_mu_);
  return ail_.empty() ? 0 : *ail_.begin();
}

size_t BufferCache::ail_size() const {
  std::lock_guard<std::mutex> g(ail_mu_);
  return ail_.size();
}

uint64_t BufferCache::ail_seal_stale() {
  std::lock_guard<std::mutex> g(ail_mu_);
  return stale_gen_++;
}

void BufferCache::ail_release_stale(uint64_t gen) {
  std::lock_guard<std::mutex> g(ail_mu_);
  auto keep = std::remove_if(ail_stale_.begin(), ail_stale_.end(), [&](const std::pair<uint64_t, uint64_t>& e) {
    if (e.second > gen) return false;
    ail_erase_locked(e.first);
    return true;
  });
  ail_stale_.erase(keep, ail_stale_.end());
}

int BufferCache::sync() {
  uint64_t gen;
  {
    std::lock_guard<std::mutex> g(ail_mu_);
    gen = sync_gen_++;
  }
  unsynced_.store(false, std::memory_order_release);
  if (int e = dev_->sync()) {
    unsynced_.store(true, std::memory_order_release);
    write_failed(kNoDaddr, e, "device sync");
    return e;
  }
  std::lock_guard<std::mutex> g(ail_mu_);
  auto keep = std::remove_if(ail_written_.begin(), ail_written_.end(), [&](const std::pair<uint64_t, uint64_t>& e) {
    if (e.second > gen) return false;
    ail_erase_locked(e.first);
    return true;
  });
  ail_written_.erase(keep, ail_written_.end());
  return 0;
}

void PinRef::unpin_logged(uint64_t lsn) {
  if (!buf_) return;
  cache_->unpin_logged(std::exchange(buf_, nullptr), lsn);
  cache_ = nullptr;
}

}  // namespace xfsfuse::bc
