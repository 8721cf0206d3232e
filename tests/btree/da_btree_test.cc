// btree/da_btree and btree/da_check over hand-built trees: 4 KiB blocks in a
// temporary file, read through a real buffer cache, leaves in a test-only
// format (a count at byte 56, hashes from byte 64) under the attr leaf magic.
#include "btree/da_btree.h"
#include "btree/da_check.h"

#include <catch2/catch.hpp>
#include <cstring>
#include <map>
#include <set>

#include "buffer_cache/crc32c.h"
#include "fs/format/dir.h"
#include "fs/format/endian.h"
#include "tests/buffer_cache/bc_test_util.h"

using namespace xfsfuse;
using namespace xfsfuse::btree;
using fs::be16;
using fs::be32;
using fs::to_be16;
using fs::to_be32;
using fs::to_be64;

namespace {

constexpr size_t kBlock = 4096;
constexpr uint64_t kOwner = 42;
constexpr uint16_t kLeafMagic = fs::kAttr3LeafMagic;
constexpr uint32_t kHole = 100;  // dablks from here on are holes

uint64_t daddr_of(uint32_t dablk) { return uint64_t{dablk} * (kBlock / 512); }

bool test_leaf_check(std::span<const std::byte> b, std::string* why) {
  uint16_t count = static_cast<uint16_t>(bc::load_be(b.data() + 56, 2));
  if (64 + count * 4u > b.size()) {
    *why = "leaf count too large";
    return false;
  }
  return true;
}

const DaBufOps& test_ops() {
  static const DaBufOps ops("test da", {kLeafMagic}, test_leaf_check);
  return ops;
}

struct Block {
  uint32_t forw = 0, back = 0;
  uint16_t magic = kLeafMagic;
  uint16_t level = 0;                                  // nodes
  std::vector<std::pair<uint32_t, uint32_t>> entries;  // nodes: (hashval, before)
  std::vector<uint32_t> hashes;                        // leaves
};

std::vector<std::byte> encode(uint32_t dablk, const Block& b) {
  std::vector<std::byte> buf(kBlock);
  xd_da3_node_hdr h{};
  h.info.hdr.forw = to_be32(b.forw);
  h.info.hdr.back = to_be32(b.back);
  h.info.hdr.magic = to_be16(b.magic);
  h.info.blkno = to_be64(daddr_of(dablk));
  h.info.owner = to_be64(kOwner);
  if (b.magic == fs::kDa3NodeMagic) {
    h.count = to_be16(static_cast<uint16_t>(b.entries.size()));
    h.level = to_be16(b.level);
    for (size_t i = 0; i < b.entries.size(); i++) {
      xd_da_node_entry e{to_be32(b.entries[i].first), to_be32(b.entries[i].second)};
      std::memcpy(buf.data() + 64 + i * 8, &e, sizeof e);
    }
  } else {
    h.count = to_be16(static_cast<uint16_t>(b.hashes.size()));
    for (size_t i = 0; i < b.hashes.size(); i++) {
      uint32_t v = to_be32(b.hashes[i]);
      std::memcpy(buf.data() + 64 + i * 4, &v, 4);
    }
  }
  std::memcpy(buf.data(), &h, sizeof h);
  bc::xfs_cksum_update(buf, offsetof(xd_da3_blkinfo, crc));
  return buf;
}

Block node(uint16_t level, std::vector<std::pair<uint32_t, uint32_t>> entries) {
  Block b;
  b.magic = fs::kDa3NodeMagic;
  b.level = level;
  b.entries = std::move(entries);
  return b;
}

Block leaf(uint32_t back, uint32_t forw, std::vector<uint32_t> hashes) {
  Block b;
  b.back = back;
  b.forw = forw;
  b.hashes = std::move(hashes);
  return b;
}

// A level-2 root at dablk 0 over level-1 nodes 1 and 2, over leaves 3..6;
// hash 50 runs from leaf 3 into leaf 4.
std::map<uint32_t, Block> good_tree() {
  return {
      {0, node(2, {{50, 1}, {400, 2}})},   // root
      {1, node(1, {{50, 3}, {50, 4}})},    // left
      {2, node(1, {{200, 5}, {400, 6}})},  // right
      {3, leaf(0, 4, {10, 20, 50, 50})},   // leaves, left to right
      {4, leaf(3, 5, {50, 50})},           //
      {5, leaf(4, 6, {60, 200})},          //
      {6, leaf(5, 0, {300, 400})},         //
  };
}

// The tree's blocks in a file, read through a buffer cache.
struct Fixture {
  bc::test::TempImage img{daddr_of(kHole)};
  std::unique_ptr<bc::BlockDevice> dev;
  std::unique_ptr<bc::test::Stack> stack;
  std::vector<uint64_t> reported;  // daddrs given to report
  std::string last_why;
  DaTree tree;

