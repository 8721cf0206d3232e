// link(2) and O_TMPFILE (fs/ops/link.h, fs/ops/create.h make_tmpfile):
// every error of the kernel's checks in its order, what a link changes (link
// counts, times, the entry's file type as xfs_db reads it), O_TMPFILE inodes
// on the AGI unlinked list, freed when dropped, taken off the list when
// linked, and freed by the next read-write mount after a crash; xfs_repair -n
// and xfsfuse-fsck -n judge every image at the end.
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cerrno>
#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <shared_mutex>
#include <thread>

#include "fs/alloc/iunlink.h"
#include "fs/dir.h"
#include "fs/format/geometry.h"
#include "fs/mount.h"
#include "fs/ops/create.h"
#include "fs/ops/file_write.h"
#include "fs/ops/inactivate.h"
#include "fs/ops/link.h"
#include "fs/ops/remove.h"
#include "tests/fs/dir_test_util.h"
#include "tests/fs/fs_test_util.h"
#include "tests/fs/ops_test_util.h"

namespace xfsfuse::fs::test {
namespace {

constexpr uint16_t kAppend = 0x10, kImmutable = 0x8, kProjinherit = 0x200;

uint32_t bucket_head(Mount& m, uint64_t ino) {
  std::array<uint32_t, 64> h;
  REQUIRE(iunlink_heads(m, ino_to_agno(m.sb(), ino), &h) == 0);
  return h[ino_to_agino(m.sb(), ino) % 64];
}

}  // namespace

TEST_CASE("link: the kernel's errors, in its order", "[link]") {
  if (!have_xfsprogs()) return;
  MkfsImage img;
  auto m = open_rw(img.path);
  InodeRef root = root_of(*m);
  InodeRef d = make(*m, root, "d", S_IFDIR | 0755);
  InodeRef f = make(*m, d, "f", S_IFREG | 0644);
  InodeRef sub = make(*m, d, "sub", S_IFDIR | 0755);
  InodeRef x = make(*m, root, "x", S_IFDIR | 0711);  // search only for others
  const Cred user{1000, 1000, {}};

  CHECK(link(*m, f, d, std::string(256, 'n'), kRoot) == ENAMETOOLONG);
  CHECK(link(*m, f, f, "n", kRoot) == ENOTDIR);
  InodeRef closed = make(*m, root, "closed", S_IFDIR | 0700);
  CHECK(link(*m, f, closed, "n", user) == EACCES);  // no search: before EEXIST
  CHECK(link(*m, f, d, "f", kRoot) == EEXIST);
  make(*m, x, "there", S_IFREG | 0644);
  CHECK(link(*m, f, x, "there", user) == EEXIST);  // EEXIST before write permission
  CHECK(link(*m, f, x, "new", user) == EACCES);
  CHECK(link(*m, sub, d, "n", kRoot) == EPERM);  // a directory
  edit_core(*m, f, [](Inode& n) { n.flags |= kAppend; });
  CHECK(link(*m, f, d, "n", kRoot) == EPERM);
  edit_core(*m, f, [](Inode& n) { n.flags = kImmutable; });
  CHECK(link(*m, f, d, "n", kRoot) == EPERM);
  edit_core(*m, f, [](Inode& n) { n.flags = 0; });
  edit_core(*m, f, [](Inode& n) { n.nlink = kMaxLink; });
  CHECK(link(*m, f, d, "n", kRoot) == EMLINK);
  edit_core(*m, f, [](Inode& n) { n.nlink = 1; });
  // A project-inheriting directory takes links only within its project
  // (special files of project 0 excepted, as xfs_link allows).
  InodeRef proj = make(*m, root, "proj", S_IFDIR | 0755);
  InodeRef fifo = make(*m, d, "fifo", S_IFIFO | 0644);
  edit_core(*m, proj, [](Inode& n) {
    n.flags |= kProjinherit;
    n.projid = 7;
  });
  CHECK(link(*m, f, proj, "n", kRoot) == EXDEV);
  CHECK(link(*m, fifo, proj, "fifo", kRoot) == 0);
  edit_core(*m, f, [](Inode& n) { n.projid = 7; });
  CHECK(link(*m, f, proj, "f", kRoot) == 0);
  edit_core(*m, proj, [](Inode& n) { n.flags = 0; });
  edit_core(*m, f, [](Inode& n) { n.projid = 0; });
  // A removed file (its last name gone while held) cannot get one back.
  REQUIRE(unlink(*m, proj, "f", kRoot) == 0);
  REQUIRE(unlink(*m, d, "f", kRoot) == 0);
  CHECK(f->core.nlink == 0);
  CHECK(link(*m, f, d, "again", kRoot) == ENOENT);
  // A removed directory takes no names.
  REQUIRE(rmdir(*m, d, "sub", kRoot) == 0);
  CHECK(link(*m, fifo, sub, "n", kRoot) == ENOENT);
  uint64_t ino;
  CHECK(dir_lookup(*m, *d, "n", &ino) == ENOENT);
  REQUIRE(inactivate(*m, f) == 0);
  REQUIRE(inactivate(*m, sub) == 0);
  CHECK(link(*m, f, d, "again", kRoot) == ENOENT);  // freed
  f.reset();
  sub.reset();
  unmount_and_check(m, img.path);
}

TEST_CASE("link: counts, times and the entry's file type", "[link]") {
  if (!have_xfsprogs()) return;
  MkfsImage img;
  auto m = open_rw(img.path);
  InodeRef root = root_of(*m);
  InodeRef d = make(*m, root, "d", S_IFDIR | 0755);
  InodeRef e = make(*m, root, "e", S_IFDIR | 0777);
  InodeRef f = make(*m, d, "f", S_IFREG | 0644);
  InodeRef s, c;
  REQUIRE(make_symlink(*m, d, "s", "f", kRoot, &s) == 0);
  REQUIRE(make_node(*m, d, "c", kRoot, S_IFCHR | 0600, makedev(4, 5), &c) == 0);
  edit_core(*m, f, [](Inode& n) { n.ctime = n.mtime = Timestamp{1000, 0}; });
  edit_core(*m, e, [](Inode& n) { n.ctime = n.mtime = Timestamp{1000, 0}; });
  const Cred user{1000, 1000, {}};
  REQUIRE(link(*m, f, e, "hard", user) == 0);  // e is world-writable; f need not be the caller's
  CHECK(f->core.nlink == 2);
  CHECK(f->core.ctime.sec > 1000);
  CHECK(f->core.mtime.sec == 1000);
  CHECK(e->core.mtime == e->core.ctime);
  CHECK(e->core.ctime == f->core.ctime);
  CHECK(e->core.nlink == 2);  // a file's link does not count in its parent
  REQUIRE(link(*m, s, e, "sym", kRoot) == 0);
  REQUIRE(link(*m, c, e, "dev", kRoot) == 0);
  REQUIRE(link(*m, f, d, "f2", kRoot) == 0);
  CHECK(f->core.nlink == 3);
  REQUIRE(m->write_back() == 0);  // home, for xfs_db
  auto sf = img.xfs_db("-c 'path /e' -c 'p'");
  CHECK(sf["u3.sfdir3.hdr.count"] == "3");
  int seen = 0;
  for (int i = 0; i < 3; i++) {
    const std::string name = sf["u3.sfdir3.list[" + std::to_string(i) + "].name"];
    const std::string ftype = sf["u3.sfdir3.list[" + std::to_string(i) + "].filetype"];
    const uint64_t ino = num(sf["u3.sfdir3.list[" + std::to_string(i) + "].inumber.i4"]);
    INFO(name);
    if (name == "\"hard\"") seen += ino == f->core.ino && ftype == "1";
    if (name == "\"sym\"") seen += ino == s->core.ino && ftype == "7";
    if (name == "\"dev\"") seen += ino == c->core.ino && ftype == "3";
  }
  CHECK(seen == 3);
  CHECK(num(img.xfs_db("-c 'path /d/f2' -c 'p core.nlinkv2'")["core.nlinkv2"]) == 3);
  // Every name reads the same file; removing all but one keeps it.
  std::vector<std::byte> data(5000, std::byte{0x33});
  REQUIRE(write_file(*m, f, 0, data.data(), data.size()) == 0);
  REQUIRE(unlink(*m, d, "f", kRoot) == 0);
  REQUIRE(unlink(*m, e, "hard", kRoot) == 0);
  CHECK(f->core.nlink == 1);
  InodeRef via;
  REQUIRE(resolve(*m, "/d/f2", &via) == 0);
  CHECK(via.get() == f.get());
  CHECK(via->core.size == 5000);
  unmount_and_check(m, img.path);
}

TEST_CASE("link: threads linking, symlinking and unlinking in shared directories", "[link]") {
  if (!have_xfsprogs()) return;
  MkfsImage img("-d agcount=4");
  auto m = open_rw(img.path);
  InodeRef root = root_of(*m);
  // Files numbered below and above the directories: both join orders.
  std::vector<InodeRef> files;
  for (int i = 0; i < 2; i++) files.push_back(make(*m, root, "f" + std::to_string(i), S_IFREG | 0644));
  std::vector<InodeRef> dirs;
  for (int i = 0; i < 2; i++) dirs.push_back(make(*m, root, "d" + std::to_string(i), S_IFDIR | 0777));
  for (int i = 2; i < 4; i++) files.push_back(make(*m, root, "f" + std::to_string(i), S_IFREG | 0644));
  REQUIRE(files[0]->core.ino < dirs[0]->core.ino);
  REQUIRE(files[3]->core.ino > dirs[1]->core.ino);
  constexpr int kThreads = 4, kRounds = 300;
  std::vector<int> failures(kThreads, 0), last(kThreads, 0), linked(kThreads, 0);
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; t++)
    ts.emplace_back([&, t] {
      std::mt19937_64 rng(700 + t);
      for (int r = 0; r < kRounds; r++) {
        const InodeRef& d = dirs[rng() % dirs.size()];
        const std::string n = std::to_string(rng() % 6);
        int e = 0;
        switch (rng() % 4) {
          case 0:
          case 1:
            e = link(*m, files[rng() % files.size()], d, "n" + n, kRoot);
            if (e == 0) linked[t]++;
            if (e != 0 && e != EEXIST) failures[t]++, last[t] = 1000 + e;
            break;
          case 2: {
            InodeRef s;
            e = make_symlink(*m, d, "s" + n, std::string(rng() % 2 ? 20 : 600, 'x'), kRoot, &s);
            if (e != 0 && e != EEXIST) failures[t]++, last[t] = 2000 + e;
            break;
          }
          default: {
            const std::string name = (rng() % 2 ? "n" : "s") + n;
            uint64_t ino;
            InodeRef victim;
            {
              std::shared_lock<std::shared_mutex> l(d->lock);
              e = dir_lookup(*m, *d, name, &ino);
            }
            if (e != 0 || m->iget(ino, &victim) != 0) break;
            e = unlink(*m, d, name, kRoot, &victim);  // the inode that lost the link, whatever was looked up
            if (e == 0)
              e = inactivate(*m, victim);  // a symlink freed, a file with names left alone
            else if (e == ENOENT)
              e = 0;
            if (e != 0) failures[t]++, last[t] = 3000 + e;
          }
        }
      }
    });
  for (auto& th : ts) th.join();
  for (int t = 0; t < kThreads; t++) {
    INFO("thread " << t << " last failure " << last[t]);
    CHECK(failures[t] == 0);
    CHECK(linked[t] > 0);
  }
  // Each file's link count: its name in the root and every entry naming it.
  std::map<uint64_t, uint32_t> names;
  for (const InodeRef& d : dirs) {
    int err = 0;
    for (auto& g : iterate(*m, *d, 0, 100000, &err))
      if (g.name[0] == 'n') names[g.ino]++;
    REQUIRE(err == 0);
  }
  for (const InodeRef& f : files) {
    INFO("inode " << f->core.ino);
    CHECK(f->core.nlink == 1 + names[f->core.ino]);
  }
  files.clear();
  dirs.clear();
  root.reset();
  unmount_and_check(m, img.path);
}

