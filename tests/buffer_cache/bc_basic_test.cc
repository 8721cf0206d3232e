// Buffers made of several maps: assembly, scatter on write-back, lookups, errors.
#include <catch2/catch.hpp>

#include "tests/buffer_cache/bc_test_util.h"

using namespace xfsfuse;
using namespace xfsfuse::bc;
using bc::test::TempImage;

namespace {

void check_assembled(const BufHandle& h, const std::vector<DiskRange>& maps) {
  size_t off = 0;
  for (const DiskRange& m : maps)
    for (uint64_t d = m.daddr; d < m.daddr + m.len; d++)
      for (size_t i = 0; i < 512; i++, off++)
        if (std::to_integer<uint8_t>(h.data()[off]) != TempImage::expected(d, i)) {
          FAIL("byte " << off << " (daddr " << d << ", +" << i << ") is wrong");
        }
  REQUIRE(off == h.size());
}

}  // namespace

TEST_CASE("bc: a multi-map buffer assembles its maps in order", "[bc]") {
  TempImage img(4096);
  std::unique_ptr<BlockDevice> dev;
  REQUIRE(FileDevice::open(img.path(), false, &dev) == 0);
  test::Stack st(dev.get(), 8 << 20);
  // A 64 KiB directory block in 4 extents, out of disk order.
  std::vector<DiskRange> maps = {{800, 32}, {96, 16}, {2000, 56}, {40, 24}};
  BufHandle h;
  REQUIRE(st.cache->get(maps, nullptr, kAnyOwner, kGetShared, &h) == 0);
  REQUIRE(h.size() == 65536);
  REQUIRE(h.daddr() == 800);
  REQUIRE(h.maps().size() == 4);
  check_assembled(h, maps);
  CacheStats s = st.cache->stats();
  REQUIRE(s.misses == 1);
  REQUIRE(s.reads == 4);  // one per map
  REQUIRE(s.bytes_read == 65536);
  h.release();
  REQUIRE(st.cache->get(maps, nullptr, kAnyOwner, kGetShared, &h) == 0);
  s = st.cache->stats();
  REQUIRE(s.lookups == 2);
  REQUIRE(s.hits == 1);
  REQUIRE(s.reads == 4);
}

TEST_CASE("bc: write-back scatters a buffer's bytes to exactly its maps", "[bc]") {
  TempImage img(4096);
  std::unique_ptr<BlockDevice> dev;
  REQUIRE(FileDevice::open(img.path(), true, &dev) == 0);
  test::Stack st(dev.get(), 8 << 20);
  std::vector<DiskRange> maps = {{300, 8}, {100, 8}};
  BufHandle h;
  REQUIRE(st.cache->get(maps, nullptr, kAnyOwner, kGetExclusive, &h) == 0);
  std::memset(h.data() + 4090, 0xee, 12);  // straddles the two maps
  REQUIRE(st.cache->mark_dirty(h, 4090, 12) == 0);
  REQUIRE(h.dirty());
  REQUIRE(st.cache->write(h) == 0);
  REQUIRE_FALSE(h.dirty());
  REQUIRE(st.cache->stats().writes == 2);
  auto a = img.read(300, 8), b = img.read(100, 8), before = img.read(299, 1), after = img.read(108, 1);
  for (size_t i = 0; i < 4096; i++) REQUIRE(a[i] == (i >= 4090 ? 0xee : TempImage::expected(300 + i / 512, i % 512)));
  for (size_t i = 0; i < 4096; i++) REQUIRE(b[i] == (i < 6 ? 0xee : TempImage::expected(100 + i / 512, i % 512)));
  REQUIRE(before[511] == TempImage::expected(299, 511));  // neighbours untouched
  REQUIRE(after[0] == TempImage::expected(108, 0));
  REQUIRE(st.cache->mark_dirty(h, 8190, 4) == EINVAL);  // past the end
  h.release();
  REQUIRE(st.cache->get(maps, nullptr, kAnyOwner, kGetShared, &h) == 0);
  REQUIRE(st.cache->mark_dirty(h, 0, 1) == EINVAL);  // shared handle
  REQUIRE(st.cache->write(h) == EINVAL);
}

