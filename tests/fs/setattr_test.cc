// setattr (chmod, chown, utimensat) with the kernel's permission rules and
// S_ISUID/S_ISGID clearing, written back and judged by xfs_repair -n.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "fs/mount.h"
#include "fs/ops/cred.h"
#include "fs/ops/setattr.h"
#include "tests/fs/dir_test_util.h"

namespace xfsfuse::fs::test {
namespace {

InodeRef first_of_type(Mount& m, mode_t type) {
  InodeRef root;
  REQUIRE(m.iget(m.sb().rootino, &root) == 0);
  if (type == S_IFDIR) return root;
  int err = 0;
  for (const Got& g : iterate(m, *root, 0, SIZE_MAX, &err)) {
    InodeRef ip;
    if (g.name != "." && g.name != ".." && m.iget(g.ino, &ip) == 0 && (ip->core.mode & S_IFMT) == type) return ip;
  }
  FAIL("no inode of that type in the root directory");
  return nullptr;
}

const Cred kRoot{0, 0, {}};

}  // namespace

TEST_CASE("setattr: the kernel's rules for chmod, chown and times", "[setattr]") {
  const std::string& demo = image("demo");
  if (demo.empty()) return;
  ImageCopy img(demo);
  auto m = open_rw(img.path);
  InodeRef f = first_of_type(*m, S_IFREG);
  InodeRef d = first_of_type(*m, S_IFDIR);
  const Cred owner{1000, 1000, {50}}, other{2000, 2000, {}};
  REQUIRE(setattr(*m, f, kRoot, {.mode = 0644, .uid = 1000, .gid = 1000}) == 0);
  const Timestamp ctime0 = f->core.ctime;

  SECTION("chmod: owner or root, S_ISGID dropped for a caller outside the group") {
    CHECK(setattr(*m, f, other, {.mode = 0777}) == EPERM);
    CHECK((f->core.mode & 07777) == 0644);
    REQUIRE(setattr(*m, f, owner, {.mode = 02755}) == 0);
    CHECK(f->core.mode == (S_IFREG | 02755));
    REQUIRE(setattr(*m, f, kRoot, {.gid = 77}) == 0);
    REQUIRE(setattr(*m, f, owner, {.mode = 02750}) == 0);
    CHECK(f->core.mode == (S_IFREG | 0750));  // not in group 77
    REQUIRE(setattr(*m, f, kRoot, {.mode = 06750}) == 0);
    CHECK(f->core.mode == (S_IFREG | 06750));
    CHECK(!(f->core.ctime.sec < ctime0.sec));
  }
  SECTION("chown: uid needs root, gid the owner's own group; S_ISUID and group-exec S_ISGID go, even for root") {
    CHECK(setattr(*m, f, owner, {.uid = 1001}) == EPERM);
    CHECK(setattr(*m, f, owner, {.gid = 60}) == EPERM);
    REQUIRE(setattr(*m, f, owner, {.gid = 50}) == 0);
    CHECK(f->core.gid == 50);
    REQUIRE(setattr(*m, f, kRoot, {.mode = 04755}) == 0);
    CHECK(setattr(*m, f, owner, {.uid = 1000}) == 0);  // no change is allowed, and still a chown
    CHECK(f->core.mode == (S_IFREG | 0755));
    REQUIRE(setattr(*m, f, kRoot, {.mode = 06755}) == 0);
    REQUIRE(setattr(*m, f, kRoot, {.uid = 3000}) == 0);
    CHECK(f->core.mode == (S_IFREG | 0755));
    REQUIRE(setattr(*m, f, kRoot, {.mode = 06745}) == 0);  // S_ISGID without group-exec: a lock mark, kept
    REQUIRE(setattr(*m, f, kRoot, {.gid = 3000}) == 0);
    CHECK(f->core.mode == (S_IFREG | 02745));
    REQUIRE(setattr(*m, d, kRoot, {.mode = 02755}) == 0);
    REQUIRE(setattr(*m, d, kRoot, {.uid = 5, .gid = 5}) == 0);
    CHECK(d->core.mode == (S_IFDIR | 02755));  // directories keep theirs
  }
  SECTION("times: explicit values need the owner, now also write permission") {
    const TimeSet t{false, {1234567890, 42}};
    CHECK(setattr(*m, f, other, {.mtime = t}) == EPERM);
    CHECK(setattr(*m, f, other, {.atime = TimeSet{true, {}}}) == EACCES);
    REQUIRE(setattr(*m, f, kRoot, {.mode = 0646}) == 0);
    CHECK(setattr(*m, f, other, {.atime = TimeSet{true, {}}, .mtime = TimeSet{true, {}}}) == 0);
    REQUIRE(setattr(*m, f, owner, {.atime = t, .mtime = t}) == 0);
    CHECK(f->core.mtime == t.value);
    CHECK(f->core.atime == t.value);
    CHECK(f->core.ctime.sec >= ctime0.sec);
  }
  const uint64_t ino = f->core.ino;
  const Inode want = f->core;
  REQUIRE(m->unmount_clean() == 0);
  m.reset();
  CHECK(system(("xfs_repair -n " + img.path + " >/dev/null 2>&1").c_str()) == 0);
  auto r = open_mount(img.path);
  InodeRef back;
  REQUIRE(r->iget(ino, &back) == 0);
  CHECK(back->core.mode == want.mode);
  CHECK(back->core.uid == want.uid);
  CHECK(back->core.gid == want.gid);
  CHECK(back->core.mtime == want.mtime);
  CHECK(back->core.ctime == want.ctime);
}

TEST_CASE("setattr: a caller the kernel checked (default_permissions) gets what it asks for", "[setattr]") {
  const std::string& demo = image("demo");
  if (demo.empty()) return;
  ImageCopy img(demo);
  auto m = open_rw(img.path);
  InodeRef f = first_of_type(*m, S_IFREG);
  // The mode change by which the kernel takes set-user-ID from a file a
  // stranger writes (ATTR_FORCE: no setattr_prepare()), sent as that
  // stranger, who neither owns the file nor is in its group.  Without the
  // kernel's checks it passes only for a caller who may write the file,
  // and only when it takes set-id bits and nothing else.
  Cred stranger{1000, 1000, {}};
  REQUIRE(setattr(*m, f, kRoot, {.mode = 06745, .uid = 0, .gid = 0}) == 0);
  CHECK(setattr(*m, f, stranger, {.mode = 02745}) == EPERM);  // no write permission
  REQUIRE(setattr(*m, f, kRoot, {.mode = 06747}) == 0);
  CHECK(setattr(*m, f, stranger, {.mode = 06777}) == EPERM);  // more than set-id bits
  CHECK(setattr(*m, f, stranger, {.mode = 02747, .gid = 1000}) == EPERM);
  REQUIRE(setattr(*m, f, stranger, {.mode = 04747}) == 0);
  CHECK(f->core.mode == (S_IFREG | 04747));
  REQUIRE(setattr(*m, f, kRoot, {.mode = 06747}) == 0);
  stranger.vfs_checked = true;
  REQUIRE(setattr(*m, f, stranger, {.mode = 02747}) == 0);
  CHECK(f->core.mode == (S_IFREG | 02747));  // S_ISGID as sent, not stripped
  REQUIRE(setattr(*m, f, stranger, {.mtime = TimeSet{false, {1234567890, 0}}}) == 0);
  CHECK(f->core.mtime == Timestamp{1234567890, 0});
  f.reset();
  REQUIRE(m->unmount_clean() == 0);
  m.reset();
  CHECK(system(("xfs_repair -n " + img.path + " >/dev/null 2>&1").c_str()) == 0);
}

TEST_CASE("setattr: a read-only mount answers EROFS", "[setattr]") {
  const std::string& demo = image("demo");
  if (demo.empty()) return;
  auto m = open_mount(demo);
  InodeRef f = first_of_type(*m, S_IFREG);
  CHECK(setattr(*m, f, kRoot, {.mode = 0600}) == EROFS);
}

}  // namespace xfsfuse::fs::test

namespace xfsfuse::fs::test {

TEST_CASE("cred: supplementary groups are loaded once and only when the primary gid does not answer", "[setattr]") {
  int loads = 0;
  const Cred c{1000, 1000, {}, [&] {
                 loads++;
                 return std::vector<gid_t>{50, 60};
               }};
  Inode n{};
  n.mode = S_IFREG | 0070;
  n.uid = 2000;
  n.gid = 1000;
  CHECK(permission(c, n, R_OK | W_OK) == 0);  // primary group: no load
  CHECK(loads == 0);
  n.gid = 60;
  CHECK(permission(c, n, R_OK) == 0);
  CHECK(c.in_group(50));
  CHECK_FALSE(c.in_group(70));
  CHECK(loads == 1);
  n.gid = 70;
  CHECK(permission(c, n, R_OK) == EACCES);
  CHECK(loads == 1);
}

}  // namespace xfsfuse::fs::test
