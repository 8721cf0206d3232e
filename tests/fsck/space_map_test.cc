// SpaceMap claims: overlaps reported once with both owners, gaps claimed,
// coverage gaps reported, and the RocksDB store (--scratch) giving exactly
// the memory store's verdicts on the same random claims; the inode table the
// same, also through a row cache much smaller than the table, from threads.
#include <catch2/catch.hpp>

#include <filesystem>
#include <random>
#include <thread>

#include "tools/fsck/context.h"
#include "tools/fsck/scratch.h"

using namespace xfsfuse;
using namespace xfsfuse::fsck;

namespace {

fs::Superblock small_sb() {
  fs::Superblock sb;
  sb.blocksize = 4096;
  sb.blocklog = 12;
  sb.agblocks = 1000;
  sb.agblklog = 10;
  sb.agcount = 2;
  sb.dblocks = 1900;  // the last AG has 900 blocks
  return sb;
}

std::vector<std::string> lines(const Reporter& r) {
  std::vector<std::string> out;
  for (const Problem& p : r.problems()) out.push_back(format_problem(p));
  return out;
}

// A Scratch over mem bytes in a fresh directory under the temp directory;
// both go when it does.  Declare the tables after it: they go first.
struct TempScratch {
  TempScratch(const char* name, size_t mem) : dir(std::filesystem::temp_directory_path() / name) {
    std::filesystem::create_directories(dir);
    std::string err;
    REQUIRE(Scratch::open(dir.string(), mem, &scratch, &err) == 0);
  }
  ~TempScratch() {
    scratch.reset();
    std::filesystem::remove_all(dir);
  }
  std::filesystem::path dir;
  std::unique_ptr<Scratch> scratch;
};

}  // namespace

TEST_CASE("fsck space map: overlaps, gaps and coverage", "[fsck]") {
  const fs::Superblock sb = small_sb();
  Reporter rep(false, stdout);
  auto sm = make_memory_space_map(sb, &rep);
  sm->claim(0, 0, 1, Owner::kAgHeaders, 0);
  sm->claim(0, 10, 10, Owner::kData, 131);
  sm->claim(0, 20, 5, Owner::kData, 131);  // adjacent, same owner: merges
  sm->claim(0, 15, 20, Owner::kFree, 0);   // overlaps 15..24, claims 25..34
  REQUIRE(rep.count() == 1);
  CHECK(format_problem(rep.problems()[0]) ==
        "bnobt agno 0 daddr 0x78: free claims agbno 15..24, already data of inode 131");
  sm->claim(1, 899, 2, Owner::kLog, 0);  // past the short last AG
  REQUIRE(rep.count() == 2);
  CHECK(rep.problems()[1].what.find("lies outside the filesystem") != std::string::npos);
  sm->claim(1, 0, 900, Owner::kFree, 0);
  sm->check_coverage();
  const std::vector<std::string> got = lines(rep);
  REQUIRE(got.size() == 4);
  CHECK(got[2] == "space agno 0 daddr 0x8: agbno 1..9 (9 blocks) is neither free nor in use");
  CHECK(got[3] == "space agno 0 daddr 0x118: agbno 35..999 (965 blocks) is neither free nor in use");
  CHECK(sm->claimed(Owner::kData) == 15);
  CHECK(sm->claimed(Owner::kFree) == 920);
}

TEST_CASE("fsck space map: RocksDB scratch store gives the memory store's verdicts", "[fsck]") {
  const fs::Superblock sb = small_sb();
  TempScratch ts("xfsfuse-space-map-test", 8u << 20);
  Reporter rm(false, stdout), rs(false, stdout);
  auto mem = make_memory_space_map(sb, &rm);
  auto rocks = ts.scratch->space_map(sb, &rs);
  std::mt19937 rng(42);
  const Owner owners[] = {Owner::kFree, Owner::kData, Owner::kBmbt, Owner::kInodes};
  for (int i = 0; i < 3000; i++) {
    const uint32_t agno = rng() % 2, agbno = rng() % 1000, len = 1 + rng() % 8;
    const Owner o = owners[rng() % 4];
    const uint64_t ino = o == Owner::kData || o == Owner::kBmbt ? 128 + rng() % 3 : 0;
    mem->claim(agno, agbno, len, o, ino);
    rocks->claim(agno, agbno, len, o, ino);
  }
  mem->check_coverage();
  rocks->check_coverage();
  CHECK(rm.count() > 100);
  CHECK(lines(rm) == lines(rs));
  rocks.reset();
  ts.scratch.reset();
  CHECK(std::filesystem::is_empty(ts.dir));  // the Scratch removed its database
}

