// POSIX ACLs (fs/ops/acl.h): one the mode can say set as the mode, with the
// kernel's permission and setgid rules; others stored in XFS's form, read
// back in the xattr form (or EUCLEAN) and removed; invalid ones EINVAL.  Written back and judged by xfs_repair -n.
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include <array>
#include <cerrno>
#include <cstdint>
#include <shared_mutex>
#include <span>
#include <string>
#include <vector>

#include "fs/attr.h"
#include "fs/mount.h"
#include "fs/ops/acl.h"
#include "fs/ops/create.h"
#include "fs/ops/cred.h"
#include "fs/ops/setattr.h"
#include "fs/ops/xattr.h"
#include "tests/fs/dir_test_util.h"

namespace xfsfuse::fs::test {
namespace {

InodeRef first_file(Mount& m) {
  InodeRef root;
  REQUIRE(m.iget(m.sb().rootino, &root) == 0);
  int err = 0;
  for (const Got& g : iterate(m, *root, 0, SIZE_MAX, &err)) {
    InodeRef ip;
    if (g.name != "." && g.name != ".." && m.iget(g.ino, &ip) == 0 && S_ISREG(ip->core.mode)) return ip;
  }
  FAIL("no regular file in the root directory");
  return nullptr;
}

// The xattr form of an ACL: version 2, then {tag, perm, id} entries.
std::vector<std::byte> acl_value(std::initializer_list<std::array<uint32_t, 3>> entries) {
  std::vector<std::byte> v;
  auto put = [&](uint32_t x, int n) {
    for (int i = 0; i < n; ++i) v.push_back(static_cast<std::byte>(x >> (8 * i)));
  };
  put(2, 4);
  for (const auto& e : entries) {
    put(e[0], 2);
    put(e[1], 2);
    put(e[2], 4);
  }
  return v;
}

// XFS's stored form of an ACL: a big-endian count, then {tag, id, perm, pad}
// entries of 4, 4, 2 and 2 bytes, big-endian; entries given as {tag, id, perm}.
std::vector<std::byte> disk_acl(std::initializer_list<std::array<uint32_t, 3>> entries) {
  std::vector<std::byte> v;
  auto put = [&](uint32_t x, int n) {
    for (int i = n - 1; i >= 0; --i) v.push_back(static_cast<std::byte>(x >> (8 * i)));
  };
  put(static_cast<uint32_t>(entries.size()), 4);
  for (const auto& e : entries) {
    put(e[0], 4);
    put(e[1], 4);
    put(e[2], 2);
    put(0, 2);
  }
  return v;
}

constexpr uint32_t kNoId = 0xffffffff;
std::vector<std::byte> trivial(unsigned u, unsigned g, unsigned o) {
  return acl_value({{0x01, u, kNoId}, {0x04, g, kNoId}, {0x20, o, kNoId}});
}

const Cred kRoot{0, 0, {}};
constexpr const char* kAccess = "system.posix_acl_access";
constexpr const char* kDefault = "system.posix_acl_default";

}  // namespace

TEST_CASE("acl: set, stored, read back and removed as the kernel's XFS does", "[acl]") {
  const std::string& demo = image("demo");
  if (demo.empty()) return;
  ImageCopy img(demo);
  auto m = open_rw(img.path);
  InodeRef f = first_file(*m);
  REQUIRE(setattr(*m, f, kRoot, {.uid = 1000, .gid = 0}) == 0);
  REQUIRE(setattr(*m, f, kRoot, {.mode = 02770}) == 0);  // after the chown, which drops setgid
  const Cred owner{1000, 1000, {}}, member{1000, 1000, {0}}, other{2000, 2000, {}};

  SECTION("the owner or root; setgid goes for an owner outside the file's group") {
    CHECK(acl_set(*m, f, other, kAccess, trivial(7, 7, 7)) == EPERM);
    CHECK(f->core.mode == (S_IFREG | 02770));
    REQUIRE(acl_set(*m, f, member, kAccess, trivial(7, 5, 0)) == 0);
    CHECK(f->core.mode == (S_IFREG | 02750));
    REQUIRE(acl_set(*m, f, owner, kAccess, trivial(7, 5, 0)) == 0);
    CHECK(f->core.mode == (S_IFREG | 0750));
    REQUIRE(setattr(*m, f, kRoot, {.mode = 07000}) == 0);
    REQUIRE(acl_set(*m, f, kRoot, kAccess, trivial(6, 4, 4)) == 0);
    CHECK(f->core.mode == (S_IFREG | 07644));
  }
  SECTION("the same mode changes nothing, not even ctime") {
    REQUIRE(setattr(*m, f, kRoot, {.ctime = TimeSet{false, {1000, 0}}}) == 0);
    const uint64_t count = f->core.changecount;
    REQUIRE(acl_set(*m, f, kRoot, kAccess, trivial(7, 7, 0)) == 0);
    CHECK(f->core.ctime.sec == 1000);
    CHECK(f->core.changecount == count);
    REQUIRE(acl_set(*m, f, kRoot, kAccess, trivial(7, 7, 5)) == 0);
    CHECK(f->core.ctime.sec != 1000);
    CHECK(f->core.changecount == count + 1);
  }
  SECTION("an ACL the mode cannot say is stored and sets the mode from its mask") {
    const std::vector<std::byte> named = acl_value({{0x01, 7, kNoId}, {0x02, 5, 1234}, {0x04, 7, kNoId},
                                                    {0x10, 5, kNoId}, {0x20, 0, kNoId}});
    const uint64_t count = f->core.changecount;
    REQUIRE(acl_set(*m, f, kRoot, kAccess, named) == 0);
    CHECK(f->core.mode == (S_IFREG | 02750));  // root keeps set-group-ID
    CHECK(f->core.changecount == count + 2);   // the stored ACL and the mode: a transaction each, as the kernel
    std::vector<std::byte> v;
    {
      std::shared_lock<std::shared_mutex> l(f->lock);
      REQUIRE(attr_get(*m, *f, "trusted.SGI_ACL_FILE", &v) == 0);
      CHECK(v == disk_acl({{0x01, kNoId, 7}, {0x02, 1234, 5}, {0x04, kNoId, 7}, {0x10, kNoId, 5}, {0x20, kNoId, 0}}));
      REQUIRE(acl_get(*m, *f, kAccess, &v) == 0);
      CHECK(v == named);
    }
    REQUIRE(setattr(*m, f, kRoot, {.ctime = TimeSet{false, {1000, 0}}}) == 0);
    const uint64_t again = f->core.changecount;
    REQUIRE(acl_set(*m, f, kRoot, kAccess, named) == 0);  // the same again: stored again, the mode stays
    CHECK(f->core.changecount == again + 1);
    CHECK(f->core.ctime.sec != 1000);
    REQUIRE(acl_set(*m, f, kRoot, kAccess, trivial(6, 4, 0)) == 0);  // the mode says it: the stored one goes
    CHECK(f->core.mode == (S_IFREG | 02640));
    std::shared_lock<std::shared_mutex> l(f->lock);
    CHECK(attr_get(*m, *f, "trusted.SGI_ACL_FILE", &v) == ENODATA);
  }
  SECTION("default ACLs: stored on a directory as given, EACCES on a file") {
    InodeRef root;
    REQUIRE(m->iget(m->sb().rootino, &root) == 0);
    const uint64_t count = root->core.changecount;
    const uint16_t mode = root->core.mode;
    REQUIRE(acl_set(*m, root, kRoot, kDefault, trivial(7, 5, 5)) == 0);
    CHECK(root->core.changecount == count + 1);
    CHECK(root->core.mode == mode);
    std::vector<std::byte> v;
    {
      std::shared_lock<std::shared_mutex> l(root->lock);
      REQUIRE(acl_get(*m, *root, kDefault, &v) == 0);
      CHECK(v == trivial(7, 5, 5));
      CHECK(acl_get(*m, *root, kAccess, &v) == ENODATA);
    }
    REQUIRE(acl_remove(*m, root, kRoot, kDefault) == 0);
    CHECK(root->core.changecount == count + 2);
    CHECK(acl_set(*m, f, kRoot, kDefault, trivial(7, 5, 5)) == EACCES);
  }
  SECTION("invalid ACLs are EINVAL, more entries than XFS holds E2BIG") {
    const std::vector<std::vector<std::byte>> invalid = {
        {},
        acl_value({{0x01, 7, kNoId}, {0x02, 5, 1234}, {0x04, 5, kNoId}, {0x20, 0, kNoId}}),  // no mask
        acl_value({{0x04, 5, kNoId}, {0x01, 7, kNoId}, {0x20, 0, kNoId}}),                   // out of order
        acl_value({{0x01, 7, kNoId}, {0x02, 5, 9}, {0x02, 5, 9}, {0x04, 5, kNoId}, {0x10, 5, kNoId}, {0x20, 0, kNoId}}),
        acl_value({{0x01, 7, kNoId}, {0x02, 5, 9}, {0x02, 5, 8}, {0x04, 5, kNoId}, {0x10, 5, kNoId}, {0x20, 0, kNoId}}),
        acl_value({{0x01, 7, kNoId}, {0x04, 5, kNoId}, {0x04, 5, kNoId}, {0x20, 0, kNoId}}),  // two owning groups
        acl_value({{0x01, 7, kNoId}, {0x04, 5, kNoId}}),                                      // no other
        acl_value({{0x01, 8, kNoId}, {0x04, 5, kNoId}, {0x20, 0, kNoId}}),                    // not rwx
        acl_value({{0x01, 7, kNoId}, {0x04, 5, kNoId}, {0x40, 5, kNoId}, {0x20, 0, kNoId}}),  // no such tag
    };
    for (const auto& v : invalid) CHECK(acl_set(*m, f, kRoot, kAccess, v) == EINVAL);
    std::vector<std::byte> bad = trivial(7, 5, 5);
    bad[0] = std::byte{3};  // version 3
    CHECK(acl_set(*m, f, kRoot, kAccess, bad) == EINVAL);
    bad = trivial(7, 5, 5);
    bad.pop_back();
    CHECK(acl_set(*m, f, kRoot, kAccess, bad) == EINVAL);
    CHECK(f->core.mode == (S_IFREG | 02770));
    // 5,461 entries fill a 64 KiB value exactly; one more is E2BIG.
    const auto many = [](uint32_t users) {
      std::vector<std::byte> v = acl_value({{0x01, 7, kNoId}});
      std::vector<std::byte> tail = acl_value({{0x04, 5, kNoId}, {0x10, 5, kNoId}, {0x20, 0, kNoId}});
      std::vector<std::byte> user = acl_value({{0x02, 4, 0}});
      for (uint32_t u = 0; u < users; ++u) {
        for (int i = 0; i < 4; ++i) user[8 + i] = static_cast<std::byte>((10000 + u) >> (8 * i));
        v.insert(v.end(), user.begin() + 4, user.end());
      }
      v.insert(v.end(), tail.begin() + 4, tail.end());
      return v;
    };
    CHECK(acl_set(*m, f, kRoot, kAccess, many(5458)) == E2BIG);
    REQUIRE(acl_set(*m, f, kRoot, kAccess, many(5457)) == 0);
    std::vector<std::byte> v;
    std::shared_lock<std::shared_mutex> l(f->lock);
    REQUIRE(attr_get(*m, *f, "trusted.SGI_ACL_FILE", &v) == 0);
    CHECK(v.size() == 65536);
    REQUIRE(acl_get(*m, *f, kAccess, &v) == 0);
    CHECK(v == many(5457));
  }
  SECTION("a stored ACL: reads back in the xattr form, goes with a trivial set or a remove") {
    std::vector<std::byte> v;
    {
      std::shared_lock<std::shared_mutex> l(f->lock);
      CHECK(acl_get(*m, *f, kAccess, &v) == ENODATA);
      CHECK(acl_get(*m, *f, kDefault, &v) == ENODATA);
    }
    CHECK(acl_remove(*m, f, kRoot, kAccess) == 0);  // none stored
    CHECK(acl_remove(*m, f, kRoot, kDefault) == 0);
    // XFS's form (docs/format.md "POSIX ACLs"): what the kernel stored for
    // u::rw-, u:1000:r--, g::r--, m::rw-, o::--- (ids of unnamed entries
    // are not read: the xattr form gives them 0xffffffff).
    const std::vector<std::byte> stored = disk_acl({{0x01, 0xffffffff, 6}, {0x02, 1000, 4}, {0x04, 7, 4},
                                                    {0x10, 0xffffffff, 6}, {0x20, 0xffffffff, 0}});
    REQUIRE(xattr_set(*m, f, kRoot, "trusted.SGI_ACL_FILE", stored, 0) == 0);
    {
      std::shared_lock<std::shared_mutex> l(f->lock);
      REQUIRE(acl_get(*m, *f, kAccess, &v) == 0);
      CHECK(v == acl_value({{0x01, 6, kNoId}, {0x02, 4, 1000}, {0x04, 4, kNoId}, {0x10, 6, kNoId}, {0x20, 0, kNoId}}));
      CHECK(acl_get(*m, *f, kDefault, &v) == ENODATA);
    }
    CHECK(acl_remove(*m, f, other, kAccess) == EPERM);
    REQUIRE(acl_set(*m, f, kRoot, kAccess, trivial(7, 7, 0)) == 0);  // the mode already: the ACL still goes
    {
      std::shared_lock<std::shared_mutex> l(f->lock);
      CHECK(attr_get(*m, *f, "trusted.SGI_ACL_FILE", &v) == ENODATA);
    }
    REQUIRE(xattr_set(*m, f, kRoot, "trusted.SGI_ACL_FILE", stored, 0) == 0);
    REQUIRE(acl_remove(*m, f, kRoot, kAccess) == 0);
    std::shared_lock<std::shared_mutex> l(f->lock);
    CHECK(attr_get(*m, *f, "trusted.SGI_ACL_FILE", &v) == ENODATA);
  }
  SECTION("a stored value that is not an ACL is EUCLEAN") {
    const std::vector<std::byte> good = disk_acl({{0x01, 0, 7}, {0x04, 0, 5}, {0x20, 0, 5}});
    std::vector<std::vector<std::byte>> bad(4, good);
    bad[0].resize(2);                     // shorter than its count
    bad[1][3] = std::byte{4};             // a count of 4 in room for 3
    bad[2].resize(good.size() + 12);      // room for 4, a count of 3
    bad[3][4 + 12 + 3] = std::byte{0x40};  // the second entry's tag: no ACL tag
    for (const auto& b : bad) {
      REQUIRE(xattr_set(*m, f, kRoot, "trusted.SGI_ACL_DEFAULT", b, 0) == 0);
      std::vector<std::byte> v;
      std::shared_lock<std::shared_mutex> l(f->lock);
      CHECK(acl_get(*m, *f, kDefault, &v) == EUCLEAN);
    }
    REQUIRE(xattr_remove(*m, f, kRoot, "trusted.SGI_ACL_DEFAULT") == 0);
  }
  unmount_and_repair_check(m, img.path);
}

}  // namespace xfsfuse::fs::test