  explicit Fixture(const std::map<uint32_t, Block>& blocks, uint32_t root = 0) {
    for (const auto& [dablk, b] : blocks) {
      auto buf = encode(dablk, b);
      img.write(daddr_of(dablk), buf.data(), buf.size());
    }
    REQUIRE(bc::FileDevice::open(img.path(), false, &dev) == 0);
    stack = std::make_unique<bc::test::Stack>(dev.get(), 8u << 20);
    tree.root = root;
    tree.leaf_magic = kLeafMagic;
    tree.read = [this](uint32_t dablk, bc::BufHandle* out) {
      if (dablk >= kHole) return ENOENT;
      bc::DiskRange r{daddr_of(dablk), kBlock / 512};
      return stack->cache->get({&r, 1}, &test_ops(), kOwner, bc::kGetShared, out);
    };
    tree.report = [this](uint64_t daddr, const std::string& why) {
      reported.push_back(daddr);
      last_why = why;
      return EUCLEAN;
    };
  }
};

// Lands on hashval, then returns the leaf's dablk (or the errno as -errno).
int64_t lookup(Fixture& f, uint32_t hashval) {
  DaLeaf l;
  int err = da_lookup_leaf(f.tree, hashval, &l);
  return err ? -int64_t{err} : int64_t{l.dablk};
}

}  // namespace

TEST_CASE("da_btree: lookups land on the first leaf that can hold the hash", "[btree][da]") {
  Fixture f(good_tree());
  CHECK(lookup(f, 0) == 3);
  CHECK(lookup(f, 20) == 3);
  CHECK(lookup(f, 50) == 3);  // the run of 50 starts in leaf 3
  CHECK(lookup(f, 51) == 5);
  CHECK(lookup(f, 200) == 5);
  CHECK(lookup(f, 201) == 6);
  CHECK(lookup(f, 400) == 6);
  CHECK(lookup(f, 0xffffffff) == 6);  // past every hash: the last leaf
  CHECK(f.reported.empty());
}

TEST_CASE("da_btree: first leaf and the forw chain visit every leaf once", "[btree][da]") {
  Fixture f(good_tree());
  DaLeaf l;
  REQUIRE(da_first_leaf(f.tree, &l) == 0);
  std::vector<uint32_t> seen{l.dablk};
  int err;
  while ((err = da_next_leaf(f.tree, &l)) == 0) seen.push_back(l.dablk);
  CHECK(err == ENOENT);
  CHECK(seen == std::vector<uint32_t>{3, 4, 5, 6});
  CHECK(l.dablk == 6);  // the last leaf stays held
}

TEST_CASE("da_btree: a root that is a leaf is the only leaf", "[btree][da]") {
  Fixture f({{0, leaf(0, 0, {1, 2, 3})}});
  CHECK(lookup(f, 2) == 0);
  DaLeaf l;
  REQUIRE(da_first_leaf(f.tree, &l) == 0);
  CHECK(da_next_leaf(f.tree, &l) == ENOENT);
}

TEST_CASE("da_btree: a root hole is ENOENT for the owner to judge", "[btree][da]") {
  Fixture f(good_tree(), kHole);
  CHECK(lookup(f, 1) == -ENOENT);
  CHECK(f.reported.empty());
}

