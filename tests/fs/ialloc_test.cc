// Inode allocation against a model: after random allocations and frees (each
// its own transaction) the inobt holds exactly the chunks with their free
// masks, the finobt exactly those with free inodes, the AGI's counts are their
// sums, every allocated number is one the model holds, new chunks are aligned
// and hold valid free inodes; with everything freed again, xfs_repair -n
// passes.
#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <cerrno>
#include <random>
#include <set>
#include <thread>

#include "fs/alloc/alloc.h"
#include "fs/alloc/ialloc.h"
#include "fs/format/geometry.h"
#include "fs/format/records.h"
#include "fs/mount.h"
#include "tests/fs/dir_test_util.h"
#include "tests/fs/ialloc_test_util.h"

namespace xfsfuse::fs::test {

TEST_CASE("ialloc: random allocations and frees agree with a model of allocated inodes", "[ialloc][1thread]") {
  if (!have_xfsprogs()) return;
  // 1 KiB blocks: 60 records to an inobt leaf, so the trees split and join.
  const std::string blocksize = GENERATE(as<std::string>{}, "4096", "1024");
  INFO("block size " << blocksize);
  MkfsImage img("-d agcount=2 -b size=" + blocksize);
  auto m = open_rw(img.path);
  const Superblock& sb = m->sb();
  std::set<uint64_t> initial, held;  // in use before; allocated by the test
  uint32_t max_level = 0;
  for (uint32_t agno = 0; agno < sb.agcount; agno++) {
    AgiInfo agi;
    REQUIRE(m->ag_headers().read_agi(m->cache(), agno, &agi) == 0);
    for (const InobtRec& r : walk_inode_tree(*m, agno, false, agi))
      for (unsigned i = 0; i < kInodesPerChunk; i++)
        if (!(r.free >> i & 1)) initial.insert(agino_to_ino(sb, agno, r.startino + i));
  }
  auto check = [&] {
    for (uint32_t agno = 0; agno < sb.agcount; agno++) {
      INFO("AG " << agno);
      AgiInfo agi;
      REQUIRE(m->ag_headers().read_agi(m->cache(), agno, &agi) == 0);
      const auto ino = walk_inode_tree(*m, agno, false, agi), fino = walk_inode_tree(*m, agno, true, agi);
      uint64_t count = 0, freecount = 0;
      std::vector<InobtRec> with_free;
      for (const InobtRec& r : ino) {
        REQUIRE(agino_to_agbno(sb, r.startino) % std::max<uint32_t>(1, sb.inoalignmt) == 0);
        REQUIRE(r.freecount == static_cast<uint32_t>(std::popcount(r.free)));
        count += r.count;
        freecount += r.freecount;
        if (r.freecount) with_free.push_back(r);
        for (unsigned i = 0; i < kInodesPerChunk; i++) {
          const uint64_t n = agino_to_ino(sb, agno, r.startino + i);
          const bool used = initial.count(n) || held.count(n);
          INFO("inode " << n);
          REQUIRE(!(r.free >> i & 1) == used);
        }
      }
      CHECK(fino == with_free);
      max_level = std::max({max_level, agi.level, agi.free_level});
      CHECK(agi.count == count);
      CHECK(agi.freecount == freecount);
    }
    for (uint64_t n : initial) REQUIRE(ino_in_fs(sb, n));
  };
  std::mt19937 rng(4242);
  // 100,000 operations in phases of 15,000 that grow (70% allocations) and
  // shrink (40%) the set of allocated inodes in turn.
  for (int op = 0; op < 100000; op++) {
    std::unique_ptr<Transaction> tp;
    REQUIRE(Transaction::begin(*m, &tp) == 0);
    if (held.empty() || rng() % 100 < ((op / 15000) % 2 == 0 ? 70 : 40)) {
      REQUIRE(tp->reserve_blocks(ialloc_reservation(sb)) == 0);
      // 1 KiB blocks: all near the root, for the 60+ chunks of one AG that split its trees.
      const uint64_t parent = blocksize == "1024" || rng() % 2 ? sb.rootino : agino_to_ino(sb, 1, 0);
      uint64_t ino = 0;
      REQUIRE(ialloc(*tp, parent, &ino) == 0);
      REQUIRE(!initial.count(ino));
      REQUIRE(held.insert(ino).second);
    } else {
      auto it = std::next(held.begin(), rng() % held.size());
      REQUIRE(tp->reserve_blocks(ifree_reservation(sb)) == 0);
      REQUIRE(ifree(*tp, *it) == 0);
      held.erase(it);
    }
    REQUIRE(tp->commit() == 0);
    if (op % 500 == 499) check();
  }
  check();
  REQUIRE(held.size() > 100);
  CHECK(max_level >= (blocksize == "1024" ? 2u : 1u));
  // A new inode is a valid free inode on disk until its owner writes it.
  InodeRef ip;
  CHECK(m->iget(*held.rbegin(), &ip) == ENOENT);
  // Freeing what is free is refused and changes nothing.
  {
    std::unique_ptr<Transaction> tp;
    REQUIRE(Transaction::begin(*m, &tp) == 0);
    REQUIRE(tp->reserve_blocks(ifree_reservation(sb)) == 0);
    const uint64_t n = *held.begin();
    REQUIRE(ifree(*tp, n) == 0);
    CHECK(ifree(*tp, n) == EUCLEAN);
    tp->cancel();
  }
  for (uint64_t n : held) {
    std::unique_ptr<Transaction> tp;
    REQUIRE(Transaction::begin(*m, &tp) == 0);
    REQUIRE(tp->reserve_blocks(ifree_reservation(sb)) == 0);
    REQUIRE(ifree(*tp, n) == 0);
    REQUIRE(tp->commit() == 0);
  }
  held.clear();
  check();
  unmount_and_repair_check(m, img.path);
}

TEST_CASE("ialloc: threads allocating inodes and extents at once keep the AG consistent", "[ialloc]") {
  if (!have_xfsprogs()) return;
  MkfsImage img("-d agcount=2");
  auto m = open_rw(img.path);
  const Superblock& sb = m->sb();
  std::atomic<int> failures{0};
  auto ok = [&](bool c) {
    if (!c) failures++;
    return c;
  };
  // Inode work takes the AGI and then the AGF; extent work the AGF alone.
  auto worker = [&](unsigned seed) {
    std::mt19937 rng(seed);
    std::vector<uint64_t> inodes;
    std::vector<std::pair<uint32_t, uint32_t>> extents;  // agbno, len in AG 0
    for (int op = 0; op < 800; op++) {
      std::unique_ptr<Transaction> tp;
      if (!ok(Transaction::begin(*m, &tp) == 0)) return;
      const unsigned what = rng() % 4;
      if (what == 0 || (what == 1 && inodes.empty())) {
        uint64_t ino;
        if (!ok(tp->reserve_blocks(ialloc_reservation(sb)) == 0 && ialloc(*tp, sb.rootino, &ino) == 0)) return;
        inodes.push_back(ino);
      } else if (what == 1) {
        if (!ok(tp->reserve_blocks(ifree_reservation(sb)) == 0 && ifree(*tp, inodes.back()) == 0)) return;
        inodes.pop_back();
      } else if (what == 2 || extents.empty()) {
        uint32_t bno, len;
        if (!ok(tp->reserve_blocks(8) == 0 && alloc_extent(*tp, {0, static_cast<uint32_t>(rng() % 4000), 1, 8, 1}, &bno, &len) == 0)) return;
        extents.push_back({bno, len});
      } else {
        if (!ok(free_extent(*tp, 0, extents.back().first, extents.back().second) == 0)) return;
        extents.pop_back();
      }
      if (!ok(tp->commit() == 0)) return;
    }
    for (uint64_t ino : inodes) {
      std::unique_ptr<Transaction> tp;
      ok(Transaction::begin(*m, &tp) == 0 && tp->reserve_blocks(ifree_reservation(sb)) == 0 && ifree(*tp, ino) == 0 &&
         tp->commit() == 0);
    }
    for (auto [bno, len] : extents) {
      std::unique_ptr<Transaction> tp;
      ok(Transaction::begin(*m, &tp) == 0 && free_extent(*tp, 0, bno, len) == 0 && tp->commit() == 0);
    }
  };
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < 4; t++) threads.emplace_back(worker, 7 + t);
  for (auto& t : threads) t.join();
  REQUIRE(failures == 0);
  unmount_and_repair_check(m, img.path);
}

}  // namespace xfsfuse::fs::test
