// fs/dir_write against the kernel: the same links and unlinks, made by
// fs/dir_write on one copy of an image and by the kernel (a loop mount, ln
// and rm) on another, leave the same directory: the same format, di_size,
// di_nblocks, and byte for byte the same short-form fork or directory block
// (from bestfree on: entries, free regions, leaf, tail; the header's blkno,
// LSN and CRC differ with where and when the block was written).
// Entries are hard links to a few files of the image, so both sides store
// the same inode numbers.  Needs root and loop devices ("SKIP:" otherwise).
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <random>
#include <set>
#include <sstream>

#include "tests/fs/dir_kernel_test_util.h"

namespace xfsfuse::fs::test {

TEST_CASE("dir_write: the kernel lays out the same short-form and block-form directories", "[dir_write][kernel]") {
  if (!have_xfsprogs()) {
    WARN("SKIP: mkfs.xfs/xfs_db not installed (Debian package xfsprogs)");
    return;
  }
  const unsigned dirblk = GENERATE(65536u, 4096u);
  INFO("directory blocks of " << dirblk << " bytes");
  ProtoImage img("/dummy\n0 0\nd--755 0 0\nd d--755 0 0\n$\ne d--755 0 0\n$\nf d--755 0 0\n$\nh d--755 0 0\n$\n"
                 "r d--755 0 0\n$\n"
                 "p d--755 0 0\n"
                 "p0 ---644 0 0 /dev/null\np1 ---644 0 0 /dev/null\np2 ---644 0 0 /dev/null\n$\n$\n",
                 dirblk);
  std::string why;
  if (!can_loop_mount(img.path, &why)) {
    WARN("SKIP: " << why);
    return;
  }
  {
    // /k made by the kernel: an attr fork for the LSM (di_forkoff set), a
    // smaller data fork for the short form.
    KernelSide base(img.path);
    REQUIRE(base.mount());
    const int rc = system(("mkdir " + base.mnt + "/k").c_str());
    REQUIRE(umount(base.mnt));
    REQUIRE(rc == 0);
    REQUIRE(rename(base.img.c_str(), img.path.c_str()) == 0);
  }
  KernelSide kernel(img.path);
  kernel.targets = {"p/p0", "p/p1", "p/p2"};
  std::string ours_img;
  std::vector<uint64_t> targets;
  auto m = open_ours(img.path, kernel, &ours_img, &targets);
  DirModel links;
  auto stage = [&](const std::string& what, const std::string& dir, const std::vector<Op>& ops) {
    INFO(what);
    run_ours(*m, ops, targets, &links);
    kernel.run(ops);
    compare_dir(*m, kernel.img, dir);
  };
  // A replace pointing dir/name at the next link target.
  auto retarget = [&](const std::string& dir, const std::string& name) {
    const uint64_t now = links.at(dir + "/" + name).first;
    const size_t i = static_cast<size_t>(std::find(targets.begin(), targets.end(), now) - targets.begin());
    return Op{kReplace, dir, name, static_cast<int>((i + 1) % targets.size())};
  };
  std::mt19937 rng(dirblk);
  std::vector<Op> ops;
  // /d: 23 names of 6 bytes fill the 336-byte fork; the 24th makes block form.
  for (size_t i = 1; i <= 23; i++) ops.push_back({kAdd, "d", fixed("f", i, 6), static_cast<int>(i % 3)});
  stage("23 entries in short form", "d", ops);
  stage("the 24th: block form", "d", {{kAdd, "d", "f00024", 0}});
  // Adds and removes in mixed order in block form (names of 1..30 bytes).
  std::vector<std::string> in_d;
  for (size_t i = 1; i <= 24; i++) in_d.push_back(fixed("f", i, 6));
  ops.clear();
  const size_t mixed = dirblk == 65536 ? 400 : 60;
  for (size_t i = 0; i < mixed; i++) {
    if (rng() % 10 < 4 && in_d.size() > 30) {
      const size_t k = rng() % in_d.size();
      ops.push_back({kRemove, "d", in_d[k], 0});
      in_d.erase(in_d.begin() + static_cast<long>(k));
    } else {
      std::string n;
      do n = name_of(rng, 1, 30);
      while (std::find(in_d.begin(), in_d.end(), n) != in_d.end());
      ops.push_back({kAdd, "d", n, static_cast<int>(rng() % 3)});
      in_d.push_back(n);
    }
  }
  stage("mixed adds and removes in block form", "d", ops);
  ops.clear();
  for (size_t i = 0; i < in_d.size(); i += in_d.size() / 10) ops.push_back(retarget("d", in_d[i]));
  stage("replaces in block form", "d", ops);
  // Removal down to short form (offsets kept), then adds there.
  ops.clear();
  while (in_d.size() > 6) {
    const size_t k = rng() % in_d.size();
    ops.push_back({kRemove, "d", in_d[k], 0});
    in_d.erase(in_d.begin() + static_cast<long>(k));
  }
  stage("removals back to short form", "d", ops);
  ops.clear();
  for (int i = 0; i < 8; i++) ops.push_back({kAdd, "d", fixed("g", static_cast<size_t>(i), 9), i % 3});
  stage("adds to a short form whose offsets came from a block", "d", ops);
  stage("replaces in short form", "d", {retarget("d", in_d[0]), retarget("d", fixed("g", 3, 9))});

  // /e: names of 20 bytes (40 bytes each with their leaf entry) until 56
  // bytes stay free before the leaf; removals leave isolated holes and stale
  // leaf entries; a 72-byte entry then fits nowhere without squeezing the
  // stale leaf entries out.
  const size_t n = dirblk == 65536 ? 1634 : 98, stride = dirblk == 65536 ? 50 : 10;
  ops.clear();
  for (size_t i = 0; i < n; i++) ops.push_back({kAdd, "e", fixed("e", i, 20), static_cast<int>(i % 3)});
  stage("a full block", "e", ops);
  std::vector<std::string> in_e;
  ops.clear();
  for (size_t i = 0; i < n; i++) {
    if (i % stride == 0)
      ops.push_back({kRemove, "e", fixed("e", i, 20), 0});
    else
      in_e.push_back(fixed("e", i, 20));
  }
  stage("isolated holes and stale leaf entries", "e", ops);
  ops.clear();
  const int longs = dirblk == 65536 ? 3 : 1;  // what the room squeezed out holds
  for (int i = 0; i < longs; i++) ops.push_back({kAdd, "e", fixed("long", static_cast<size_t>(i), 60), i % 3});
  stage("stale leaf entries squeezed out", "e", ops);
  ops.clear();
  for (int i = 0; i < 60; i++) {
    if (i % 2 == 0) {  // every add finds a stale leaf entry to reuse
      const size_t k = rng() % in_e.size();
      ops.push_back({kRemove, "e", in_e[k], 0});
      in_e.erase(in_e.begin() + static_cast<long>(k));
    } else {
      // At most 32 bytes: the holes of the removed 20-byte names hold it.
      const std::string nm = fixed("s", static_cast<size_t>(i), 4 + rng() % 17);
      ops.push_back({kAdd, "e", nm, i % 3});
      in_e.push_back(nm);
    }
  }
  stage("stale leaf entries reused", "e", ops);
  ops.clear();
  while (in_e.size() > 3) {
    ops.push_back({kRemove, "e", in_e.back(), 0});
    in_e.pop_back();
  }
  stage("emptied back to short form", "e", ops);

  // /f: a block filled exactly (names of 20 bytes, three of 12), then holes
  // of 96, 48 and 32 bytes; a 48-byte entry at the start of the 96-byte hole
  // leaves a 48-byte region that the kernel ranks after the other one of 48
  // (it re-inserts a shrunk region; a rescan in offset order would not).
  ops.clear();
  const size_t fill = (dirblk - 584 + 8) / 40;
  for (int i = 0; i < 10; i++) ops.push_back({kAdd, "f", fixed("a", static_cast<size_t>(i), 20), 0});
  for (int i = 0; i < 2; i++) ops.push_back({kAdd, "f", fixed("b", static_cast<size_t>(i), 12), 1});
  for (size_t i = 0; i < fill; i++) ops.push_back({kAdd, "f", fixed("c", i, i == 7 ? 12 : 20), 2});
  stage("a block filled to its last byte", "f", ops);
  stage("holes of 96, 48 and 32 bytes",
        "f", {{kRemove, "f", fixed("a", 0, 20), 0}, {kRemove, "f", fixed("a", 1, 20), 0}, {kRemove, "f", fixed("a", 2, 20), 0},
              {kRemove, "f", fixed("b", 0, 12), 0}, {kRemove, "f", fixed("b", 1, 12), 0}, {kRemove, "f", fixed("c", 5, 20), 0}});
  stage("bestfree ties", "f", {{kAdd, "f", fixed("t", 0, 36), 0}});
  {
    InodeRef f;
    REQUIRE(resolve(*m, "/f", &f) == 0);
    bc::BufHandle h;
    REQUIRE(m->read_dablk(*f, false, 0, &dir3_block_ops(), &h) == 0);
    auto be16_at = [&](size_t off) { return bc::load_be(h.data() + off, 2); };
    CHECK(be16_at(50) == 48);  // bestfree[0].length
    CHECK(be16_at(54) == 48);  // bestfree[1].length
    CHECK(be16_at(48) > be16_at(52));  // the shrunk region, lower in the block, ranks second
  }
  // The block ends in an entry, not free space: a 56-byte entry goes where
  // the squeezed-out stale leaf entries were.
  ops.clear();
  for (size_t i = 10; i < 20; i += 2) ops.push_back({kRemove, "f", fixed("c", i, 20), 0});
  ops.push_back({kAdd, "f", fixed("u", 0, 44), 1});
  stage("stale leaf entries squeezed out of a block ending in an entry", "f", ops);

  // /k: whatever its data fork holds, short form until it no longer fits.
  ops.clear();
  for (size_t i = 1; i <= 40; i++) ops.push_back({kAdd, "k", fixed("k", i, 6), static_cast<int>(i % 3)});
  auto k_format = [&] {
    InodeRef k;
    REQUIRE(resolve(*m, "/k", &k) == 0);
    return k->core.format;
  };
  size_t added = 0;
  while (added < ops.size() && k_format() == ForkFormat::kLocal) {
    stage("kernel-made directory, entry " + std::to_string(added + 1), "k", {ops[added]});
    added++;
  }
  CHECK(k_format() == ForkFormat::kExtents);
  for (size_t i = 1; i <= added && k_format() != ForkFormat::kLocal; i++)
    stage("kernel-made directory, removal " + std::to_string(i), "k", {{kRemove, "k", fixed("k", i, 6), 0}});
  CHECK(k_format() == ForkFormat::kLocal);

  // /h: 20 names in pairs of equal hashes fill the short form; the 21st
  // converts it, and the leaf holds each pair in the order the kernel's sort
  // leaves it.
  {
    std::mt19937 crng(dirblk);
    std::map<uint32_t, std::string> seen;
    std::vector<std::string> pairs;
    while (pairs.size() < 20) {
      const std::string nm = "c" + name_of(crng, 7, 7);
      auto [it, fresh] = seen.emplace(da_hashname(nm), nm);
      if (!fresh && it->second != nm) {
        pairs.push_back(it->second);
        pairs.push_back(nm);
        seen.erase(it);
      }
    }
    std::shuffle(pairs.begin() + 10, pairs.end(), crng);  // half the pairs apart in the fork
    ops.clear();
    for (size_t i = 0; i < pairs.size(); i++) ops.push_back({kAdd, "h", pairs[i], static_cast<int>(i % 3)});
    stage("pairs of equal hashes in short form", "h", ops);
    stage("pairs of equal hashes sorted into a block's leaf", "h", {{kAdd, "h", "c2100000", 0}});
  }

  // /r: rounds of random adds, removes and replaces, compared after each.
  {
    std::mt19937 rrng(dirblk + 1);
    const size_t maxn = dirblk == 65536 ? 700 : 70, maxlen = dirblk == 65536 ? 40 : 24;
    bool growing = true;
    for (int round = 0; round < 16; round++) {
      std::vector<std::string> in_r;
      for (const auto& [path, v] : links)
        if (path.rfind("r/", 0) == 0) in_r.push_back(path.substr(2));
      std::set<std::string> touched;
      ops.clear();
      for (int i = 0; i < 80; i++) {
        if (growing && in_r.size() >= maxn) growing = false;
        if (!growing && in_r.size() <= 3) growing = true;
        const unsigned what = rrng() % 100;
        if (in_r.empty() || what < (growing ? 60u : 20u)) {
          std::string nm;
          do nm = name_of(rrng, 1, maxlen);
          while (touched.count(nm) || std::find(in_r.begin(), in_r.end(), nm) != in_r.end());
          ops.push_back({kAdd, "r", nm, static_cast<int>(rrng() % 3)});
          touched.insert(nm);
          in_r.push_back(nm);
          continue;
        }
        const size_t k = rrng() % in_r.size();
        if (touched.count(in_r[k])) continue;
        touched.insert(in_r[k]);
        if (what < 88 || !links.count("r/" + in_r[k])) {
          ops.push_back({kRemove, "r", in_r[k], 0});
          in_r.erase(in_r.begin() + static_cast<long>(k));
        } else {
          ops.push_back(retarget("r", in_r[k]));
        }
      }
      INFO("random round " << round);
      const std::vector<Op> done = run_ours(*m, ops, targets, &links, /*skip_enospc=*/true);
      kernel.run(done);
      compare_dir(*m, kernel.img, "r");
    }
  }

  // Our image is whole: the link targets' counts set as the kernel set them.
  for (uint64_t t : targets) {
    uint32_t links_to = 1;
    for (const auto& [name, v] : links) links_to += v.first == t;
    set_nlink(*m, t, links_to);
  }
  unmount_and_repair_check(m, ours_img);
  unlink(ours_img.c_str());
}

TEST_CASE("dir_write: the kernel converts 8-byte inode numbers the same way", "[dir_write][kernel]") {
  if (!have_xfsprogs()) {
    WARN("SKIP: mkfs.xfs/xfs_db not installed (Debian package xfsprogs)");
    return;
  }
  // AG 2 of three AGs of 2^28 - 1 blocks holds /b and /b/y, numbered above 2^32.
  const uint64_t blocks = 3ull * ((1u << 28) - 1);
  ProtoImage img(
      "/dummy\n0 0\nd--755 0 0\na d--755 0 0\n$\nb d--755 0 0\ny ---644 0 0 /dev/null\n$\n"
      "t ---644 0 0 /dev/null\n$\n",
      65536, "-K -b size=4096 -d agcount=3,size=" + std::to_string(blocks) + "b -l size=64m",
      static_cast<long long>(blocks * 4096));
  std::string why;
  if (!can_loop_mount(img.path, &why)) {
    WARN("SKIP: " << why);
    return;
  }
  KernelSide kernel(img.path);
  kernel.targets = {"t", "b/y"};
  std::string ours_img;
  std::vector<uint64_t> targets;
  auto m = open_ours(img.path, kernel, &ours_img, &targets);
  REQUIRE(targets[1] > 0xffffffffull);
  DirModel links;
  auto stage = [&](const std::string& what, const std::vector<Op>& ops) {
    INFO(what);
    run_ours(*m, ops, targets, &links);
    kernel.run(ops);
    compare_dir(*m, kernel.img, "a");
  };
  stage("4-byte entries", {{kAdd, "a", "small1", 0}, {kAdd, "a", "small2", 0}, {kAdd, "a", "small3", 0}});
  stage("a replace by an 8-byte number converts the short form", {{kReplace, "a", "small3", 1}});
  stage("and back to 4 bytes", {{kReplace, "a", "small3", 0}});
  stage("an 8-byte entry converts the short form and goes into the first gap that holds it",
        {{kRemove, "a", "small2", 0}, {kAdd, "a", "s2", 1}});
  {
    InodeRef a;
    REQUIRE(resolve(*m, "/a", &a) == 0);
    int err;
    const std::vector<Got> got = iterate(*m, *a, 0, SIZE_MAX, &err);
    REQUIRE(got.size() == 5);
    CHECK(got[3].name == "s2");  // in small2's place, before small3
  }
  stage("another 8-byte entry goes to the end", {{kAdd, "a", "big1", 1}});
  std::vector<Op> ops;
  for (int i = 0; i < 20; i++) ops.push_back({kAdd, "a", fixed("n", static_cast<size_t>(i), 12), i % 2});
  stage("grown into block form", ops);
  stage("replaces in block form", {{kReplace, "a", "small1", 1}, {kReplace, "a", "small1", 0}});
  ops.clear();
  for (int i = 0; i < 20; i++) ops.push_back({kRemove, "a", fixed("n", static_cast<size_t>(i), 12), 0});
  stage("back to short form with 8-byte numbers", ops);
  stage("the last 8-byte entries go: 4-byte numbers again", {{kRemove, "a", "big1", 0}, {kRemove, "a", "s2", 0}});
  uint32_t small = 1, big = 1;
  for (const auto& [name, v] : links) (v.first == targets[0] ? small : big)++;
  set_nlink(*m, targets[0], small);
  set_nlink(*m, targets[1], big);
  unmount_and_repair_check(m, ours_img);
  unlink(ours_img.c_str());
}

}  // namespace xfsfuse::fs::test

