#include "vmap/page_pool.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>

namespace xfsfuse::vmap {

int PagePool::create(size_t budget_bytes, ShrinkerRegistry* shrinkers, std::unique_ptr<PagePool>* out) {
  size_t n = budget_bytes / kPageSize;
  if (n == 0 || n >= BuddyAllocator::kNoPage) return EINVAL;
  int fd = memfd_create("xfsfuse-pages", MFD_CLOEXEC);
  if (fd < 0) return errno;
  if (ftruncate(fd, static_cast<off_t>(n * kPageSize)) != 0) {
    int e = errno;
    close(fd);
    return e;
  }
  void* lin = mmap(nullptr, n * kPageSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (lin == MAP_FAILED) {
    int e = errno;
    close(fd);
    return e;
  }
  out->reset(new PagePool(fd, static_cast<std::byte*>(lin), static_cast<pfn_t>(n), shrinkers));
  return 0;
}

PagePool::PagePool(int fd, std::byte* linear, pfn_t npages, ShrinkerRegistry* shrinkers)
    : fd_(fd),
      linear_(linear),
      npages_(npages),
      shrinkers_(shrinkers),
      refs_(new std::atomic<uint32_t>[npages]),
      aliases_(new std::atomic<uint32_t>[npages]),
      buddy_(npages) {
  for (pfn_t p = 0; p < npages; p++) {
    refs_[p].store(0, std::memory_order_relaxed);
    aliases_[p].store(0, std::memory_order_relaxed);
  }
}

PagePool::~PagePool() {
  munmap(linear_, size_t{npages_} << kPageShift);
  close(fd_);
}

int PagePool::install_alias_flusher(std::function<void()> f) {
  std::lock_guard<std::mutex> g(flusher_mu_);
  if (alias_flusher_) return EBUSY;
  alias_flusher_ = std::move(f);
  return 0;
}

void PagePool::clear_alias_flusher() {
  std::lock_guard<std::mutex> g(flusher_mu_);
  alias_flusher_ = nullptr;
}

bool PagePool::take_locked(uint32_t k, unsigned flags, std::vector<pfn_t>* out) {
  out->clear();
  if (k <= (1u << BuddyAllocator::kMaxOrder)) {
    pfn_t b = buddy_.alloc_run(k);
    if (b != BuddyAllocator::kNoPage) {
      for (uint32_t i = 0; i < k; i++) out->push_back(b + i);
      contig_allocs_.fetch_add(1, std::memory_order_relaxed);
      return true;
    }
  }
  if ((flags & kAllocContig) || buddy_.free_pages() < k) return false;
  for (uint32_t i = 0; i < k; i++) {
    pfn_t p = buddy_.alloc(0);
    assert(p != BuddyAllocator::kNoPage);  // free_pages() said there were enough
    out->push_back(p);
  }
  scattered_allocs_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

size_t PagePool::count_aliased(const std::vector<pfn_t>& pages) const {
  size_t n = 0;
  for (pfn_t p : pages)
    if (alias_count(p) != 0) n++;
  return n;
}

int PagePool::alloc(uint32_t k, unsigned flags, std::vector<pfn_t>* out) {
  out->clear();
  if (k == 0 || ((flags & kAllocContig) && k > (1u << BuddyAllocator::kMaxOrder)) || k > npages_)
    return EINVAL;
  bool ok;
  {
    std::lock_guard<std::mutex> g(mu_);
    ok = take_locked(k, flags, out);
  }
  // Short: ask the shrinkers (with no pool lock held: they free pages back
  // into this pool) and retry, a fixed number of times whatever each shrink
  // returned: pages may be on their way back from reclaim running in another
  // thread (a purge in flight), which a later shrink waits for.
  for (int tries = 0; !ok && shrinkers_ && tries < kShrinkTries; tries++) {
    shrink_calls_.fetch_add(1, std::memory_order_relaxed);
    shrinkers_->shrink(k);
    std::lock_guard<std::mutex> g(mu_);
    ok = take_locked(k, flags, out);
  }
  if (!ok) {
    alloc_failures_.fetch_add(1, std::memory_order_relaxed);
    return ENOMEM;
  }
  for (pfn_t p : *out) refs_[p].store(1, std::memory_order_relaxed);

  size_t aliased = count_aliased(*out);
  if (aliased != 0 && (flags & kAllocNoAlias)) {
    std::lock_guard<std::mutex> g(flusher_mu_);
    if (alias_flusher_) {
      alias_flushes_.fetch_add(1, std::memory_order_relaxed);
      alias_flusher_();
      aliased = count_aliased(*out);
    }
  }
  // The audit: a page handed out while a stale alias still maps it.
  if (aliased != 0) stale_alias_reuse_.fetch_add(aliased, std::memory_order_relaxed);
  allocs_.fetch_add(1, std::memory_order_relaxed);
  return 0;
}

bool PagePool::put(pfn_t p) {
  uint32_t old = refs_[p].fetch_sub(1, std::memory_order_acq_rel);
  assert(old != 0);
  if (old != 1) return false;
  std::lock_guard<std::mutex> g(mu_);
  buddy_.free(p, 0);
  return true;
}

size_t PagePool::put(std::span<const pfn_t> pages) {
  pfn_t freed[64];
  size_t n = 0, total = 0;
  auto flush = [&] {
    if (n == 0) return;
    std::lock_guard<std::mutex> g(mu_);
    for (size_t i = 0; i < n; i++) buddy_.free(freed[i], 0);
    total += n;
    n = 0;
  };
  for (pfn_t p : pages) {
    uint32_t old = refs_[p].fetch_sub(1, std::memory_order_acq_rel);
    assert(old != 0);
    if (old == 1) {
      freed[n++] = p;
      if (n == std::size(freed)) flush();
    }
  }
  flush();
  return total;
}

size_t PagePool::free_pages_with_aliases() const {
  std::lock_guard<std::mutex> g(mu_);
  size_t n = 0;
  buddy_.for_each_free_page([&](pfn_t p) {
    if (alias_count(p) != 0) n++;
  });
  return n;
}

PoolStats PagePool::stats() const {
  PoolStats s;
  s.allocs = allocs_.load(std::memory_order_relaxed);
  s.contig_allocs = contig_allocs_.load(std::memory_order_relaxed);
  s.scattered_allocs = scattered_allocs_.load(std::memory_order_relaxed);
  s.alloc_failures = alloc_failures_.load(std::memory_order_relaxed);
  s.shrink_calls = shrink_calls_.load(std::memory_order_relaxed);
  s.alias_flushes = alias_flushes_.load(std::memory_order_relaxed);
  s.stale_alias_reuse = stale_alias_reuse_.load(std::memory_order_relaxed);
  s.pages_total = npages_;
  std::lock_guard<std::mutex> g(mu_);
  s.pages_free = buddy_.free_pages();
  return s;
}

}  // namespace xfsfuse::vmap
