#include "vmap/buddy.h"

#include <catch2/catch.hpp>
#include <random>
#include <set>

using xfsfuse::vmap::BuddyAllocator;
using xfsfuse::vmap::pfn_t;

TEST_CASE("buddy: splits, merges back and counts free pages", "[buddy]") {
  BuddyAllocator b(1024);
  REQUIRE(b.free_pages() == 1024);
  pfn_t a = b.alloc(0), c = b.alloc(0);
  REQUIRE(a != c);
  REQUIRE(b.free_pages() == 1022);
  pfn_t big = b.alloc(4);
  REQUIRE(big % 16 == 0);
  b.free(a, 0);
  b.free(c, 0);
  b.free(big, 4);
  REQUIRE(b.free_pages() == 1024);
  // Fully merged again: the whole pool is one max-order block.
  REQUIRE(b.alloc(BuddyAllocator::kMaxOrder) == 0);
  REQUIRE(b.alloc(0) == BuddyAllocator::kNoPage);
}

TEST_CASE("buddy: pool sizes that are not a power of two", "[buddy]") {
  BuddyAllocator b(1000 + 7);
  REQUIRE(b.free_pages() == 1007);
  std::set<pfn_t> got;
  for (pfn_t p; (p = b.alloc(0)) != BuddyAllocator::kNoPage;) REQUIRE(got.insert(p).second);
  REQUIRE(got.size() == 1007);
  REQUIRE(*got.rbegin() == 1006);
}

TEST_CASE("buddy: alloc_run returns the tail of its block", "[buddy]") {
  BuddyAllocator b(64);
  pfn_t r = b.alloc_run(5);  // from an 8-page block: 3 pages come back
  REQUIRE(r != BuddyAllocator::kNoPage);
  REQUIRE(b.free_pages() == 59);
  for (pfn_t p = r; p < r + 5; p++) b.free(p, 0);
  REQUIRE(b.free_pages() == 64);
  REQUIRE(b.alloc(6) == 0);  // merged back to one 64-page block
  REQUIRE(b.alloc_run(0) == BuddyAllocator::kNoPage);
  REQUIRE(b.alloc_run(2000) == BuddyAllocator::kNoPage);
}

TEST_CASE("buddy: random alloc/free never hands out a page twice", "[buddy]") {
  const pfn_t n = 777;
  BuddyAllocator b(n);
  std::mt19937 rng(12345);
  std::vector<std::pair<pfn_t, uint32_t>> held;  // first pfn, pages
  std::vector<bool> used(n, false);
  for (int op = 0; op < 20000; op++) {
    if (held.empty() || rng() % 3 != 0) {
      uint32_t k = 1 + rng() % 20;
      pfn_t r = b.alloc_run(k);
      if (r == BuddyAllocator::kNoPage) continue;
      for (pfn_t p = r; p < r + k; p++) {
        REQUIRE(p < n);
        REQUIRE_FALSE(used[p]);
        used[p] = true;
      }
      held.emplace_back(r, k);
    } else {
      size_t i = rng() % held.size();
      for (pfn_t p = held[i].first; p < held[i].first + held[i].second; p++) {
        used[p] = false;
        b.free(p, 0);
      }
      held.erase(held.begin() + static_cast<long>(i));
    }
    size_t in_use = 0;
    for (bool u : used) in_use += u;
    REQUIRE(b.free_pages() == n - in_use);
  }
}
