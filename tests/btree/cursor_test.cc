// btree/cursor: randomized operations against a std::map model per tree, at
// 1 KiB blocks (trees deepen quickly) and 4 KiB, fixed seeds; the whole tree
// is checked every few thousand operations (tests/btree/cursor_check.cc).
#include "btree/cursor.h"

#include <catch2/catch.hpp>
#include <cerrno>
#include <cstring>

#include "fs/format/btree.h"
#include "fs/format/records.h"
#include "tests/btree/cursor_harness.h"

using namespace xfsfuse;
using namespace xfsfuse::btree;
using xfsfuse::btree::test::Harness;

namespace {

// Grows the tree to at least min_levels, churns it, then removes every record.
void grow_churn_drain(Harness& h, int grow, int churn, unsigned min_levels) {
  h.run(grow, 85, 4000);
  REQUIRE(h.max_levels >= min_levels);
  h.run(churn, 50, 4000);
  h.drain(4000);
  REQUIRE(h.records() == 0);
  REQUIRE(h.host().outstanding.size() == 1);  // the root leaf (AG) or the sole leaf (bmbt)
  h.flush_and_check();
}

}  // namespace

TEST_CASE("cursor: bnobt at 1 KiB blocks against a model: depth 3 and back to one leaf", "[btree][cursor]") {
  Harness h(BtreeKind::kBnobt, 1024, 0, 1);
  grow_churn_drain(h, 30000, 50000, 3);
  CHECK(h.levels() == 1);
}

TEST_CASE("cursor: cntbt at 1 KiB blocks against a model, last record followed", "[btree][cursor]") {
  Harness h(BtreeKind::kCntbt, 1024, 0, 2);
  grow_churn_drain(h, 30000, 50000, 3);
  CHECK(h.levels() == 1);
  CHECK(h.host().last.empty());
}

TEST_CASE("cursor: inobt and finobt at 1 KiB blocks against a model", "[btree][cursor]") {
  SECTION("inobt") {
    Harness h(BtreeKind::kInobt, 1024, 0, 3);
    grow_churn_drain(h, 30000, 50000, 3);
    CHECK(h.levels() == 1);
  }
  SECTION("finobt") {
    Harness h(BtreeKind::kFinobt, 1024, 0, 4);
    grow_churn_drain(h, 10000, 10000, 3);
    CHECK(h.levels() == 1);
  }
}

TEST_CASE("cursor: bmbt at 1 KiB blocks with inode roots of 1, 4 and 18 keys", "[btree][cursor]") {
  for (size_t fork : {size_t{20}, size_t{72}, size_t{296}}) {
    INFO("fork bytes " << fork);
    Harness h(BtreeKind::kBmbt, 1024, fork, 5 + fork);
    grow_churn_drain(h, 12000, 24000, 3);
    CHECK(h.levels() == 2);  // a level-1 inode root over one (empty) leaf
  }
}

TEST_CASE("cursor: bnobt and bmbt at 4 KiB blocks against a model", "[btree][cursor]") {
  SECTION("bnobt") {
    Harness h(BtreeKind::kBnobt, 4096, 0, 7);
    grow_churn_drain(h, 12000, 8000, 2);
  }
  SECTION("bmbt") {
    Harness h(BtreeKind::kBmbt, 4096, 296, 8);
    grow_churn_drain(h, 12000, 8000, 3);
  }
}

TEST_CASE("cursor: insert of an existing key, update and remove off a record", "[btree][cursor]") {
  Harness h(BtreeKind::kBnobt, 1024, 0, 9);
  BtreeCursor& c = h.cursor();
  std::byte rec[fs::kAllocRecSize];
  fs::encode_alloc_rec({100, 5}, rec);
  REQUIRE(c.insert(rec) == 0);
  fs::encode_alloc_rec({100, 7}, rec);
  CHECK(c.insert(rec) == EEXIST);
  bool found = true;
  REQUIRE(c.lookup(bnobt_key(200), LookupMode::kGe, &found) == 0);
  CHECK_FALSE(found);
  CHECK(c.record().empty());
  CHECK(c.update(rec) == EINVAL);
  CHECK(c.remove(&found) == EINVAL);
  REQUIRE(c.lookup(bnobt_key(200), LookupMode::kLe, &found) == 0);
  REQUIRE(found);
  CHECK(fs::decode_alloc_rec(c.record().data()) == fs::AllocRec{100, 5});
  REQUIRE(c.update(rec) == 0);
  CHECK(fs::decode_alloc_rec(c.record().data()) == fs::AllocRec{100, 7});
  REQUIRE(c.remove(&found) == 0);
  CHECK_FALSE(found);
  h.check_tree();
}

