// The AIL (buffer_cache/ail.cc): where the log's tail may go.  A logged
// change holds its LSN until the buffer is written home *and* a sync made
// that durable; a freed buffer holds it until the freeing is logged; the
// LSN write-back stamps is the newest logged change's.
#include <catch2/catch.hpp>
#include <cstring>
#include <thread>

#include "tests/buffer_cache/bc_test_util.h"

using namespace xfsfuse;
using namespace xfsfuse::bc;
using bc::test::TempImage;

namespace {

using Maps = std::vector<DiskRange>;

// No checks; remembers the LSN the last write-back stamped.
class LsnOps : public BufOps {
 public:
  const char* name() const override { return "lsn test"; }
  bool verify_read(const VerifyInput&, std::string*) const override { return true; }
  bool verify_write(std::span<std::byte>, uint64_t, const Uuid*, uint64_t lsn, std::string*) const override {
    last_lsn = lsn;
    return true;
  }
  mutable std::atomic<uint64_t> last_lsn{0};
};


}  // namespace

TEST_CASE("bc: a buffer holds the AIL at its oldest unwritten logged change until a sync after write-back",
          "[bc][ail]") {
  TempImage img(1024);
  std::unique_ptr<BlockDevice> dev;
  REQUIRE(FileDevice::open(img.path(), true, &dev) == 0);
  test::Stack st(dev.get(), 8 << 20);
  LsnOps ops;
  const Maps a = {{40, 8}}, b = {{80, 8}};
  REQUIRE(st.cache->ail_tail() == 0);
  test::dirty_pinned(*st.cache, a, 1, &ops).unpin_logged(0x100000010);
  test::dirty_pinned(*st.cache, b, 2, &ops).unpin_logged(0x100000020);
  test::dirty_pinned(*st.cache, a, 3, &ops).unpin_logged(0x100000030);  // a again: stays at its first
  REQUIRE(st.cache->ail_tail() == 0x100000010);
  REQUIRE(st.cache->ail_size() == 2);
  // Written but not yet synced: still held.
  BufHandle h;
  REQUIRE(st.cache->get(a, &ops, kAnyOwner, kGetExclusive, &h) == 0);
  REQUIRE(st.cache->write(h) == 0);
  REQUIRE(ops.last_lsn == 0x100000030);  // stamped with its newest change's LSN
  h.release();
  REQUIRE(st.cache->ail_tail() == 0x100000010);
  REQUIRE(st.cache->sync() == 0);
  REQUIRE(st.cache->ail_tail() == 0x100000020);
  // A change after the write starts a new entry at its own LSN.
  test::dirty_pinned(*st.cache, a, 4, &ops).unpin_logged(0x100000040);
  REQUIRE(st.cache->ail_size() == 2);
  REQUIRE(st.cache->flush_all() == 0);  // writes both and syncs
  REQUIRE(st.cache->ail_tail() == 0);
  REQUIRE(st.cache->ail_size() == 0);
  REQUIRE(img.read(40, 1)[0] == 4);
}

TEST_CASE("bc: a change pinned and not yet logged keeps its buffer off the disk and out of the AIL", "[bc][ail]") {
  TempImage img(1024);
  std::unique_ptr<BlockDevice> dev;
  REQUIRE(FileDevice::open(img.path(), true, &dev) == 0);
  test::Stack st(dev.get(), 8 << 20);
  const Maps a = {{40, 8}};
  PinRef p = test::dirty_pinned(*st.cache, a, 7, nullptr);
  REQUIRE(st.cache->push() == 0);  // passes over it
  REQUIRE(img.read(40, 1)[0] == TempImage::expected(40, 0));
  REQUIRE(st.cache->ail_tail() == 0);
  std::thread([q = std::move(p)]() mutable { q.unpin_logged(0x200000005); }).join();  // the log thread
  REQUIRE(st.cache->ail_tail() == 0x200000005);
  REQUIRE(st.cache->push() == 0);
  REQUIRE(img.read(40, 1)[0] == 7);
  REQUIRE(st.cache->ail_tail() == 0);
}

TEST_CASE("bc: a freed buffer holds its AIL LSN until the freeing generation is released", "[bc][ail]") {
  TempImage img(1024);
  std::unique_ptr<BlockDevice> dev;
  REQUIRE(FileDevice::open(img.path(), true, &dev) == 0);
  test::Stack st(dev.get(), 8 << 20);
  const Maps a = {{40, 8}}, b = {{80, 8}};
  test::dirty_pinned(*st.cache, a, 1, nullptr).unpin_logged(0x100000010);
  // Sealed before the freeing: releasing it must not drop the entry.
  const uint64_t before = st.cache->ail_seal_stale();
  REQUIRE(st.cache->invalidate(a) == 1);
  REQUIRE(st.cache->flush_all() == 0);  // nothing to write: a is stale
  REQUIRE(st.cache->ail_tail() == 0x100000010);
  st.cache->ail_release_stale(before);
  REQUIRE(st.cache->ail_tail() == 0x100000010);
  const uint64_t gen = st.cache->ail_seal_stale();
  st.cache->ail_release_stale(gen);
  REQUIRE(st.cache->ail_tail() == 0);
  // Freed while its change was still pinned: the change's LSN arrives later
  // and is held until the next generation is released too.
  PinRef p = test::dirty_pinned(*st.cache, b, 2, nullptr);
  REQUIRE(st.cache->invalidate(b) == 1);
  p.unpin_logged(0x100000050);
  REQUIRE(st.cache->ail_tail() == 0x100000050);
  st.cache->ail_release_stale(st.cache->ail_seal_stale());
  REQUIRE(st.cache->ail_tail() == 0);
  REQUIRE(img.read(80, 1)[0] == TempImage::expected(80, 0));  // never written
}

TEST_CASE("bc: after stop_writeback nothing reaches the disk", "[bc][ail]") {
  TempImage img(1024);
  std::unique_ptr<BlockDevice> dev;
  REQUIRE(FileDevice::open(img.path(), true, &dev) == 0);
  {
    test::Stack st(dev.get(), 8 << 20);
    const Maps a = {{40, 8}};
    test::dirty_pinned(*st.cache, a, 9, nullptr).unpin_logged(0x100000010);
    st.cache->stop_writeback();
    BufHandle h;
    REQUIRE(st.cache->get(a, nullptr, kAnyOwner, kGetExclusive, &h) == 0);
    REQUIRE(st.cache->write(h) == EROFS);
    h.release();
    REQUIRE(st.cache->flush_all() == EROFS);
    REQUIRE(st.cache->push() == 0);
    REQUIRE(st.cache->ail_tail() == 0x100000010);
    REQUIRE(st.cache->stats().write_errors == 0);  // a stop, not a failure
  }  // the destructor writes nothing either
  REQUIRE(img.read(40, 1)[0] == TempImage::expected(40, 0));
}