TEST_CASE("tmpfile: an unnamed inode on the unlinked list, freed when dropped", "[link][tmpfile]") {
  if (!have_xfsprogs()) return;
  MkfsImage img;
  auto m = open_rw(img.path);
  InodeRef root = root_of(*m);
  InodeRef d = make(*m, root, "d", S_IFDIR | 02775);
  make(*m, root, "keep", S_IFREG | 0644);  // the chunk stays
  const uint64_t used0 = inodes_used(*m);
  InodeRef f = make(*m, d, "f", S_IFREG | 0644);
  const Timestamp dtime = d->core.mtime;
  const Cred user{1000, 1000, {}};
  InodeRef t;
  CHECK(make_tmpfile(*m, d, user, S_IFREG | 0600, true, &t) == EACCES);
  CHECK(make_tmpfile(*m, d, kRoot, S_IFDIR | 0700, true, &t) == EINVAL);
  CHECK(make_tmpfile(*m, f, kRoot, S_IFREG | 0600, true, &t) == ENOTDIR);

  REQUIRE(make_tmpfile(*m, d, kRoot, S_IFREG | 0600, false, &t) == 0);
  CHECK(t->core.nlink == 0);
  CHECK(t->core.gid == d->core.gid);
  CHECK(t->core.mode == (S_IFREG | 0600));
  CHECK(d->core.mtime == dtime);  // no name: the directory does not change
  const uint32_t agino = ino_to_agino(m->sb(), t->core.ino);
  CHECK(bucket_head(*m, t->core.ino) == agino);
  std::vector<std::byte> data(9000, std::byte{0x44});
  REQUIRE(write_file(*m, t, 0, data.data(), data.size()) == 0);
  REQUIRE(m->write_back() == 0);  // home, for xfs_db
  auto agi = img.xfs_db("-c 'agi 0' -c 'p unlinked'");
  CHECK(agi["unlinked[0-63]"].find(std::to_string(agino % 64) + ":" + std::to_string(agino)) != std::string::npos);
  CHECK(img.xfs_db("-c 'inode " + std::to_string(t->core.ino) + "' -c 'p core.nlinkv2'")["core.nlinkv2"] == "0");
  // Opened with O_EXCL: link() refuses it.
  CHECK(link(*m, t, d, "named", kRoot) == ENOENT);
  REQUIRE(inactivate(*m, t) == 0);
  CHECK(t->is_free.load());
  CHECK(bucket_head(*m, t->core.ino) == kNullAgino);
  t.reset();
  REQUIRE(unlink(*m, d, "f", kRoot) == 0);
  REQUIRE(inactivate(*m, f) == 0);
  f.reset();
  CHECK(inodes_used(*m) == used0);
  unmount_and_check(m, img.path);
}

