// pin(): a pinned buffer stays off the disk and in the cache until every pin
// is gone, whichever thread releases it; invalidate still takes it out.
#include <catch2/catch.hpp>
#include <thread>

#include "tests/buffer_cache/bc_test_util.h"

using namespace xfsfuse;
using namespace xfsfuse::bc;
using bc::test::TempImage;

namespace {

using Maps = std::vector<DiskRange>;


}  // namespace

TEST_CASE("bc: a pinned buffer is neither written nor reclaimed until its last unpin", "[bc][pin]") {
  TempImage img(1024);
  std::unique_ptr<BlockDevice> dev;
  REQUIRE(FileDevice::open(img.path(), true, &dev) == 0);
  test::Stack st(dev.get(), 8 << 20);
  const Maps m = {{40, 8}};
  PinRef p1 = test::dirty_pinned(*st.cache, m, 0xab);
  BufHandle h;
  REQUIRE(st.cache->get(m, nullptr, kAnyOwner, kGetExclusive, &h) == 0);
  PinRef p2;
  REQUIRE(st.cache->pin(h, &p2) == 0);  // nested
  REQUIRE(st.cache->write(h) == EBUSY);
  REQUIRE(h.dirty());
  h.release();
  REQUIRE(st.cache->flush_all() == EBUSY);
  REQUIRE(st.cache->drop_caches() == 0);
  REQUIRE(st.cache->shrink(1000) == 0);
  REQUIRE(img.read(40, 1)[0] == TempImage::expected(40, 0));
  std::thread([p = std::move(p1)]() mutable { p.unpin(); }).join();  // unpinned elsewhere, no handle
  REQUIRE_FALSE(p1);
  REQUIRE(st.cache->flush_all() == EBUSY);  // p2 still holds it
  p2.unpin();
  REQUIRE(st.cache->flush_all() == 0);
  REQUIRE(img.read(40, 1)[0] == 0xab);
  CacheStats s = st.cache->stats();
  REQUIRE(s.pins == 2);
  REQUIRE(s.unpins == 2);
  REQUIRE(s.skipped_pinned == 3);  // write() and two flush_all()s
  REQUIRE(s.writes == 1);
  REQUIRE(st.cache->drop_caches() == 1);
}

TEST_CASE("bc: flush_all writes the unpinned buffers around a pinned one", "[bc][pin]") {
  TempImage img(1024);
  std::unique_ptr<BlockDevice> dev;
  REQUIRE(FileDevice::open(img.path(), true, &dev) == 0);
  test::Stack st(dev.get(), 8 << 20);
  PinRef p = test::dirty_pinned(*st.cache, Maps{{16, 8}}, 0x11);
  for (uint64_t d : {8, 24}) {
    BufHandle h;
    REQUIRE(st.cache->get(Maps{{d, 8}}, nullptr, kAnyOwner, kGetExclusive, &h) == 0);
    std::memset(h.data(), 0x22, h.size());
    REQUIRE(st.cache->mark_dirty(h, 0, h.size()) == 0);
  }
  REQUIRE(st.cache->flush_all() == EBUSY);
  REQUIRE(img.read(8, 1)[0] == 0x22);
  REQUIRE(img.read(24, 1)[0] == 0x22);
  REQUIRE(img.read(16, 1)[0] == TempImage::expected(16, 0));
  REQUIRE(st.cache->drop_caches() == 2);
}

TEST_CASE("bc: pin wants an exclusive handle, a PinRef unpins when destroyed", "[bc][pin]") {
  TempImage img(1024);
  std::unique_ptr<BlockDevice> dev;
  REQUIRE(FileDevice::open(img.path(), true, &dev) == 0);
  test::Stack st(dev.get(), 8 << 20);
  BufHandle h;
  PinRef p;
  REQUIRE(st.cache->pin(h, &p) == EINVAL);  // empty handle
  REQUIRE(st.cache->get(Maps{{8, 8}}, nullptr, kAnyOwner, kGetShared, &h) == 0);
  REQUIRE(st.cache->pin(h, &p) == EINVAL);
  h.release();
  { PinRef scoped = test::dirty_pinned(*st.cache, Maps{{8, 8}}, 0x33); }
  REQUIRE(st.cache->stats().unpins == 1);
  REQUIRE(st.cache->flush_all() == 0);
  REQUIRE(img.read(8, 1)[0] == 0x33);
}

TEST_CASE("bc: invalidating a pinned buffer drops it, the pin holder unpins later", "[bc][pin][invalidate]") {
  TempImage img(1024);
  std::unique_ptr<BlockDevice> dev;
  REQUIRE(FileDevice::open(img.path(), true, &dev) == 0);
  test::Stack st(dev.get(), 8 << 20);
  PinRef p = test::dirty_pinned(*st.cache, Maps{{64, 8}, {80, 8}}, 0x44);
  REQUIRE_FALSE(p.stale());
  REQUIRE(st.cache->invalidate(Maps{{80, 8}}) == 1);
  REQUIRE(p.stale());
  REQUIRE(p.daddr() == 64);
  CacheStats s = st.cache->stats();
  REQUIRE(s.invalidated_pinned == 1);
  REQUIRE(s.buffers == 0);
  REQUIRE(s.bytes_cached == 2 * vmap::kPageSize);  // alive for the pin holder
  REQUIRE(st.cache->flush_all() == 0);
  BufHandle h;
  REQUIRE(st.cache->get(Maps{{64, 8}}, nullptr, kAnyOwner, 0, &h) == 0);  // a fresh read, another shape
  REQUIRE(std::to_integer<uint8_t>(h.data()[0]) == TempImage::expected(64, 0));
  h.release();
  std::thread([&] { p.unpin(); }).join();
  REQUIRE(st.cache->stats().bytes_cached == vmap::kPageSize);
  REQUIRE(st.cache->stats().writes == 0);
}
