// vmap/page_pool.h — the page pool: one memfd split into refcounted 4 KiB pages.
//
// The pool owns a memfd of npages 4 KiB pages and a permanent linear mapping of
// all of it, so any single page (or contiguous run) is reachable with no
// syscall.  Pages are handed out by a buddy allocator, each with a reference
// count (1 when allocated; the page returns to the free list when it drops to
// 0) and an alias count: how many parked (lazily unmapped, not yet purged)
// vmap areas still map it.  Handing out a page whose alias count is non-zero is
// the bug the lazy-unmap design must never commit; the pool audits every
// allocation and counts such pages in stale_alias_reuse.
//
// Thread safety: every method may be called from any thread.  Allocation and
// freeing take one mutex; get()/alias counts are lock-free atomics.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "vmap/buddy.h"
#include "vmap/shrinker.h"

namespace xfsfuse::vmap {

inline constexpr size_t kPageSize = 4096;
inline constexpr unsigned kPageShift = 12;

/// Flags for PagePool::alloc.
enum AllocFlags : unsigned {
  kAllocDefault = 0,
  kAllocContig = 1u << 0,   ///< the k pages must be one contiguous run (else ENOMEM)
  kAllocNoAlias = 1u << 1,  ///< no page may still be mapped by a parked alias:
                            ///< flushes aliases first if needed (what Xen needed)
};

/// Counters kept by the pool; read as one snapshot.
struct PoolStats {
  uint64_t allocs = 0;             ///< successful alloc() calls
  uint64_t contig_allocs = 0;      ///< ... that got one contiguous run
  uint64_t scattered_allocs = 0;   ///< ... that got scattered pages
  uint64_t alloc_failures = 0;     ///< alloc() calls that returned ENOMEM
  uint64_t shrink_calls = 0;       ///< times the pool asked the shrinker registry for pages
  uint64_t alias_flushes = 0;      ///< kAllocNoAlias allocations that had to flush aliases
  uint64_t stale_alias_reuse = 0;  ///< pages handed out while a parked alias still mapped them
  uint64_t pages_total = 0;
  uint64_t pages_free = 0;
};

class PagePool {
 public:
  static constexpr int kShrinkTries = 4;  ///< shrink-and-retry rounds before alloc() fails

  /// Creates a pool of budget_bytes / 4096 pages (at least 1).  shrinkers may
  /// be null (then a short pool fails at once).  Returns 0 or an errno
  /// (EINVAL for a zero or oversized budget, or what memfd_create/ftruncate/
  /// mmap returned).
  static int create(size_t budget_bytes, ShrinkerRegistry* shrinkers, std::unique_ptr<PagePool>* out);
  ~PagePool();
  PagePool(const PagePool&) = delete;
  PagePool& operator=(const PagePool&) = delete;

  /// Allocates k pages into *out (replacing its contents), each with one
  /// reference.  Without kAllocContig the pages are one contiguous run when
  /// the pool has one, else k scattered pages.  When the pool is short it asks
  /// the shrinker registry and retries, kShrinkTries times.  Returns 0, EINVAL (k == 0, or
  /// kAllocContig with k > 1024), or ENOMEM when the pool stays exhausted;
  /// never crashes.
  int alloc(uint32_t k, unsigned flags, std::vector<pfn_t>* out);

  /// Takes one more reference on an allocated page.
  void get(pfn_t p) { refs_[p].fetch_add(1, std::memory_order_relaxed); }

  /// Drops one reference; at zero the page returns to the free list.  Returns
  /// true if the page was freed.
  bool put(pfn_t p);

  /// Drops one reference on each page (one lock for the batch).  Returns the
  /// number of pages freed.
  size_t put(std::span<const pfn_t> pages);

  /// Address of page p in the permanent linear mapping.
  std::byte* page_address(pfn_t p) const { return linear_ + (size_t{p} << kPageShift); }
  /// True if addr lies inside the linear mapping.
  bool in_linear(const void* addr) const {
    auto a = static_cast<const std::byte*>(addr);
    return a >= linear_ && a < linear_ + (size_t{npages_} << kPageShift);
  }
  /// Page frame number of an address inside the linear mapping.
  pfn_t linear_pfn(const void* addr) const {
    return static_cast<pfn_t>((static_cast<const std::byte*>(addr) - linear_) >> kPageShift);
  }

  int fd() const { return fd_; }
  pfn_t npages() const { return npages_; }
  uint32_t refcount(pfn_t p) const { return refs_[p].load(std::memory_order_relaxed); }

  /// Alias bookkeeping, called by Vmap when it parks or purges an area.
  void alias_get(pfn_t p) { aliases_[p].fetch_add(1, std::memory_order_relaxed); }
  void alias_put(pfn_t p) { aliases_[p].fetch_sub(1, std::memory_order_release); }
  uint32_t alias_count(pfn_t p) const { return aliases_[p].load(std::memory_order_acquire); }

  /// Installs the call that shoots down every parked alias (Vmap::unmap_aliases),
  /// used by kAllocNoAlias.  One flusher per pool, so one Vmap per pool:
  /// returns 0, or EBUSY when a flusher is already installed.
  int install_alias_flusher(std::function<void()> f);
  /// Removes the flusher; waits for a flush in progress.
  void clear_alias_flusher();

  /// Audit: free pages that a parked alias still maps (walks the free lists).
  /// Must be 0 whenever parked aliases hold page references.
  size_t free_pages_with_aliases() const;

  PoolStats stats() const;

 private:
  PagePool(int fd, std::byte* linear, pfn_t npages, ShrinkerRegistry* shrinkers);
  // REQUIRES: mu_ held.  Takes k pages from the buddy allocator, or returns false.
  bool take_locked(uint32_t k, unsigned flags, std::vector<pfn_t>* out);
  // Counts pages in *out that a parked alias still maps.
  size_t count_aliased(const std::vector<pfn_t>& pages) const;

  const int fd_;
  std::byte* const linear_;
  const pfn_t npages_;
  ShrinkerRegistry* const shrinkers_;
  std::unique_ptr<std::atomic<uint32_t>[]> refs_;
  std::unique_ptr<std::atomic<uint32_t>[]> aliases_;

  mutable std::mutex mu_;
  BuddyAllocator buddy_;  // GUARDED_BY(mu_)

  std::mutex flusher_mu_;
  std::function<void()> alias_flusher_;  // GUARDED_BY(flusher_mu_)

  std::atomic<uint64_t> allocs_{0}, contig_allocs_{0}, scattered_allocs_{0}, alloc_failures_{0},
      shrink_calls_{0}, alias_flushes_{0}, stale_alias_reuse_{0};
};

}  // namespace xfsfuse::vmap