TEST_CASE("cursor: a block at the wrong level is EUCLEAN with one line naming tree and daddr", "[btree][cursor]") {
  Harness h(BtreeKind::kInobt, 1024, 0, 10);
  h.run(2000, 100, 2000);
  REQUIRE(h.levels() == 2);
  bool found = false;
  REQUIRE(h.cursor().lookup(inobt_key(0), LookupMode::kGe, &found) == 0);
  h.cursor().release();
  // Make the root's first child claim level 1.
  const uint64_t child = [&] {
    bc::BufHandle rh;
    REQUIRE(h.host().read_block(h.cursor().root(), &rh) == 0);
    const uint32_t max = tree_ops(BtreeKind::kInobt).layout.maxrecs(1024, 1);
    return bc::load_be(rh.data() + tree_ops(BtreeKind::kInobt).layout.ptr_off(max, 0), 4);
  }();
  {
    bc::BufHandle ch;
    REQUIRE(h.host().read_block(child, &ch) == 0);
    fs::store_be(ch.data() + offsetof(xd_btree_sblock, bb_level), 2, 1);
    h.host().log(ch, 0, 8);
  }
  bc::test::StderrCapture err;
  CHECK(h.cursor().lookup(inobt_key(0), LookupMode::kGe, &found) == EUCLEAN);
  const std::string text = err.text();
  CHECK(bc::test::count_lines(text, "\n") == 1);
  CHECK(text.find("inobt block at daddr 0x" + [&] {
    char b[24];
    std::snprintf(b, sizeof b, "%llx", static_cast<unsigned long long>(h.host().daddr_of(child)));
    return std::string(b);
  }() + ": level 1 where 0 was expected") != std::string::npos);
}

TEST_CASE("cursor: a leaf whose sibling pointer disagrees with its parent is EUCLEAN when it must merge", "[btree][cursor]") {
  Harness h(BtreeKind::kInobt, 1024, 0, 12);
  h.run(100, 100, 100);
  REQUIRE(h.levels() == 2);
  const BlockLayout& l = tree_ops(BtreeKind::kInobt).layout;
  uint64_t leaf = 0;
  uint32_t first = 0;
  {
    bc::BufHandle rh;
    REQUIRE(h.host().read_block(h.cursor().root(), &rh) == 0);
    leaf = bc::load_be(rh.data() + l.ptr_off(l.maxrecs(1024, 1), 1), 4);
    first = static_cast<uint32_t>(bc::load_be(rh.data() + l.key_off(1), 4));
  }
  {
    bc::BufHandle lh;
    REQUIRE(h.host().read_block(leaf, &lh) == 0);
    fs::store_be(lh.data() + offsetof(xd_btree_sblock, bb_leftsib), 4, 9999);
    h.host().log(lh, 0, 16);
  }
  bc::test::StderrCapture err;
  int e = 0;
  for (int i = 0; i < 100 && e == 0; i++) {
    bool found = false;
    e = h.cursor().lookup(inobt_key(first), LookupMode::kGe, &found);
    REQUIRE(found);
    if (e == 0) e = h.cursor().remove(&found);
  }
  CHECK(e == EUCLEAN);
  const std::string text = err.text();
  CHECK(bc::test::count_lines(text, "\n") == 1);
  CHECK(text.find("inobt block at daddr") != std::string::npos);
  CHECK(text.find("sibling pointer disagrees with the parent's pointers") != std::string::npos);
}

TEST_CASE("cursor: an inode root with no entries is EUCLEAN, logged as the inode's", "[btree][cursor]") {
  Harness h(BtreeKind::kBmbt, 1024, 72, 11);
  h.run(500, 100, 500);
  h.cursor().release();
  fs::store_be(h.fork().data() + 2, 2, 0);
  bc::test::StderrCapture err;
  bool found = true;
  CHECK(h.cursor().lookup(bmbt_key(0), LookupMode::kGe, &found) == EUCLEAN);
  CHECK_FALSE(found);
  CHECK(err.text() == "xfsfuse: metadata corruption: bmbt root in inode 1234: node with no entries\n");
}

