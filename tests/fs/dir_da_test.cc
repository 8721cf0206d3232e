// fs/dir_write's da btree at depth and size, without the kernel (it is the
// oracle in dir_da_kernel_test.cc): a directory of 4 KiB directory blocks
// grown until its leaf space is a root node over level-1 nodes over leaves
// (node splits under the root, a second root split), and (a long case) one
// of 64 KiB blocks grown to a million names; each then emptied in random
// order (leaf joins, node joins, root joins) back to short form.  On the way: every
// name looked up at the top, iteration against the model, every block
// through its read verifier; at the top and at the end xfs_repair -n and
// xfsfuse-fsck -n find the image clean.
#include <algorithm>
#include <catch2/catch.hpp>
#include <random>
#include <set>

#include "fs/dir_internal.h"
#include "tests/fs/dir_kernel_test_util.h"

namespace xfsfuse::fs::test {

namespace {

// Grows /L (directory blocks of dirblk bytes) until its da btree root is at
// `levels` and it holds at least min_names names, then empties it in random
// order.
void grow_and_empty(unsigned dirblk, uint64_t levels, size_t min_names, long long image_bytes) {
  if (!have_xfsprogs()) {
    WARN("SKIP: mkfs.xfs/xfs_repair not installed (Debian package xfsprogs)");
    return;
  }
  ProtoImage img("/dummy\n0 0\nd--755 0 0\nL d--755 0 0\n$\np0 ---644 0 0 /dev/null\n$\n", dirblk, "", image_bytes);
  auto m = open_rw(img.path);
  InodeRef p0, root;
  REQUIRE(resolve(*m, "/p0", &p0) == 0);
  REQUIRE(resolve(*m, "/", &root) == 0);
  const uint64_t target = p0->core.ino, rootino = root->core.ino;
  auto dino = [&] {
    InodeRef d;
    REQUIRE(resolve(*m, "/L", &d) == 0);
    return d->core.ino;
  };
  // The leaf space root's level (0: a leaf, or not node form).
  auto root_level = [&] {
    InodeRef d;
    REQUIRE(m->iget(dino(), &d) == 0);
    dir::Form f;
    REQUIRE(dir::dir_form(*m, *d, &f) == 0);
    if (f != dir::Form::kNode) return uint64_t{0};
    bc::BufHandle h;
    REQUIRE(m->read_dablk(*d, false, dir::geometry(m->sb()).leaf_dablk, &dir3_leaf_ops(), &h) == 0);
    return bc::load_be(h.data() + 8, 2) == kDa3NodeMagic ? bc::load_be(h.data() + 58, 2) : 0;
  };
  auto checkpoint = [&](const DirModel& model) {
    check_model(*m, dino(), rootino, model, true);
    set_nlink(*m, target, static_cast<uint32_t>(1 + model.size()));
    unmount_and_repair_check(m, img.path);
    fsck_check(img.path);
    m = open_rw(img.path);
  };

  std::mt19937 rng(20261208);
  DirModel model;
  std::vector<std::string> names;
  while (root_level() < levels || names.size() < min_names) {
    REQUIRE(names.size() < min_names + 400000);
    for (int i = 0; i < 5000; i++) {
      std::string n;
      do n = name_of(rng, 3, 12);
      while (model.count(n));
      REQUIRE(dir_op(*m, dino(), [&](Transaction& tp, CachedInode* dp) { return dir_add(tp, dp, n, target, kFtReg); }) ==
              0);
      model[n] = {target, kFtReg};
      names.push_back(n);
    }
  }
  INFO(names.size() << " names at the top");
  checkpoint(model);

  std::shuffle(names.begin(), names.end(), rng);
  uint64_t seen_level1 = 0;
  const size_t every = std::max<size_t>(5000, names.size() / 20);
  for (size_t i = 0; i < names.size(); i++) {
    REQUIRE(dir_op(*m, dino(), [&](Transaction& tp, CachedInode* dp) { return dir_remove(tp, dp, names[i]); }) == 0);
    model.erase(names[i]);
    if (i % every == every - 1) {
      check_model(*m, dino(), rootino, model, false);
      seen_level1 += root_level() == 1;
    }
  }
  if (levels >= 2) CHECK(seen_level1 > 0);  // the root joined down a level on the way
  {
    InodeRef d;
    REQUIRE(m->iget(dino(), &d) == 0);
    CHECK(d->core.format == ForkFormat::kLocal);
  }
  checkpoint(model);
}

}  // namespace

TEST_CASE("dir_write: a directory grows to a two-level da btree and back to short form", "[dir_write][1thread]") {
  grow_and_empty(4096, 2, 0, 1ll << 30);
}

// A million names in 64 KiB directory blocks (some 40,000 data blocks'
// worth, a da btree of about 200 leaves) and back: minutes, a long case
// (`build/tests/fs_tests '[long]'`).
TEST_CASE("dir_write: a directory of 64 KiB blocks grows to a million names and back to short form",
          "[dir_write][.][long]") {
  grow_and_empty(65536, 1, 1000000, 4ll << 30);
}

}  // namespace xfsfuse::fs::test
