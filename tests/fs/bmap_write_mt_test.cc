// The bmap write side under threads: four files, one thread each, random
// transactions of one to three bmap calls (writes, conversions, unmaps), with
// AGs 0 and 1 nearly full, so allocations spill from AG to AG and frees land
// in AGs below ones a transaction holds.  No deadlock (the test ends);
// every committed map is its thread's model; an EAGAIN (a freed block's AG
// busy below the transaction's highest AGF) is cancelled and leaves the file
// as it was; the AGs' free space plus the files' di_nblocks is what it was;
// xfs_repair -n is clean.
#include <atomic>
#include <catch2/catch.hpp>
#include <cerrno>
#include <mutex>
#include <random>
#include <thread>

#include "fs/alloc/alloc.h"
#include "fs/bmap_write.h"
#include "fs/mount.h"
#include "fs/trans/trans.h"
#include "tests/fs/bmap_test_util.h"

namespace xfsfuse::fs::test {
namespace {

constexpr size_t kBlocks = 8000;  // each file's range

// One random bmap call on ip in tp, applied to md when it succeeds.
int random_call(Transaction& tp, CachedInode* ip, Model* md, std::mt19937& rng) {
  const Superblock& sb = tp.mount().sb();
  const unsigned what = rng() % 10;
  const uint64_t off = rng() % kBlocks;
  if (what < 6) {
    const uint64_t len = std::min<uint64_t>(1 + rng() % 16, kBlocks - off);
    const bool unwritten = rng() % 3 == 0;
    if (int e = tp.reserve_blocks(bmap_write_reservation(sb, len))) return e;
    std::vector<Extent> out;
    if (int e = bmap_write(tp, ip, off, len, unwritten ? unsigned{kBmapUnwritten} : 0u, &out)) return e;
    for (const Extent& x : out)
      for (uint64_t b = 0; b < x.blockcount; b++) {
        const uint64_t o = x.startoff + b;
        if (md->fsb[o] >= 0) continue;
        if (!md->owned.insert(x.startblock + b).second) return EEXIST;  // a block handed out twice
        md->fsb[o] = static_cast<int64_t>(x.startblock + b);
        md->unwritten[o] = unwritten;
      }
    return 0;
  }
  if (what < 7) {
    const uint64_t len = std::min<uint64_t>(1 + rng() % 64, kBlocks - off);
    if (int e = tp.reserve_blocks(bmap_unmap_reservation(sb))) return e;
    if (int e = bmap_convert_written(tp, ip, off, len)) return e;
    for (uint64_t o = off; o < off + len; o++) md->unwritten[o] = false;
    return 0;
  }
  const uint64_t len = std::min<uint64_t>(1 + rng() % 48, kBlocks - off);
  const uint32_t max_extents = 1 + rng() % 4;
  for (bool more = true; more;) {
    if (int e = tp.reserve_blocks(bmap_unmap_reservation(sb))) return e;
    if (int e = bmap_unmap(tp, ip, off, len, max_extents, &more)) return e;
  }
  for (uint64_t o = off; o < off + len; o++) {
    if (md->fsb[o] >= 0) md->owned.erase(static_cast<uint64_t>(md->fsb[o]));
    md->fsb[o] = -1;
    md->unwritten[o] = false;
  }
  return 0;
}

}  // namespace

TEST_CASE("bmap_write: threads mapping their own files across small AGs keep every AG and file consistent",
          "[bmap_write]") {
  if (!have_xfsprogs()) return;
  constexpr unsigned kThreads = 4;
  FileImage fi("-b size=1024 -d agcount=4", kThreads);
  auto m = open_rw(fi.img->path);
  const Superblock& sb = m->sb();
  std::vector<InodeRef> files;
  for (unsigned t = 0; t < kThreads; t++) files.push_back(get_file(*m, t));
  // AGs 0 and 1 left with about 3,000 free blocks each (the rest held here).
  struct Held {
    uint32_t agno, agbno, len;
  };
  std::vector<Held> held;
  for (uint32_t agno : {0u, 1u}) {
    for (;;) {
      AgfInfo agf;
      REQUIRE(m->ag_headers().read_agf(m->cache(), agno, &agf) == 0);
      if (agf.freeblks <= 3000) break;
      std::unique_ptr<Transaction> tp;
      REQUIRE(Transaction::begin(*m, &tp) == 0);
      AllocRequest r;
      r.agno = agno;
      r.maxlen = agf.freeblks - 3000;
      REQUIRE(tp->reserve_blocks(r.maxlen) == 0);
      Held h{agno, 0, 0};
      REQUIRE(alloc_extent(*tp, r, &h.agbno, &h.len) == 0);
      REQUIRE(tp->commit() == 0);
      held.push_back(h);
    }
  }
  const uint64_t total = ag_space(*m);
  std::vector<Model> models(kThreads, Model(kBlocks));
  std::atomic<unsigned> eagain{0}, commits{0};
  std::mutex mu;
  std::vector<std::string> failures;  // the threads' findings, checked by the main thread
  auto fail = [&](const std::string& why) {
    std::lock_guard<std::mutex> g(mu);
    failures.push_back(why);
  };
  auto worker = [&](unsigned t) {
    std::mt19937 rng(77 + t);
    CachedInode* ip = files[t].get();
    for (int op = 0; op < 1500; op++) {
      std::unique_ptr<Transaction> tp;
      if (int e = Transaction::begin(*m, &tp)) return fail("begin: " + std::to_string(e));
      tp->join_inode(files[t]);
      Model pending = models[t];
      int err = 0;
      for (unsigned calls = 1 + rng() % 3; calls > 0 && err == 0; calls--) err = random_call(*tp, ip, &pending, rng);
      if (err == EAGAIN) {
        tp->cancel();
        eagain++;
        const std::string p = list_problem(*ip, models[t], sb);
        if (!p.empty()) return fail("file " + std::to_string(t) + " after a cancel: " + p);
        continue;
      }
      if (err) return fail("file " + std::to_string(t) + " op " + std::to_string(op) + ": errno " + std::to_string(err));
      if (int e = tp->commit()) return fail("commit: " + std::to_string(e));
      commits++;
      models[t] = std::move(pending);
      const std::string p = list_problem(*ip, models[t], sb);
      if (!p.empty()) return fail("file " + std::to_string(t) + " op " + std::to_string(op) + ": " + p);
    }
  };
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < kThreads; t++) threads.emplace_back(worker, t);
  for (auto& th : threads) th.join();
  for (const std::string& f : failures) FAIL_CHECK(f);
  REQUIRE(failures.empty());
  INFO("commits " << commits << ", EAGAIN " << eagain);
  uint64_t nblocks = 0;
  std::set<uint64_t> owned;
  uint32_t highest_agno = 0;
  for (unsigned t = 0; t < kThreads; t++) {
    nblocks += files[t]->core.nblocks;
    for (uint64_t b : models[t].owned) {
      REQUIRE(owned.insert(b).second);
      highest_agno = std::max(highest_agno, fsblock_to_agno(sb, b));
    }
  }
  CHECK(highest_agno >= 2);  // the files spilled out of AGs 0 and 1
  CHECK(ag_space(*m) + nblocks == total);
  files.clear();
  for (const Held& h : held) {
    std::unique_ptr<Transaction> tp;
    REQUIRE(Transaction::begin(*m, &tp) == 0);
    REQUIRE(free_extent(*tp, h.agno, h.agbno, h.len) == 0);
    REQUIRE(tp->commit() == 0);
  }
  unmount_and_repair_check(m, fi.img->path);
}

}  // namespace xfsfuse::fs::test
