// vmap/buddy.h — a binary buddy allocator over page frame numbers.
//
// Manages pfns [0, npages) in power-of-two blocks of order 0..kMaxOrder, like
// the kernel's page allocator: a block of order o holds 2^o pages and starts at
// a pfn that is a multiple of 2^o.  Freeing a block merges it with its free
// buddy as far as possible.  npages need not be a power of two.
//
// Not thread-safe: PagePool wraps it in a mutex.
#pragma once

#include <cstdint>
#include <vector>

namespace xfsfuse::vmap {

using pfn_t = uint32_t;  ///< page frame number: index of a 4 KiB page in the pool

class BuddyAllocator {
 public:
  static constexpr unsigned kMaxOrder = 10;  ///< largest block: 1024 pages (4 MiB)
  static constexpr pfn_t kNoPage = UINT32_MAX;

  explicit BuddyAllocator(pfn_t npages);

  /// Takes a block of 2^order pages; returns its first pfn, or kNoPage when no
  /// block of that order (or larger, to split) is free.
  pfn_t alloc(unsigned order);

  /// Returns a block of 2^order pages starting at pfn.  REQUIRES: the block was
  /// allocated (whole or as part of a larger block) and is not free.
  void free(pfn_t pfn, unsigned order);

  /// Takes exactly n contiguous pages (n <= 2^kMaxOrder): allocates the
  /// smallest fitting block and gives back its tail.  Returns the first pfn or
  /// kNoPage.
  pfn_t alloc_run(uint32_t n);

  pfn_t free_pages() const { return nfree_; }
  pfn_t npages() const { return npages_; }

  /// Calls f(pfn) for every free page.  For audits and tests; O(npages).
  template <typename F>
  void for_each_free_page(F&& f) const {
    for (unsigned o = 0; o <= kMaxOrder; o++)
      for (pfn_t b = head_[o]; b != kNoPage; b = next_[b])
        for (pfn_t i = 0; i < (pfn_t{1} << o); i++) f(b + i);
  }

  /// Smallest order whose block holds n pages.
  static unsigned order_for(uint32_t n);

 private:
  static constexpr uint8_t kNotFreeHead = 0xff;
  void push(pfn_t b, unsigned order);
  void unlink(pfn_t b, unsigned order);

  pfn_t npages_;
  pfn_t nfree_ = 0;
  pfn_t head_[kMaxOrder + 1];
  std::vector<pfn_t> next_, prev_;     // free-list links, valid for free block heads
  std::vector<uint8_t> free_order_;    // order if pfn heads a free block, else kNotFreeHead
};

}  // namespace xfsfuse::vmap
