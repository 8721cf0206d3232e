// invalidate(): freed blocks leave the cache, dirty or held, found through
// any of their maps; the blocks come back fresh under any shape and ops.
#include <catch2/catch.hpp>
#include <random>
#include <thread>

#include "tests/buffer_cache/bc_test_util.h"

using namespace xfsfuse;
using namespace xfsfuse::bc;
using bc::test::TempImage;

namespace {

using Maps = std::vector<DiskRange>;

bool is_disk(const BufHandle& h, uint64_t daddr) {  // h holds one map's worth of the original image at daddr
  for (size_t i = 0; i < h.size(); i++)
    if (std::to_integer<uint8_t>(h.data()[i]) != TempImage::expected(daddr + i / 512, i % 512)) return false;
  return true;
}

}  // namespace

TEST_CASE("bc: an invalidated dirty buffer is never written, its blocks come back under other maps", "[bc][invalidate]") {
  TempImage img(8192);
  std::unique_ptr<BlockDevice> dev;
  REQUIRE(FileDevice::open(img.path(), true, &dev) == 0);
  test::Stack st(dev.get(), 8 << 20);
  test::dirty_buffer(*st.cache, Maps{{100, 8}, {300, 8}}, 0xee);
  REQUIRE(st.cache->invalidate(Maps{{299, 1}}) == 0);  // touches neither map
  REQUIRE(st.cache->invalidate(Maps{{304, 2}}) == 1);  // the second map: found through the index
  CacheStats s = st.cache->stats();
  REQUIRE(s.invalidations == 1);
  REQUIRE(s.buffers == 0);
  REQUIRE(s.bytes_cached == 0);
  REQUIRE(st.cache->flush_all() == 0);
  REQUIRE(st.cache->stats().writes == 0);
  REQUIRE(img.read(100, 1)[0] == TempImage::expected(100, 0));
  BufHandle h;
  REQUIRE(st.cache->get(Maps{{100, 16}}, nullptr, kAnyOwner, 0, &h) == 0);  // same daddr, other shape
  REQUIRE(is_disk(h, 100));
  h.release();

  // A block reused whole: kGetNoRead of a range whose cached buffer went stale is zeroed.
  test::dirty_buffer(*st.cache, Maps{{600, 8}}, 0x55);
  REQUIRE(st.cache->invalidate(Maps{{600, 8}}) == 1);
  REQUIRE(st.cache->get(Maps{{600, 8}}, nullptr, kAnyOwner, kGetExclusive | kGetNoRead, &h) == 0);
  for (size_t i = 0; i < h.size(); i++) REQUIRE(std::to_integer<int>(h.data()[i]) == 0);
}

TEST_CASE("bc: invalidate finds a long map that starts well before the freed range", "[bc][invalidate]") {
  TempImage img(8192);
  std::unique_ptr<BlockDevice> dev;
  REQUIRE(FileDevice::open(img.path(), false, &dev) == 0);
  test::Stack st(dev.get(), 8 << 20);
  const Maps big = {{2000, 2048}};  // 1 MiB: the longest map there is
  BufHandle h;
  REQUIRE(st.cache->get(big, nullptr, kAnyOwner, 0, &h) == 0);
  h.release();
  REQUIRE(st.cache->get(Maps{{5000, 8}}, nullptr, kAnyOwner, 0, &h) == 0);
  h.release();
  REQUIRE(st.cache->invalidate(Maps{{4048, 1}, {4990, 10}, {1999, 1}}) == 0);  // just past, just before each
  REQUIRE(st.cache->invalidate(Maps{{4047, 1}}) == 1);                        // the last sector of the 1 MiB map
  REQUIRE(st.cache->invalidate(Maps{{4000, 2000}}) == 1);                     // covers the other
  REQUIRE(st.cache->stats().buffers == 0);
}

