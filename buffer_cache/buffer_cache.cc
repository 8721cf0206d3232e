// buffer_cache/buffer_cache.cc — creation, get(), release() and stats().
// Reclaim lives in reclaim.cc, write-back in writeback.cc, readahead in readahead.cc.
#include "buffer_cache/buffer_cache.h"

#include <bit>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "buffer_cache/buffer.h"
#include "buffer_cache/corruption_log.h"

namespace xfsfuse::bc {

BufHandle& BufHandle::operator=(BufHandle&& o) noexcept {
  if (this != &o) {
    release();
    cache_ = std::exchange(o.cache_, nullptr);
    buf_ = std::exchange(o.buf_, nullptr);
    excl_ = std::exchange(o.excl_, false);
    borrowed_ = std::exchange(o.borrowed_, false);
  }
  return *this;
}

std::byte* BufHandle::data() const { return buf_->addr; }
size_t BufHandle::size() const { return buf_->size; }
uint64_t BufHandle::daddr() const { return buf_->daddr; }
std::span<const DiskRange> BufHandle::maps() const { return buf_->maps; }
bool BufHandle::dirty() const { return buf_->dirty.load(std::memory_order_relaxed); }

void BufHandle::release() {
  if (!buf_) return;
  if (borrowed_)
    cache_->put_hold(std::exchange(buf_, nullptr));
  else
    cache_->release(std::exchange(buf_, nullptr), excl_);
  cache_ = nullptr;
  excl_ = false;
  borrowed_ = false;
}

int BufferCache::set_ops(BufHandle& h, const BufOps* ops) {
  if (!h || h.cache_ != this || !h.excl_) return EINVAL;
  h.buf_->ops = ops;
  h.buf_->other_ops.store(nullptr, std::memory_order_release);
  return 0;
}

const BufOps* BufferCache::ops_of(const BufHandle& h) const { return h ? h.buf_->ops : nullptr; }

BufHandle BufferCache::alias(const BufHandle& h) {
  BufHandle a;
  if (!h) return a;
  h.buf_->hold.fetch_add(1, std::memory_order_relaxed);  // already >= 1: h holds it
  a.cache_ = this;
  a.buf_ = h.buf_;
  a.excl_ = h.excl_;
  a.borrowed_ = true;
  return a;
}

int BufferCache::create(BlockDevice* dev, vmap::PagePool* pool, vmap::Vmap* vm, vmap::ShrinkerRegistry* shrinkers,
                        const CacheOptions& opts, std::unique_ptr<BufferCache>* out) {
  if (!dev || !pool || !vm || opts.budget_bytes == 0 || opts.buckets == 0) return EINVAL;
  out->reset(new BufferCache(dev, pool, vm, shrinkers, opts));
  return 0;
}

BufferCache::BufferCache(BlockDevice* dev, vmap::PagePool* pool, vmap::Vmap* vm, vmap::ShrinkerRegistry* shrinkers,
                         const CacheOptions& opts)
    : dev_(dev),
      pool_(pool),
      vm_(vm),
      shrinkers_(shrinkers),
      opts_(opts),
      buckets_(new Bucket[std::bit_ceil(opts.buckets)]),
      bucket_mask_(std::bit_ceil(opts.buckets) - 1),
      flush_threshold_(opts.budget_bytes / 100 * opts.flush_dirty_percent) {
  if (shrinkers_ && opts_.register_shrinker) {
    shrinker_id_ = shrinkers_->add(vmap::Shrinker{
        "buffer-cache",
        [this] { return static_cast<size_t>(bytes_cached_.load(std::memory_order_relaxed) / vmap::kPageSize); },
        [this](size_t nr) {
          shrinker_calls_.fetch_add(1, std::memory_order_relaxed);
          return shrink(nr);
        },
    });
  }
  ra_thread_ = std::thread([this] { readahead_loop(); });
  if (opts_.flush_interval.count() > 0) flush_thread_ = std::thread([this] { flusher_loop(); });
}

BufferCache::~BufferCache() {
  if (flush_thread_.joinable()) {
    {
      std::lock_guard<std::mutex> g(flush_mu_);
      flush_stop_ = true;
    }
    flush_cv_.notify_all();
    flush_thread_.join();
  }
  {
    std::lock_guard<std::mutex> g(ra_mu_);
    ra_stop_ = true;
  }
  ra_cv_.notify_all();
  ra_thread_.join();
  if (shrinker_id_) shrinkers_->remove(shrinker_id_);
  if (!stop_writeback_.load(std::memory_order_acquire))
    if (int e = flush_all())
      std::fprintf(stderr, "xfsfuse: buffer cache: write-back at shutdown failed: %s\n", std::strerror(e));
  for (uint64_t i = 0; i <= bucket_mask_; i++) {
    for (auto& [daddr, b] : buckets_[i].map) {
      free_memory(b);
      delete b;
    }
  }
}

void BufferCache::set_uuid(const Uuid& uuid) {
  std::lock_guard<std::mutex> g(uuid_mu_);
  uuid_ = uuid;
  have_uuid_ = true;
}

void BufferCache::report(const Buffer* b, const char* what, const std::string& why) {
  log_corruption(what, b->daddr,
                 why + " (" + std::to_string(b->size) + " bytes, " + std::to_string(b->maps.size()) + " maps)");
}

int BufferCache::check_maps(std::span<const DiskRange> maps, size_t* bytes) const {
  size_t total = 0;
  if (maps.empty()) return EINVAL;
  for (const DiskRange& m : maps) {
    if (m.len == 0) return EINVAL;
    total += size_t{m.len} << kSectorShift;
    if (total > kMaxBufferBytes) return EINVAL;
  }
  *bytes = total;
  return 0;
}

int BufferCache::alloc_memory(Buffer* b) {
  const uint32_t npages = static_cast<uint32_t>((b->size + vmap::kPageSize - 1) / vmap::kPageSize);
  if (int e = pool_->alloc(npages, vmap::kAllocDefault, &b->pages)) return e;
  void* addr = nullptr;
  if (int e = vm_->vmap(b->pages, &addr)) {
    pool_->put(b->pages);
    b->pages.clear();
    return e;
  }
  b->addr = static_cast<std::byte*>(addr);
  bytes_cached_.fetch_add(size_t{npages} * vmap::kPageSize, std::memory_order_relaxed);
  return 0;
}

size_t BufferCache::free_memory(Buffer* b) {
  drop_undo(b);
  if (b->pages.empty()) return 0;
  vm_->vunmap(b->addr);  // lazy policy: parks the mapping, which keeps its own page references
  size_t freed = pool_->put(b->pages);
  bytes_cached_.fetch_sub(b->pages.size() * vmap::kPageSize, std::memory_order_relaxed);
  b->pages.clear();
  b->addr = nullptr;
  return freed;
}

const Uuid* BufferCache::uuid_snapshot(Uuid* storage) {
  std::lock_guard<std::mutex> g(uuid_mu_);
  if (!have_uuid_) return nullptr;
  *storage = uuid_;
  return storage;
}

int BufferCache::io_maps(Buffer* b, bool write) {
  size_t off = 0;
  for (const DiskRange& m : b->maps) {
    const size_t len = size_t{m.len} << kSectorShift;
    iovec iov{b->addr + off, len};
    const uint64_t pos = m.daddr << kSectorShift;
    int e = write ? dev_->pwritev(&iov, 1, pos) : dev_->preadv(&iov, 1, pos);
    (write ? writes_ : reads_).fetch_add(1, std::memory_order_relaxed);
    if (e != 0) {
      if (!write) read_errors_.fetch_add(1, std::memory_order_relaxed);
      std::fprintf(stderr, "xfsfuse: %s error at daddr 0x%" PRIx64 " (%u sectors): %s\n", write ? "write" : "read",
                   m.daddr, m.len, std::strerror(e));
      return e;
    }
    (write ? bytes_written_ : bytes_read_).fetch_add(len, std::memory_order_relaxed);
    if (write) unsynced_.store(true, std::memory_order_release);
    off += len;
  }
  return 0;
}

void BufferCache::read_and_verify(Buffer* b, const BufOps* ops) {
  if (int e = io_maps(b, false)) {
    b->error.store(e, std::memory_order_release);
    return;
  }
  if (ops) {
    std::string why;
    Uuid uuid;
    VerifyInput in{{b->addr, b->size}, b->daddr, uuid_snapshot(&uuid)};
    if (!ops->verify_read(in, &why)) {
      verifier_failures_.fetch_add(1, std::memory_order_relaxed);
      report(b, ops->name(), why);
      b->error.store(EUCLEAN, std::memory_order_release);
      free_memory(b);  // remembered as corrupt; its bytes are never handed out
      return;
    }
  }
  b->uptodate.store(true, std::memory_order_release);
}

void BufferCache::report_request(std::span<const DiskRange> maps, size_t bytes, const BufOps* ops,
                                 const char* why) {
  lookup_failures_.fetch_add(1, std::memory_order_relaxed);
  Buffer probe;
  probe.daddr = maps[0].daddr;
  probe.size = bytes;
  probe.maps.assign(maps.begin(), maps.end());
  report(&probe, ops ? ops->name() : "buffer", why);
}

bool BufferCache::same_maps(Buffer* b, std::span<const DiskRange> maps) {
  // A buffer's maps never change, so this runs outside the bucket mutex.
  if (std::equal(b->maps.begin(), b->maps.end(), maps.begin(), maps.end())) return true;
  put_hold(b);
  return false;
}

int BufferCache::get(std::span<const DiskRange> maps, const BufOps* ops, uint64_t owner, unsigned flags,
                     BufHandle* out) {
  out->release();
  size_t bytes = 0;
  if (int e = check_maps(maps, &bytes)) return e;
  const uint64_t daddr = maps[0].daddr;
  Bucket& bk = bucket_for(daddr);
  static constexpr const char* kOtherMaps = "a cached buffer at this daddr has other maps";

  Buffer* b = nullptr;
  {
    std::lock_guard<std::mutex> g(bk.mu);
    auto it = bk.map.find(daddr);
    if (it != bk.map.end()) {
      b = it->second;
      b->hold.fetch_add(1, std::memory_order_acquire);
    }
  }
  if (b) {
    if (!same_maps(b, maps)) {
      report_request(maps, bytes, ops, kOtherMaps);
      return EUCLEAN;
    }
    hits_.fetch_add(1, std::memory_order_relaxed);
    return finish_get(b, ops, owner, flags, out);
  }
  if (flags & kGetIncore) {
    lookup_failures_.fetch_add(1, std::memory_order_relaxed);
    return ENOENT;
  }
  for (const DiskRange& m : maps) {
    if ((m.daddr + m.len) << kSectorShift > dev_->size_bytes() || m.daddr + m.len < m.daddr) {
      report_request(maps, bytes, ops, "map lies past the end of the device");
      return EUCLEAN;
    }
  }

  // Miss: build the buffer outside the bucket lock (page allocation may call
  // shrinkers, which reclaim from this cache), then insert unless another
  // thread got there first.
  auto nb = std::make_unique<Buffer>();
  nb->maps.assign(maps.begin(), maps.end());
  nb->daddr = daddr;
  nb->size = bytes;
  nb->ops = ops;
  if (int ae = alloc_memory(nb.get())) {
    lookup_failures_.fetch_add(1, std::memory_order_relaxed);
    return ae;
  }
  if (flags & kGetNoRead) std::memset(nb->addr, 0, nb->size);
  nb->content.lock();
  {
    std::lock_guard<std::mutex> g(bk.mu);
    auto it = bk.map.find(daddr);
    if (it != bk.map.end()) {
      b = it->second;
      b->hold.fetch_add(1, std::memory_order_acquire);
    } else {
      nb->hold.store(1, std::memory_order_relaxed);
      b = nb.get();
      bk.map.emplace(daddr, nb.release());
      index_insert(b);
    }
  }
  if (nb) {  // another thread inserted it first: use what is cached
    nb->content.unlock();
    free_memory(nb.get());
    if (!same_maps(b, maps)) {
      report_request(maps, bytes, ops, kOtherMaps);
      return EUCLEAN;
    }
    hits_.fetch_add(1, std::memory_order_relaxed);
    return finish_get(b, ops, owner, flags, out);
  }
  misses_.fetch_add(1, std::memory_order_relaxed);
  buffers_.fetch_add(1, std::memory_order_relaxed);
  if (flags & kGetNoRead)
    b->uptodate.store(true, std::memory_order_release);
  else
    read_and_verify(b, ops);
  const int err = b->error.load(std::memory_order_acquire);
  if (err != 0 && err != EUCLEAN) unhash(b);  // a failed read is not remembered: the next get retries
  b->content.unlock();
  // Keep within the budget: reclaim others (this one is held).
  if (held_bytes() > opts_.budget_bytes) reclaim(opts_.budget_bytes, 0, false, nullptr);
  return finish_get(b, ops, owner, flags, out);  // takes over the insertion hold
}

void BufferCache::put_hold(Buffer* b) {
  // Corrupt buffers stay off the LRU: remembered, and they hold no pages.
  // Stale ones too: unhash_locked() took them off, and the check under
  // lru_mu_ keeps a racing release from putting one back.
  if (!b->on_lru.load(std::memory_order_acquire) && b->error.load(std::memory_order_acquire) == 0 && !b->stale()) {
    std::lock_guard<std::mutex> g(lru_mu_);
    if (!b->stale()) lru_add_locked(b);
  }
  if (b->hold.fetch_sub(1, std::memory_order_acq_rel) == (kStaleBit | 1)) free_buffer(b);
}

void BufferCache::free_buffer(Buffer* b) {
  clear_dirty(b);  // dirtied again by its holder after invalidate()
  free_memory(b);
  delete b;
}

void BufferCache::lru_add_locked(Buffer* b) {
  if (b->on_lru.load(std::memory_order_relaxed)) return;
  lru_.push_front(b);
  b->lru_it = lru_.begin();
  b->on_lru.store(true, std::memory_order_release);
}

void BufferCache::release(Buffer* b, bool excl) {
  if (!excl) {
    b->content.unlock_shared();
  } else {
    // Over the dirty line: wake the flusher now that this buffer is unlocked
    // (waking it from mark_dirty() would find this one busy).
    const bool kick = opts_.flush_interval.count() > 0 && b->dirty.load(std::memory_order_relaxed) &&
                      dirty_bytes_.load(std::memory_order_relaxed) > flush_threshold_;
    b->content.unlock();
    if (kick) kick_flusher();
  }
  put_hold(b);
}

void BufferCache::unhash(Buffer* b) {
  Bucket& bk = bucket_for(b->daddr);
  std::lock_guard<std::mutex> g(bk.mu);
  auto it = bk.map.find(b->daddr);
  if (it != bk.map.end() && it->second == b) unhash_locked(bk, it);
}

uint32_t BufferCache::unhash_locked(Bucket& bk, std::unordered_map<uint64_t, Buffer*>::iterator it) {
  Buffer* b = it->second;
  bk.map.erase(it);
  index_erase(b);
  buffers_.fetch_sub(1, std::memory_order_relaxed);
  // Off the LRU and stale in one lru_mu_ section, so put_hold() cannot list
  // it again; once the bit is set a holder's last put_hold() may free it.
  std::lock_guard<std::mutex> g(lru_mu_);
  if (b->on_lru.load(std::memory_order_relaxed)) {
    lru_.erase(b->lru_it);
    b->on_lru.store(false, std::memory_order_relaxed);
  }
  return b->hold.fetch_or(kStaleBit, std::memory_order_acq_rel);
}

int BufferCache::finish_get(Buffer* b, const BufOps* ops, uint64_t owner, unsigned flags, BufHandle* out) {
  const bool excl = flags & kGetExclusive;
  if (flags & kGetTrylock) {
    if (!(excl ? b->content.try_lock() : b->content.try_lock_shared())) {
      trylock_busy_.fetch_add(1, std::memory_order_relaxed);
      put_hold(b);
      return EAGAIN;
    }
  } else if (excl) {
    b->content.lock();
  } else {
    b->content.lock_shared();
  }
  int e = b->error.load(std::memory_order_acquire);
  if (e == 0 && !b->uptodate.load(std::memory_order_acquire)) e = EIO;
  if (e == 0 && owner != kAnyOwner && ops && !ops->owner_ok({b->addr, b->size}, owner)) {
    e = EUCLEAN;
    if (!b->owner_reported.exchange(true)) report(b, ops->name(), "owner is not " + std::to_string(owner));
  }
  if (e == 0 && ops && ops != b->ops) e = check_other_ops(b, ops);
  if (e != 0) {
    release(b, excl);
    return e;
  }
  if (excl && !(flags & kGetKeepUndo)) drop_undo(b);  // this holder may change the bytes behind it
  if (!b->referenced.load(std::memory_order_relaxed)) b->referenced.store(true, std::memory_order_relaxed);
  out->cache_ = this;
  out->buf_ = b;
  out->excl_ = excl;
  return 0;
}

int BufferCache::check_other_ops(Buffer* b, const BufOps* ops) {
  if (b->other_ops.load(std::memory_order_acquire) == ops) return 0;
  other_ops_checks_.fetch_add(1, std::memory_order_relaxed);
  std::string why;
  Uuid uuid;
  VerifyInput in{{b->addr, b->size}, b->daddr, uuid_snapshot(&uuid)};
  if (ops->verify_read(in, &why)) {
    b->other_ops.store(ops, std::memory_order_release);
    return 0;
  }
  if (!b->other_ops_reported.exchange(true))
    report(b, ops->name(), why + " (the block was first read as " + (b->ops ? b->ops->name() : "unverified") + ")");
  return EUCLEAN;
}

CacheStats BufferCache::stats() const {
  CacheStats s;
  auto ld = [](const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  s.hits = ld(hits_);
  s.misses = ld(misses_);
  s.lookups = s.hits + s.misses + ld(lookup_failures_);
  s.reads = ld(reads_);
  s.bytes_read = ld(bytes_read_);
  s.read_errors = ld(read_errors_);
  s.readahead = ld(readahead_);
  s.readahead_dropped = ld(readahead_dropped_);
  s.evictions = ld(evictions_);
  s.shrinker_calls = ld(shrinker_calls_);
  s.verifier_failures = ld(verifier_failures_);
  s.other_ops_checks = ld(other_ops_checks_);
  s.writes = ld(writes_);
  s.bytes_written = ld(bytes_written_);
  s.invalidations = ld(invalidations_);
  s.invalidated_pinned = ld(invalidated_pinned_);
  s.pins = ld(pins_);
  s.unpins = ld(unpins_);
  s.skipped_pinned = ld(skipped_pinned_);
  s.trylock_busy = ld(trylock_busy_);
  s.skipped_busy = ld(skipped_busy_);
  s.skipped_failed = ld(skipped_failed_);
  s.flusher_passes = ld(flusher_passes_);
  s.flusher_writes = ld(flusher_writes_);
  s.write_errors = ld(write_errors_);
  s.dirty_bytes = ld(dirty_bytes_);
  s.buffers = ld(buffers_);
  s.bytes_cached = ld(bytes_cached_);
  s.undo_bytes = ld(undo_bytes_);
  s.budget_bytes = opts_.budget_bytes;
  s.vmap = vm_->stats();
  s.pool = pool_->stats();
  return s;
}

}  // namespace xfsfuse::bc
