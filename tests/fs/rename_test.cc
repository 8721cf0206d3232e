// rename (fs/ops/rename.h): moves within and across directories, over files
// and empty directories, the renameat2 flags (NOREPLACE, EXCHANGE,
// WHITEOUT), every error of the kernel's checks, link counts, "..", the
// times the kernel changes, and threads renaming at once; xfs_repair -n and
// xfsfuse-fsck -n judge every image at the end.
#include "fs/ops/rename.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <shared_mutex>
#include <thread>

#include "fs/alloc/iunlink.h"
#include "fs/dir.h"
#include "fs/dir_write.h"
#include "fs/format/geometry.h"
#include "fs/mount.h"
#include "fs/ops/create.h"
#include "fs/ops/inactivate.h"
#include "fs/ops/remove.h"
#include "fs/ops/setattr.h"
#include "fs/trans/trans.h"
#include "tests/fs/dir_test_util.h"
#include "tests/fs/fs_test_util.h"
#include "tests/fs/ops_test_util.h"

namespace xfsfuse::fs::test {
namespace {

constexpr Timestamp kOld{1000, 0};

bool on_unlinked_list(Mount& m, const CachedInode& ip) {
  std::array<uint32_t, 64> h;
  const uint64_t ino = ip.core.ino;
  REQUIRE(iunlink_heads(m, ino_to_agno(m.sb(), ino), &h) == 0);
  return h[ino_to_agino(m.sb(), ino) % 64] == ino_to_agino(m.sb(), ino);
}

// The inode name points at in dp, or 0 when there is none (or the lookup
// failed).  No assertions: threads call it (Catch2's are not thread safe).
uint64_t find(Mount& m, const InodeRef& dp, const std::string& name) {
  std::shared_lock<std::shared_mutex> l(dp->lock);
  uint64_t ino = 0;
  return dir_lookup(m, *dp, name, &ino) == 0 ? ino : 0;
}

// find(), for the test's own thread: any error but ENOENT fails the test.
uint64_t lookup(Mount& m, const InodeRef& dp, const std::string& name) {
  std::shared_lock<std::shared_mutex> l(dp->lock);
  uint64_t ino = 0;
  const int e = dir_lookup(m, *dp, name, &ino);
  REQUIRE((e == 0 || e == ENOENT));
  return e == 0 ? ino : 0;
}

// Sets ip's mtime and ctime far in the past, so a change to either shows.
void age(Mount& m, const InodeRef& ip) {
  SetAttr a;
  a.mtime = TimeSet{false, kOld};
  a.ctime = TimeSet{false, kOld};
  REQUIRE(setattr(m, ip, kRoot, a) == 0);
}

bool mtime_changed(const InodeRef& ip) { return !(ip->core.mtime == kOld); }
bool ctime_changed(const InodeRef& ip) { return !(ip->core.ctime == kOld); }

// A second name for ip in dp (a hard link, made with the fs primitives:
// link(2) is not this file's subject).
void hard_link(Mount& m, const InodeRef& dp, const std::string& name, const InodeRef& ip) {
  std::unique_ptr<Transaction> tp;
  REQUIRE(Transaction::begin(m, &tp) == 0);
  REQUIRE(tp->reserve_blocks(dir_add_reservation(m.sb())) == 0);
  tp->join_inode(dp->core.ino < ip->core.ino ? dp : ip);
  tp->join_inode(dp->core.ino < ip->core.ino ? ip : dp);
  REQUIRE(dir_add(*tp, dp.get(), name, ip->core.ino, dir_ftype(ip->core.mode)) == 0);
  ip->core.nlink++;
  tp->log_inode(ip.get(), kDirtyCore);
  REQUIRE(tp->commit() == 0);
}

uint64_t dotdot(Mount& m, const InodeRef& dp) { return lookup(m, dp, ".."); }

}  // namespace

TEST_CASE("rename: files and directories within and across directories", "[rename]") {
  if (!have_xfsprogs()) return;
  MkfsImage img;
  auto m = open_rw(img.path);
  InodeRef root = root_of(*m);
  InodeRef d = make(*m, root, "d", S_IFDIR | 0755);
  InodeRef e = make(*m, root, "e", S_IFDIR | 0755);
  InodeRef f = make(*m, d, "f", S_IFREG | 0644);
  InodeRef sub = make(*m, d, "sub", S_IFDIR | 0755);
  make(*m, sub, "inner", S_IFREG | 0644);

  // A file within one directory: the name moves, the inode stays; the
  // directory's mtime and ctime and the file's ctime (not mtime) change.
  age(*m, d);
  age(*m, f);
  REQUIRE(rename(*m, d, "f", d, "g", kRoot, 0) == 0);
  CHECK(lookup(*m, d, "f") == 0);
  CHECK(lookup(*m, d, "g") == f->core.ino);
  CHECK((mtime_changed(d) && ctime_changed(d)));
  CHECK((!mtime_changed(f) && ctime_changed(f)));
  CHECK(f->core.nlink == 1);
  CHECK(d->core.nlink == 3);

  // Across directories: both directories' times, no link count changes.
  age(*m, d);
  age(*m, e);
  REQUIRE(rename(*m, d, "g", e, "f2", kRoot, 0) == 0);
  CHECK(lookup(*m, d, "g") == 0);
  CHECK(lookup(*m, e, "f2") == f->core.ino);
  CHECK((mtime_changed(d) && ctime_changed(d) && mtime_changed(e) && ctime_changed(e)));
  CHECK((d->core.nlink == 3 && e->core.nlink == 2));

  // A directory across directories: ".." follows, one link moves from the
  // old parent to the new; the directory's ctime changes, its mtime not.
  age(*m, sub);
  REQUIRE(rename(*m, d, "sub", e, "sub2", kRoot, 0) == 0);
  CHECK(dotdot(*m, sub) == e->core.ino);
  CHECK((d->core.nlink == 2 && e->core.nlink == 3 && sub->core.nlink == 2));
  CHECK((!mtime_changed(sub) && ctime_changed(sub)));
  CHECK(lookup(*m, sub, "inner") != 0);
  // And within one directory: "..", link counts stay.
  REQUIRE(rename(*m, e, "sub2", e, "sub3", kRoot, 0) == 0);
  CHECK((dotdot(*m, sub) == e->core.ino && e->core.nlink == 3));

  // Up to the root and back down into a block-form directory.
  InodeRef big = make(*m, root, "big", S_IFDIR | 0755);
  for (int i = 0; i < 60; i++) make(*m, big, "a-name-long-enough-for-block-form-" + std::to_string(i), S_IFREG | 0644);
  REQUIRE(big->core.format == ForkFormat::kExtents);
  REQUIRE(rename(*m, e, "sub3", root, "top", kRoot, 0) == 0);
  CHECK(dotdot(*m, sub) == root->core.ino);
  REQUIRE(rename(*m, root, "top", big, "a-name-long-enough-for-block-form-sub", kRoot, 0) == 0);
  CHECK(dotdot(*m, sub) == big->core.ino);
  CHECK(big->core.nlink == 3);
  for (int i = 0; i < 60; i += 2)
    REQUIRE(rename(*m, big, "a-name-long-enough-for-block-form-" + std::to_string(i), d, "moved" + std::to_string(i),
                   kRoot, 0) == 0);
  int err = 0;
  CHECK(iterate(*m, *big, 0, 1000, &err).size() == 2 + 30 + 1);
  CHECK(iterate(*m, *d, 0, 1000, &err).size() == 2 + 30);
  CHECK(lists_empty(*m));
  d.reset();
  e.reset();
  f.reset();
  sub.reset();
  big.reset();
  root.reset();
  unmount_and_check(m, img.path);
}

TEST_CASE("rename: over an existing file or empty directory", "[rename]") {
  if (!have_xfsprogs()) return;
  MkfsImage img;
  auto m = open_rw(img.path);
  InodeRef root = root_of(*m);
  InodeRef d = make(*m, root, "d", S_IFDIR | 0755);
  InodeRef e = make(*m, root, "e", S_IFDIR | 0755);
  const uint64_t used0 = inodes_used(*m);

  // Over a file of one link: it loses the link and goes on the unlinked
  // list until it is freed; its ctime changes.
  InodeRef a = make(*m, d, "a", S_IFREG | 0644);
  InodeRef b = make(*m, e, "b", S_IFREG | 0644);
  age(*m, b);
  REQUIRE(rename(*m, d, "a", e, "b", kRoot, 0) == 0);
  CHECK(lookup(*m, e, "b") == a->core.ino);
  CHECK(lookup(*m, d, "a") == 0);
  CHECK(b->core.nlink == 0);
  CHECK(ctime_changed(b));
  CHECK(on_unlinked_list(*m, *b));
  REQUIRE(inactivate(*m, b) == 0);
  CHECK(lists_empty(*m));

  // Over a file of two links: one goes, the inode stays off the lists.
  InodeRef c = make(*m, d, "c", S_IFREG | 0644);
  InodeRef two = make(*m, d, "two", S_IFREG | 0644);
  hard_link(*m, e, "two-again", two);
  REQUIRE(rename(*m, d, "c", d, "two", kRoot, 0) == 0);
  CHECK(two->core.nlink == 1);
  CHECK(lookup(*m, e, "two-again") == two->core.ino);
  CHECK(lists_empty(*m));

  // A name over another name of the same inode: nothing happens.
  hard_link(*m, d, "two-third", two);
  age(*m, d);
  REQUIRE(rename(*m, d, "two-third", e, "two-again", kRoot, 0) == 0);
  CHECK(lookup(*m, d, "two-third") == two->core.ino);
  CHECK(lookup(*m, e, "two-again") == two->core.ino);
  CHECK(two->core.nlink == 2);
  CHECK(!mtime_changed(d));

  // Over an empty directory, within one parent: the victim's two links go,
  // the parent loses the victim's "..".
  InodeRef x = make(*m, d, "x", S_IFDIR | 0755);
  InodeRef y = make(*m, d, "y", S_IFDIR | 0755);
  REQUIRE(d->core.nlink == 4);
  REQUIRE(rename(*m, d, "x", d, "y", kRoot, 0) == 0);
  CHECK((y->core.nlink == 0 && d->core.nlink == 3));
  CHECK(on_unlinked_list(*m, *y));
  REQUIRE(inactivate(*m, y) == 0);
  // Across parents: the old parent loses a link, the new one keeps its count.
  InodeRef z = make(*m, e, "z", S_IFDIR | 0755);
  REQUIRE(e->core.nlink == 3);
  REQUIRE(rename(*m, d, "y", e, "z", kRoot, 0) == 0);
  CHECK((z->core.nlink == 0 && d->core.nlink == 2 && e->core.nlink == 3));
  CHECK(dotdot(*m, x) == e->core.ino);
  REQUIRE(inactivate(*m, z) == 0);
  // Over a directory that is not empty: XFS answers EEXIST.
  make(*m, x, "inside", S_IFREG | 0644);
  InodeRef w = make(*m, d, "w", S_IFDIR | 0755);
  CHECK(rename(*m, d, "w", e, "z", kRoot, 0) == EEXIST);
  CHECK(lookup(*m, d, "w") == w->core.ino);

  // Removing what is left brings the inode count back.
  REQUIRE(unlink(*m, x, "inside", kRoot) == 0);
  for (auto& [dp, name] : std::vector<std::pair<InodeRef, std::string>>{{e, "b"}, {d, "two"}, {e, "two-again"}, {d, "two-third"}})
    REQUIRE(unlink(*m, dp, name, kRoot) == 0);
  REQUIRE(rmdir(*m, e, "z", kRoot) == 0);
  REQUIRE(rmdir(*m, d, "w", kRoot) == 0);
  CHECK(inactivate_unlinked(*m) == 0);
  a.reset(), c.reset(), two.reset(), x.reset(), w.reset();
  CHECK(inodes_used(*m) == used0);
  d.reset(), e.reset(), root.reset(), b.reset(), y.reset(), z.reset();
  unmount_and_check(m, img.path);
}

TEST_CASE("rename: RENAME_NOREPLACE and RENAME_EXCHANGE", "[rename]") {
  if (!have_xfsprogs()) return;
  MkfsImage img;
  auto m = open_rw(img.path);
  InodeRef root = root_of(*m);
  InodeRef d = make(*m, root, "d", S_IFDIR | 0755);
  InodeRef e = make(*m, root, "e", S_IFDIR | 0755);
  InodeRef a = make(*m, d, "a", S_IFREG | 0644);
  InodeRef b = make(*m, d, "b", S_IFREG | 0644);

  CHECK(rename(*m, d, "a", d, "b", kRoot, kRenameNoreplace) == EEXIST);
  CHECK(rename(*m, d, "a", d, "c", kRoot, kRenameNoreplace) == 0);
  CHECK(rename(*m, d, "c", d, "a", kRoot, 0) == 0);
  CHECK(rename(*m, d, "a", d, "nope", kRoot, kRenameExchange) == ENOENT);

  // Two files in one directory: the names swap; the inodes keep their times.
  age(*m, a);
  age(*m, b);
  age(*m, d);
  REQUIRE(rename(*m, d, "a", d, "b", kRoot, kRenameExchange) == 0);
  CHECK((lookup(*m, d, "a") == b->core.ino && lookup(*m, d, "b") == a->core.ino));
  CHECK((!ctime_changed(a) && !ctime_changed(b)));
  CHECK((mtime_changed(d) && ctime_changed(d)));

  // A directory and a file across directories: ".." follows the directory,
  // one link moves; the directory's mtime and ctime change, the file's ctime.
  InodeRef s = make(*m, e, "s", S_IFDIR | 0755);
  age(*m, s);
  age(*m, a);
  REQUIRE((d->core.nlink == 2 && e->core.nlink == 3));
  REQUIRE(rename(*m, e, "s", d, "b", kRoot, kRenameExchange) == 0);
  CHECK((lookup(*m, e, "s") == a->core.ino && lookup(*m, d, "b") == s->core.ino));
  CHECK(dotdot(*m, s) == d->core.ino);
  CHECK((d->core.nlink == 3 && e->core.nlink == 2));
  CHECK((mtime_changed(s) && ctime_changed(s)));
  CHECK((!mtime_changed(a) && ctime_changed(a)));
  // The entries' file types follow their inodes.
  int err = 0;
  for (auto& g : iterate(*m, *e, 0, 100, &err))
    if (g.name == "s") CHECK(g.ftype == kFtReg);
  for (auto& g : iterate(*m, *d, 0, 100, &err))
    if (g.name == "b") CHECK(g.ftype == kFtDir);

  // Two directories across parents: each ".." follows, link counts stay.
  InodeRef t = make(*m, e, "t", S_IFDIR | 0755);
  REQUIRE(rename(*m, d, "b", e, "t", kRoot, kRenameExchange) == 0);
  CHECK((dotdot(*m, s) == e->core.ino && dotdot(*m, t) == d->core.ino));
  CHECK((d->core.nlink == 3 && e->core.nlink == 3));
  // A directory with its own child: EINVAL either way round.
  InodeRef deep = make(*m, s, "deep", S_IFDIR | 0755);
  CHECK(rename(*m, e, "t", s, "deep", kRoot, kRenameExchange) == EINVAL);
  CHECK(rename(*m, s, "deep", e, "t", kRoot, kRenameExchange) == EINVAL);
  CHECK(lists_empty(*m));
  d.reset(), e.reset(), a.reset(), b.reset(), s.reset(), t.reset(), deep.reset(), root.reset();
  unmount_and_check(m, img.path);
}

TEST_CASE("rename: RENAME_WHITEOUT leaves a character device 0:0 behind", "[rename]") {
  if (!have_xfsprogs()) return;
  MkfsImage img;
  auto m = open_rw(img.path);
  InodeRef root = root_of(*m);
  InodeRef d = make(*m, root, "d", S_IFDIR | 0777);
  InodeRef e = make(*m, root, "e", S_IFDIR | 02777);
  edit_core(*m, e, [](Inode& n) { n.gid = 1234; });
  const Cred user{1000, 1000, {}};
  InodeRef a = make(*m, d, "a", S_IFREG | 0644, user);
  const uint64_t used0 = inodes_used(*m);

  age(*m, d);
  REQUIRE(rename(*m, d, "a", e, "b", user, kRenameWhiteout) == 0);
  CHECK(lookup(*m, e, "b") == a->core.ino);
  const uint64_t wino = lookup(*m, d, "a");
  REQUIRE(wino != 0);
  CHECK(wino != a->core.ino);
  CHECK(inodes_used(*m) == used0 + 1);
  CHECK((mtime_changed(d) && ctime_changed(d)));
  InodeRef w;
  REQUIRE(m->iget(wino, &w) == 0);
  // Owned as a new file of the target directory (set-group-ID: its group).
  CHECK(w->core.mode == S_IFCHR);
  CHECK((w->core.uid == 1000 && w->core.gid == 1234));
  CHECK(w->core.nlink == 1);
  CHECK(w->core.format == ForkFormat::kDev);
  CHECK(w->df.bytes == std::vector<std::byte>(4, std::byte{0}));
  CHECK(!on_unlinked_list(*m, *w));
  int err = 0;
  for (auto& g : iterate(*m, *d, 0, 100, &err))
    if (g.name == "a") CHECK(g.ftype == kFtChrdev);

  // Over an existing target: the target is unlinked, a whiteout stays.
  InodeRef c = make(*m, d, "c", S_IFREG | 0644);
  REQUIRE(rename(*m, e, "b", d, "c", kRoot, kRenameWhiteout) == 0);
  CHECK(lookup(*m, d, "c") == a->core.ino);
  CHECK((c->core.nlink == 0 && on_unlinked_list(*m, *c)));
  REQUIRE(inactivate(*m, c) == 0);
  // A rename that fails after the checks made no whiteout: none is left.
  const uint64_t used1 = inodes_used(*m);
  InodeRef full = make(*m, d, "full", S_IFDIR | 0755);
  make(*m, full, "x", S_IFREG | 0644);
  InodeRef sd = make(*m, d, "sd", S_IFDIR | 0755);
  CHECK(rename(*m, d, "sd", d, "full", kRoot, kRenameWhiteout) == EEXIST);
  CHECK(inodes_used(*m) == used1 + 3);
  CHECK(rename(*m, d, "sd", d, "x", kRoot, kRenameWhiteout | kRenameExchange) == EINVAL);
  CHECK(lists_empty(*m));
  w.reset(), c.reset(), d.reset(), e.reset(), a.reset(), full.reset(), sd.reset(), root.reset();
  REQUIRE(m->write_back() == 0);  // home, for xfs_db
  auto got = img.xfs_db("-c 'inode " + std::to_string(wino) + "' -c 'p core.mode core.format core.nlinkv2'");
  CHECK(num(got["core.mode"]) == 020000);
  CHECK(got["core.format"] == "0 (dev)");
  CHECK(num(got["core.nlinkv2"]) == 1);
  unmount_and_check(m, img.path);
}

TEST_CASE("rename: the kernel's errors", "[rename]") {
  if (!have_xfsprogs()) return;
  MkfsImage img;
  auto m = open_rw(img.path);
  InodeRef root = root_of(*m);
  const Cred user{1000, 1000, {}}, other{1001, 1001, {}};
  InodeRef d = make(*m, root, "d", S_IFDIR | 0755);
  InodeRef f = make(*m, d, "f", S_IFREG | 0644);
  InodeRef s = make(*m, d, "s", S_IFDIR | 0755);
  InodeRef t = make(*m, s, "t", S_IFDIR | 0755);
  make(*m, t, "leaf", S_IFREG | 0644);
  InodeRef u = make(*m, d, "u", S_IFDIR | 0777);

  CHECK(rename(*m, d, "f", d, "g", kRoot, 8) == EINVAL);
  CHECK(rename(*m, d, "f", d, "g", kRoot, kRenameNoreplace | kRenameExchange) == EINVAL);
  CHECK(rename(*m, f, "x", d, "g", kRoot, 0) == ENOTDIR);
  CHECK(rename(*m, d, "f", f, "g", kRoot, 0) == ENOTDIR);
  CHECK(rename(*m, d, ".", d, "g", kRoot, 0) == EBUSY);
  CHECK(rename(*m, d, "..", d, "g", kRoot, 0) == EBUSY);
  CHECK(rename(*m, d, "f", d, ".", kRoot, 0) == EBUSY);
  CHECK(rename(*m, d, "f", d, "..", kRoot, kRenameNoreplace) == EEXIST);
  CHECK(rename(*m, d, std::string(256, 'a'), d, "g", kRoot, 0) == ENAMETOOLONG);
  CHECK(rename(*m, d, "nope", d, std::string(256, 'a'), kRoot, 0) == ENOENT);
  CHECK(rename(*m, d, "f", d, std::string(256, 'a'), kRoot, 0) == ENAMETOOLONG);
  CHECK(rename(*m, d, "nope", d, "g", kRoot, 0) == ENOENT);
  // Into its own subtree (or onto its own parent), over an ancestor.
  CHECK(rename(*m, d, "s", t, "x", kRoot, 0) == EINVAL);
  CHECK(rename(*m, d, "s", s, "x", kRoot, 0) == EINVAL);
  CHECK(rename(*m, root, "d", t, "x", kRoot, 0) == EINVAL);
  CHECK(rename(*m, t, "leaf", root, "d", kRoot, 0) == ENOTEMPTY);
  CHECK(rename(*m, t, "leaf", d, "s", kRoot, 0) == ENOTEMPTY);
  // Types.
  CHECK(rename(*m, d, "s", d, "f", kRoot, 0) == ENOTDIR);
  CHECK(rename(*m, d, "f", d, "s", kRoot, 0) == EISDIR);
  CHECK(rename(*m, d, "f", d, "u", kRoot, 0) == EISDIR);

  // Permissions: search on both, write on both, the sticky bit, a moved
  // directory's own write permission, append-only and immutable.
  InodeRef priv = make(*m, root, "priv", S_IFDIR | 0700);
  make(*m, priv, "p", S_IFREG | 0644);
  CHECK(rename(*m, priv, "p", u, "p", user, 0) == EACCES);
  CHECK(rename(*m, u, "nope", priv, "p", user, 0) == EACCES);
  CHECK(rename(*m, u, "nope", d, "g", user, 0) == ENOENT);
  CHECK(rename(*m, d, "f", u, "f", user, 0) == EACCES);  // d is 0755 root
  make(*m, u, "mine", S_IFREG | 0644, user);
  CHECK(rename(*m, u, "mine", d, "mine", user, 0) == EACCES);
  InodeRef sticky = make(*m, root, "sticky", S_IFDIR | 01777);
  make(*m, sticky, "theirs", S_IFREG | 0644, other);
  make(*m, sticky, "ours", S_IFREG | 0644, user);
  CHECK(rename(*m, sticky, "theirs", sticky, "x", user, 0) == EPERM);
  CHECK(rename(*m, sticky, "ours", sticky, "theirs", user, 0) == EPERM);
  CHECK(rename(*m, sticky, "ours", sticky, "ours2", user, 0) == 0);
  make(*m, u, "udir", S_IFDIR | 0555, user);
  InodeRef u2 = make(*m, root, "u2", S_IFDIR | 0777);
  CHECK(rename(*m, u, "udir", u2, "udir", other, 0) == EACCES);
  CHECK(rename(*m, u, "udir", u, "udir2", other, 0) == 0);  // same parent: ".." stays
  InodeRef ap = make(*m, u, "ap", S_IFREG | 0644);
  edit_core(*m, ap, [](Inode& n) { n.flags |= 0x10; });  // append-only
  CHECK(rename(*m, u, "ap", u, "ap2", kRoot, 0) == EPERM);
  CHECK(rename(*m, u, "mine", u, "ap", kRoot, 0) == EPERM);
  edit_core(*m, ap, [](Inode& n) { n.flags = 0x8; });  // immutable
  CHECK(rename(*m, u, "ap", u, "ap2", kRoot, 0) == EPERM);
  edit_core(*m, ap, [](Inode& n) { n.flags = 0; });
  edit_core(*m, u2, [](Inode& n) { n.flags = 0x8; });  // an immutable directory
  CHECK(rename(*m, u, "ap", u2, "ap", kRoot, 0) == EPERM);
  edit_core(*m, u2, [](Inode& n) { n.flags = 0x10; });  // append-only: names come, none go
  CHECK(rename(*m, u, "ap", u2, "ap", kRoot, 0) == 0);
  CHECK(rename(*m, u2, "ap", u, "ap", kRoot, 0) == EPERM);
  edit_core(*m, u2, [](Inode& n) { n.flags = 0; });
  // A project-inheriting directory takes only its own project's files.
  edit_core(*m, u2, [](Inode& n) { n.flags = 0x200, n.projid = 7; });
  CHECK(rename(*m, u, "mine", u2, "mine", kRoot, 0) == EXDEV);
  edit_core(*m, u2, [](Inode& n) { n.flags = 0, n.projid = 0; });
  // A full directory takes no directory from elsewhere.
  edit_core(*m, u2, [](Inode& n) { n.nlink = kMaxLink; });
  CHECK(rename(*m, u, "udir2", u2, "udir", kRoot, 0) == EMLINK);
  CHECK(rename(*m, u, "mine", u2, "mine", kRoot, 0) == 0);  // files are fine
  edit_core(*m, u2, [](Inode& n) { n.nlink = 2; });
  // A removed directory takes no new names.
  InodeRef gone = make(*m, root, "gone", S_IFDIR | 0755);
  REQUIRE(rmdir(*m, root, "gone", kRoot) == 0);
  CHECK(rename(*m, u, "ap", gone, "x", kRoot, 0) == ENOENT);
  REQUIRE(inactivate(*m, gone) == 0);
  gone.reset();
  CHECK(lists_empty(*m));
  d.reset(), f.reset(), s.reset(), t.reset(), u.reset(), u2.reset(), priv.reset(), sticky.reset(), ap.reset();
  root.reset();
  unmount_and_check(m, img.path);
}

TEST_CASE("rename: threads renaming within and across directories", "[rename]") {
  if (!have_xfsprogs()) return;
  MkfsImage img("-d agcount=4");
  auto m = open_rw(img.path);
  InodeRef root = root_of(*m);
  constexpr int kDirs = 4, kThreads = 4, kFiles = 12, kRounds = 300;
  std::vector<InodeRef> dirs;
  for (int i = 0; i < kDirs; i++) dirs.push_back(make(*m, root, "d" + std::to_string(i), S_IFDIR | 0777));
  // Every thread owns files f<t>-<k> and directories s<t>-<k> that wander
  // among the shared directories (and into each other); names of other
  // threads are raced for with NOREPLACE, EXCHANGE and plain renames over.
  for (int t = 0; t < kThreads; t++)
    for (int k = 0; k < kFiles; k++) {
      make(*m, dirs[k % kDirs], "f" + std::to_string(t) + "-" + std::to_string(k), S_IFREG | 0644);
      if (k < 3) make(*m, dirs[(k + 1) % kDirs], "s" + std::to_string(t) + "-" + std::to_string(k), S_IFDIR | 0755);
    }
  const uint64_t used0 = inodes_used(*m);
  std::vector<int> failures(kThreads, 0), done(kThreads, 0), last(kThreads, 0);
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; t++)
    ts.emplace_back([&, t] {
      std::mt19937_64 rng(700 + t);
      for (int r = 0; r < kRounds; r++) {
        const InodeRef& from = dirs[rng() % kDirs];
        const InodeRef& to = dirs[rng() % kDirs];
        const int who = static_cast<int>(rng() % kThreads), k = static_cast<int>(rng() % kFiles);
        const bool dir = rng() % 4 == 0;
        const std::string name = (dir ? "s" : "f") + std::to_string(who) + "-" + std::to_string(k % (dir ? 3 : kFiles));
        const unsigned flags = rng() % 3 == 0 ? kRenameExchange : kRenameNoreplace;
        // Sometimes into one of the wandering directories (EINVAL when
        // that is the moved one or below it).
        InodeRef into = to;
        if (rng() % 5 == 0) {
          uint64_t ino = find(*m, to, "s" + std::to_string(rng() % kThreads) + "-0");
          if (ino != 0 && m->iget(ino, &into) != 0) into = to;
        }
        const std::string target = rng() % 2 ? name : (dir ? "s" : "f") + std::to_string(rng() % kThreads) + "-" +
                                                          std::to_string(rng() % (dir ? 3 : kFiles));
        const int e = rename(*m, from, name, into, target, kRoot, flags);
        if (e == 0) {
          done[t]++;
        } else if (e != ENOENT && e != EEXIST && e != EINVAL && e != ENOTEMPTY && e != ENOTDIR && e != EISDIR) {
          failures[t]++, last[t] = e;
        }
      }
    });
  for (auto& th : ts) th.join();
  for (int t = 0; t < kThreads; t++) {
    INFO("thread " << t << " last failure " << last[t]);
    CHECK(failures[t] == 0);
    CHECK(done[t] > 0);
  }
  // No rename here replaces anything: every inode is still somewhere.
  CHECK(inodes_used(*m) == used0);
  CHECK(lists_empty(*m));
  // Every directory's ".." names a directory holding it.
  std::vector<InodeRef> todo(dirs.begin(), dirs.end());
  size_t files = 0, subdirs = 0;
  while (!todo.empty()) {
    InodeRef dp = todo.back();
    todo.pop_back();
    int err = 0;
    for (auto& g : iterate(*m, *dp, 0, 100000, &err)) {
      if (g.name == "." || g.name == "..") continue;
      InodeRef ip;
      REQUIRE(m->iget(g.ino, &ip) == 0);
      if (S_ISDIR(ip->core.mode)) {
        CHECK(dotdot(*m, ip) == dp->core.ino);
        todo.push_back(ip);
        subdirs++;
      } else {
        files++;
      }
    }
    REQUIRE(err == 0);
  }
  CHECK(files == size_t{kThreads} * kFiles);
  CHECK(subdirs == size_t{kThreads} * 3);
  dirs.clear();
  root.reset();
  unmount_and_check(m, img.path);
}

