// fs/attr_write and fs/ops/xattr: extended attributes set and removed in
// short form, one leaf block and remote values, the conversions between
// them and the attr fork coming and going (di_forkoff moves), the kernel's
// errors and permission rules, a random run against a model, freeing a
// leaf fork and its remote values with the inode; xfs_repair -n and
// xfsfuse-fsck -n judge the images.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <iterator>
#include <map>
#include <random>
#include <shared_mutex>
#include <string>
#include <vector>

#include "fs/attr.h"
#include "fs/attr_write.h"
#include "fs/mount.h"
#include "fs/ops/create.h"
#include "fs/ops/inactivate.h"
#include "fs/ops/remove.h"
#include "fs/ops/setattr.h"
#include "fs/ops/xattr.h"
#include "tests/fs/attr_test_util.h"
#include "tests/fs/attr_write_test_util.h"
#include "tests/fs/dir_write_test_util.h"

namespace xfsfuse::fs::test {
namespace {

using namespace attrwtest;

TEST_CASE("attr_write: short form grows to a leaf with remote values, then shrinks to no attr fork", "[attr_write]") {
  ProtoImage img("/\n0 0\nd--755 0 0\nf ---644 0 0 /dev/null\n$\n", 65536);
  auto m = open_rw(img.path);
  InodeRef ip = child(*m, "f");
  REQUIRE_FALSE(ip->has_attr_fork());
  Model model;

  // The first attribute makes a short-form fork as far up the literal area
  // as the kernel puts it: 336 - 36 bytes of data fork for an empty file.
  REQUIRE(set(*m, ip, "user.a", bytes("1"), &model) == 0);
  CHECK(ip->core.forkoff == 37);
  CHECK(static_cast<ForkFormat>(ip->core.aformat) == ForkFormat::kLocal);
  const uint8_t first_forkoff = ip->core.forkoff;
  for (int i = 0; i < 8; i++)
    REQUIRE(set(*m, ip, "trusted.t" + std::to_string(i), bytes(std::string(20, char('a' + i))), &model) == 0);
  CHECK(static_cast<ForkFormat>(ip->core.aformat) == ForkFormat::kLocal);
  CHECK(ip->core.forkoff < first_forkoff);  // the list outgrew the fork: di_forkoff moved down
  check_model(*m, ip, model);

  // A value of 254 bytes or more never lives in short form.
  REQUIRE(set(*m, ip, "security.s", bytes(std::string(300, 's')), &model) == 0);
  CHECK(static_cast<ForkFormat>(ip->core.aformat) == ForkFormat::kExtents);
  CHECK(ip->core.anextents == 1);
  for (size_t len : {3000, 3100, 5000, 65536}) {
    std::string v(len, 'r');
    for (size_t i = 0; i < len; i++) v[i] = static_cast<char>('a' + (i * 7 + len) % 26);
    REQUIRE(set(*m, ip, "user.r" + std::to_string(len), bytes(v), &model) == 0);
  }
  check_model(*m, ip, model);
  const uint64_t leaf_blocks = ip->core.nblocks;
  // 1 leaf, 3100 (over 3/4 of the block: remote) in 1, 5000 in 2, 65536 in 17.
  CHECK(leaf_blocks == 1 + 1 + 2 + 17);

  // A replace of a remote value by a small one frees its blocks.
  REQUIRE(set(*m, ip, "user.r65536", bytes("small"), &model) == 0);
  CHECK(ip->core.nblocks == leaf_blocks - 17);
  CHECK(set(*m, ip, "user.r65536", bytes("x"), nullptr, kXattrCreate) == EEXIST);
  CHECK(set(*m, ip, "user.none", bytes("x"), nullptr, kXattrReplace) == ENODATA);
  check_model(*m, ip, model);

  // Removing the remote and long values lets the rest fit short form again.
  for (const char* n : {"user.r3000", "user.r3100", "user.r5000", "security.s"}) REQUIRE(remove(*m, ip, n, &model) == 0);
  CHECK(static_cast<ForkFormat>(ip->core.aformat) == ForkFormat::kLocal);
  CHECK(ip->core.nblocks == 0);
  check_model(*m, ip, model);
  while (!model.empty()) REQUIRE(remove(*m, ip, model.begin()->first, &model) == 0);
  CHECK_FALSE(ip->has_attr_fork());
  CHECK(static_cast<ForkFormat>(ip->core.aformat) == ForkFormat::kExtents);
  CHECK(remove(*m, ip, "user.a", nullptr) == ENODATA);
  ip.reset();
  unmount_and_check(m, img.path);
}

TEST_CASE("attr_write: a fork added to a file with many extents turns its data fork into a btree", "[attr_write]") {
  ProtoImage img("/\n0 0\nd--755 0 0\nf ---644 0 0 /dev/null\nb ---644 0 0 /dev/null\n$\n", 65536);
  auto m = open_rw(img.path);
  // A data fork already in btree format: its root is laid out again for
  // the smaller fork (pointers after room for 18 keys, not 20).
  InodeRef b = child(*m, "b");
  fragment(*m, b, 25);
  REQUIRE(b->core.format == ForkFormat::kBtree);
  REQUIRE(set(*m, b, "user.x", bytes("y"), nullptr) == 0);
  CHECK(b->core.forkoff == 37);
  b.reset();
  InodeRef ip = child(*m, "f");
  // 20 one-block extents fill 320 of the 336-byte data fork.
  fragment(*m, ip, 20);
  REQUIRE(ip->core.format == ForkFormat::kExtents);
  Model model;
  REQUIRE(set(*m, ip, "user.x", bytes("y"), &model) == 0);
  // Over 196 bytes of extents: the fork takes only the btree root's room.
  CHECK(ip->core.format == ForkFormat::kBtree);
  CHECK(ip->core.forkoff == 37);
  check_model(*m, ip, model);
  REQUIRE(remove(*m, ip, "user.x", &model) == 0);
  CHECK(ip->core.forkoff != 0);  // a btree data fork keeps an empty attr fork
  ip.reset();
  unmount_and_check(m, img.path);
}

TEST_CASE("attr_write: remote values of two files interleaved put the attr fork in btree format", "[attr_write]") {
  ProtoImage img("/\n0 0\nd--755 0 0\nf ---644 0 0 /dev/null\ng ---644 0 0 /dev/null\n$\n", 65536);
  auto m = open_rw(img.path);
  InodeRef f = child(*m, "f"), g = child(*m, "g");
  Model mf, mg;
  for (int i = 0; i < 14; i++) {
    REQUIRE(set(*m, f, "user.v" + std::to_string(i), bytes(std::string(5000, char('a' + i))), &mf) == 0);
    REQUIRE(set(*m, g, "user.v" + std::to_string(i), bytes(std::string(5000, char('A' + i))), &mg) == 0);
  }
  // The leaf and 14 two-block values in 15 extents: more than the 144-byte
  // attr fork holds.
  CHECK(static_cast<ForkFormat>(f->core.aformat) == ForkFormat::kBtree);
  check_model(*m, f, mf);
  check_model(*m, g, mg);
  for (int i = 0; i < 14; i += 2) REQUIRE(remove(*m, f, "user.v" + std::to_string(i), &mf) == 0);
  REQUIRE(set(*m, f, "user.w", bytes(std::string(9000, 'w')), &mf) == 0);  // 3 blocks: no hole fits
  check_model(*m, f, mf);
  while (!mf.empty()) REQUIRE(remove(*m, f, mf.begin()->first, &mf) == 0);
  CHECK_FALSE(f->has_attr_fork());
  CHECK(f->core.nblocks == 0);
  f.reset();
  g.reset();
  unmount_and_check(m, img.path);
}

TEST_CASE("attr_write: errors and permissions as the kernel's", "[attr_write]") {
  ProtoImage img("/\n0 0\nd--755 0 0\nf ---644 1000 1000 /dev/null\nl l--777 0 0 f\nc c--644 0 0 4 5\nt d--777 0 0\n$\n$\n",
                 65536);
  auto m = open_rw(img.path);
  InodeRef f = child(*m, "f"), l = child(*m, "l"), c = child(*m, "c"), t = child(*m, "t");
  SetAttr sticky;
  sticky.mode = 01777;
  REQUIRE(setattr(*m, t, kRoot, sticky) == 0);
  const Cred owner{1000, 1000, {}}, other{2000, 2000, {}};
  auto x = [&](const InodeRef& ip, const Cred& cr, const std::string& n, size_t len = 1, unsigned fl = 0) {
    return xattr_set(*m, ip, cr, n, bytes(std::string(len, 'v')), fl);
  };
  CHECK(x(f, owner, "user." + std::string(250, 'n')) == 0);
  CHECK(x(f, owner, "user." + std::string(251, 'n')) == ERANGE);
  CHECK(x(f, owner, "") == ERANGE);
  CHECK(x(f, owner, "user.") == EINVAL);
  CHECK(x(f, owner, "user.big", 65537) == E2BIG);
  CHECK(x(f, owner, "user.max", 65536) == 0);
  CHECK(x(f, owner, "other.x") == EOPNOTSUPP);
  CHECK(x(f, owner, "user.a", 1, 4) == EINVAL);
  CHECK(x(f, other, "user.a") == EACCES);
  CHECK(x(f, owner, "trusted.a") == EPERM);
  CHECK(x(f, owner, "security.a") == EPERM);
  CHECK(x(f, kRoot, "trusted.a") == 0);
  // Under FUSE the kernel checked the namespace's capabilities (or removes
  // security.capability for a writer's kill-priv): a non-root caller passes.
  Cred fuse_writer = other;
  fuse_writer.xattr_ns_checked = true;
  CHECK(x(f, kRoot, "security.capability", 20) == 0);
  CHECK(xattr_remove(*m, f, other, "security.capability") == EPERM);
  CHECK(xattr_remove(*m, f, fuse_writer, "security.capability") == 0);
  CHECK(x(f, fuse_writer, "trusted.b") == 0);
  CHECK(x(f, fuse_writer, "user.b") == EACCES);  // user. names still need write permission
  CHECK(x(l, kRoot, "user.a") == EPERM);
  CHECK(x(c, kRoot, "user.a") == EPERM);
  CHECK(x(c, kRoot, "trusted.a") == 0);
  CHECK(x(t, other, "user.a") == EPERM);  // sticky, not the owner
  CHECK(x(t, kRoot, "user.a") == 0);
  CHECK(xattr_remove(*m, f, other, "user.max") == EACCES);
  CHECK(xattr_remove(*m, f, owner, "user.nothing") == ENODATA);

  // A change sets ctime and counts; a failed one changes nothing.
  const Timestamp before = f->core.ctime;
  const uint64_t count = f->core.changecount;
  CHECK(x(f, owner, "user.max", 1, kXattrCreate) == EEXIST);
  CHECK(f->core.changecount == count);
  CHECK(xattr_remove(*m, f, owner, "user.max") == 0);
  CHECK(f->core.changecount == count + 1);
  CHECK_FALSE(f->core.ctime == before);
  f.reset();
  l.reset();
  c.reset();
  t.reset();
  unmount_and_check(m, img.path);
}

TEST_CASE("attr_write: random sets and removes agree with a model", "[attr_write]") {
  ProtoImage img("/\n0 0\nd--755 0 0\nf ---644 0 0 /dev/null\n$\n", 65536);
  auto m = open_rw(img.path);
  std::mt19937 rng(20261205);
  Model model;
  const char* prefixes[] = {"user.", "trusted.", "security."};
  // Mostly short values (short form, then a leaf of a few dozen entries,
  // node form when they outgrow it), some remote ones (a 16-byte record in
  // the leaf) up to 65536 bytes.
  auto pick_value = [&] {
    const unsigned k = rng() % 100;
    size_t len = k < 55 ? rng() % 40 : k < 80 ? 100 + rng() % 150 : k < 85 ? 300 + rng() % 1000 : 3100 + rng() % 9000;
    if (k == 99) len = 65536;
    std::string v(len, '\0');
    for (char& ch : v) ch = static_cast<char>(rng());
    return v;
  };
  for (int op = 0; op < 3000; op++) {
    InodeRef ip = child(*m, "f");
    const unsigned n = rng() % 12;  // 36 names, of 2 to 63 bytes after the prefix
    const std::string name = std::string(prefixes[rng() % 3]) + "n" + std::to_string(n) + std::string(n * n % 61, 'x');
    INFO("op " << op << ": " << name);
    if (rng() % 3 == 0) {
      REQUIRE(remove(*m, ip, name, &model) == (model.count(name) ? 0 : ENODATA));
    } else {
      REQUIRE(set(*m, ip, name, bytes(pick_value()), &model) == 0);
    }
    if (op % 100 == 99) check_model(*m, ip, model);
    if (op % 500 == 499) {
      ip.reset();
      unmount_and_check(m, img.path);
      m = open_rw(img.path);
    }
  }
  check_model(*m, child(*m, "f"), model);
  unmount_and_check(m, img.path);
}

TEST_CASE("attr_write: kernel-made leaves and node forms change", "[attr_write]") {
  const attrtest::Image& kimg = attrtest::kernel_image();
  if (!kimg.skip.empty()) {
    WARN("SKIP: " << kimg.skip);
    return;
  }
  attrtest::ScratchCopy img(kimg.path);
  const auto inos = attrtest::inode_numbers(img.path, {"/xattr/leaf", "/xattr/node", "/xattr/collide"});
  auto m = open_rw(img.path);
  auto model_of = [&](const InodeRef& ip) {
    Model model;
    std::shared_lock<std::shared_mutex> l(ip->lock);
    REQUIRE(attr_list(*m, *ip, [&](std::string_view n) { model[std::string(n)]; }) == 0);
    for (auto& [name, value] : model) {
      std::vector<std::byte> v;
      REQUIRE(attr_get(*m, *ip, name, &v) == 0);
      value.assign(reinterpret_cast<const char*>(v.data()), v.size());
    }
    return model;
  };
  InodeRef leaf, node, collide;
  REQUIRE(m->iget(inos[0], &leaf) == 0);
  REQUIRE(m->iget(inos[1], &node) == 0);
  REQUIRE(m->iget(inos[2], &collide) == 0);

  Model lm = model_of(leaf);
  REQUIRE(lm.size() == 40);
  const std::string first = lm.begin()->first;
  REQUIRE(remove(*m, leaf, first, &lm) == 0);
  REQUIRE(set(*m, leaf, "user.new", bytes(std::string(100, 'n')), &lm) == 0);
  REQUIRE(set(*m, leaf, std::next(lm.begin())->first, bytes(std::string(7000, 'r')), &lm) == 0);
  check_model(*m, leaf, lm);

  // Node form: an add, a removal, a replace with a remote value.
  Model nm = model_of(node);
  REQUIRE(nm.size() > 2);
  REQUIRE(set(*m, node, "user.more", bytes("x"), &nm) == 0);
  REQUIRE(remove(*m, node, nm.begin()->first, &nm) == 0);
  REQUIRE(set(*m, node, std::next(nm.begin())->first, bytes(std::string(7000, 'r')), &nm) == 0);
  check_model(*m, node, nm);

  // Names of one hash: the right one goes.
  Model cm = model_of(collide);
  REQUIRE(cm.count("user.same") == 1);
  REQUIRE(remove(*m, collide, "user.same", &cm) == 0);
  REQUIRE(set(*m, collide, "security.same", bytes("z"), &cm) == 0);
  check_model(*m, collide, cm);
  leaf.reset();
  node.reset();
  collide.reset();
  unmount_and_check(m, img.path);
}

TEST_CASE("attr_write: freeing an inode frees its attr leaf and remote values", "[attr_write]") {
  ProtoImage img("/\n0 0\nd--755 0 0\nf ---644 0 0 /dev/null\n$\n", 65536);
  auto m = open_rw(img.path);
  const uint64_t free_before = bfree(*m);
  InodeRef ip = child(*m, "f");
  for (int i = 0; i < 6; i++) REQUIRE(set(*m, ip, "user.v" + std::to_string(i), bytes(std::string(5000 + i, 'q')), nullptr) == 0);
  REQUIRE(set(*m, ip, "user.small", bytes("s"), nullptr) == 0);
  CHECK(ip->core.nblocks == 1 + 6 * 2);
  CHECK(bfree(*m) < free_before);
  InodeRef root;
  REQUIRE(m->iget(m->sb().rootino, &root) == 0);
  REQUIRE(unlink(*m, root, "f", kRoot) == 0);
  REQUIRE(inactivate(*m, ip) == 0);
  CHECK(ip->is_free.load());
  CHECK(bfree(*m) == free_before);
  ip.reset();
  root.reset();
  unmount_and_check(m, img.path);
}

}  // namespace
}  // namespace xfsfuse::fs::test