TEST_CASE("bc: argument errors, incore lookups, maps that disagree, the end of the device", "[bc]") {
  TempImage img(1024);
  std::unique_ptr<BlockDevice> dev;
  REQUIRE(FileDevice::open(img.path(), false, &dev) == 0);
  test::Stack st(dev.get(), 8 << 20);
  BufHandle h;
  REQUIRE(st.cache->get({}, nullptr, kAnyOwner, 0, &h) == EINVAL);
  std::vector<DiskRange> zero = {{10, 0}};
  REQUIRE(st.cache->get(zero, nullptr, kAnyOwner, 0, &h) == EINVAL);
  std::vector<DiskRange> huge = {{0, 4096}};  // 2 MiB > kMaxBufferBytes
  REQUIRE(st.cache->get(huge, nullptr, kAnyOwner, 0, &h) == EINVAL);
  std::vector<DiskRange> m = {{10, 8}};
  REQUIRE(st.cache->get(m, nullptr, kAnyOwner, kGetIncore, &h) == ENOENT);
  REQUIRE(st.cache->get(m, nullptr, kAnyOwner, 0, &h) == 0);
  h.release();
  REQUIRE(st.cache->get(m, nullptr, kAnyOwner, kGetIncore, &h) == 0);
  h.release();
  test::StderrCapture cap;
  std::vector<DiskRange> other = {{10, 16}};  // same daddr, other length
  REQUIRE(st.cache->get(other, nullptr, kAnyOwner, 0, &h) == EUCLEAN);
  std::vector<DiskRange> past = {{1020, 8}};  // runs past the 1024-sector device
  REQUIRE(st.cache->get(past, nullptr, kAnyOwner, 0, &h) == EUCLEAN);
  std::string err = cap.text();
  REQUIRE(test::count_lines(err, "daddr 0xa: ") == 1);
  REQUIRE(test::count_lines(err, "other maps") == 1);
  REQUIRE(test::count_lines(err, "past the end of the device") == 1);
  REQUIRE_FALSE(h);
}

TEST_CASE("bc: a failed read is an error now and is retried later", "[bc]") {
  TempImage img(1024);
  std::unique_ptr<BlockDevice> file;
  REQUIRE(FileDevice::open(img.path(), false, &file) == 0);
  test::FaultyDevice dev(file.get());
  test::Stack st(&dev, 8 << 20);
  std::vector<DiskRange> m = {{64, 8}, {8, 8}};
  BufHandle h;
  dev.fail_reads = EIO;
  {
    test::StderrCapture cap;
    REQUIRE(st.cache->get(m, nullptr, kAnyOwner, 0, &h) == EIO);
    REQUIRE(test::count_lines(cap.text(), "read error at daddr 0x40") == 1);
  }
  REQUIRE(st.cache->stats().read_errors == 1);
  REQUIRE(st.cache->stats().buffers == 0);
  dev.fail_reads = 0;
  REQUIRE(st.cache->get(m, nullptr, kAnyOwner, 0, &h) == 0);
  REQUIRE(std::to_integer<uint8_t>(h.data()[4096]) == TempImage::expected(8, 0));
}

TEST_CASE("bc: a single-page buffer needs no mapping syscall", "[bc]") {
  TempImage img(1024);
  std::unique_ptr<BlockDevice> dev;
  REQUIRE(FileDevice::open(img.path(), false, &dev) == 0);
  test::Stack st(dev.get(), 8 << 20);
  for (uint64_t d = 0; d < 64; d += 8) {
    std::vector<DiskRange> m = {{d, 8}};
    BufHandle h;
    REQUIRE(st.cache->get(m, nullptr, kAnyOwner, 0, &h) == 0);
  }
  BufHandle h;
  REQUIRE(st.cache->get(std::vector<DiskRange>{{100, 1}}, nullptr, kAnyOwner, 0, &h) == 0);  // 512 bytes: one page too
  CacheStats s = st.cache->stats();
  REQUIRE(s.vmap.map_syscalls == 0);
  REQUIRE(s.vmap.contiguous_maps == 9);
}

TEST_CASE("bc: an alias shares a held buffer without taking or dropping its lock", "[bc]") {
  TempImage img(4096);
  std::unique_ptr<BlockDevice> dev;
  REQUIRE(FileDevice::open(img.path(), true, &dev) == 0);
  test::Stack st(dev.get(), 8 << 20);
  const DiskRange map{64, 8};
  BufHandle h;
  REQUIRE(st.cache->get({&map, 1}, nullptr, kAnyOwner, kGetExclusive, &h) == 0);
  {
    BufHandle a = st.cache->alias(h);
    REQUIRE(a.borrowed());
    REQUIRE(a.exclusive());
    REQUIRE(a.data() == h.data());
    std::memset(a.data(), 0x5a, 16);
    REQUIRE(st.cache->mark_dirty(a, 0, 16) == 0);
    BufHandle moved = std::move(a);  // moves keep it an alias
    REQUIRE(moved.borrowed());
  }  // the alias goes: h still holds the buffer, locked
  REQUIRE(h.dirty());
  REQUIRE(st.cache->write(h) == 0);
  h.release();
  // Every hold went: the buffer can be evicted, and a new get locks it.
  REQUIRE(st.cache->drop_caches() == 1);
  BufHandle other;
  REQUIRE(st.cache->get({&map, 1}, nullptr, kAnyOwner, kGetShared, &other) == 0);
  REQUIRE(std::to_integer<uint8_t>(other.data()[15]) == 0x5a);
}
