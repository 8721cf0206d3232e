// The flusher: background write-back that never waits (pinned and busy
// buffers are passed over), woken early by dirty bytes, and write errors told
// once to the handler without a retry loop.
#include <catch2/catch.hpp>
#include <mutex>

#include "tests/buffer_cache/bc_test_util.h"
#include "tests/buffer_cache/failing_device.h"

using namespace xfsfuse;
using namespace xfsfuse::bc;
using bc::test::TempImage;
using bc::test::wait_until;
using namespace std::chrono_literals;

namespace {

using Maps = std::vector<DiskRange>;

CacheOptions flusher_every(std::chrono::milliseconds interval, size_t budget = 8 << 20) {
  CacheOptions co;
  co.budget_bytes = budget;
  co.flush_interval = interval;
  return co;
}

// Gets m exclusively, writes v over it and marks it dirty; returns the handle.
BufHandle dirty(BufferCache& c, const Maps& m, uint8_t v) {
  BufHandle h;
  REQUIRE(c.get(m, nullptr, kAnyOwner, kGetExclusive, &h) == 0);
  std::memset(h.data(), v, h.size());
  REQUIRE(c.mark_dirty(h, 0, h.size()) == 0);
  return h;
}

// The handler's record of what it was told.
struct Errors {
  std::mutex mu;
  std::vector<WriteError> seen;
  size_t size() {
    std::lock_guard<std::mutex> g(mu);
    return seen.size();
  }
  void install(BufferCache& c) {
    c.set_write_error_handler([this](const WriteError& e) {
      std::lock_guard<std::mutex> g(mu);
      seen.push_back(e);
    });
  }
};

}  // namespace

TEST_CASE("bc: the flusher writes dirty buffers, passing over pinned and busy ones until they are free", "[bc][flusher]") {
  TempImage img(1024);
  std::unique_ptr<BlockDevice> dev;
  REQUIRE(FileDevice::open(img.path(), true, &dev) == 0);
  test::Stack st(dev.get(), flusher_every(2ms));
  BufferCache& c = *st.cache;
  dirty(c, Maps{{8, 8}}, 0x01).release();
  PinRef pin;
  {
    BufHandle h = dirty(c, Maps{{16, 8}}, 0x02);
    REQUIRE(c.pin(h, &pin) == 0);
  }
  BufHandle busy = dirty(c, Maps{{24, 8}}, 0x03);
  wait_until([&] {
    CacheStats s = c.stats();
    return s.flusher_writes >= 1 && s.skipped_pinned >= 1 && s.skipped_busy >= 1;
  });
  REQUIRE(img.read(8, 1)[0] == 0x01);
  REQUIRE(img.read(16, 1)[0] == TempImage::expected(16, 0));
  REQUIRE(img.read(24, 1)[0] == TempImage::expected(24, 0));
  REQUIRE(c.stats().dirty_bytes == 2 * vmap::kPageSize);
  busy.release();
  wait_until([&] { return c.stats().flusher_writes >= 2; });
  REQUIRE(img.read(24, 1)[0] == 0x03);
  pin.unpin();
  wait_until([&] { return c.stats().flusher_writes >= 3; });
  REQUIRE(img.read(16, 1)[0] == 0x02);
  REQUIRE(c.stats().dirty_bytes == 0);
  REQUIRE(c.drop_caches() == 3);
}

TEST_CASE("bc: dirty bytes past the threshold wake the flusher before its period", "[bc][flusher]") {
  TempImage img(1024);
  std::unique_ptr<BlockDevice> dev;
  REQUIRE(FileDevice::open(img.path(), true, &dev) == 0);
  CacheOptions co = flusher_every(std::chrono::hours(1), 256 << 10);
  co.flush_dirty_percent = 25;  // 64 000 bytes
  test::Stack st(dev.get(), co);
  BufferCache& c = *st.cache;
  dirty(c, Maps{{0, 128}}, 0x0a).release();  // 64 KiB: over the line, the flusher runs now
  wait_until([&] { return c.stats().flusher_writes == 1; });
  REQUIRE(img.read(0, 1)[0] == 0x0a);
  CacheStats s = c.stats();
  REQUIRE(s.flusher_passes >= 1);
  REQUIRE(s.dirty_bytes == 0);
}