TEST_CASE("tmpfile: linking takes it off the unlinked list, once", "[link][tmpfile]") {
  if (!have_xfsprogs()) return;
  MkfsImage img;
  auto m = open_rw(img.path);
  InodeRef root = root_of(*m);
  InodeRef d = make(*m, root, "d", S_IFDIR | 0755);
  // Two tmpfiles in one bucket chain when possible: the second is the head,
  // so linking the first walks to it from its predecessor.
  std::vector<InodeRef> ts;
  for (int i = 0; i < 65; i++) {
    InodeRef t;
    REQUIRE(make_tmpfile(*m, d, kRoot, S_IFREG | 0644, true, &t) == 0);
    ts.push_back(t);
  }
  const InodeRef first = ts[0], same_bucket = ts[64];
  REQUIRE(ino_to_agino(m->sb(), first->core.ino) % 64 == ino_to_agino(m->sb(), same_bucket->core.ino) % 64);
  CHECK(bucket_head(*m, first->core.ino) == ino_to_agino(m->sb(), same_bucket->core.ino));
  std::vector<std::byte> data(3000, std::byte{0x55});
  REQUIRE(write_file(*m, first, 0, data.data(), data.size()) == 0);
  REQUIRE(link(*m, first, d, "named", kRoot) == 0);
  CHECK(first->core.nlink == 1);
  CHECK(!first->linkable);
  CHECK(bucket_head(*m, first->core.ino) == ino_to_agino(m->sb(), same_bucket->core.ino));
  REQUIRE(m->write_back() == 0);  // home, for xfs_db
  CHECK(img.xfs_db("-c 'inode " + std::to_string(same_bucket->core.ino) + "' -c 'p next_unlinked'")["next_unlinked"] ==
        "null");
  uint64_t ino;
  REQUIRE(dir_lookup(*m, *d, "named", &ino) == 0);
  CHECK(ino == first->core.ino);
  CHECK(inactivate(*m, first) == 0);  // linked: left alone
  CHECK(!first->is_free.load());
  // Unlinked again, it is an ordinary removed file: no second link.
  REQUIRE(unlink(*m, d, "named", kRoot) == 0);
  CHECK(link(*m, first, d, "again", kRoot) == ENOENT);
  REQUIRE(inactivate(*m, first) == 0);
  // Linking the head of a bucket.
  REQUIRE(link(*m, same_bucket, d, "head", kRoot) == 0);
  CHECK(bucket_head(*m, same_bucket->core.ino) == kNullAgino);
  for (size_t i = 1; i < 64; i++) REQUIRE(inactivate(*m, ts[i]) == 0);
  ts.clear();
  unmount_and_check(m, img.path);
}

