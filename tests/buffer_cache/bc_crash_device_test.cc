// The crash test double (crash_device.h): what lands on the base before, at
// and after the power cut.
#include <catch2/catch.hpp>

#include "tests/buffer_cache/bc_test_util.h"
#include "tests/buffer_cache/crash_device.h"

using namespace xfsfuse::bc;
using namespace xfsfuse::bc::test;

namespace {

int write_sectors(BlockDevice& d, uint64_t daddr, size_t sectors, uint8_t fill) {
  std::vector<uint8_t> b(sectors * 512, fill);
  iovec v{b.data(), b.size()};
  return d.pwritev(&v, 1, daddr * 512);
}

std::vector<uint8_t> read_sectors(BlockDevice& d, uint64_t daddr, size_t sectors) {
  std::vector<uint8_t> b(sectors * 512);
  iovec v{b.data(), b.size()};
  REQUIRE(d.preadv(&v, 1, daddr * 512) == 0);
  return b;
}

bool all(const std::vector<uint8_t>& b, size_t from, size_t to, uint8_t v) {
  return std::all_of(b.begin() + static_cast<long>(from), b.begin() + static_cast<long>(to), [&](uint8_t x) { return x == v; });
}

}  // namespace

TEST_CASE("crash device: writes are seen at once and reach the base at sync", "[crash_device]") {
  TempImage img(64);
  std::unique_ptr<BlockDevice> file;
  REQUIRE(FileDevice::open(img.path(), true, &file) == 0);
  CrashDevice d(file.get(), 1);
  REQUIRE(write_sectors(d, 4, 2, 0xaa) == 0);
  CHECK(all(read_sectors(d, 4, 2), 0, 1024, 0xaa));
  CHECK(img.read(4, 1)[0] == TempImage::expected(4, 0));  // still in the cache
  REQUIRE(d.sync() == 0);
  CHECK(all(img.read(4, 2), 0, 1024, 0xaa));
  CHECK(d.writes() == 1);
  CHECK(!d.crashed());
}

TEST_CASE("crash device: the cut drops later writes tears its own and keeps what was synced", "[crash_device]") {
  for (uint64_t seed = 0; seed < 64; seed++) {
    INFO("seed " << seed);
    TempImage img(64);
    std::unique_ptr<BlockDevice> file;
    REQUIRE(FileDevice::open(img.path(), true, &file) == 0);
    CrashDevice d(file.get(), seed);
    d.crash_at(3);
    REQUIRE(write_sectors(d, 0, 1, 0x11) == 0);  // write 0, synced
    REQUIRE(d.sync() == 0);
    REQUIRE(write_sectors(d, 1, 1, 0x22) == 0);  // writes 1 and 2: unsynced
    REQUIRE(write_sectors(d, 2, 1, 0x33) == 0);
    REQUIRE(write_sectors(d, 8, 8, 0x44) == 0);  // write 3: the cut
    CHECK(d.crashed());
    REQUIRE(write_sectors(d, 20, 1, 0x55) == 0);  // accepted, dropped
    REQUIRE(d.sync() == 0);
    CHECK(d.writes() == 5);
    CHECK(all(img.read(0, 1), 0, 512, 0x11));
    for (uint64_t s : {1, 2}) {
      const auto b = img.read(s, 1);
      CHECK((all(b, 0, 512, s == 1 ? 0x22 : 0x33) || b[0] == TempImage::expected(s, 0)));
    }
    const auto torn = img.read(8, 8);
    size_t k = 0;
    while (k < 8 && all(torn, k * 512, k * 512 + 512, 0x44)) k++;
    CHECK(k < 8);  // never whole
    for (size_t s = k; s < 8; s++) CHECK(torn[s * 512] == TempImage::expected(8 + s, 0));  // a prefix of sectors
    CHECK(img.read(20, 1)[0] == TempImage::expected(20, 0));
    CHECK(read_sectors(d, 20, 1)[0] == TempImage::expected(20, 0));  // reads see the base after the cut
  }
}

TEST_CASE("crash device: over seeds each unsynced write lands in some runs and not in others", "[crash_device]") {
  int landed = 0;
  for (uint64_t seed = 0; seed < 32; seed++) {
    TempImage img(8);
    std::unique_ptr<BlockDevice> file;
    REQUIRE(FileDevice::open(img.path(), true, &file) == 0);
    CrashDevice d(file.get(), seed);
    d.crash_at(1);
    REQUIRE(write_sectors(d, 1, 1, 0x66) == 0);
    REQUIRE(write_sectors(d, 2, 1, 0x77) == 0);
    landed += img.read(1, 1)[0] == 0x66;
  }
  CHECK(landed > 0);
  CHECK(landed < 32);
}

TEST_CASE("crash device: without tearing the cut write lands whole or not at all", "[crash_device]") {
  int whole = 0;
  for (uint64_t seed = 0; seed < 32; seed++) {
    TempImage img(16);
    std::unique_ptr<BlockDevice> file;
    REQUIRE(FileDevice::open(img.path(), true, &file) == 0);
    CrashDevice d(file.get(), seed);
    d.set_torn(false);
    d.crash_at(0);
    REQUIRE(write_sectors(d, 0, 8, 0x99) == 0);
    const auto b = img.read(0, 8);
    const bool landed = all(b, 0, 4096, 0x99);
    CHECK((landed || b[7 * 512] == TempImage::expected(7, 0)));
    if (!landed)
      for (uint64_t s = 0; s < 8; s++) CHECK(b[s * 512] == TempImage::expected(s, 0));
    whole += landed;
  }
  CHECK(whole > 0);
  CHECK(whole < 32);
}