namespace xfsfuse::fs::test {

// One name of every length 1..255 (random bytes of a-z0-9_, added in a
// random order), then all removed in random order in two batches: through
// every directory form with 4 KiB directory blocks, within block form and
// leaf form with 64 KiB ones; byte for byte against the kernel after each
// batch, clean on disk at the end.
TEST_CASE("dir_write: the kernel lays out names of every length 1 to 255 the same way", "[dir_write][kernel]") {
  if (!have_xfsprogs()) {
    WARN("SKIP: mkfs.xfs/xfs_db not installed (Debian package xfsprogs)");
    return;
  }
  for (unsigned dirblk : {4096u, 65536u}) {
    INFO(dirblk << "-byte directory blocks");
    ProtoImage img("/dummy\n0 0\nd--755 0 0\nL d--755 0 0\n$\nt ---644 0 0 /dev/null\n$\n", dirblk);
    std::string why;
    if (!can_loop_mount(img.path, &why)) {
      WARN("SKIP: " << why);
      return;
    }
    KernelSide kernel(img.path);
    kernel.targets = {"t"};
    std::string ours_img;
    std::vector<uint64_t> targets;
    auto m = open_ours(img.path, kernel, &ours_img, &targets);
    std::mt19937 rng(dirblk);
    std::vector<std::string> names;
    for (size_t len = 1; len <= 255; len++) names.push_back(name_of(rng, len, len));
    std::shuffle(names.begin(), names.end(), rng);
    DirModel links;
    auto stage = [&](Kind kind, size_t from, size_t to) {
      std::vector<Op> ops;
      for (size_t i = from; i < to; i++) ops.push_back({kind, "L", names[i], 0});
      run_ours(*m, ops, targets, &links);
      kernel.run(ops);
      compare_dir(*m, kernel.img, "L");
    };
    stage(kAdd, 0, 255);
    std::shuffle(names.begin(), names.end(), rng);
    stage(kRemove, 0, 128);
    stage(kRemove, 128, 255);
    InodeRef d;
    REQUIRE(resolve(*m, "/L", &d) == 0);
    checkpoint_vs_kernel(m, ours_img, kernel.img, d->core.ino, targets, links);
  }
}

}  // namespace xfsfuse::fs::test