namespace xfsfuse::fs::test {

TEST_CASE("acl: a directory's default ACL goes to what is made in it, and chmod rewrites a stored ACL", "[acl]") {
  const std::string& demo = image("demo");
  if (demo.empty()) return;
  ImageCopy img(demo);
  auto m = open_rw(img.path);
  InodeRef root, d;
  REQUIRE(m->iget(m->sb().rootino, &root) == 0);
  REQUIRE(make_node(*m, root, "acl-d", kRoot, S_IFDIR | 0777, 0, &d) == 0);
  // u::rwx u:1002:r-x g::r-x m::r-x o::--x (the kernel's observed results on Linux 6.18 for this
  // ACL: docs/format.md "POSIX ACLs").
  const std::vector<std::byte> dflt =
      acl_value({{0x01, 7, kNoId}, {0x02, 5, 1002}, {0x04, 5, kNoId}, {0x10, 5, kNoId}, {0x20, 1, kNoId}});
  REQUIRE(acl_set(*m, d, kRoot, kDefault, dflt) == 0);
  Cred masked = kRoot;
  masked.umask = 077;  // a default ACL takes the umask's place
  const auto acl_of = [&](const InodeRef& ip, const char* name, std::vector<std::byte>* v) {
    std::shared_lock<std::shared_mutex> l(ip->lock);
    return acl_get(*m, *ip, name, v);
  };
  std::vector<std::byte> v;

  SECTION("a file: the ACL cut to the create mode, the mode to the ACL") {
    InodeRef f;
    REQUIRE(make_node(*m, d, "f", masked, S_IFREG | 0666, 0, &f) == 0);
    CHECK(f->core.mode == (S_IFREG | 0640));
    REQUIRE(acl_of(f, kAccess, &v) == 0);
    CHECK(v == acl_value({{0x01, 6, kNoId}, {0x02, 5, 1002}, {0x04, 5, kNoId}, {0x10, 4, kNoId}, {0x20, 0, kNoId}}));
    CHECK(acl_of(f, kDefault, &v) == ENODATA);
    // chmod: owner, mask and other follow the mode; the named user and the owning group stay.
    REQUIRE(setattr(*m, f, kRoot, {.mode = 0604}) == 0);
    REQUIRE(acl_of(f, kAccess, &v) == 0);
    CHECK(v == acl_value({{0x01, 6, kNoId}, {0x02, 5, 1002}, {0x04, 5, kNoId}, {0x10, 0, kNoId}, {0x20, 4, kNoId}}));
  }
  SECTION("a directory: the default ACL as well; a symlink: nothing") {
    InodeRef sub, deeper, sym;
    REQUIRE(make_node(*m, d, "sub", masked, S_IFDIR | 0777, 0, &sub) == 0);
    CHECK(sub->core.mode == (S_IFDIR | 0751));
    REQUIRE(acl_of(sub, kDefault, &v) == 0);
    CHECK(v == dflt);
    REQUIRE(acl_of(sub, kAccess, &v) == 0);
    CHECK(v == dflt);  // 0777 cuts nothing from it
    REQUIRE(make_node(*m, sub, "deeper", masked, S_IFDIR | 0700, 0, &deeper) == 0);
    CHECK(deeper->core.mode == (S_IFDIR | 0700));
    REQUIRE(acl_of(deeper, kAccess, &v) == 0);
    CHECK(v == acl_value({{0x01, 7, kNoId}, {0x02, 5, 1002}, {0x04, 5, kNoId}, {0x10, 0, kNoId}, {0x20, 0, kNoId}}));
    REQUIRE(make_symlink(*m, d, "sym", "f", masked, &sym) == 0);
    CHECK(sym->core.mode == (S_IFLNK | 0777));
    CHECK(acl_of(sym, kAccess, &v) == ENODATA);
  }
  SECTION("a stored default ACL that is no valid ACL: EUCLEAN, nothing made") {
    // Readable (count and length agree) but without an owning group entry.
    REQUIRE(xattr_set(*m, d, kRoot, "trusted.SGI_ACL_DEFAULT", disk_acl({{0x01, kNoId, 7}, {0x20, kNoId, 5}}), 0) == 0);
    const uint64_t size = d->core.size, changes = d->core.changecount;
    InodeRef f;
    CHECK(make_node(*m, d, "x", masked, S_IFREG | 0666, 0, &f) == EUCLEAN);
    CHECK(d->core.size == size);
    CHECK(d->core.changecount == changes);
    uint64_t ino;
    std::shared_lock<std::shared_mutex> l(d->lock);
    CHECK(dir_lookup(*m, *d, "x", &ino) == ENOENT);
    l.unlock();
    REQUIRE(xattr_remove(*m, d, kRoot, "trusted.SGI_ACL_DEFAULT") == 0);
  }
  SECTION("a default ACL the mode can say: the mode, nothing stored; no default ACL: the umask") {
    REQUIRE(acl_set(*m, d, kRoot, kDefault, trivial(7, 5, 5)) == 0);
    InodeRef f, t;
    REQUIRE(make_node(*m, d, "g", masked, S_IFREG | 0666, 0, &f) == 0);
    CHECK(f->core.mode == (S_IFREG | 0644));
    CHECK(acl_of(f, kAccess, &v) == ENODATA);
    REQUIRE(make_tmpfile(*m, d, masked, S_IFREG | 0600, false, &t) == 0);
    CHECK(t->core.mode == (S_IFREG | 0600));
    REQUIRE(acl_remove(*m, d, kRoot, kDefault) == 0);
    REQUIRE(make_node(*m, d, "h", masked, S_IFREG | 0666, 0, &f) == 0);
    CHECK(f->core.mode == (S_IFREG | 0600));
  }
  unmount_and_repair_check(m, img.path);
}

}  // namespace xfsfuse::fs::test

