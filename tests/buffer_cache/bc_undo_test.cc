// Undo copies (BufferCache::undo_save and the rest, buffer_cache/undo.cc):
// what a transaction's cancel puts back, kept true through commits'
// updates and write-back's stamps, dropped by any other exclusive holder,
// and counted in the budget.
#include <catch2/catch.hpp>
#include <cstring>

#include "tests/buffer_cache/bc_test_util.h"

using namespace xfsfuse;
using namespace xfsfuse::bc;
using bc::test::TempImage;

namespace {

using Maps = std::vector<DiskRange>;

// Stamps byte 0 with the LSN's low byte at write-back, as a verifier stamps
// its LSN and CRC fields in place.
class StampOps : public BufOps {
 public:
  const char* name() const override { return "stamp test"; }
  bool verify_read(const VerifyInput&, std::string*) const override { return true; }
  bool verify_write(std::span<std::byte> data, uint64_t, const Uuid*, uint64_t lsn, std::string*) const override {
    data[0] = static_cast<std::byte>(lsn);
    return true;
  }
};

std::byte at(const BufHandle& h, size_t i) { return h.data()[i]; }

}  // namespace

TEST_CASE("bc: an undo copy gives back the contents at save, follows updates, and counts in the budget",
          "[bc][undo]") {
  TempImage img(1024);
  std::unique_ptr<BlockDevice> dev;
  REQUIRE(FileDevice::open(img.path(), true, &dev) == 0);
  test::Stack st(dev.get(), 8 << 20);
  StampOps ops;
  const Maps m = {{40, 16}};  // 8 KiB
  BufHandle h;
  REQUIRE(st.cache->get(m, &ops, kAnyOwner, kGetExclusive | kGetKeepUndo, &h) == 0);
  const std::byte orig5 = at(h, 5), orig100 = at(h, 100);
  REQUIRE_FALSE(st.cache->undo_restore(h));  // none yet
  st.cache->undo_save(h);
  CHECK(st.cache->stats().undo_bytes == 8192);
  size_t diff = 0;
  CHECK(st.cache->undo_matches(h, &diff));

  // A change that is cancelled: restore puts it all back.
  std::memset(h.data(), 0x77, 200);
  REQUIRE(st.cache->undo_restore(h));
  CHECK(at(h, 5) == orig5);
  CHECK(at(h, 100) == orig100);

  // A change that is committed: only the updated bytes follow.
  std::memset(h.data() + 10, 0x33, 20);
  std::memset(h.data() + 50, 0x44, 4);
  st.cache->undo_update(h, 10, 20);
  CHECK_FALSE(st.cache->undo_matches(h, &diff));
  CHECK(diff == 50);
  st.cache->undo_update(h, 50, 4);
  CHECK(st.cache->undo_matches(h, &diff));
  std::memset(h.data(), 0x99, 8192);
  REQUIRE(st.cache->undo_restore(h));
  CHECK(at(h, 10) == std::byte{0x33});
  CHECK(at(h, 53) == std::byte{0x44});
  CHECK(at(h, 5) == orig5);

  // Write-back stamps in place; the copy takes the stamp too.
  REQUIRE(st.cache->mark_dirty(h, 10, 20) == 0);
  REQUIRE(st.cache->set_lsn(h, 0x5a) == 0);
  REQUIRE(st.cache->write(h) == 0);
  CHECK(at(h, 0) == std::byte{0x5a});
  CHECK(st.cache->undo_matches(h, &diff));
  h.release();

  // A transactional holder keeps it; any other exclusive holder drops it.
  REQUIRE(st.cache->get(m, &ops, kAnyOwner, kGetExclusive | kGetKeepUndo, &h) == 0);
  CHECK(st.cache->undo_matches(h, &diff));
  h.release();
  REQUIRE(st.cache->get(m, &ops, kAnyOwner, kGetShared, &h) == 0);
  h.release();
  CHECK(st.cache->stats().undo_bytes == 8192);  // a reader changes nothing
  REQUIRE(st.cache->get(m, &ops, kAnyOwner, kGetExclusive, &h) == 0);
  CHECK(st.cache->stats().undo_bytes == 0);
  CHECK_FALSE(st.cache->undo_restore(h));
  // undo_update without a copy makes a whole one.
  st.cache->undo_update(h, 0, 1);
  CHECK(st.cache->undo_matches(h, &diff));
  CHECK(st.cache->stats().undo_bytes == 8192);
  h.release();

  // Eviction frees it with the buffer.
  REQUIRE(st.cache->drop_caches() == 1);
  CHECK(st.cache->stats().undo_bytes == 0);
}

TEST_CASE("bc: undo copies count in the budget, so reclaim evicts for them", "[bc][undo]") {
  TempImage img(4096);
  std::unique_ptr<BlockDevice> dev;
  REQUIRE(FileDevice::open(img.path(), true, &dev) == 0);
  test::Stack st(dev.get(), 256 << 10);  // 256 KiB: 32 buffers of 8 KiB, or 16 with copies
  for (uint64_t i = 0; i < 64; i++) {
    BufHandle h;
    REQUIRE(st.cache->get(Maps{{i * 16, 16}}, nullptr, kAnyOwner, kGetExclusive | kGetKeepUndo, &h) == 0);
    st.cache->undo_save(h);
  }
  const CacheStats s = st.cache->stats();
  INFO("bytes_cached " << s.bytes_cached << " undo_bytes " << s.undo_bytes);
  CHECK(s.undo_bytes == s.bytes_cached);  // every cached buffer has its copy
  CHECK(s.bytes_cached + s.undo_bytes <= (256 << 10) + 2 * 8192);
  CHECK(s.evictions > 0);
}
