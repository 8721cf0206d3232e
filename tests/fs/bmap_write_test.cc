// The bmap write side against a model of one file's map (file block ->
// fsblock, unwritten): random bmap_write (some unwritten),
// bmap_convert_written and bmap_unmap grow the data fork from extents format
// to a bmbt of two levels and back; after every call the in-core extent list
// is the model's, sorted, merged and counted in di_nextents, with every
// fsblock owned once; at each commit the free space of the AGs plus
// di_nblocks is constant, and the bmbt on disk holds the list with
// di_nblocks counting its blocks; after dropping the caches the inode reads
// back as the model.  Then ENOSPC in the middle of a call, cancelled, leaves
// everything as it was.  xfs_repair -n judges the images.
#include <catch2/catch.hpp>
#include <cerrno>
#include <random>

#include "btree/bmbt.h"
#include "fs/bmap_write.h"
#include "fs/mount.h"
#include "fs/trans/trans.h"
#include "tests/fs/bmap_test_util.h"

namespace xfsfuse::fs::test {
namespace {

// The data fork as `xfs_db bmap` lists it.
std::vector<Extent> xfs_db_bmap(const std::string& img) {
  std::vector<Extent> v;
  std::istringstream in(run("xfs_db -r -c 'path /f0' -c bmap " + img));
  std::string line;
  while (std::getline(in, line)) {
    unsigned long long off, blk, count;
    int flag;
    if (std::sscanf(line.c_str(), "data offset %llu startblock %llu (%*u/%*u) count %llu flag %d", &off, &blk, &count,
                    &flag) == 4)
      v.push_back(Extent{off, blk, count, flag != 0});
  }
  return v;
}

void check_list(const CachedInode& ip, const Model& md, const Superblock& sb) {
  const std::string problem = list_problem(ip, md, sb);
  INFO(problem);
  REQUIRE(problem.empty());
}

// Walks the on-disk bmbt (committed, caches coherent): its records and the
// number of its blocks.
unsigned walk_bmbt(Mount& m, const CachedInode& ip, std::vector<Extent>* recs) {
  unsigned blocks = 0;
  btree::BmbtFault fault;
  auto read = [&](uint64_t fsblock, bc::BufHandle* h) {
    blocks++;
    const bc::DiskRange map{fsblock_to_daddr(m.sb(), fsblock), m.sb().blocksize >> 9};
    return m.cache().get({&map, 1}, &btree::bmbt_ops(), ip.core.ino, bc::kGetShared, h);
  };
  auto emit = [&](const xd_bmbt_rec& r) {
    recs->push_back(decode_bmbt_rec(r));
    return 0;
  };
  INFO(fault.why);
  REQUIRE(btree::bmbt_walk(ip.df.bytes, m.sb().blocksize, read, emit, &fault) == 0);
  return blocks;
}

// After a commit: di_nblocks = mapped blocks + bmbt blocks, the bmbt holds
// the list, the AGs' free space + di_nblocks is what it was.
void check_committed(Mount& m, const CachedInode& ip, const Model& md, uint64_t total, unsigned* max_level) {
  unsigned tree_blocks = 0;
  if (ip.core.format == ForkFormat::kBtree) {
    std::vector<Extent> recs;
    tree_blocks = walk_bmbt(m, ip, &recs);
    REQUIRE(recs == ip.df.extents);
    const unsigned level = static_cast<unsigned>(bc::load_be(ip.df.bytes.data(), 2));
    *max_level = std::max(*max_level, level);
    if (level == 1) REQUIRE(ip.df.extents.size() > fork_size(ip.core, false) / 16);
  }
  INFO("bmbt blocks " << tree_blocks << ", extents " << ip.df.extents.size());
  REQUIRE(ip.core.nblocks == md.mapped() + tree_blocks);
  REQUIRE(ag_space(m) + ip.core.nblocks == total);
}

}  // namespace

TEST_CASE("bmap_write: random writes, conversions and unmaps agree with a model of the file's map", "[bmap_write][1thread]") {
  if (!have_xfsprogs()) return;
  // 1 KiB blocks: 59 records to a bmbt leaf, so two levels come at ~600
  // extents; 4 KiB blocks: 251, two levels at ~2,600.
  const unsigned blocksize = GENERATE(1024u, 4096u);
  INFO("block size " << blocksize);
  FileImage fi("-b size=" + std::to_string(blocksize) + " -d agcount=4");
  const std::string& path = fi.img->path;
  auto m = open_rw(path);
  const Superblock sb = m->sb();  // a copy: the mount is reopened below
  const size_t kBlocks = blocksize == 1024 ? 24000 : 60000;  // the file's range
  Model md(kBlocks);
  InodeRef ip = get_file(*m);
  REQUIRE(ip->core.nextents == 0);
  const uint64_t total = ag_space(*m) + ip->core.nblocks;
  unsigned max_level = 0;
  bool was_btree = false, back_to_extents = false;
  std::mt19937 rng(20261204);
  std::unique_ptr<Transaction> tp;
  auto begin = [&] {
    REQUIRE(Transaction::begin(*m, &tp) == 0);
    tp->join_inode(ip);
  };
  auto commit = [&] {
    REQUIRE(tp->commit() == 0);
    tp.reset();
    check_committed(*m, *ip, md, total, &max_level);
  };
  auto write = [&](uint64_t off, uint64_t len, bool unwritten) {
    REQUIRE(tp->reserve_blocks(bmap_write_reservation(sb, len)) == 0);
    std::vector<Extent> out;
    REQUIRE(bmap_write(*tp, ip.get(), off, len, unwritten ? unsigned{kBmapUnwritten} : 0u, &out) == 0);
    uint64_t at = off;
    for (const Extent& e : out) {
      REQUIRE(e.startoff == at);
      for (uint64_t b = 0; b < e.blockcount; b++) {
        const uint64_t o = e.startoff + b, f = e.startblock + b;
        if (md.fsb[o] < 0) {
          INFO("new block " << f << " at file block " << o);
          REQUIRE(md.owned.insert(f).second);
          md.fsb[o] = static_cast<int64_t>(f);
          md.unwritten[o] = unwritten;
        }
        REQUIRE(md.fsb[o] == static_cast<int64_t>(f));
        REQUIRE(md.unwritten[o] == e.unwritten);
      }
      at += e.blockcount;
    }
    REQUIRE(at == off + len);
  };
  auto convert = [&](uint64_t off, uint64_t len) {
    REQUIRE(tp->reserve_blocks(bmap_unmap_reservation(sb)) == 0);
    REQUIRE(bmap_convert_written(*tp, ip.get(), off, len) == 0);
    for (uint64_t o = off; o < off + len; o++) md.unwritten[o] = false;
  };
  // Unmaps [off, off + len) in calls of max_extents, committing between
  // them (each in its own transaction) or not.
  auto unmap = [&](uint64_t off, uint64_t len, uint32_t max_extents, bool commit_between) {
    for (bool more = true; more;) {
      REQUIRE(tp->reserve_blocks(bmap_unmap_reservation(sb)) == 0);
      REQUIRE(bmap_unmap(*tp, ip.get(), off, len, max_extents, &more) == 0);
      if (more && commit_between) {
        REQUIRE(tp->commit() == 0);  // the model catches up at the end
        begin();
      }
    }
    for (uint64_t o = off; o < off + len; o++) {
      if (md.fsb[o] >= 0) md.owned.erase(static_cast<uint64_t>(md.fsb[o]));
      md.fsb[o] = -1;
      md.unwritten[o] = false;
    }
  };
  begin();
  ip->core.size = kBlocks * sb.blocksize;  // the data lies inside the file's size
  tp->log_inode(ip.get(), kDirtyCore);
  int phase = 0;  // 0: grow to two levels; 1: shrink back to extents format
  int op = 0;
  for (; op < 40000 && phase < 2; op++) {
    const unsigned what = rng() % 100;
    const unsigned grow = phase == 0 ? 75 : 15;
    const uint64_t off = rng() % kBlocks;
    if (what < grow) {
      write(off, std::min<uint64_t>(1 + rng() % 4, kBlocks - off), rng() % 3 == 0);
    } else if (what < grow + 10) {
      convert(off, std::min<uint64_t>(1 + rng() % 40, kBlocks - off));
    } else {
      const uint64_t len = std::min<uint64_t>(phase == 0 ? 1 + rng() % 8 : 1 + rng() % 600, kBlocks - off);
      unmap(off, len, 1 + rng() % 4, rng() % 2 == 0);
    }
    INFO("op " << op);
    check_list(*ip, md, sb);
    was_btree |= ip->core.format == ForkFormat::kBtree;
    if (rng() % 8 == 0) {
      commit();
      if (rng() % 10 == 0) {
        // Read the inode back from the disk.
        ip.reset();
        m->drop_caches(nullptr, nullptr);
        ip = get_file(*m);
        check_list(*ip, md, sb);
      }
      begin();
    }
    if (phase == 0 && max_level >= 2) {
      // xfs_repair judges the two-level bmbt; then the same file goes on.
      commit();
      ip.reset();
      unmount_and_repair_check(m, path);
      const std::string level = run("xfs_db -r -c 'path /f0' -c 'p u3.bmbt.level' " + path);
      CHECK(level == "u3.bmbt.level = 2\n");
      m = open_rw(path);
      ip = get_file(*m);
      check_list(*ip, md, sb);
      CHECK(xfs_db_bmap(path) == ip->df.extents);
      begin();
      phase = 1;
    }
    if (phase == 1 && was_btree && ip->core.format == ForkFormat::kExtents && ip->core.nextents > 4) {
      back_to_extents = true;
      phase = 2;
    }
  }
  INFO("ops " << op << ", extents " << ip->core.nextents << " max level " << max_level);
  CHECK(max_level >= 2);
  CHECK(back_to_extents);
  commit();
  begin();
  unmap(0, kBlocks / 2, 3, true);
  check_list(*ip, md, sb);
  commit();
  ip.reset();
  m->drop_caches(nullptr, nullptr);
  ip = get_file(*m);
  check_list(*ip, md, sb);
  ip.reset();
  unmount_and_repair_check(m, path);
}

TEST_CASE("bmap_write: the kernel's format thresholds: 21 extents in a 336-byte fork, the 22nd makes a bmbt", "[bmap_write]") {
  if (!have_xfsprogs()) return;
  FileImage fi("");
  auto m = open_rw(fi.img->path);
  const Superblock& sb = m->sb();
  InodeRef ip = get_file(*m);
  REQUIRE(fork_size(ip->core, false) == 336);
  auto run_op = [&](auto fn) {
    std::unique_ptr<Transaction> tp;
    REQUIRE(Transaction::begin(*m, &tp) == 0);
    tp->join_inode(ip);
    REQUIRE(tp->reserve_blocks(bmap_write_reservation(sb, 43)) == 0);
    fn(*tp);
    REQUIRE(tp->commit() == 0);
  };
  std::vector<Extent> out;
  for (uint64_t i = 0; i < 21; i++) run_op([&](Transaction& t) { REQUIRE(bmap_write(t, ip.get(), 2 * i, 1, 0, &out) == 0); });
  CHECK(ip->core.format == ForkFormat::kExtents);
  CHECK(ip->core.nblocks == 21);
  run_op([&](Transaction& t) { REQUIRE(bmap_write(t, ip.get(), 42, 1, 0, &out) == 0); });
  CHECK(ip->core.format == ForkFormat::kBtree);
  CHECK(ip->core.nextents == 22);
  CHECK(ip->core.nblocks == 23);  // the leaf counts
  bool more = false;
  run_op([&](Transaction& t) { REQUIRE(bmap_unmap(t, ip.get(), 0, 1, 1, &more) == 0); });
  CHECK(ip->core.format == ForkFormat::kExtents);  // the leaf is freed
  CHECK(ip->core.nextents == 21);
  CHECK(ip->core.nblocks == 21);
  // One extent of 43 blocks, then every other block unmapped: 22 extents
  // one block apart on the disk as in the file.
  run_op([&](Transaction& t) { REQUIRE(bmap_unmap(t, ip.get(), 0, 43, 100, &more) == 0); });
  CHECK(ip->core.nblocks == 0);
  run_op([&](Transaction& t) { REQUIRE(bmap_write(t, ip.get(), 0, 43, 0, &out) == 0); });
  REQUIRE(ip->core.nextents == 1);
  for (uint64_t i = 1; i < 43; i += 2) {
    run_op([&](Transaction& t) { REQUIRE(bmap_unmap(t, ip.get(), i, 1, 1, &more) == 0); });
    CHECK(ip->core.format == (i < 41 ? ForkFormat::kExtents : ForkFormat::kBtree));
  }
  CHECK(ip->core.nextents == 22);
  run_op([&](Transaction& t) { REQUIRE(bmap_unmap(t, ip.get(), 42, 1, 1, &more) == 0); });
  CHECK(ip->core.format == ForkFormat::kExtents);
  // Each hole is allocated right after its predecessor's blocks, shifted by
  // the gap: filling them merges everything into one extent again.
  run_op([&](Transaction& t) { REQUIRE(bmap_write(t, ip.get(), 0, 43, 0, &out) == 0); });
  CHECK(ip->core.nextents == 1);
  CHECK(out.size() == 1);
  ip.reset();
  REQUIRE(m->unmount_clean() == 0);
  m.reset();
  const auto f = fi.img->xfs_db("-c 'path /f0' -c 'p core.format core.nextents core.nblocks'");
  CHECK(f.at("core.format") == "2 (extents)");
  CHECK(f.at("core.nextents") == "1");
  CHECK(f.at("core.nblocks") == "43");
  CHECK(system(("xfs_repair -n " + fi.img->path + " >/dev/null 2>&1").c_str()) == 0);
}

TEST_CASE("bmap_write: ENOSPC in the middle of a call, cancelled, changes nothing", "[bmap_write]") {
  if (!have_xfsprogs()) return;
  FileImage fi("-b size=1024 -d agcount=2");
  auto m = open_rw(fi.img->path);
  const Superblock& sb = m->sb();
  InodeRef ip = get_file(*m);
  // A bmbt fork first: 200 separate extents.
  {
    std::unique_ptr<Transaction> tp;
    REQUIRE(Transaction::begin(*m, &tp) == 0);
    tp->join_inode(ip);
    std::vector<Extent> out;
    for (uint64_t i = 0; i < 200; i++) {
      REQUIRE(tp->reserve_blocks(bmap_write_reservation(sb, 1)) == 0);
      REQUIRE(bmap_write(*tp, ip.get(), 3 * i, 1, i % 2 ? unsigned{kBmapUnwritten} : 0u, &out) == 0);
    }
    REQUIRE(tp->commit() == 0);
  }
  REQUIRE(ip->core.format == ForkFormat::kBtree);
  const Inode core = ip->core;
  const std::vector<Extent> ext = ip->df.extents;
  const std::vector<std::byte> root = ip->df.bytes;
  const uint64_t space = ag_space(*m);
  auto unchanged = [&] {
    CHECK(ip->core.nblocks == core.nblocks);
    CHECK(ip->core.nextents == core.nextents);
    CHECK(ip->df.extents == ext);
    CHECK(ip->df.bytes == root);
    CHECK(ag_space(*m) == space);
  };
  SECTION("the reservation runs out half-way through the holes") {
    std::unique_ptr<Transaction> tp;
    REQUIRE(Transaction::begin(*m, &tp) == 0);
    tp->join_inode(ip);
    REQUIRE(tp->reserve_blocks(150) == 0);
    std::vector<Extent> out;
    CHECK(bmap_write(*tp, ip.get(), 1, 598, kBmapUnwritten, &out) == ENOSPC);
    CHECK(tp->reserved() < 150);  // blocks were taken before it ran out
    tp->cancel();
    unchanged();
  }
  SECTION("the filesystem is full") {
    // Take free space away until a write of 8192 blocks cannot be had.
    uint64_t off = 1u << 20;
    int err = 0;
    while (err == 0) {
      std::unique_ptr<Transaction> tp;
      REQUIRE(Transaction::begin(*m, &tp) == 0);
      tp->join_inode(ip);
      const uint64_t len = 8192;
      err = tp->reserve_blocks(bmap_write_reservation(sb, len));
      std::vector<Extent> out;
      if (err == 0) err = bmap_write(*tp, ip.get(), off, len, 0, &out);
      if (err == 0) {
        REQUIRE(tp->commit() == 0);
        off += len;
        continue;
      }
      tp->cancel();
    }
    CHECK(err == ENOSPC);
    const Inode full = ip->core;
    const std::vector<Extent> full_ext = ip->df.extents;
    const uint64_t full_space = ag_space(*m);
    // Whatever is left, asked for in one call with the whole reservation.
    std::unique_ptr<Transaction> tp;
    REQUIRE(Transaction::begin(*m, &tp) == 0);
    tp->join_inode(ip);
    uint64_t res = full_space;
    while (res > 0 && tp->reserve_blocks(res) != 0) res /= 2;
    REQUIRE(res > 0);
    std::vector<Extent> out;
    CHECK(bmap_write(*tp, ip.get(), off, full_space + 1000, 0, &out) == ENOSPC);
    CHECK(tp->reserved() < res);
    tp->cancel();
    CHECK(ip->core.nblocks == full.nblocks);
    CHECK(ip->df.extents == full_ext);
    CHECK(ag_space(*m) == full_space);
  }
  ip.reset();
  m->drop_caches(nullptr, nullptr);
  ip = get_file(*m);
  ip.reset();
  unmount_and_repair_check(m, fi.img->path);
}

}  // namespace xfsfuse::fs::test