namespace xfsfuse::fs::test {

TEST_CASE("acl: a stored value judged as xfs_repair judges it", "[acl]") {
  bool silent = true;
  CHECK(acl_stored_fault(disk_acl({{0x01, kNoId, 6}, {0x02, 1000, 4}, {0x04, kNoId, 4}, {0x10, kNoId, 6},
                                   {0x20, kNoId, 0}}),
                         &silent)
            .empty());
  CHECK(!silent);
  CHECK(acl_stored_fault(disk_acl({{0x04, kNoId, 4}, {0x01, kNoId, 6}, {0x20, kNoId, 0}}), &silent).empty());  // order: not judged
  const std::vector<std::vector<std::byte>> bad = {
      {},
      disk_acl({{0x01, kNoId, 8}, {0x04, kNoId, 4}, {0x20, kNoId, 0}}),                       // beyond rwx
      disk_acl({{0x01, kNoId, 6}, {0x04, kNoId, 4}, {0x40, kNoId, 4}, {0x20, kNoId, 0}}),     // no such tag
      disk_acl({{0x01, kNoId, 6}, {0x02, 7, 4}, {0x04, kNoId, 4}, {0x20, kNoId, 0}}),         // no mask
      disk_acl({{0x01, kNoId, 6}, {0x01, kNoId, 6}, {0x04, kNoId, 4}, {0x20, kNoId, 0}}),     // two owners
      disk_acl({{0x01, kNoId, 6}, {0x08, 7, 4}, {0x08, 7, 5}, {0x04, kNoId, 4}, {0x10, kNoId, 6}, {0x20, kNoId, 0}}),
      disk_acl({{0x01, kNoId, 6}, {0x04, kNoId, 4}}),                                           // no other
  };
  for (const auto& b : bad) {
    CHECK(!acl_stored_fault(b, &silent).empty());
    CHECK(!silent);
  }
  std::vector<std::byte> count = disk_acl({{0x01, kNoId, 6}, {0x04, kNoId, 4}, {0x20, kNoId, 0}});
  count[1] = std::byte{1};  // 65,539 entries
  CHECK(!acl_stored_fault(count, &silent).empty());
  std::vector<std::byte> longer = disk_acl({{0x01, kNoId, 6}, {0x04, kNoId, 4}, {0x20, kNoId, 0}});
  longer.resize(longer.size() + 4);
  CHECK(!acl_stored_fault(longer, &silent).empty());
  CHECK(silent);  // only the length: xfs_repair does not look at it
}

}  // namespace xfsfuse::fs::test
