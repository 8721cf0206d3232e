// fs/dir_write's node form against the kernel (tests/fs/dir_kernel_test_util.h):
// a directory of 4 KiB directory blocks, names of 240 to 255 bytes, grown
// from short form through block and leaf form until its LEAF1 block is full
// and the kernel converts it to node form (a free-index block takes the
// bests, the leaf becomes a LEAFN), then until the single LEAFN is exactly
// full (the next add would split it: dir_da_kernel_test.cc); then in node
// form: replaces, data block 1 emptied a
// few entries at a time (the full LEAFN squeezing its stale entries out for
// short names added between) until it is freed, short names swapped for
// long ones, and everything removed in random order (node -> leaf -> block
// -> short form).  After every stage both images hold the same directory
// byte for byte; on disk (in node form and at the end), xfs_repair -n and
// xfsfuse-fsck -n find ours clean and xfs_db shows the same inode.
// Needs root and loop devices ("SKIP:" otherwise).
#include <algorithm>
#include <set>

#include "tests/fs/dir_kernel_test_util.h"

namespace xfsfuse::fs::test {

TEST_CASE("dir_write: the kernel lays out the same node-form directories", "[dir_write][kernel]") {
  if (!have_xfsprogs()) {
    WARN("SKIP: mkfs.xfs/xfs_db not installed (Debian package xfsprogs)");
    return;
  }
  const unsigned dirblk = 4096;
  ProtoImage img(
      "/dummy\n0 0\nd--755 0 0\nL d--755 0 0\n$\n"
      "p d--755 0 0\np0 ---644 0 0 /dev/null\np1 ---644 0 0 /dev/null\np2 ---644 0 0 /dev/null\n$\n$\n",
      dirblk);
  std::string why;
  if (!can_loop_mount(img.path, &why)) {
    WARN("SKIP: " << why);
    return;
  }
  KernelSide kernel(img.path);
  kernel.targets = {"p/p0", "p/p1", "p/p2"};
  std::string ours_img;
  std::vector<uint64_t> targets;
  auto m = open_ours(img.path, kernel, &ours_img, &targets);
  DirModel links;
  std::set<std::string> used;
  std::mt19937 rng(20261205);
  auto add = [&](size_t minlen, size_t maxlen) {
    std::string n;
    do n = name_of(rng, minlen, maxlen);
    while (!used.insert(n).second);
    return Op{kAdd, "L", n, static_cast<int>(rng() % targets.size())};
  };
  auto dir = [&] {
    InodeRef d;
    REQUIRE(resolve(*m, "/L", &d) == 0);
    return d;
  };
  auto form = [&] {
    dir::Form f;
    REQUIRE(dir::dir_form(*m, *dir(), &f) == 0);
    return f;
  };
  // The leaf space's first block: its magic, count and stale.
  auto leaf_hdr = [&] {
    bc::BufHandle h;
    REQUIRE(m->read_dablk(*dir(), false, dir::geometry(m->sb()).leaf_dablk, &dir3_leaf_ops(), &h) == 0);
    return std::array<uint64_t, 3>{bc::load_be(h.data() + 8, 2), bc::load_be(h.data() + 56, 2),
                                   bc::load_be(h.data() + 58, 2)};
  };
  // Runs ops on ours (one at a time until the format changes, if
  // until_change), then the same on the kernel, and compares.
  auto stage = [&](const std::string& what, std::vector<Op>* ops, bool until_change) {
    INFO(what);
    const dir::Form before = form();
    std::vector<Op> done;
    size_t n = 0;
    for (; n < ops->size(); n++) {
      const std::vector<Op> one = run_ours(*m, {(*ops)[n]}, targets, &links, /*skip_enospc=*/true);
      done.insert(done.end(), one.begin(), one.end());
      if (until_change && form() != before) {
        n++;
        break;
      }
    }
    ops->erase(ops->begin(), ops->begin() + static_cast<long>(n));
    kernel.run(done);
    compare_dir(*m, kernel.img, "L");
    return done.size();
  };

  // Our image written out and checked (xfs_repair -n, xfsfuse-fsck -n, the
  // directory's inode as xfs_db prints it against the kernel's), then
  // mounted again.
  auto checkpoint = [&](const std::string& what) {
    INFO(what);
    checkpoint_vs_kernel(m, ours_img, kernel.img, dir()->core.ino, targets, links);
  };

  auto names = [&] {
    std::vector<std::string> v;
    for (const auto& [path, t] : links) v.push_back(path.substr(2));
    return v;
  };
  auto removals = [&](const std::vector<std::string>& ns) {
    std::vector<Op> v;
    for (const std::string& n : ns) v.push_back({kRemove, "L", n, 0});
    return v;
  };
  // The names whose entries sit in data block db, and the data blocks mapped.
  auto names_in_block = [&](uint64_t db) {
    int err;
    std::vector<std::string> v;
    for (const Got& g : iterate(*m, *dir(), 0, SIZE_MAX, &err))
      if (g.name != "." && g.name != ".." && (g.next * 8 - dir::entsize(g.name.size())) / dirblk == db)
        v.push_back(g.name);
    REQUIRE(err == 0);
    return v;
  };
  auto data_blocks = [&] {
    std::vector<uint64_t> v;
    for (uint64_t dablk : dir_dablks(*m, *dir()))
      if (dablk < dir::geometry(m->sb()).leaf_dablk) v.push_back(dablk / (dirblk / m->sb().blocksize));
    return v;
  };
  // Node form holds a single leaf only while its live entries would not fit
  // a LEAF1 with the bests (the kernel goes back after a removal): with long
  // names (14 or 15 entries a block) that leaves room for about nvalid / 4
  // removals, so the node-form stages below remove a few at a time.
  std::vector<Op> ops;
  for (int i = 0; i < 1200; i++) ops.push_back(add(240, 255));
  stage("short form to block form", &ops, true);
  REQUIRE(form() == dir::Form::kBlock);
  stage("block form to leaf form", &ops, true);
  REQUIRE(form() == dir::Form::kLeaf);
  stage("leaf form to node form", &ops, true);
  REQUIRE(form() == dir::Form::kNode);
  CHECK(leaf_hdr()[0] == kDir3LeafnMagic);
  CHECK(dir_dablks(*m, *dir()).back() == dir::geometry(m->sb()).free_dablk);

  const size_t max_ents = (dirblk - 64) / 8;
  {
    const std::array<uint64_t, 3> h = leaf_hdr();  // each add takes a slot or a stale entry's
    std::vector<Op> fill(ops.begin(), ops.begin() + static_cast<long>(max_ents - h[1] + h[2]));
    stage("node form: the LEAFN filled", &fill, false);
  }
  CHECK(leaf_hdr()[1] == max_ents);
  CHECK(leaf_hdr()[2] == 0);
  REQUIRE(form() == dir::Form::kNode);
  {
    ops.clear();
    const std::vector<std::string> ns = names();
    for (size_t i = 0; i < ns.size(); i += 37) {  // each to another target
      const uint64_t now = links.at("L/" + ns[i]).first;
      const auto t = std::find(targets.begin(), targets.end(), now) - targets.begin();
      ops.push_back({kReplace, "L", ns[i], static_cast<int>((t + 1) % 3)});
    }
    stage("node form: replaces", &ops, false);
  }
  // Data block 1 emptied a few entries at a time, each round refilled with
  // short names (they go to the highest block with room: the full LEAFN
  // squeezes its stale entries out for them); then freed (its best 0xffff,
  // nused down).
  std::vector<std::string> shorts;
  for (int round = 0; round < 6 && !names_in_block(1).empty(); round++) {
    std::vector<std::string> in = names_in_block(1);
    in.resize(std::min<size_t>(in.size(), 6));
    ops = removals(in);
    stage("node form: data block 1 emptied, a few entries", &ops, false);
    REQUIRE(form() == dir::Form::kNode);
    CHECK(leaf_hdr()[2] > 1);
    ops.clear();
    for (size_t i = 0; i < in.size(); i++) ops.push_back(add(1, 8));
    for (const Op& op : ops) shorts.push_back(op.name);
    stage("node form: short names", &ops, false);
  }
  {
    const std::vector<uint64_t> dbs = data_blocks();
    CHECK(std::find(dbs.begin(), dbs.end(), 1) == dbs.end());
    // Short names out, long names in (the free-index scan from the highest
    // best down picks their blocks).
    shorts.resize(std::min<size_t>(shorts.size(), 6));
    ops = removals(shorts);
    stage("node form: short names removed", &ops, false);
    ops.clear();
    for (size_t i = 0; i < shorts.size(); i++) ops.push_back(add(255, 255));
    stage("node form: long names", &ops, false);
    REQUIRE(form() == dir::Form::kNode);
  }
  checkpoint("on disk in node form");

  // Emptied in random order: node form goes back to leaf form (the LEAFN
  // small enough for the bests), then block and short form.
  {
    std::vector<std::string> ns = names();
    std::shuffle(ns.begin(), ns.end(), rng);
    ops = removals(ns);
    stage("removals back to leaf form", &ops, true);
    REQUIRE(form() != dir::Form::kNode);
    while (!ops.empty() && form() != dir::Form::kShort) stage("removals on to short form", &ops, true);
    stage("the rest removed", &ops, false);
    REQUIRE(form() == dir::Form::kShort);
  }
  checkpoint("on disk, emptied");
  unlink(ours_img.c_str());
}

}  // namespace xfsfuse::fs::test
