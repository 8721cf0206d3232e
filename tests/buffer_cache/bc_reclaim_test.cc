// The memory budget, the shrinker, drop_caches and readahead.
#include <catch2/catch.hpp>
#include <thread>

#include "tests/buffer_cache/bc_test_util.h"

using namespace xfsfuse;
using namespace xfsfuse::bc;
using bc::test::TempImage;

TEST_CASE("bc: the budget is never exceeded by more than one buffer", "[bc][reclaim]") {
  TempImage img(16384);
  std::unique_ptr<BlockDevice> dev;
  REQUIRE(FileDevice::open(img.path(), false, &dev) == 0);
  const size_t budget = 256 << 10;
  test::Stack st(dev.get(), budget);
  for (uint64_t i = 0; i < 100; i++) {
    std::vector<DiskRange> m = {{i * 128, 64}, {i * 128 + 64, 64}};  // 64 KiB in 2 maps
    BufHandle h;
    REQUIRE(st.cache->get(m, nullptr, kAnyOwner, 0, &h) == 0);
    REQUIRE(st.cache->stats().bytes_cached <= budget + 65536);
    if (i % 3 == 0) {  // re-touch an older buffer: second chance keeps it
      h.release();
      std::vector<DiskRange> old = {{(i / 2) * 128, 64}, {(i / 2) * 128 + 64, 64}};
      int e = st.cache->get(old, nullptr, kAnyOwner, 0, &h);
      REQUIRE(e == 0);
      REQUIRE(st.cache->stats().bytes_cached <= budget + 65536);
    }
  }
  CacheStats s = st.cache->stats();
  REQUIRE(s.evictions > 0);
  REQUIRE(s.bytes_cached <= budget);
  REQUIRE(s.buffers == s.bytes_cached / 65536);
}

TEST_CASE("bc: the pool's shrinker call reclaims unreferenced buffers", "[bc][reclaim]") {
  TempImage img(8192);
  std::unique_ptr<BlockDevice> dev;
  REQUIRE(FileDevice::open(img.path(), false, &dev) == 0);
  test::Stack st(dev.get(), 64 << 20, 512);  // a 2 MiB pool, a budget that never binds
  for (uint64_t i = 0; i < 24; i++) {  // 24 x 64 KiB = 1.5 MiB cached
    BufHandle h;
    REQUIRE(st.cache->get(std::vector<DiskRange>{{i * 128, 128}}, nullptr, kAnyOwner, 0, &h) == 0);
  }
  REQUIRE(st.cache->stats().buffers == 24);
  std::vector<vmap::pfn_t> big;
  REQUIRE(st.pool->alloc(400, vmap::kAllocDefault, &big) == 0);  // short: shrinkers run
  CacheStats s = st.cache->stats();
  REQUIRE(s.shrinker_calls > 0);
  REQUIRE(s.evictions > 0);
  REQUIRE(s.buffers < 24);
  st.pool->put(big);
}

TEST_CASE("bc: drop_caches evicts every unreferenced clean buffer and nothing else", "[bc][reclaim]") {
  TempImage img(4096);
  std::unique_ptr<BlockDevice> dev;
  REQUIRE(FileDevice::open(img.path(), true, &dev) == 0);
  test::Stack st(dev.get(), 64 << 20);
  for (uint64_t i = 0; i < 10; i++) {
    BufHandle h;
    REQUIRE(st.cache->get(std::vector<DiskRange>{{i * 8, 8}}, nullptr, kAnyOwner, 0, &h) == 0);
  }
  BufHandle held, dirty;
  REQUIRE(st.cache->get(std::vector<DiskRange>{{0, 8}}, nullptr, kAnyOwner, 0, &held) == 0);
  REQUIRE(st.cache->get(std::vector<DiskRange>{{8, 8}}, nullptr, kAnyOwner, kGetExclusive, &dirty) == 0);
  REQUIRE(st.cache->mark_dirty(dirty, 0, 1) == 0);
  dirty.release();
  REQUIRE(st.cache->drop_caches() == 8);
  REQUIRE(st.cache->stats().buffers == 2);
  REQUIRE(st.cache->flush_all() == 0);
  held.release();
  REQUIRE(st.cache->drop_caches() == 2);
  REQUIRE(st.cache->stats().bytes_cached == 0);
}

TEST_CASE("bc: readahead reads in the background, the next get is a hit", "[bc][readahead]") {
  TempImage img(4096);
  std::unique_ptr<BlockDevice> dev;
  REQUIRE(FileDevice::open(img.path(), false, &dev) == 0);
  test::Stack st(dev.get(), 64 << 20);
  std::vector<DiskRange> m = {{512, 64}, {64, 64}};
  st.cache->readahead(m, nullptr);
  BufHandle h;
  int e = ENOENT;
  for (int i = 0; i < 500 && e == ENOENT; i++) {
    e = st.cache->get(m, nullptr, kAnyOwner, kGetIncore, &h);
    if (e == ENOENT) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  REQUIRE(e == 0);
  REQUIRE(std::to_integer<uint8_t>(h.data()[32768]) == TempImage::expected(64, 0));
  CacheStats s = st.cache->stats();
  REQUIRE(s.readahead == 1);
  REQUIRE(s.misses == 1);  // the readahead's own get
  REQUIRE(s.reads == 2);
}

TEST_CASE("bc: evicting a scattered buffer parks its mapping under lazy vmap", "[bc][reclaim]") {
  TempImage img(4096);
  std::unique_ptr<BlockDevice> dev;
  REQUIRE(FileDevice::open(img.path(), false, &dev) == 0);
  test::Stack st(dev.get(), 64 << 20, 64);
  std::vector<vmap::pfn_t> all, keep;
  REQUIRE(st.pool->alloc(64, vmap::kAllocDefault, &all) == 0);  // fragment the pool
  for (size_t i = 0; i < all.size(); i++) (i % 2 ? keep.push_back(all[i]) : (void)st.pool->put(all[i]));
  BufHandle h;
  REQUIRE(st.cache->get(std::vector<DiskRange>{{0, 128}}, nullptr, kAnyOwner, 0, &h) == 0);
  REQUIRE(std::to_integer<uint8_t>(h.data()[65535]) == TempImage::expected(127, 511));
  h.release();
  REQUIRE(st.cache->drop_caches() == 1);
  CacheStats s = st.cache->stats();
  REQUIRE(s.vmap.scattered_maps == 1);
  REQUIRE(s.vmap.map_syscalls == 16);
  REQUIRE(s.vmap.lazy_unmaps == 1);
  REQUIRE(s.vmap.pages_pinned_by_parked_aliases == 16);
  st.pool->put(keep);
}
