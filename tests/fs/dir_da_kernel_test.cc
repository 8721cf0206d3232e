// fs/dir_write's node form with many leaves (the leaf space a da btree:
// leaf splits, node splits, root splits; joins and root joins on the way
// down) against the kernel (tests/fs/dir_kernel_test_util.h).  One
// directory grown in batches until its da btree has `levels` levels of
// nodes above the leaves, then emptied in random order in batches back to
// short form; after every batch both images hold the same directory byte
// for byte (every leaf's sibling links included), and our own reads see
// the model.  On disk at the top and at the end, xfs_repair -n and
// xfsfuse-fsck -n find ours clean and xfs_db shows the same inode.
// Geometries: 4 KiB directory blocks (504 entries a LEAFN or node: one
// level of nodes after some hundred names, two after some 120,000: a long
// case), and the project's 64 KiB directory blocks (8,184 entries a LEAFN:
// a few leaves under one node).
// Needs root and loop devices ("SKIP:" otherwise).
#include <algorithm>
#include <functional>
#include <sstream>
#include <set>

#include "tests/fs/dir_kernel_test_util.h"

namespace xfsfuse::fs::test {

namespace {

// Names for a growing directory: random ones by default.
using NameGen = std::function<std::string(std::mt19937&)>;
std::string random_name(std::mt19937& rng) { return name_of(rng, 4, 40); }

// Grows /L in batches until its leaf space's root is a node of `levels`
// levels and it holds at least min_names names, then empties it.
void grow_and_shrink(unsigned dirblk, const std::string& mkfs_extra, unsigned levels, size_t batch, uint32_t seed,
                     const NameGen& gen = random_name, size_t min_names = 0) {
  ProtoImage img(
      "/dummy\n0 0\nd--755 0 0\nL d--755 0 0\n$\n"
      "p d--755 0 0\np0 ---644 0 0 /dev/null\np1 ---644 0 0 /dev/null\n$\n$\n",
      dirblk, mkfs_extra, 512ll << 20);
  std::string why;
  if (!can_loop_mount(img.path, &why)) {
    WARN("SKIP: " << why);
    return;
  }
  KernelSide kernel(img.path);
  kernel.targets = {"p/p0", "p/p1"};
  std::string ours_img;
  std::vector<uint64_t> targets;
  auto m = open_ours(img.path, kernel, &ours_img, &targets);
  DirModel links;
  std::set<std::string> used;
  std::mt19937 rng(seed);
  auto dir = [&] {
    InodeRef d;
    REQUIRE(resolve(*m, "/L", &d) == 0);
    return d;
  };
  // The root of the leaf space: its magic and, for a node, its level.
  auto root = [&] {
    dir::Form f;
    REQUIRE(dir::dir_form(*m, *dir(), &f) == 0);
    if (f != dir::Form::kNode) return std::pair<uint64_t, uint64_t>{0, 0};
    bc::BufHandle h;
    REQUIRE(m->read_dablk(*dir(), false, dir::geometry(m->sb()).leaf_dablk, &dir3_leaf_ops(), &h) == 0);
    const uint64_t magic = bc::load_be(h.data() + 8, 2);
    return std::pair<uint64_t, uint64_t>{magic, magic == kDa3NodeMagic ? bc::load_be(h.data() + 58, 2) : 0};
  };
  auto form = [&] {
    dir::Form f;
    REQUIRE(dir::dir_form(*m, *dir(), &f) == 0);
    return f;
  };
  auto stage = [&](const std::string& what, const std::vector<Op>& ops) {
    INFO(what << " (" << links.size() << " names before)");
    run_ours(*m, ops, targets, &links);
    kernel.run(ops);
    compare_dir(*m, kernel.img, "L");
    DirModel mine;
    for (const auto& [path, v] : links) mine[path.substr(2)] = v;
    InodeRef p;
    REQUIRE(resolve(*m, "/", &p) == 0);
    check_model(*m, dir()->core.ino, p->core.ino, mine, false);
  };
  auto checkpoint = [&](const std::string& what) {
    INFO(what);
    checkpoint_vs_kernel(m, ours_img, kernel.img, dir()->core.ino, targets, links);
  };

  // Grown until the leaf space's root is a node of `levels` levels.
  while (root().first != kDa3NodeMagic || root().second < levels || links.size() < min_names) {
    REQUIRE(links.size() < 200000);
    std::vector<Op> ops;
    for (size_t i = 0; i < batch; i++) {
      std::string n;
      do n = gen(rng);
      while (!used.insert(n).second);
      ops.push_back({kAdd, "L", n, static_cast<int>(rng() % targets.size())});
    }
    stage("growing", ops);
  }
  REQUIRE(form() == dir::Form::kNode);
  {
    DirModel mine;  // every name looked up (hash runs across leaves)
    for (const auto& [path, v] : links) mine[path.substr(2)] = v;
    InodeRef p;
    REQUIRE(resolve(*m, "/", &p) == 0);
    check_model(*m, dir()->core.ino, p->core.ino, mine, true);
  }
  checkpoint("on disk at the top");

  // Emptied in random order: joins, root joins, node -> leaf -> block ->
  // short form.
  std::vector<std::string> names;
  for (const auto& [path, t] : links) names.push_back(path.substr(2));
  std::shuffle(names.begin(), names.end(), rng);
  while (!names.empty()) {
    std::vector<Op> ops;
    const size_t n = std::min(names.size(), batch);
    for (size_t i = 0; i < n; i++) ops.push_back({kRemove, "L", names[names.size() - 1 - i], 0});
    names.resize(names.size() - n);
    stage("shrinking", ops);
  }
  REQUIRE(form() == dir::Form::kShort);
  checkpoint("on disk, emptied");
  unlink(ours_img.c_str());
}

}  // namespace

TEST_CASE("dir_write: the kernel splits and joins the same many-leaf directories with 4 KiB directory blocks",
          "[dir_write][kernel]") {
  if (!have_xfsprogs()) {
    WARN("SKIP: mkfs.xfs/xfs_db not installed (Debian package xfsprogs)");
    return;
  }
  grow_and_shrink(4096, "", 1, 1500, 20261205);
}

// A hash-collision family: the hash folds 4-byte groups as b0 << 21 ^
// b1 << 14 ^ b2 << 7 ^ b3, so flipping bit 0 of one byte and bit 7 of the
// next (within a group) keeps it; three such pairs a group, four groups:
// 4,096 names of one hash from a 16-byte base (xfs_db hash agrees).
std::string collision_name(unsigned v) {
  std::string s = "abcdefghijklmnop";
  for (unsigned g = 0; g < 4; g++)
    for (unsigned j = 0; j < 3; j++)
      if (v >> (3 * g + j) & 1) {
        s[4 * g + j] = static_cast<char>(s[4 * g + j] ^ 1);
        s[4 * g + j + 1] = static_cast<char>(s[4 * g + j + 1] ^ 0x80);
      }
  return s;
}

TEST_CASE("dir_write: the kernel splits and joins the same leaves of one long hash-collision run",
          "[dir_write][kernel]") {
  if (!have_xfsprogs()) {
    WARN("SKIP: mkfs.xfs/xfs_db not installed (Debian package xfsprogs)");
    return;
  }
  {
    ProtoImage img("/dummy\n0 0\nd--755 0 0\n$\n", 4096);
    for (unsigned v : {0u, 1u, 4095u}) {
      const std::string n = collision_name(v);
      INFO("xfs_db hash of family member " << v);
      CHECK(run("xfs_db -r -c 'hash " + n + "' " + img.path) ==
            "0x" + (std::ostringstream() << std::hex << da_hashname(n)).str() + "\n");
      CHECK(da_hashname(n) == da_hashname(collision_name(0)));
    }
  }
  // Family members (in a scrambled order) between random names: the run
  // of equal hashes spans several 504-entry leaves.
  unsigned next = 0;
  grow_and_shrink(
      4096, "", 1, 1000, 20261209,
      [&](std::mt19937& rng) { return rng() % 4 == 0 || next >= 4096 ? random_name(rng) : collision_name((next++ * 2654435761u) % 4096); },
      6000);
}

// Two levels of nodes with 4 KiB directory blocks take some 120,000 names
// (504 entries a node): minutes, so a long case, run by hand with
// `build/tests/fs_tests '[long]'` (README, "Tests").
TEST_CASE("dir_write: the kernel splits and joins the same two-level da btrees with 4 KiB directory blocks",
          "[dir_write][kernel][.][long]") {
  if (!have_xfsprogs()) {
    WARN("SKIP: mkfs.xfs/xfs_db not installed (Debian package xfsprogs)");
    return;
  }
  grow_and_shrink(4096, "", 2, 10000, 20261207);
}

TEST_CASE("dir_write: the kernel splits and joins the same many-leaf directories with 64 KiB directory blocks",
          "[dir_write][kernel]") {
  if (!have_xfsprogs()) {
    WARN("SKIP: mkfs.xfs/xfs_db not installed (Debian package xfsprogs)");
    return;
  }
  grow_and_shrink(65536, "", 1, 6000, 20261206);
}

}  // namespace xfsfuse::fs::test
