// The near allocation's choice of free extent (fs/alloc/alloc_near.h) on a
// hand-made free-space shape: AG 1 filled, then [100, 110), [200, 205) and
// [300, 340) freed.  Each request runs in a transaction that is cancelled, so
// every one sees the same shape.  The kernel comparison of whole directories
// is tests/rw/cases/dir-placement*.sh.
#include <catch2/catch.hpp>
#include <cerrno>

#include "fs/alloc/alloc.h"
#include "fs/mount.h"
#include "tests/fs/dir_test_util.h"

namespace xfsfuse::fs::test {

namespace {

struct Shape {
  MkfsImage img{"-d agcount=2"};
  std::unique_ptr<Mount> m = open_rw(img.path);
  static constexpr uint32_t kAg = 1;

  Shape() {
    // Everything AG 1 has, in the largest pieces the reservations allow.
    for (;;) {
      std::unique_ptr<Transaction> tp;
      REQUIRE(Transaction::begin(*m, &tp) == 0);
      REQUIRE(tp->reserve_blocks(4096) == 0);
      uint32_t bno, len;
      const int rc = alloc_extent(*tp, AllocRequest{kAg, 0, 1, 4096, 1, false}, &bno, &len);
      if (rc == ENOSPC) break;
      REQUIRE(rc == 0);
      REQUIRE(tp->commit() == 0);
    }
    std::unique_ptr<Transaction> tp;
    REQUIRE(Transaction::begin(*m, &tp) == 0);
    REQUIRE(free_extent(*tp, kAg, 100, 10) == 0);
    REQUIRE(free_extent(*tp, kAg, 200, 5) == 0);
    REQUIRE(free_extent(*tp, kAg, 300, 40) == 0);
    REQUIRE(tp->commit() == 0);
  }

  // Where a near request for minlen..maxlen blocks at target lands (agbno,
  // length), the transaction cancelled afterwards.
  std::pair<uint32_t, uint32_t> near(uint32_t target, uint32_t minlen, uint32_t maxlen, bool userdata = false) {
    std::unique_ptr<Transaction> tp;
    REQUIRE(Transaction::begin(*m, &tp) == 0);
    REQUIRE(tp->reserve_blocks(maxlen) == 0);
    AllocRequest r;
    r.agno = kAg;
    r.target = target;
    r.minlen = minlen;
    r.maxlen = maxlen;
    r.near = true;
    r.userdata = userdata;
    uint32_t bno = 0, len = 0;
    const int e = alloc_extent(*tp, r, &bno, &len);
    tp->cancel();
    REQUIRE(e == 0);
    return {bno, len};
  }
};

}  // namespace

TEST_CASE("alloc: a near allocation picks the kernel's free extent and place in it", "[alloc]") {
  if (!have_xfsprogs()) {
    WARN("SKIP: mkfs.xfs/xfs_db not installed (Debian package xfsprogs)");
    return;
  }
  Shape s;
  using P = std::pair<uint32_t, uint32_t>;
  // Inside a free extent that holds the run: at the target itself.
  CHECK(s.near(105, 3, 3) == P{105, 3});
  // Past the end of [100, 110): metadata takes that extent's last blocks
  // (13 away) over [200, 205)'s start (80 away); file data the extent's
  // start (20 away, room to grow).
  CHECK(s.near(120, 3, 3) == P{107, 3});
  CHECK(s.near(120, 3, 3, /*userdata=*/true) == P{100, 3});
  // Only [300, 340) holds ten blocks.
  CHECK(s.near(250, 10, 10) == P{300, 10});
  // Length first: [200, 205) is at the target but gives 5 of 10 blocks;
  // [300, 340) (98 away) beats [100, 110)'s ten blocks (100..109, 102 away).
  CHECK(s.near(202, 1, 10) == P{300, 10});
  // Before everything: the nearest start.
  CHECK(s.near(50, 2, 2) == P{100, 2});
  // Far past everything: the end of the last extent.
  CHECK(s.near(1000, 4, 4) == P{336, 4});
}

}  // namespace xfsfuse::fs::test