TEST_CASE("da_btree: cross-block corruption is reported once at the right daddr", "[btree][da]") {
  auto corrupt = [](std::map<uint32_t, Block> t, uint32_t hashval, uint64_t daddr, const char* reason) {
    INFO(reason);
    Fixture f(t);
    CHECK(lookup(f, hashval) == -EUCLEAN);
    REQUIRE(f.reported == std::vector<uint64_t>{daddr});
    CHECK(f.last_why.find(reason) != std::string::npos);
  };
  auto t = good_tree();
  t[1].level = 2;  // a level-2 node under a level-2 root
  corrupt(t, 10, daddr_of(1), "has level 2, expected 1");
  t = good_tree();
  t[1] = node(1, {{50, 1}});  // a level-1 node whose child is itself: a loop
  corrupt(t, 10, daddr_of(1), "expected a leaf");
  t = good_tree();
  t[0].entries[0].second = 3;  // a level-2 root pointing straight at a leaf
  corrupt(t, 10, daddr_of(3), "not a node of level 1");
  t = good_tree();
  t[2].entries[1].second = kHole + 5;
  corrupt(t, 300, daddr_of(2), "a hole");
  t = good_tree();
  t[0] = node(1, {{50, 3}, {400, 6}});
  t[6].magic = fs::kDir3LeafnMagic;  // another tree's leaf magic (DaBufOps accepts it only if named)
  Fixture f(t);
  CHECK(lookup(f, 300) == -EUCLEAN);  // the verifier refuses the magic: logged by the cache
  CHECK(f.reported.empty());
}

TEST_CASE("da_btree: sibling links are checked", "[btree][da]") {
  // Walks from the leaf holding hashval through `steps` forw links; returns
  // the last step's result.
  auto walk = [](Fixture& f, uint32_t hashval, int steps) {
    DaLeaf l;
    REQUIRE(da_lookup_leaf(f.tree, hashval, &l) == 0);
    int err = 0;
    for (int i = 0; i < steps && err == 0; i++) {
      uint32_t before = l.dablk;
      err = da_next_leaf(f.tree, &l);
      if (err) CHECK(l.dablk == before);  // a failed step leaves the leaf alone
    }
    return err;
  };
  auto t = good_tree();
  t[5].back = 3;
  Fixture f(t);
  CHECK(walk(f, 50, 2) == EUCLEAN);
  CHECK(f.reported == std::vector<uint64_t>{daddr_of(5)});
  CHECK(f.last_why.find("has back 0x3") != std::string::npos);

  t = good_tree();
  t[4].forw = 1;  // a node where a sibling leaf should be
  Fixture g(t);
  CHECK(walk(g, 50, 2) == EUCLEAN);
  CHECK(g.reported == std::vector<uint64_t>{daddr_of(1)});

  t = good_tree();
  t[6].forw = kHole;
  Fixture h(t);
  CHECK(walk(h, 400, 1) == EUCLEAN);
  CHECK(h.reported == std::vector<uint64_t>{daddr_of(6)});
}

TEST_CASE("da_btree: DaBufOps checks each node's own structure", "[btree][da]") {
  std::string why;
  auto check = [&](const Block& b) { return da_node_check(encode(0, b), &why); };
  CHECK(check(node(1, {{1, 3}, {1, 4}, {9, 5}})));
  CHECK_FALSE(check(node(1, {{5, 3}, {4, 4}})));
  CHECK(why.find("below the one before it") != std::string::npos);
  CHECK_FALSE(check(node(0, {{5, 3}})));
  CHECK(why.find("level 0") != std::string::npos);
  CHECK_FALSE(check(node(kDaNodeMaxDepth, {{5, 3}})));
  CHECK_FALSE(check(node(1, {})));
  CHECK(why.find("count 0") != std::string::npos);
  std::vector<std::pair<uint32_t, uint32_t>> many((kBlock - 64) / 8 + 1, {1, 3});
  auto big = encode(0, node(1, {}));
  big[56] = std::byte{static_cast<uint8_t>(many.size() >> 8)};
  big[57] = std::byte{static_cast<uint8_t>(many.size())};
  CHECK_FALSE(da_node_check(big, &why));
  CHECK(why.find("count 505 outside 1..504") != std::string::npos);

  // Through the cache: a bad node is EUCLEAN from the read, logged there.
  auto t = good_tree();
  t[2].entries = {{400, 6}, {200, 5}};
  Fixture f(t);
  bc::test::StderrCapture cap;
  CHECK(lookup(f, 300) == -EUCLEAN);
  CHECK(f.reported.empty());
  CHECK(bc::test::count_lines(cap.text(), "below the one before it") == 1);
}

// ---- btree/da_check.h: the checker's whole-tree walk over the same trees ----

