// Write-back against a failing disk: errors come back, nothing is lost.
#include <catch2/catch.hpp>

#include "tests/buffer_cache/bc_test_util.h"
#include "tests/buffer_cache/failing_device.h"

using namespace xfsfuse;
using namespace xfsfuse::bc;
using bc::test::TempImage;

namespace {

using Maps = std::vector<DiskRange>;

}  // namespace

TEST_CASE("bc: a failed write or sync is returned and the buffer stays dirty", "[bc][writeback]") {
  TempImage img(1024);
  std::unique_ptr<BlockDevice> file;
  REQUIRE(FileDevice::open(img.path(), true, &file) == 0);
  test::FailingDevice dev(file.get());
  test::Stack st(&dev, 8 << 20);
  test::dirty_buffer(*st.cache, Maps{{8, 8}, {40, 8}}, 0x66);  // two maps: the second write fails
  dev.fail_writes_after(1);
  {
    test::StderrCapture cap;
    REQUIRE(st.cache->flush_all() == EIO);
    REQUIRE(test::count_lines(cap.text(), "write error at daddr 0x28") == 1);
  }
  REQUIRE(dev.writes() == 1);
  REQUIRE(dev.failed_writes() == 1);
  REQUIRE(dev.syncs() == 1);  // what did reach the disk is synced
  REQUIRE(img.read(40, 1)[0] == TempImage::expected(40, 0));
  REQUIRE(st.cache->drop_caches() == 0);  // still dirty: kept
  dev.heal();
  dev.fail_sync(true);
  REQUIRE(st.cache->flush_all() == EIO);  // written, not durable
  REQUIRE(dev.failed_syncs() == 1);
  REQUIRE(img.read(40, 1)[0] == 0x66);
  dev.fail_sync(false);
  REQUIRE(st.cache->flush_all() == 0);  // nothing dirty, but the last sync failed: syncs again
  REQUIRE(dev.syncs() == 2);
  REQUIRE(st.cache->flush_all() == 0);
  REQUIRE(dev.syncs() == 2);
  REQUIRE(st.cache->drop_caches() == 1);
}

TEST_CASE("bc: flush_all syncs what write() wrote", "[bc][writeback]") {
  TempImage img(1024);
  std::unique_ptr<BlockDevice> file;
  REQUIRE(FileDevice::open(img.path(), true, &file) == 0);
  test::FailingDevice dev(file.get());
  test::Stack st(&dev, 8 << 20);
  BufHandle h;
  REQUIRE(st.cache->get(Maps{{8, 8}}, nullptr, kAnyOwner, kGetExclusive, &h) == 0);
  REQUIRE(st.cache->mark_dirty(h, 0, 1) == 0);
  REQUIRE(st.cache->write(h) == 0);
  h.release();
  REQUIRE(st.cache->flush_all() == 0);
  REQUIRE(dev.syncs() == 1);
}