TEST_CASE("rename: threads replacing, whiting out, creating and removing at once", "[rename]") {
  if (!have_xfsprogs()) return;
  MkfsImage img("-d agcount=4");
  auto m = open_rw(img.path);
  InodeRef root = root_of(*m);
  constexpr int kDirs = 3, kThreads = 4, kRounds = 250, kNames = 10;
  std::vector<InodeRef> dirs;
  for (int i = 0; i < kDirs; i++) dirs.push_back(make(*m, root, "d" + std::to_string(i), S_IFDIR | 0777));
  const uint64_t used0 = inodes_used(*m);
  std::vector<int> failures(kThreads, 0), renamed(kThreads, 0), last(kThreads, 0);
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; t++)
    ts.emplace_back([&, t] {
      std::mt19937_64 rng(900 + t);
      auto fail = [&](int e) { failures[t]++, last[t] = e; };
      for (int r = 0; r < kRounds; r++) {
        const InodeRef& a = dirs[rng() % kDirs];
        const InodeRef& b = dirs[rng() % kDirs];
        const std::string x = "n" + std::to_string(rng() % kNames), y = "n" + std::to_string(rng() % kNames);
        InodeRef ip;
        int e;
        switch (rng() % 4) {
          case 0:  // a new file or directory
            e = make_node(*m, a, x, kRoot, rng() % 4 ? S_IFREG | 0644 : S_IFDIR | 0755, 0, &ip);
            if (e != 0 && e != EEXIST) fail(1000 + e);
            break;
          case 1:  // over whatever is there, sometimes leaving a whiteout
            e = rename(*m, a, x, b, y, kRoot, rng() % 3 ? 0 : kRenameWhiteout);
            if (e == 0) renamed[t]++;
            else if (e != ENOENT && e != EISDIR && e != ENOTDIR && e != EEXIST) fail(2000 + e);
            break;
          case 2:  // swapped
            e = rename(*m, a, x, b, y, kRoot, kRenameExchange);
            if (e == 0) renamed[t]++;
            else if (e != ENOENT) fail(3000 + e);
            break;
          default: {  // removed and freed
            uint64_t ino = find(*m, a, x);
            if (ino == 0 || m->iget(ino, &ip) != 0) break;
            bool dir;
            {
              std::shared_lock<std::shared_mutex> l(ip->lock);
              dir = S_ISDIR(ip->core.mode);
            }
            // Free the inode this unlink took the last link of: ip may be
            // another by now (renamed away, freed, its number reused for
            // another thread's whiteout while that rename runs).
            InodeRef gone;
            e = dir ? rmdir(*m, a, x, kRoot, &gone) : unlink(*m, a, x, kRoot, &gone);
            if (e == 0) {
              if ((e = inactivate(*m, gone)) != 0) fail(4000 + e);
            } else if (e != ENOENT && e != ENOTEMPTY && e != EISDIR && e != ENOTDIR) {
              fail(5000 + e);
            }
          }
        }
      }
    });
  for (auto& th : ts) th.join();
  for (int t = 0; t < kThreads; t++) {
    INFO("thread " << t << " last failure " << last[t]);
    CHECK(failures[t] == 0);
    CHECK(renamed[t] > 0);
  }
  // Everything goes (subdirectories first); the victims of renames over
  // files are freed from the unlinked lists.
  std::function<void(const InodeRef&)> empty_out = [&](const InodeRef& dp) {
    int err = 0;
    for (auto& g : iterate(*m, *dp, 0, 100000, &err)) {
      if (g.name == "." || g.name == "..") continue;
      InodeRef ip;
      REQUIRE(m->iget(g.ino, &ip) == 0);
      if (S_ISDIR(ip->core.mode)) {
        CHECK(dotdot(*m, ip) == dp->core.ino);
        empty_out(ip);
        REQUIRE(rmdir(*m, dp, g.name, kRoot) == 0);
      } else {
        REQUIRE(unlink(*m, dp, g.name, kRoot) == 0);
      }
    }
    REQUIRE(err == 0);
  };
  for (auto& dp : dirs) empty_out(dp);
  CHECK(inactivate_unlinked(*m) == 0);
  CHECK(lists_empty(*m));
  CHECK(inodes_used(*m) == used0);
  dirs.clear();
  root.reset();
  unmount_and_check(m, img.path);
}

}  // namespace xfsfuse::fs::test
