#include "vmap/page_pool.h"

#include <catch2/catch.hpp>
#include <cstring>

#include "tests/vmap/test_util.h"

using namespace xfsfuse::vmap;

TEST_CASE("pool: contiguous runs and the linear mapping", "[pool]") {
  std::unique_ptr<PagePool> pool;
  REQUIRE(PagePool::create(64 * kPageSize, nullptr, &pool) == 0);
  REQUIRE(pool->npages() == 64);
  std::vector<pfn_t> v;
  REQUIRE(pool->alloc(16, kAllocContig, &v) == 0);
  REQUIRE(v.size() == 16);
  for (size_t i = 1; i < v.size(); i++) REQUIRE(v[i] == v[0] + i);
  for (pfn_t p : v) REQUIRE(pool->refcount(p) == 1);
  std::memset(pool->page_address(v[3]), 0xab, kPageSize);
  REQUIRE(pool->in_linear(pool->page_address(v[3]) + 100));
  REQUIRE(pool->linear_pfn(pool->page_address(v[3]) + 100) == v[3]);
  pool->get(v[0]);
  REQUIRE_FALSE(pool->put(v[0]));
  REQUIRE(pool->put(std::span<const pfn_t>(v)) == 16);
  REQUIRE(pool->stats().pages_free == 64);
}

TEST_CASE("pool: falls back to scattered pages when fragmented", "[pool]") {
  std::unique_ptr<PagePool> pool;
  REQUIRE(PagePool::create(64 * kPageSize, nullptr, &pool) == 0);
  auto held = test::scattered_pages(*pool, 32);  // every other page: no run of 2 left
  REQUIRE(held.size() == 32);
  std::vector<pfn_t> v;
  REQUIRE(pool->alloc(2, kAllocContig, &v) == ENOMEM);
  REQUIRE(pool->alloc(16, kAllocDefault, &v) == 0);
  REQUIRE(pool->stats().scattered_allocs == 1);
  for (size_t i = 1; i < v.size(); i++) REQUIRE(v[i] != v[i - 1] + 1);
}

TEST_CASE("pool: exhaustion is ENOMEM after asking the shrinkers", "[pool]") {
  ShrinkerRegistry reg;
  std::unique_ptr<PagePool> pool;
  REQUIRE(PagePool::create(32 * kPageSize, &reg, &pool) == 0);
  std::vector<pfn_t> cache;  // pages a "cache" holds and gives back when asked
  REQUIRE(pool->alloc(32, kAllocDefault, &cache) == 0);
  int id = reg.add(Shrinker{"test-cache", [&] { return cache.size(); },
                            [&](size_t nr) {
                              size_t n = std::min(nr, cache.size());
                              size_t freed = pool->put(std::span<const pfn_t>(cache.data(), n));
                              cache.erase(cache.begin(), cache.begin() + static_cast<long>(n));
                              return freed;
                            }});
  std::vector<pfn_t> v;
  REQUIRE(pool->alloc(8, kAllocDefault, &v) == 0);  // the shrinker freed 8
  REQUIRE(cache.size() == 24);
  REQUIRE(pool->stats().shrink_calls == 1);
  REQUIRE(reg.stats().pages_freed == 8);
  reg.remove(id);
  std::vector<pfn_t> w;
  REQUIRE(pool->alloc(1, kAllocDefault, &w) == ENOMEM);
  REQUIRE(w.empty());
  REQUIRE(pool->stats().alloc_failures == 1);
  REQUIRE(pool->alloc(0, kAllocDefault, &w) == EINVAL);
  REQUIRE(pool->alloc(33, kAllocDefault, &w) == EINVAL);
  pool->put(v);
  pool->put(cache);
}

TEST_CASE("pool: counts pages handed out while still aliased, kAllocNoAlias flushes", "[pool]") {
  std::unique_ptr<PagePool> pool;
  REQUIRE(PagePool::create(16 * kPageSize, nullptr, &pool) == 0);
  std::vector<pfn_t> v;
  REQUIRE(pool->alloc(16, kAllocDefault, &v) == 0);
  for (pfn_t p : v) pool->alias_get(p);  // a "parked alias" with no reference: the noref bug
  pool->put(v);
  REQUIRE(pool->free_pages_with_aliases() == 16);
  REQUIRE(pool->alloc(4, kAllocDefault, &v) == 0);
  REQUIRE(pool->stats().stale_alias_reuse == 4);
  pool->put(v);
  int flushes = 0;
  REQUIRE(pool->install_alias_flusher([&] {
    flushes++;
    for (pfn_t p = 0; p < 16; p++)
      if (pool->alias_count(p)) pool->alias_put(p);
  }) == 0);
  REQUIRE(pool->install_alias_flusher([] {}) == EBUSY);
  REQUIRE(pool->alloc(4, kAllocNoAlias, &v) == 0);
  REQUIRE(flushes == 1);
  REQUIRE(pool->stats().stale_alias_reuse == 4);  // unchanged: flushed first
  REQUIRE(pool->free_pages_with_aliases() == 0);
  pool->clear_alias_flusher();
  pool->put(v);
}