TEST_CASE("bc: a held buffer stays usable after invalidate, the next get builds a new one", "[bc][invalidate]") {
  TempImage img(1024);
  std::unique_ptr<BlockDevice> dev;
  REQUIRE(FileDevice::open(img.path(), true, &dev) == 0);
  test::Stack st(dev.get(), 8 << 20);
  const Maps m = {{500, 8}};
  BufHandle h;
  REQUIRE(st.cache->get(m, nullptr, kAnyOwner, kGetExclusive, &h) == 0);
  std::memset(h.data(), 0x77, h.size());
  REQUIRE(st.cache->mark_dirty(h, 0, h.size()) == 0);
  REQUIRE(st.cache->invalidate(m) == 1);  // the caller may hold what it frees
  REQUIRE_FALSE(h.dirty());
  REQUIRE(std::to_integer<int>(h.data()[4095]) == 0x77);
  REQUIRE(st.cache->write(h) == 0);
  REQUIRE(st.cache->stats().writes == 0);
  BufHandle h2;
  REQUIRE(st.cache->get(Maps{{500, 4}}, nullptr, kAnyOwner, 0, &h2) == 0);  // not blocked by h: a new buffer
  REQUIRE(is_disk(h2, 500));
  REQUIRE(st.cache->stats().buffers == 1);
  REQUIRE(st.cache->stats().bytes_cached == 2 * vmap::kPageSize);  // the stale one still holds its page
  h.release();
  REQUIRE(st.cache->stats().bytes_cached == vmap::kPageSize);
  REQUIRE(st.cache->invalidate(m) == 1);  // h2's buffer
  REQUIRE(st.cache->stats().invalidations == 2);
}

TEST_CASE("bc: a block remembered as corrupt is forgotten when freed", "[bc][invalidate]") {
  TempImage img(1024);
  std::unique_ptr<BlockDevice> dev;
  REQUIRE(FileDevice::open(img.path(), false, &dev) == 0);
  test::Stack st(dev.get(), 8 << 20);
  HeaderBufOps ops(HeaderLayout{.name = "test block", .magics = {0x58544231}});  // the image has no such magic
  BufHandle h;
  {
    test::StderrCapture cap;
    REQUIRE(st.cache->get(Maps{{64, 8}}, &ops, kAnyOwner, 0, &h) == EUCLEAN);
  }
  REQUIRE(st.cache->get(Maps{{64, 8}}, nullptr, kAnyOwner, 0, &h) == EUCLEAN);  // remembered
  REQUIRE(st.cache->invalidate(Maps{{64, 8}}) == 1);
  REQUIRE(st.cache->get(Maps{{64, 8}}, nullptr, kAnyOwner, 0, &h) == 0);  // reused as something unverified
  REQUIRE(is_disk(h, 64));
}

TEST_CASE("bc: invalidate races gets of overlapping shapes, flushes and reclaim", "[bc][invalidate][concurrency]") {
  TempImage img(4096);
  std::unique_ptr<BlockDevice> dev;
  REQUIRE(FileDevice::open(img.path(), true, &dev) == 0);
  test::Stack st(dev.get(), 64 << 10, 1024);  // room for 8 pages: reclaim all the time
  // Three shapes over the 16 sectors at base: one block, a 2-map block, one sector.
  auto shape = [](uint64_t base, unsigned k) {
    if (k == 0) return Maps{{base, 16}};
    if (k == 1) return Maps{{base + 8, 8}, {base, 8}};
    return Maps{{base + 3, 1}};
  };
  std::atomic<uint64_t> ok{0}, unexpected{0};
  auto worker = [&](int t) {
    std::mt19937 rng(99 + t);
    for (int op = 0; op < 3000; op++) {
      const uint64_t base = 64 + (rng() % 8) * 16;
      const unsigned r = rng() % 100;
      BufHandle h;
      if (r < 70) {
        const unsigned flags = (r < 30 ? unsigned{kGetExclusive} : 0u) | (r < 10 ? unsigned{kGetNoRead} : 0u);
        int e = st.cache->get(shape(base, rng() % 3), nullptr, kAnyOwner, flags, &h);
        if (e == EUCLEAN) continue;  // another shape is cached at that daddr
        if (e != 0) {
          unexpected++;
          continue;
        }
        ok++;
        if ((flags & kGetExclusive) && st.cache->mark_dirty(h, 0, 512) != 0) unexpected++;
        if (r < 5) st.cache->invalidate(Maps{{base, 16}});  // frees what it holds
      } else if (r < 95) {
        st.cache->invalidate(Maps{{base + rng() % 16, 1}});
      } else if (r < 98) {
        if (st.cache->flush_all() != 0) unexpected++;
      } else {
        st.cache->drop_caches();
      }
    }
  };
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; t++) ts.emplace_back(worker, t);
  for (auto& t : ts) t.join();
  REQUIRE(unexpected == 0);
  REQUIRE(ok > 0);
  REQUIRE(st.cache->stats().invalidations > 0);
  REQUIRE(st.cache->flush_all() == 0);
  st.cache->drop_caches();
  CacheStats s = st.cache->stats();
  REQUIRE(s.buffers == 0);
  REQUIRE(s.bytes_cached == 0);  // every stale buffer was freed by its last release
}
