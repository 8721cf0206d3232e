// btree/sbtree over hand-built bnobt trees: 4 KiB blocks in a temporary file,
// read through a real buffer cache with the bnobt verifier and owner check.
#include "btree/sbtree.h"

#include <catch2/catch.hpp>
#include <cstring>
#include <map>

#include "buffer_cache/crc32c.h"
#include "fs/format/btree.h"
#include "fs/format/endian.h"
#include "fs/format/magic.h"
#include "tests/buffer_cache/bc_test_util.h"

using namespace xfsfuse;
using namespace xfsfuse::btree;
using fs::to_be16;
using fs::to_be32;
using fs::to_be64;

namespace {

constexpr uint32_t kBlock = 4096;
constexpr uint32_t kAgLength = 64;  // blocks in the test AG (and the file)
constexpr uint32_t kAgno = 3;
constexpr uint32_t kNull = 0xffffffff;

uint64_t daddr_of(uint32_t agbno) { return uint64_t{agbno} * (kBlock / 512); }

struct Block {
  uint16_t level = 0;
  uint32_t left = kNull, right = kNull;
  std::vector<std::pair<uint32_t, uint32_t>> recs;  // leaves: (start, len); nodes: (key start, child agbno)
  uint32_t magic = fs::kBnobtMagic;
  uint32_t owner = kAgno;
  int numrecs = -1;                                 // >= 0: written instead of recs.size()
};

std::vector<std::byte> encode(uint32_t agbno, const Block& b) {
  std::vector<std::byte> buf(kBlock);
  xd_btree_sblock h{};
  h.bb_magic = to_be32(b.magic);
  h.bb_level = to_be16(b.level);
  h.bb_numrecs = to_be16(static_cast<uint16_t>(b.numrecs >= 0 ? b.numrecs : static_cast<int>(b.recs.size())));
  h.bb_leftsib = to_be32(b.left);
  h.bb_rightsib = to_be32(b.right);
  h.bb_blkno = to_be64(daddr_of(agbno));
  h.bb_owner = to_be32(b.owner);
  std::memcpy(buf.data(), &h, sizeof h);
  const uint32_t maxrecs = sbtree_maxrecs(SbtreeKind::kBnobt, kBlock, b.level);
  for (size_t i = 0; i < b.recs.size(); i++) {
    if (b.level == 0) {
      const uint32_t r[2] = {to_be32(b.recs[i].first), to_be32(b.recs[i].second)};
      std::memcpy(buf.data() + kSblockHeaderSize + 8 * i, r, 8);
    } else {
      const uint32_t k[2] = {to_be32(b.recs[i].first), to_be32(1)};
      const uint32_t p = to_be32(b.recs[i].second);
      std::memcpy(buf.data() + kSblockHeaderSize + 8 * i, k, 8);
      std::memcpy(buf.data() + kSblockHeaderSize + 8 * maxrecs + 4 * i, &p, 4);
    }
  }
  bc::xfs_cksum_update(buf, offsetof(xd_btree_sblock, bb_crc));
  return buf;
}

Block node(std::vector<std::pair<uint32_t, uint32_t>> keys) { return Block{.level = 1, .recs = std::move(keys)}; }
Block leaf(uint32_t left, uint32_t right, std::vector<std::pair<uint32_t, uint32_t>> recs) {
  return Block{.level = 0, .left = left, .right = right, .recs = std::move(recs)};
}

// Root 1 over leaves 2 and 3.
std::map<uint32_t, Block> good_tree() {
  return {
      {1, node({{10, 2}, {100, 3}})},
      {2, leaf(kNull, 3, {{10, 5}, {20, 5}})},
      {3, leaf(2, kNull, {{100, 5}, {200, 5}})},
  };
}

struct Walk {
  bc::test::TempImage img{daddr_of(kAgLength)};
  std::unique_ptr<bc::BlockDevice> dev;
  std::unique_ptr<bc::test::Stack> stack;
  std::vector<SbtreeFault> faults;
  std::vector<uint32_t> blocks, starts;
  SbtreeStats stats;

  explicit Walk(const std::map<uint32_t, Block>& tree, uint32_t root = 1, unsigned levels = 2,
                const std::map<uint32_t, std::vector<std::byte>>& raw = {}) {
    for (const auto& [agbno, b] : tree) {
      auto buf = encode(agbno, b);
      img.write(daddr_of(agbno), buf.data(), buf.size());
    }
    for (const auto& [agbno, buf] : raw) img.write(daddr_of(agbno), buf.data(), buf.size());
    REQUIRE(bc::FileDevice::open(img.path(), false, &dev) == 0);
    stack = std::make_unique<bc::test::Stack>(dev.get(), 8u << 20);
    const bc::BufOps& ops = sbtree_ops(SbtreeKind::kBnobt);
    SbtreeWalk w;
    w.kind = SbtreeKind::kBnobt;
    w.blocksize = kBlock;
    w.ag_daddr = 0;
    w.ag_length = kAgLength;
    w.root = root;
    w.levels = levels;
    w.read = [&](uint32_t agbno, bc::BufHandle* out, std::string* why) {
      bc::DiskRange r{daddr_of(agbno), kBlock / 512};
      bc::test::StderrCapture quiet;  // the cache logs the failure; the walk reports it
      const int err = stack->cache->get({&r, 1}, &ops, kAgno, bc::kGetShared, out);
      if (err) *why = "verifier failed";
      return err;
    };
    w.record = [&](std::span<const std::byte> rec, uint64_t) { starts.push_back(uint32_t(bc::load_be(rec.data(), 4))); };
    w.block = [&](uint32_t agbno, unsigned) { blocks.push_back(agbno); };
    w.fault = [&](const SbtreeFault& f) { faults.push_back(f); };
    stats = sbtree_walk(w);
  }
  // A fault at agbno saying text, a link fault (between blocks) or not.
  bool has_fault(uint32_t agbno, const std::string& text, bool link = false) const {
    for (const auto& f : faults)
      if (f.agbno == agbno && f.daddr == daddr_of(agbno) && f.why.find(text) != std::string::npos && f.link == link)
        return true;
    return false;
  }
};

}  // namespace