TEST_CASE("tmpfile: left on the list by a crash, freed by the next read-write mount", "[link][tmpfile]") {
  if (!have_xfsprogs()) return;
  MkfsImage img;
  uint64_t ino = 0, used0 = 0;
  {
    auto m = open_rw(img.path);
    InodeRef root = root_of(*m);
    make(*m, root, "keep", S_IFREG | 0644);
    used0 = inodes_used(*m);
    InodeRef t;
    REQUIRE(make_tmpfile(*m, root, kRoot, S_IFREG | 0644, true, &t) == 0);
    std::vector<std::byte> data(20000, std::byte{0x66});
    REQUIRE(write_file(*m, t, 0, data.data(), data.size()) == 0);
    ino = t->core.ino;
    // A crash while held: synced (the log forced), no clean unmount.
    REQUIRE(m->sync() == 0);
  }
  // What the crash leaves: the log dirty, the inodes on their lists; the
  // next read-write mount replays the log, then frees them.
  CHECK(run("xfs_repair -n " + img.path + " 2>&1").find("metadata changes in a log") != std::string::npos);
  auto m = open_rw(img.path);
  CHECK(m->recovered());
  CHECK(std::find(m->warnings().begin(), m->warnings().end(), "freed 1 inodes left on the unlinked lists") !=
        m->warnings().end());
  CHECK(bucket_head(*m, ino) == kNullAgino);
  CHECK(inodes_used(*m) == used0);
  InodeRef gone;
  CHECK(m->iget(ino, &gone) == ENOENT);
  unmount_and_check(m, img.path);
}

}  // namespace xfsfuse::fs::test