// The codecs themselves are fs/format/records.h's (tests/fs/records_test.cc);
// here: the node key the cursor takes from each kind's record.
TEST_CASE("cursor: node keys from records", "[btree][cursor]") {
  std::byte b[16];
  fs::encode_bmbt_rec(fs::Extent{(uint64_t{1} << 54) - 1, (uint64_t{1} << 52) - 3, (1u << 21) - 1, true}, b);
  CHECK(tree_ops(BtreeKind::kBmbt).rec_key(b) == bmbt_key((uint64_t{1} << 54) - 1));
  fs::encode_bmbt_rec(fs::Extent{12345, 0x123456789ab, 17, false}, b);
  CHECK(tree_ops(BtreeKind::kBmbt).rec_key(b) == bmbt_key(12345));
  fs::encode_inobt_rec(fs::InobtRec{64 * 7, 0xff00, 32, 5, 0xf0f0f0f0f0f0f0f0ull}, /*sparse=*/true, b);
  CHECK(tree_ops(BtreeKind::kInobt).rec_key(b) == inobt_key(448));
  CHECK(tree_ops(BtreeKind::kFinobt).rec_key(b) == inobt_key(448));
  fs::encode_alloc_rec({9, 10}, b);
  CHECK(tree_ops(BtreeKind::kCntbt).rec_key(b) == cntbt_key(10, 9));
  CHECK(tree_ops(BtreeKind::kBnobt).rec_key(b) == bnobt_key(9));
}

TEST_CASE("cursor: block layouts at 1 KiB", "[btree][cursor]") {
  CHECK(tree_ops(BtreeKind::kBnobt).layout.maxrecs(1024, 0) == 121);
  CHECK(tree_ops(BtreeKind::kCntbt).layout.maxrecs(1024, 1) == 80);
  CHECK(tree_ops(BtreeKind::kInobt).layout.maxrecs(1024, 0) == 60);
  CHECK(tree_ops(BtreeKind::kFinobt).layout.maxrecs(1024, 1) == 121);
  CHECK(kBmbtBlockLayout.maxrecs(1024, 0) == 59);
  CHECK(kBmbtBlockLayout.ptr_off(59, 0) == 72 + 59 * 8);
  CHECK(kBmdrLayout.maxrecs(296, 1) == 18);
  CHECK(kBmdrLayout.ptr_off(18, 1) == 4 + 18 * 8 + 8);
}

TEST_CASE("cursor: the last leaf and the first record of a leaf", "[btree][cursor]") {
  // 1 KiB bnobt leaves hold 125 records: 400 records make several leaves.
  Harness h(BtreeKind::kBnobt, 1024, 0, 11);
  BtreeCursor& c = h.cursor();
  bool found = false;
  CHECK_FALSE(c.in_last_leaf());  // not positioned yet
  std::byte rec[fs::kAllocRecSize];
  for (uint32_t i = 0; i < 400; i++) {
    fs::encode_alloc_rec({100 + 10 * i, 5}, rec);
    REQUIRE(c.insert(rec) == 0);
  }
  REQUIRE(h.levels() >= 2);
  REQUIRE(c.lookup(bnobt_key(100), LookupMode::kEq, &found) == 0);
  REQUIRE(found);
  CHECK_FALSE(c.in_last_leaf());
  REQUIRE(c.lookup(bnobt_key(100 + 10 * 399), LookupMode::kEq, &found) == 0);
  REQUIRE(found);
  CHECK(c.in_last_leaf());
  // The last leaf's first record: after the tree's first, and the record
  // before it lies in another leaf (not the last one).
  c.to_leaf_start(&found);
  REQUIRE(found);
  const fs::AllocRec first = fs::decode_alloc_rec(c.record().data());
  CHECK(first.startblock > 100);
  CHECK((first.startblock - 100) % 10 == 0);
  CHECK(c.in_last_leaf());
  REQUIRE(c.decrement(&found) == 0);
  REQUIRE(found);
  CHECK(fs::decode_alloc_rec(c.record().data()).startblock == first.startblock - 10);
  CHECK_FALSE(c.in_last_leaf());
}