TEST_CASE("fsck inode table: RocksDB scratch table behaves as the memory one", "[fsck]") {
  TempScratch ts("xfsfuse-inode-table-test", 8u << 20);
  auto mem = make_memory_inode_table();
  auto rocks = ts.scratch->inode_table();
  for (InodeTable* t : {mem.get(), rocks.get()}) {
    for (uint64_t ino = 128; ino < 128 + 640; ino++) REQUIRE(t->add(ino, ino % 3 == 0));
    CHECK_FALSE(t->add(200, false));
    t->update(130, [](InodeRec& r) {
      r.in_use = true;
      r.mode = 040755;
      r.nlink = 7;
      r.links_seen = 5;
      r.subdirs = 3;
      r.parent = 128;
      r.reachable = true;
    });
    t->update(9999, [](InodeRec& r) { r.nlink = 1; });  // absent: no-op
    CHECK(t->size() == 640);
    CHECK_FALSE(t->get(9999));
    const InodeRec r = *t->get(130);
    CHECK((r.in_use && r.mode == 040755 && r.nlink == 7 && r.links_seen == 5 && r.subdirs == 3 && r.parent == 128 &&
           r.reachable && !r.bad && !r.inobt_free));
    uint64_t n = 0, last = 0, freed = 0;
    t->for_each([&](uint64_t ino, const InodeRec& rec) {
      CHECK(ino > last);
      last = ino;
      n++;
      freed += rec.inobt_free;
    });
    CHECK(n == 640);
    CHECK(freed == 213);
  }
}

TEST_CASE("fsck inode table: RocksDB rows through a cache of a few rows, from four threads", "[fsck][threads]") {
  // 1 MiB of scratch memory caches ~150 rows of 64 inodes; 2,000 rows are
  // touched, so rows are written back and read again all the time.
  TempScratch ts("xfsfuse-inode-rows-test", 1u << 20);
  auto mem = make_memory_inode_table();
  auto rocks = ts.scratch->inode_table();
  std::mt19937_64 rng(42);
  std::vector<uint64_t> inos;
  for (uint64_t row = 0; row < 2000; row++)
    for (uint64_t i = 0; i < 64; i++)
      if (rng() % 4 == 0) inos.push_back(row * 64 + i);
  std::shuffle(inos.begin(), inos.end(), rng);
  if (inos.size() % 7919 == 0) inos.pop_back();  // i * 7919 below must visit every index once
  for (InodeTable* t : {mem.get(), rocks.get()}) {
    for (uint64_t ino : inos) REQUIRE(t->add(ino, ino % 5 == 0));
    // A duplicate is still seen after its row has been evicted and read back.
    for (size_t i = 0; i < inos.size(); i += 97) CHECK_FALSE(t->add(inos[i], false));
    // Four threads: each counts links on every inode, and sets fields only
    // its own quarter of the inodes owns.
    std::vector<std::thread> threads;
    for (int th = 0; th < 4; th++)
      threads.emplace_back([t, th, &inos] {
        for (size_t i = 0; i < inos.size(); i++) {
          t->update(inos[(i * 7919 + static_cast<size_t>(th) * 1000) % inos.size()], [](InodeRec& r) { r.links_seen++; });
          if (i % 4 == static_cast<size_t>(th))
            t->update(inos[i], [&](InodeRec& r) {
              r.in_use = true;
              r.mode = static_cast<uint16_t>(0100000 | (inos[i] & 0777));
              r.nlink = static_cast<uint32_t>(inos[i] % 13);
              r.parent = inos[i] * 3;
              r.holder = inos[i] * 5;
              r.reachable = inos[i] % 2;
            });
        }
      });
    for (std::thread& th : threads) th.join();
    CHECK(t->size() == inos.size());
    CHECK_FALSE(t->get(2000 * 64 + 5));
  }
  std::vector<std::pair<uint64_t, InodeRec>> want, got;
  mem->for_each([&](uint64_t ino, const InodeRec& r) { want.emplace_back(ino, r); });
  rocks->for_each([&](uint64_t ino, const InodeRec& r) { got.emplace_back(ino, r); });
  REQUIRE(got.size() == want.size());
  size_t differ = 0;
  for (size_t i = 0; i < want.size(); i++) {
    const InodeRec &a = want[i].second, &b = got[i].second;
    differ += want[i].first != got[i].first || a.inobt_free != b.inobt_free || a.in_use != b.in_use ||
              a.mode != b.mode || a.nlink != b.nlink || a.links_seen != b.links_seen || a.parent != b.parent || a.holder != b.holder ||
              a.reachable != b.reachable || a.links_seen != 4;
  }
  CHECK(differ == 0);
  // get() agrees after for_each wrote every row back.
  for (size_t i = 0; i < inos.size(); i += 31) {
    const std::optional<InodeRec> a = mem->get(inos[i]), b = rocks->get(inos[i]);
    REQUIRE((a && b));
    CHECK((a->links_seen == b->links_seen && a->mode == b->mode && a->parent == b->parent));
  }
  CHECK(ts.scratch->error().empty());
}
