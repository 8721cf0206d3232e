// fs/dir_write's node form against the kernel (tests/fs/dir_kernel_test_util.h):
// a directory of 4 KiB directory blocks grown from short form through block
// and leaf form until its LEAF1 block is full and the kernel converts it to
// node form (a free-index block takes the bests, the leaf becomes a LEAFN),
// then grown in node form with names short and long (new data blocks, their
// bests in the free-index block) until the single LEAFN is full (the kernel
// would split it: refused here with ENOSPC and nothing changed, left out for
// the kernel).  After every stage both images hold the same directory byte
// for byte; on disk, xfs_repair -n and xfsfuse-fsck -n find ours clean and
// xfs_db shows the same inode.  A node-form removal is refused with
// EOPNOTSUPP and changes nothing.
// Needs root and loop devices ("SKIP:" otherwise).
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
  const std::string ours_img = img.path + ".ours";
  REQUIRE(system(("cp --sparse=always " + img.path + " " + ours_img).c_str()) == 0);
  auto m = open_rw(ours_img);
  std::vector<uint64_t> targets;
  for (const std::string& t : kernel.targets) {
    InodeRef ip;
    REQUIRE(resolve(*m, "/" + t, &ip) == 0);
    targets.push_back(ip->core.ino);
  }
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

  std::vector<Op> ops;
  for (int i = 0; i < 1200; i++) ops.push_back(add(1, 60));
  stage("short form to block form", &ops, true);
  REQUIRE(form() == dir::Form::kBlock);
  stage("block form to leaf form", &ops, true);
  REQUIRE(form() == dir::Form::kLeaf);
  stage("leaf form to node form", &ops, true);
  REQUIRE(form() == dir::Form::kNode);
  CHECK(leaf_hdr()[0] == kDir3LeafnMagic);
  CHECK(dir_dablks(*m, *dir()).back() == dir::geometry(m->sb()).free_dablk);

  // Node form: short names into the data blocks' holes, long ones needing new
  // data blocks, until the LEAFN is full (the rest refused: ENOSPC).
  ops.resize(std::min<size_t>(ops.size(), 20));
  for (int i = 0; i < 40; i++) ops.push_back(add(200, 255));
  for (int i = 0; i < 60; i++) ops.push_back(add(1, 12));
  stage("node form: long and short names", &ops, false);
  const size_t max_ents = (dirblk - 64) / 8;
  ops.clear();
  for (size_t i = 0; i < max_ents; i++) ops.push_back(add(20, 80));
  CHECK(stage("node form: the LEAFN filled", &ops, false) < max_ents);
  CHECK(leaf_hdr()[1] == max_ents);
  CHECK(leaf_hdr()[2] == 0);
  REQUIRE(form() == dir::Form::kNode);

  // Not written yet: a removal changes nothing.
  {
    InodeRef d = dir();
    const std::string name = links.begin()->first.substr(2);
    CHECK(dir_op(*m, d->core.ino, [&](Transaction& tp, CachedInode* dp) { return dir_remove(tp, dp, name); }) ==
          EOPNOTSUPP);
    compare_dir(*m, kernel.img, "L");
  }

  const uint64_t ino = dir()->core.ino;
  for (uint64_t t : targets) {
    uint32_t n = 1;
    for (const auto& [name, v] : links) n += v.first == t;
    set_nlink(*m, t, n);
  }
  unmount_and_repair_check(m, ours_img);
  fsck_check(ours_img);
  const std::string ours = db_inode_summary(ours_img, ino);
  CHECK(ours.find("core.nblocks = ") != std::string::npos);
  CHECK(ours == db_inode_summary(kernel.img, ino));
  unlink(ours_img.c_str());
}

}  // namespace xfsfuse::fs::test
