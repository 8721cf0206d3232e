// The extent allocator against a block-ownership model: after random
// allocations and frees (each its own transaction), every block of every AG
// is owned exactly once — by a bnobt record, the AGFL, a bnobt / cntbt block,
// an extent the test holds, or what was in use before — the bnobt and cntbt
// hold the same records, merged, and the AGF's counters agree; at the end,
// with everything freed, xfs_repair -n passes.
#include <atomic>
#include <catch2/catch.hpp>
#include <cerrno>
#include <map>
#include <random>
#include <thread>

#include "btree/sbtree.h"
#include "fs/alloc/alloc.h"
#include "fs/format/ag.h"
#include "fs/format/records.h"
#include "fs/mount.h"
#include "tests/fs/dir_test_util.h"

namespace xfsfuse::fs::test {
namespace {

struct AgView {
  std::vector<AllocRec> bno, cnt;  // records in key order
  std::vector<uint32_t> tree_blocks, agfl;
  AgfInfo agf;
};

AgView read_ag(Mount& m, uint32_t agno) {
  AgView v;
  REQUIRE(m.ag_headers().read_agf(m.cache(), agno, &v.agf) == 0);
  const Superblock& sb = m.sb();
  for (auto kind : {btree::SbtreeKind::kBnobt, btree::SbtreeKind::kCntbt}) {
    const bool cnt = kind == btree::SbtreeKind::kCntbt;
    btree::SbtreeWalk w;
    w.kind = kind;
    w.blocksize = sb.blocksize;
    w.ag_daddr = ag_header_daddr(sb, agno, 0);
    w.ag_length = ag_length(sb, agno);
    w.root = v.agf.roots[cnt ? 1 : 0];
    w.levels = v.agf.levels[cnt ? 1 : 0];
    w.read = [&](uint32_t agbno, bc::BufHandle* out, std::string*) {
      const bc::DiskRange map{fsblock_to_daddr(sb, (uint64_t{agno} << sb.agblklog) | agbno), sb.blocksize >> 9};
      return m.cache().get({&map, 1}, &btree::sbtree_ops(kind), agno, bc::kGetShared, out);
    };
    w.record = [&](std::span<const std::byte> rec, uint64_t) {
      (cnt ? v.cnt : v.bno).push_back(decode_alloc_rec(rec.data()));
    };
    w.block = [&](uint32_t agbno, unsigned) { v.tree_blocks.push_back(agbno); };
    w.fault = [&](const btree::SbtreeFault& f) { FAIL("AG " << agno << " " << f.why << " at agbno " << f.agbno); };
    btree::sbtree_walk(w);
  }
  const bc::DiskRange map{ag_header_daddr(sb, agno, 3), static_cast<uint32_t>(sb.sectsize >> 9)};
  bc::BufHandle h;
  REQUIRE(m.cache().get({&map, 1}, &m.buf_ops().agfl(), bc::kAnyOwner, bc::kGetShared, &h) == 0);
  const uint32_t size = agfl_size(sb);
  for (uint32_t i = 0, slot = v.agf.flfirst; i < v.agf.flcount; i++, slot = (slot + 1) % size)
    v.agfl.push_back(static_cast<uint32_t>(bc::load_be(h.data() + kAgflHeaderSize + 4 * slot, 4)));
  return v;
}

// Marks [bno, bno + len) owned in map; every block must be owned once.
void own(std::vector<uint8_t>& map, uint32_t bno, uint32_t len, const char* by) {
  for (uint32_t b = bno; b < bno + len; b++) {
    INFO(by << " agbno " << b);
    REQUIRE(b < map.size());
    REQUIRE(map[b] == 0);
    map[b] = 1;
  }
}

}  // namespace

TEST_CASE("alloc: random allocations and frees keep every block owned once, bnobt = cntbt", "[alloc][1thread]") {
  if (!have_xfsprogs()) return;
  // 1 KiB blocks make deep trees: 121 records to a leaf.
  const std::string blocksize = GENERATE(as<std::string>{}, "4096", "1024");
  INFO("block size " << blocksize);
  MkfsImage img("-d agcount=2 -b size=" + blocksize);
  auto m = open_rw(img.path);
  const Superblock& sb = m->sb();
  uint32_t max_levels = 0;
  // What was in use at the start: the AG's blocks that neither the free
  // space, the AGFL nor the free-space btrees own.
  std::vector<std::vector<uint8_t>> in_use(sb.agcount);
  for (uint32_t agno = 0; agno < sb.agcount; agno++) {
    const AgView v = read_ag(*m, agno);
    std::vector<uint8_t> map(ag_length(sb, agno), 0);
    for (auto& r : v.bno) own(map, r.startblock, r.blockcount, "free extent");
    for (uint32_t b : v.agfl) own(map, b, 1, "AGFL");
    for (uint32_t b : v.tree_blocks) own(map, b, 1, "btree block");
    in_use[agno].resize(map.size());
    for (size_t b = 0; b < map.size(); b++) in_use[agno][b] = !map[b];
  }
  std::map<std::pair<uint32_t, uint32_t>, uint32_t> held;  // (agno, agbno) -> len
  std::mt19937 rng(20261204);
  auto check = [&] {
    for (uint32_t agno = 0; agno < sb.agcount; agno++) {
      INFO("AG " << agno);
      const AgView v = read_ag(*m, agno);
      std::vector<uint8_t> map(in_use[agno].begin(), in_use[agno].end());
      uint64_t free = 0, longest = 0;
      for (size_t i = 0; i < v.bno.size(); i++) {
        own(map, v.bno[i].startblock, v.bno[i].blockcount, "free extent");
        free += v.bno[i].blockcount;
        longest = std::max<uint64_t>(longest, v.bno[i].blockcount);
        if (i) REQUIRE(v.bno[i - 1].startblock + v.bno[i - 1].blockcount < v.bno[i].startblock);  // merged
      }
      for (uint32_t b : v.agfl) own(map, b, 1, "AGFL");
      for (uint32_t b : v.tree_blocks) own(map, b, 1, "btree block");
      for (auto& [k, len] : held)
        if (k.first == agno) own(map, k.second, len, "held extent");
      REQUIRE(std::count(map.begin(), map.end(), 0) == 0);
      std::vector<AllocRec> bno = v.bno, cnt = v.cnt;
      std::sort(cnt.begin(), cnt.end(), [](auto& a, auto& b) { return a.startblock < b.startblock; });
      REQUIRE(bno == cnt);
      CHECK(v.agf.freeblks == free);
      CHECK(v.agf.longest == longest);
      CHECK(v.agf.btreeblks == v.tree_blocks.size() - 2);  // roots are not counted
      max_levels = std::max({max_levels, v.agf.levels[0], v.agf.levels[1]});
      const PerAg& pag = m->perag().at(agno);
      if (pag.agf_ready()) {  // read at the first allocation in the AG, then kept in step
        CHECK(pag.freeblks == v.agf.freeblks);
        CHECK(pag.flcount == v.agf.flcount);
      }
    }
  };
  // Every other block of a stretch of AG 0 taken one by one: as many free
  // extents (12,000 make a third level with 1 KiB blocks).
  const uint32_t holes = blocksize == "1024" ? 12000 : 1500;
  for (uint32_t i = 0; i < holes; i++) {
    std::unique_ptr<Transaction> tp;
    REQUIRE(Transaction::begin(*m, &tp) == 0);
    REQUIRE(tp->reserve_blocks(1) == 0);
    uint32_t bno, len;
    REQUIRE(alloc_extent(*tp, {0, 1000 + 2 * i, 1, 1}, &bno, &len) == 0);
    REQUIRE(bno == 1000 + 2 * i);  // exactly at the target
    held[{0, bno}] = len;
    REQUIRE(tp->commit() == 0);
  }
  check();
  const int kOps = 60000;  // per block size
  for (int op = 0; op < kOps; op++) {
    std::unique_ptr<Transaction> tp;
    REQUIRE(Transaction::begin(*m, &tp) == 0);
    const bool alloc = held.empty() || rng() % 100 < (op < kOps / 2 ? 65 : 35);
    if (alloc) {
      AllocRequest r;
      r.agno = rng() % sb.agcount;
      r.target = rng() % ag_length(sb, r.agno);
      r.minlen = 1 + rng() % 4;
      r.maxlen = rng() % 2 ? r.minlen : r.minlen + rng() % 64;  // many small extents fragment the AG
      REQUIRE(tp->reserve_blocks(r.maxlen) == 0);
      uint32_t bno = 0, len = 0;
      const int e = alloc_extent(*tp, r, &bno, &len);
      INFO("op " << op << " AG " << r.agno << " target " << r.target << " len " << r.minlen << ".." << r.maxlen);
      INFO("error " << e);
      REQUIRE((e == 0 || e == ENOSPC));
      if (e == 0) {
        REQUIRE(len >= r.minlen);
        REQUIRE(len <= r.maxlen);
        held[{r.agno, bno}] = len;
      }
    } else {
      auto it = std::next(held.begin(), rng() % held.size());
      auto [key, len] = *it;
      held.erase(it);
      // Free all of it, or its head and keep the rest.
      const uint32_t part = rng() % 4 == 0 && len > 1 ? 1 + rng() % (len - 1) : len;
      REQUIRE(free_extent(*tp, key.first, key.second, part) == 0);
      if (part < len) held[{key.first, key.second + part}] = len - part;
    }
    REQUIRE(tp->commit() == 0);
    if (op % 1000 == 999) check();
  }
  check();
  CHECK(max_levels >= (blocksize == "1024" ? 3u : 2u));
  for (auto& [k, len] : held) {
    std::unique_ptr<Transaction> tp;
    REQUIRE(Transaction::begin(*m, &tp) == 0);
    REQUIRE(free_extent(*tp, k.first, k.second, len) == 0);
    REQUIRE(tp->commit() == 0);
  }
  held.clear();
  check();
  unmount_and_repair_check(m, img.path);
}

TEST_CASE("alloc: freeing free space is EUCLEAN and writes nothing", "[alloc]") {
  if (!have_xfsprogs()) return;
  MkfsImage img;
  auto m = open_rw(img.path);
  const AgView v = read_ag(*m, 0);
  REQUIRE(!v.bno.empty());
  std::unique_ptr<Transaction> tp;
  REQUIRE(Transaction::begin(*m, &tp) == 0);
  CHECK(free_extent(*tp, 0, v.bno.back().startblock + 1, 2) == EUCLEAN);
  tp->cancel();
  unmount_and_repair_check(m, img.path);
}

TEST_CASE("alloc: threads allocating and freeing at once, in one AG and in several", "[alloc]") {
  if (!have_xfsprogs()) return;
  MkfsImage img("-d agcount=4");
  auto m = open_rw(img.path);
  const uint32_t agcount = m->sb().agcount;
  // Catch2's assertions are for the main thread: workers count failures.
  std::atomic<int> failures{0};
  auto ok = [&](bool c) {
    if (!c) failures++;
    return c;
  };
  auto worker = [&](unsigned seed, bool one_ag) {
    std::mt19937 rng(seed);
    std::vector<std::pair<uint32_t, std::pair<uint32_t, uint32_t>>> mine;  // agno, (agbno, len)
    for (int op = 0; op < 1500; op++) {
      std::unique_ptr<Transaction> tp;
      if (!ok(Transaction::begin(*m, &tp) == 0)) return;
      if (mine.empty() || rng() % 100 < 60) {
        AllocRequest r;
        r.agno = one_ag ? 1 : rng() % agcount;
        r.target = rng() % 1000;
        r.maxlen = 1 + rng() % 16;
        uint32_t bno, len;
        if (!ok(tp->reserve_blocks(r.maxlen) == 0 && alloc_extent(*tp, r, &bno, &len) == 0)) return;
        mine.push_back({r.agno, {bno, len}});
      } else {
        const size_t i = rng() % mine.size();
        if (!ok(free_extent(*tp, mine[i].first, mine[i].second.first, mine[i].second.second) == 0)) return;
        mine.erase(mine.begin() + static_cast<ptrdiff_t>(i));
      }
      if (!ok(tp->commit() == 0)) return;
    }
    for (auto& [agno, ext] : mine) {
      std::unique_ptr<Transaction> tp;
      if (!ok(Transaction::begin(*m, &tp) == 0 && free_extent(*tp, agno, ext.first, ext.second) == 0 &&
              tp->commit() == 0))
        return;
    }
  };
  for (bool one_ag : {true, false}) {
    std::vector<std::thread> threads;
    for (unsigned t = 0; t < 4; t++) threads.emplace_back(worker, 100 + t, one_ag);
    for (auto& t : threads) t.join();
    REQUIRE(failures == 0);
  }
  unmount_and_repair_check(m, img.path);
}

}  // namespace xfsfuse::fs::test