TEST_CASE("sbtree: a good tree visits every block and record once, in key order", "[btree][sbtree]") {
  Walk w(good_tree());
  CHECK(w.faults.empty());
  CHECK(w.blocks == std::vector<uint32_t>{1, 2, 3});
  CHECK(w.starts == std::vector<uint32_t>{10, 20, 100, 200});
  CHECK(w.stats.blocks == 3);
  CHECK(w.stats.records == 4);
}

TEST_CASE("sbtree: maxrecs per tree and level for 4 KiB blocks", "[btree][sbtree]") {
  CHECK(sbtree_maxrecs(SbtreeKind::kBnobt, 4096, 0) == 505);
  CHECK(sbtree_maxrecs(SbtreeKind::kCntbt, 4096, 1) == 336);
  CHECK(sbtree_maxrecs(SbtreeKind::kInobt, 4096, 0) == 252);
  CHECK(sbtree_maxrecs(SbtreeKind::kFinobt, 4096, 1) == 505);
  CHECK(sbtree_maxrecs(SbtreeKind::kRefcountbt, 4096, 0) == 336);
  CHECK(sbtree_maxrecs(SbtreeKind::kRmapbt, 4096, 0) == 168);
  CHECK(sbtree_maxrecs(SbtreeKind::kRmapbt, 4096, 1) == 91);
}

TEST_CASE("sbtree: an empty root leaf is fine, an empty non-root block is not", "[btree][sbtree]") {
  CHECK(Walk({{5, leaf(kNull, kNull, {})}}, 5, 1).faults.empty());
  auto t = good_tree();
  t[3].recs.clear();
  Walk w(t);
  CHECK(w.has_fault(3, "no records"));
}

TEST_CASE("sbtree: each fault is reported at its block and the walk carries on", "[btree][sbtree]") {
  SECTION("height from the header disagrees with the root's level") {
    Walk w(good_tree(), 1, 3);
    CHECK(w.has_fault(1, "level 1 where 2 was expected"));
  }
  SECTION("height beyond any AG btree") {
    Walk w(good_tree(), 1, 13);
    CHECK(w.has_fault(1, "tree height 13"));
    CHECK(w.blocks.empty());
  }
  SECTION("node keys out of order") {
    auto t = good_tree();
    t[1].recs = {{100, 2}, {10, 3}};
    Walk w(t);
    CHECK(w.has_fault(1, "keys out of order"));
  }
  SECTION("child's first record below its parent's key") {
    auto t = good_tree();
    t[3].recs[0].first = 50;
    Walk w(t);
    CHECK(w.has_fault(3, "first record below the parent's key", true));
  }
  SECTION("records out of order across leaves") {
    auto t = good_tree();
    t[1].recs[1].first = 15;
    t[3].recs[0].first = 15;
    Walk w(t);
    CHECK(w.has_fault(3, "record 0 out of order"));
    CHECK(w.starts.size() == 4);
  }
  SECTION("sibling chain broken") {
    auto t = good_tree();
    t[2].right = 7;
    t[3].left = kNull;
    Walk w(t);
    CHECK(w.has_fault(2, "rightsib 7, expected 3", true));
    CHECK(w.has_fault(3, "leftsib null, expected 2", true));
  }
  SECTION("last block of a level with a right sibling") {
    auto t = good_tree();
    t[3].right = 9;
    Walk w(t);
    CHECK(w.has_fault(3, "last block of level 0 has rightsib 9", true));
  }
  SECTION("a block reached twice is not walked twice") {
    auto t = good_tree();
    t[1].recs = {{10, 2}, {100, 2}};
    Walk w(t);
    CHECK(w.has_fault(1, "agbno 2 reached twice"));
    CHECK(w.blocks == std::vector<uint32_t>{1, 2});
  }
  SECTION("a root pointing at itself") {
    auto t = good_tree();
    t[1].recs = {{10, 1}};
    Walk w(t);
    CHECK(w.has_fault(1, "agbno 1 reached twice"));
  }
  SECTION("pointer outside the AG: the other subtree is still walked") {
    auto t = good_tree();
    t[1].recs[0].second = 1000;
    Walk w(t);
    CHECK(w.has_fault(1, "pointer to agbno 1000 outside the AG"));
    CHECK(w.starts == std::vector<uint32_t>{100, 200});
    CHECK(!w.has_fault(3, "leftsib"));  // the gap is not blamed on the next leaf
  }
  SECTION("numrecs above maxrecs") {
    auto t = good_tree();
    t[2].numrecs = 506;
    Walk w(t);
    CHECK(w.has_fault(2, "numrecs 506 above maxrecs 505"));
    CHECK(w.starts == std::vector<uint32_t>{100, 200});
  }
  SECTION("an unreadable block is reported and skipped") {
    auto t = good_tree();
    auto bad = encode(2, t[2]);
    bad[100] ^= std::byte{1};  // CRC mismatch
    t.erase(2);
    Walk w(t, 1, 2, {{2, bad}});
    CHECK(w.has_fault(2, "verifier failed"));
    CHECK(w.starts == std::vector<uint32_t>{100, 200});
    CHECK(w.faults.size() == 1);
  }
  SECTION("wrong owner fails the read") {
    auto t = good_tree();
    t[3].owner = kAgno + 1;
    Walk w(t);
    CHECK(w.has_fault(3, "verifier failed"));
  }
}