TEST_CASE("bc: a failed write reaches the handler once and is not retried by the flusher", "[bc][flusher]") {
  TempImage img(1024);
  std::unique_ptr<BlockDevice> file;
  REQUIRE(FileDevice::open(img.path(), true, &file) == 0);
  test::FailingDevice dev(file.get());
  dev.fail_writes_after(1);
  Errors errors;  // outlives the cache, whose shutdown may still report
  test::Stack st(&dev, flusher_every(1ms));
  BufferCache& c = *st.cache;
  errors.install(c);
  test::StderrCapture cap;
  for (uint64_t d : {8, 16, 24}) dirty(c, Maps{{d, 8}}, 0x0f).release();
  wait_until([&] { return errors.size() == 2; });
  // The pass that failed may still be running: five passes after it.
  const uint64_t passes = c.stats().flusher_passes;
  wait_until([&] { return c.stats().flusher_passes >= passes + 6; });
  CacheStats s = c.stats();
  REQUIRE(errors.size() == 2);  // five more passes, no retry
  REQUIRE(dev.failed_writes() == 2);
  REQUIRE(s.write_errors == 2);
  REQUIRE(s.skipped_failed >= 10);
  REQUIRE(s.flusher_writes == 1);
  REQUIRE(s.dirty_bytes == 2 * vmap::kPageSize);
  for (const WriteError& e : errors.seen) {
    REQUIRE(e.error == EIO);
    REQUIRE(std::string(e.structure) == "buffer");
    REQUIRE(img.read(e.daddr, 1)[0] == TempImage::expected(e.daddr, 0));  // nothing of it reached the disk
  }
  REQUIRE(c.flush_all() == EIO);  // the synchronous path tries again
  REQUIRE(errors.size() == 4);
  dev.heal();
  REQUIRE(c.flush_all() == 0);
  for (uint64_t d : {8, 16, 24}) REQUIRE(img.read(d, 1)[0] == 0x0f);
  REQUIRE(c.stats().dirty_bytes == 0);
  REQUIRE(test::count_lines(cap.text(), "write error at daddr") == 4);
}

TEST_CASE("bc: a verify_write refusal and a failed sync reach the handler", "[bc][flusher]") {
  TempImage img(1024);
  std::unique_ptr<BlockDevice> file;
  REQUIRE(FileDevice::open(img.path(), true, &file) == 0);
  test::FailingDevice dev(file.get());
  Errors errors;
  test::Stack st(&dev, 8 << 20);
  BufferCache& c = *st.cache;
  errors.install(c);
  HeaderBufOps ops(HeaderLayout{.name = "test block", .magics = {0x58544231}});
  BufHandle h;
  REQUIRE(c.get(Maps{{32, 8}}, &ops, kAnyOwner, kGetExclusive | kGetNoRead, &h) == 0);  // zeroes: no magic
  REQUIRE(c.mark_dirty(h, 0, 8) == 0);
  {
    test::StderrCapture cap;
    REQUIRE(c.write(h) == EUCLEAN);
  }
  REQUIRE(errors.size() == 1);
  REQUIRE(errors.seen[0].daddr == 32);
  REQUIRE(errors.seen[0].error == EUCLEAN);
  REQUIRE(std::string(errors.seen[0].structure) == "test block");
  REQUIRE(h.dirty());
  REQUIRE(c.invalidate(Maps{{32, 8}}) == 1);  // the caller gives up on it
  h.release();
  dirty(c, Maps{{40, 8}}, 0x21).release();
  dev.fail_sync(true);
  REQUIRE(c.flush_all() == EIO);
  REQUIRE(errors.size() == 2);
  REQUIRE(errors.seen[1].daddr == kNoDaddr);
  REQUIRE(errors.seen[1].error == EIO);
  REQUIRE(std::string(errors.seen[1].structure) == "device sync");
  REQUIRE(c.stats().write_errors == 2);
  dev.fail_sync(false);
}