namespace {

struct Finding {
  uint64_t daddr;
  std::string why;
  bool silent;
};

// Walks f's tree with da_check_walk; leaves summarised from their hashes.
DaCheckResult check_walk(Fixture& f, std::vector<Finding>* out, bool root_back_silent = false) {
  DaCheckOwner o;
  o.root = f.tree.root;
  o.leaf_magic = kLeafMagic;
  o.first_node_back_silent = root_back_silent;
  o.block_word = "block";
  o.number = [](uint32_t dablk) { return std::to_string(dablk); };
  o.read = f.tree.read;
  o.block_daddr = daddr_of;
  o.child_fault = [](uint32_t child) { return child >= 200 ? "points past the tree" : std::string(); };
  o.leaf = [](const bc::BufHandle& h, uint32_t, DaLeafSummary* s) {
    s->count = bc::load_be(h.data() + 56, 2);
    for (size_t i = 0; i < s->count; i++) {
      const auto hash = static_cast<uint32_t>(bc::load_be(h.data() + 64 + 4 * i, 4));
      if (i == 0) s->first = hash;
      s->last = hash;
    }
    return true;
  };
  o.fault = [out](uint64_t daddr, std::string why, bool silent) { out->push_back({daddr, std::move(why), silent}); };
  return da_check_walk(o);
}

// good_tree() with its level-1 nodes linked, as the format links every level.
std::map<uint32_t, Block> linked_tree() {
  auto t = good_tree();
  t[1].forw = 2;
  t[2].back = 1;
  return t;
}

// The one finding of out, which must contain what.
void one_finding(const std::vector<Finding>& out, const std::string& what, uint64_t daddr, bool silent = false) {
  REQUIRE(out.size() == 1);
  INFO(out[0].why);
  CHECK(out[0].why.find(what) != std::string::npos);
  CHECK(out[0].daddr == daddr);
  CHECK(out[0].silent == silent);
}

}  // namespace

TEST_CASE("da_check: a sound tree gives no finding and every block", "[btree][da]") {
  Fixture f(linked_tree());
  std::vector<Finding> out;
  const DaCheckResult r = check_walk(f, &out);
  CHECK(out.empty());
  CHECK(r.complete);
  CHECK(r.blocks == std::set<uint32_t>{0, 1, 2, 3, 4, 5, 6});
}

TEST_CASE("da_check: each cross-block rule", "[btree][da]") {
  auto t = linked_tree();
  std::vector<Finding> out;
  SECTION("a node key that is not its child's largest hash") {
    t[0] = node(2, {{49, 1}, {400, 2}});
    Fixture f(t);
    CHECK(check_walk(f, &out).complete);
    one_finding(out, "node entry 0 has hashval 0x31 but the largest hash under it is 0x32", daddr_of(0));
  }
  SECTION("a leaf's back pointer") {
    t[4].back = 0;
    Fixture f(t);
    check_walk(f, &out);
    one_finding(out, "leaf 4 has back 0, expected 3", daddr_of(4));
  }
  SECTION("a root node's back pointer, silent when the owner says so") {
    t[0].back = 5;
    Fixture f(t);
    check_walk(f, &out, true);
    one_finding(out, "level 2 node 0 has back 5, expected 0", daddr_of(0), true);
  }
  SECTION("leaves out of hash order") {
    t[5] = leaf(4, 6, {40, 200});
    Fixture f(t);
    check_walk(f, &out);
    one_finding(out, "leaf 5 starts at hash 0x28, below the previous leaf's last hash 0x32", daddr_of(5));
  }
  SECTION("a leaf where a node must be") {
    t[0] = node(2, {{50, 3}, {400, 2}});
    Fixture f(t);
    CHECK_FALSE(check_walk(f, &out).complete);
    one_finding(out, "block 3 has magic 0x3bee, expected a node of level 1", daddr_of(3));
  }
  SECTION("a block reached twice, a hole, a child out of range: no chain verdicts") {
    t[2] = node(1, {{50, 3}, {400, 6}});
    Fixture f(t);
    const DaCheckResult r = check_walk(f, &out);
    CHECK_FALSE(r.complete);
    one_finding(out, "block 3 is reached twice", daddr_of(2));
    out.clear();
    t[2] = node(1, {{200, kHole}, {400, 300}});
    Fixture g(t);
    CHECK_FALSE(check_walk(g, &out).complete);
    REQUIRE(out.size() == 2);
    CHECK(out[0].why == "block " + std::to_string(kHole) + " is a hole");
    CHECK(out[1].why == "node entry 1 points past the tree");
  }
}
