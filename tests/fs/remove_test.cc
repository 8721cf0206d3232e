// unlink / rmdir (fs/ops/remove.h), the AGI unlinked lists
// (fs/alloc/iunlink.h) and the freeing of unlinked inodes
// (fs/ops/inactivate.h): every error of the kernel's checks, blocks and
// inodes given back, an unlinked file still readable while held, the
// bucket order xfs_db sees, inodes left on the lists freed by the next
// read-write mount, and a random tree of creates and removals against a
// model; xfs_repair -n judges every image at the end.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <map>
#include <random>
#include <shared_mutex>
#include <set>
#include <thread>

#include "fs/alloc/iunlink.h"
#include "fs/dir.h"
#include "fs/format/geometry.h"
#include "fs/mount.h"
#include "fs/ops/create.h"
#include "fs/ops/file_write.h"
#include "fs/ops/inactivate.h"
#include "fs/ops/remove.h"
#include "fs/trans/trans.h"
#include "tests/fs/dir_test_util.h"
#include "tests/fs/fs_test_util.h"
#include "tests/fs/ops_test_util.h"

namespace xfsfuse::fs::test {
namespace {

// Writes 4 KiB pieces every 8 KiB: n extents (a bmbt beyond the fork's room).
void write_pieces(Mount& m, const InodeRef& ip, int n) {
  std::vector<std::byte> data(4096, std::byte{0x5a});
  for (int i = 0; i < n; i++) REQUIRE(write_file(m, ip, uint64_t(i) * 8192, data.data(), data.size()) == 0);
}

// Two files of root that share an AGI unlinked bucket (agino % 64), from
// 70 made there (more than the buckets): the first made (the lower inode
// number) is a.
struct BucketPair {
  uint32_t bucket = 0;
  std::string a_name, b_name;
  InodeRef a, b;
};
BucketPair two_in_one_bucket(Mount& m, const InodeRef& root) {
  std::map<uint32_t, std::vector<std::pair<std::string, InodeRef>>> by_bucket;
  for (int i = 0; i < 70; i++) {
    InodeRef ip = make(m, root, "f" + std::to_string(i), S_IFREG | 0644);
    by_bucket[ino_to_agino(m.sb(), ip->core.ino) % 64].push_back({"f" + std::to_string(i), ip});
  }
  auto it = std::find_if(by_bucket.begin(), by_bucket.end(), [](auto& kv) { return kv.second.size() >= 2; });
  REQUIRE(it != by_bucket.end());
  return {it->first, it->second[0].first, it->second[1].first, it->second[0].second, it->second[1].second};
}

}  // namespace

TEST_CASE("remove: the kernel's errors for unlink and rmdir", "[remove]") {
  if (!have_xfsprogs()) return;
  MkfsImage img;
  auto m = open_rw(img.path);
  InodeRef root = root_of(*m);
  InodeRef d = make(*m, root, "d", S_IFDIR | 0755);
  InodeRef f = make(*m, d, "f", S_IFREG | 0644);
  InodeRef s = make(*m, d, "s", S_IFDIR | 0755);
  make(*m, s, "x", S_IFREG | 0644);
  const Cred user{1000, 1000, {}}, other{1001, 1001, {}};

  CHECK(unlink(*m, d, "nope", kRoot) == ENOENT);
  CHECK(rmdir(*m, d, "nope", kRoot) == ENOENT);
  CHECK(unlink(*m, f, "x", kRoot) == ENOTDIR);
  CHECK(rmdir(*m, f, "x", kRoot) == ENOTDIR);
  CHECK(unlink(*m, d, "s", kRoot) == EISDIR);
  CHECK(rmdir(*m, d, "f", kRoot) == ENOTDIR);
  CHECK(rmdir(*m, d, "s", kRoot) == ENOTEMPTY);
  CHECK(unlink(*m, d, std::string(256, 'a'), kRoot) == ENAMETOOLONG);
  CHECK(rmdir(*m, d, ".", kRoot) == EINVAL);
  CHECK(rmdir(*m, d, "..", kRoot) == ENOTEMPTY);
  CHECK(unlink(*m, d, ".", kRoot) == EISDIR);
  CHECK(unlink(*m, d, "f", user) == EACCES);  // d is 0755 root
  CHECK(unlink(*m, d, "nope", user) == ENOENT);  // search is enough to look up

  // The sticky bit: only the file's owner, the directory's owner or root.
  InodeRef t = make(*m, root, "t", S_IFDIR | 01777);
  make(*m, t, "mine", S_IFREG | 0644, user);
  make(*m, t, "mydir", S_IFDIR | 0755, user);
  CHECK(unlink(*m, t, "mine", other) == EPERM);
  CHECK(rmdir(*m, t, "mydir", other) == EPERM);
  CHECK(unlink(*m, t, "mine", user) == 0);
  CHECK(rmdir(*m, t, "mydir", kRoot) == 0);
  uint64_t ino;
  CHECK(dir_lookup(*m, *t, "mine", &ino) == ENOENT);

  // Nothing changed by the failures: d still has both, then both go.
  REQUIRE(dir_lookup(*m, *d, "f", &ino) == 0);
  CHECK(d->core.nlink == 3);
  CHECK(unlink(*m, s, "x", kRoot) == 0);
  const Timestamp before = d->core.mtime;
  CHECK(rmdir(*m, d, "s", kRoot) == 0);
  CHECK(d->core.nlink == 2);
  CHECK(s->core.nlink == 0);
  CHECK(!(d->core.mtime == before && d->core.mtime.sec == 0));
  CHECK(unlink(*m, d, "f", kRoot) == 0);
  CHECK(f->core.nlink == 0);
  CHECK(d->core.mtime == d->core.ctime);
  // A directory already removed takes no new names and gives no old ones.
  CHECK(make_node(*m, s, "y", kRoot, S_IFREG | 0644, 0, &f) == ENOENT);
  CHECK(rmdir(*m, root, "d", kRoot) == 0);
  CHECK(!lists_empty(*m));
  s.reset();
  d.reset();
  f.reset();
  t.reset();
  unmount_and_repair_check(m, img.path);  // frees the unlinked inodes
  auto m2 = open_rw(img.path);
  CHECK(lists_empty(*m2));
  CHECK(m2->warnings().empty());
  m2.reset();
}

TEST_CASE("remove: an unlinked file's blocks and inode come back when it is freed", "[remove]") {
  if (!have_xfsprogs()) return;
  MkfsImage img;
  auto m = open_rw(img.path);
  InodeRef root = root_of(*m);
  make(*m, root, "keep", S_IFREG | 0644);  // the chunk stays
  const uint64_t free0 = bfree(*m), used0 = inodes_used(*m);
  InodeRef big = make(*m, root, "big", S_IFREG | 0644);
  InodeRef dir = make(*m, root, "dir", S_IFDIR | 0755);
  for (int i = 0; i < 200; i++) make(*m, dir, "entry-with-a-long-name-" + std::to_string(i), S_IFREG | 0644);
  write_pieces(*m, big, 300);  // 300 extents: a btree-format fork
  REQUIRE(big->core.format == ForkFormat::kBtree);
  std::vector<std::byte> tail(1 << 20, std::byte{1});
  REQUIRE(write_file(*m, big, 8 << 20, tail.data(), tail.size()) == 0);
  CHECK(bfree(*m) < free0 - 500);

  REQUIRE(unlink(*m, root, "big", kRoot) == 0);
  // Still readable while held, and on its bucket.
  std::vector<std::byte> got(4096);
  size_t n = 0;
  REQUIRE(m->read_data(*big, 8192, got.size(), got.data(), &n) == 0);
  CHECK(n == 4096);
  CHECK(got[0] == std::byte{0x5a});
  const uint32_t agino = ino_to_agino(m->sb(), big->core.ino);
  CHECK(unlinked_heads(*m, 0)[agino % 64] == agino);
  REQUIRE(m->write_back() == 0);  // home, for xfs_db
  CHECK(img.xfs_db("-c 'agi 0' -c 'p unlinked'")["unlinked[0-63]"].find(std::to_string(agino % 64) + ":" +
                                                                      std::to_string(agino)) != std::string::npos);
  REQUIRE(inactivate(*m, big) == 0);
  CHECK(big->is_free.load());
  CHECK(unlinked_heads(*m, 0)[agino % 64] == kNullAgino);
  InodeRef again;
  CHECK(m->iget(big->core.ino, &again) == ENOENT);

  for (int i = 0; i < 200; i++) {
    const std::string name = "entry-with-a-long-name-" + std::to_string(i);
    uint64_t ino;
    InodeRef ip;
    REQUIRE(dir_lookup(*m, *dir, name, &ino) == 0);
    REQUIRE(m->iget(ino, &ip) == 0);
    REQUIRE(unlink(*m, dir, name, kRoot) == 0);
    REQUIRE(inactivate(*m, ip) == 0);
  }
  REQUIRE(rmdir(*m, root, "dir", kRoot) == 0);
  REQUIRE(inactivate(*m, dir) == 0);
  CHECK(inactivate(*m, dir) == 0);  // a second call finds it free: nothing to do
  CHECK(bfree(*m) == free0);
  CHECK(inodes_used(*m) == used0);
  big.reset();
  dir.reset();
  REQUIRE(m->write_back() == 0);  // home, for xfs_db
  CHECK(img.xfs_db("-c 'agi 0' -c 'p unlinked'")["unlinked[0-63]"].empty());
  unmount_and_repair_check(m, img.path);
}

TEST_CASE("remove: a bucket takes new inodes at its head, as the kernel", "[remove]") {
  if (!have_xfsprogs()) return;
  MkfsImage img;
  auto m = open_rw(img.path);
  InodeRef root = root_of(*m);
  auto [bucket, a_name, b_name, a, b] = two_in_one_bucket(*m, root);
  const uint32_t a_agino = ino_to_agino(m->sb(), a->core.ino), b_agino = ino_to_agino(m->sb(), b->core.ino);
  REQUIRE(unlink(*m, root, a_name, kRoot) == 0);
  REQUIRE(unlink(*m, root, b_name, kRoot) == 0);
  CHECK(unlinked_heads(*m, 0)[bucket] == b_agino);
  REQUIRE(m->write_back() == 0);  // home, for xfs_db
  CHECK(num(img.xfs_db("-c 'inode " + std::to_string(b->core.ino) + "' -c 'p next_unlinked'")["next_unlinked"]) ==
        a_agino);
  CHECK(img.xfs_db("-c 'inode " + std::to_string(a->core.ino) + "' -c 'p next_unlinked'")["next_unlinked"] == "null");
  // Freeing the second of the list walks to its predecessor.
  REQUIRE(inactivate(*m, a) == 0);
  CHECK(unlinked_heads(*m, 0)[bucket] == b_agino);
  REQUIRE(m->write_back() == 0);  // home, for xfs_db
  CHECK(img.xfs_db("-c 'inode " + std::to_string(b->core.ino) + "' -c 'p next_unlinked'")["next_unlinked"] == "null");
  auto freed = img.xfs_db("-c 'inode " + std::to_string(a->core.ino) + "' -c 'p core.mode core.format core.forkoff'");
  CHECK(num(freed["core.mode"]) == 0);
  CHECK(freed["core.format"] == "2 (extents)");
  REQUIRE(inactivate(*m, b) == 0);
  CHECK(unlinked_heads(*m, 0)[bucket] == kNullAgino);
  a.reset();
  b.reset();
  unmount_and_repair_check(m, img.path);
}

// The deadlock CI's ASan stage met once inodes were freed in batches: the
// walk to a predecessor held each cluster buffer it passed, in chain order,
// while a commit elsewhere held a lower cluster and wanted a higher one.
TEST_CASE("remove: freeing from inside a bucket's list holds no cluster buffer while it walks", "[remove]") {
  if (!have_xfsprogs()) return;
  MkfsImage img;
  auto m = open_rw(img.path);
  InodeRef root = root_of(*m);
  auto [bucket, lo_name, hi_name, lo, hi] = two_in_one_bucket(*m, root);
  REQUIRE(lo->core.ino < hi->core.ino);
  bc::DiskRange lo_map, hi_map;
  size_t at = 0;
  REQUIRE(m->inode_buf_map(lo->core.ino, &lo_map, &at) == 0);
  REQUIRE(m->inode_buf_map(hi->core.ino, &hi_map, &at) == 0);
  REQUIRE(lo_map.daddr != hi_map.daddr);
  // The list: lo (head) -> hi; freeing hi walks through lo's cluster.
  REQUIRE(unlink(*m, root, hi_name, kRoot) == 0);
  REQUIRE(unlink(*m, root, lo_name, kRoot) == 0);

  // Another transaction holds lo's cluster, as a commit flushing lo would,
  // and then wants hi's: the ascending order every commit keeps.
  std::unique_ptr<Transaction> other;
  REQUIRE(Transaction::begin(*m, &other) == 0);
  bc::BufHandle* h = nullptr;
  REQUIRE(other->read_buf({&lo_map, 1}, &m->buf_ops().inode_cluster(), bc::kAnyOwner, &h) == 0);
  int freed = -1;
  std::thread freer([&, victim = hi] { freed = inactivate(*m, victim); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the freer reaches lo's cluster
  // The freer must not hold hi's cluster while it waits for lo's (tried,
  // never waited for: a failure here is the old deadlock, not a hang).
  int got = EAGAIN;
  for (int i = 0; i < 50 && got == EAGAIN; i++) {
    got = other->read_buf({&hi_map, 1}, &m->buf_ops().inode_cluster(), bc::kAnyOwner, &h, bc::kGetTrylock);
    if (got == EAGAIN) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  CHECK(got == 0);
  other->cancel();
  freer.join();
  CHECK(freed == 0);
  CHECK(unlinked_heads(*m, 0)[bucket] == ino_to_agino(m->sb(), lo->core.ino));
  REQUIRE(inactivate(*m, lo) == 0);
  CHECK(unlinked_heads(*m, 0)[bucket] == kNullAgino);
  lo.reset();
  hi.reset();
  unmount_and_repair_check(m, img.path);
}

TEST_CASE("remove: inodes left on the unlinked lists are freed by the next read-write mount", "[remove]") {
  if (!have_xfsprogs()) return;
  MkfsImage img;
  uint64_t free0 = 0;
  std::vector<uint64_t> inos;
  {
    auto m = open_rw(img.path);
    InodeRef root = root_of(*m);
    make(*m, root, "keep", S_IFREG | 0644);
    free0 = bfree(*m);
    std::vector<InodeRef> held;
    for (int i = 0; i < 5; i++) {
      InodeRef ip = make(*m, root, "f" + std::to_string(i), S_IFREG | 0644);
      write_pieces(*m, ip, 3 + i);
      held.push_back(ip);
      inos.push_back(ip->core.ino);
    }
    InodeRef d = make(*m, root, "d", S_IFDIR | 0755);
    inos.push_back(d->core.ino);
    held.push_back(d);
    for (int i = 0; i < 5; i++) REQUIRE(unlink(*m, root, "f" + std::to_string(i), kRoot) == 0);
    REQUIRE(rmdir(*m, root, "d", kRoot) == 0);
    // A crash while held: synced (the log forced), no clean unmount.
    REQUIRE(m->sync() == 0);
  }
  // What the crash leaves: the log dirty, the inodes on their lists; the
  // next read-write mount replays the log, then frees them.
  CHECK(run("xfs_repair -n " + img.path + " 2>&1").find("metadata changes in a log") != std::string::npos);
  auto m = open_rw(img.path);
  CHECK(m->recovered());
  CHECK(std::find(m->warnings().begin(), m->warnings().end(), "freed 6 inodes left on the unlinked lists") !=
        m->warnings().end());
  CHECK(lists_empty(*m));
  for (uint64_t ino : inos) {
    InodeRef ip;
    CHECK(m->iget(ino, &ip) == ENOENT);
  }
  CHECK(bfree(*m) == free0);
  unmount_and_repair_check(m, img.path);
}

TEST_CASE("remove: random creates, unlinks and rmdirs match a model", "[remove]") {
  if (!have_xfsprogs()) return;
  MkfsImage img;
  auto m = open_rw(img.path);
  InodeRef root = root_of(*m);
  const uint64_t free0 = bfree(*m);
  // path -> is a directory; "" is the root.
  std::map<std::string, bool> model{{"", true}};
  std::map<std::string, InodeRef> refs{{"", root}};
  std::mt19937_64 rng(4242);
  auto parent_of = [](const std::string& p) { return p.substr(0, p.rfind('/')); };
  auto children = [&](const std::string& dir) {
    std::vector<std::string> v;
    for (auto& [p, isdir] : model)
      if (!p.empty() && parent_of(p) == dir) v.push_back(p);
    return v;
  };
  int removed = 0;
  for (int step = 0; step < 1500; step++) {
    std::vector<std::string> dirs;
    for (auto& [p, isdir] : model)
      if (isdir) dirs.push_back(p);
    const std::string dir = dirs[rng() % dirs.size()];
    auto kids = children(dir);
    const int op = static_cast<int>(rng() % 10);
    if (op < 5 || kids.empty()) {
      if (kids.size() >= 60) continue;
      const bool mkd = rng() % 4 == 0;
      const std::string path = dir + "/n" + std::to_string(step);
      InodeRef ip = make(*m, refs[dir], path.substr(dir.size() + 1), mkd ? S_IFDIR | 0755 : S_IFREG | 0644);
      if (!mkd && rng() % 3 == 0) write_pieces(*m, ip, 1 + static_cast<int>(rng() % 5));
      model[path] = mkd;
      refs[path] = ip;
      continue;
    }
    const std::string victim = kids[rng() % kids.size()];
    const std::string name = victim.substr(dir.size() + 1);
    InodeRef ip = refs[victim];
    if (model[victim]) {
      const bool empty = children(victim).empty();
      REQUIRE(unlink(*m, refs[dir], name, kRoot) == EISDIR);
      REQUIRE(rmdir(*m, refs[dir], name, kRoot) == (empty ? 0 : ENOTEMPTY));
      if (!empty) continue;
    } else {
      REQUIRE(rmdir(*m, refs[dir], name, kRoot) == ENOTDIR);
      REQUIRE(unlink(*m, refs[dir], name, kRoot) == 0);
    }
    model.erase(victim);
    refs.erase(victim);
    removed++;
    // Some are freed at once, some wait until the end (held meanwhile).
    if (rng() % 2) {
      REQUIRE(inactivate(*m, ip) == 0);
    } else {
      refs["held:" + victim] = ip;
    }
  }
  CHECK(removed > 100);
  for (auto it = refs.begin(); it != refs.end();)
    if (it->first.rfind("held:", 0) == 0) {
      REQUIRE(inactivate(*m, it->second) == 0);
      it = refs.erase(it);
    } else {
      ++it;
    }
  CHECK(lists_empty(*m));
  // Every directory holds exactly the model's names.
  for (auto& [p, isdir] : model) {
    if (!isdir) continue;
    std::set<std::string> want, have;
    for (auto& k : children(p)) want.insert(k.substr(p.size() + 1));
    int err = 0;
    for (auto& g : iterate(*m, *refs[p], 0, 100000, &err))
      if (g.name != "." && g.name != "..") have.insert(g.name);
    REQUIRE(err == 0);
    CHECK(want == have);
  }
  // Remove everything: the free space is back where it started.
  for (auto it = model.rbegin(); it != model.rend(); ++it) {
    if (it->first.empty()) continue;
    const std::string dir = parent_of(it->first), name = it->first.substr(dir.size() + 1);
    InodeRef ip = refs[it->first];
    REQUIRE((it->second ? rmdir(*m, refs[dir], name, kRoot) : unlink(*m, refs[dir], name, kRoot)) == 0);
    REQUIRE(inactivate(*m, ip) == 0);
  }
  refs.clear();
  CHECK(bfree(*m) == free0);
  unmount_and_repair_check(m, img.path);
}

TEST_CASE("remove: threads creating and removing in shared and own directories", "[remove]") {
  if (!have_xfsprogs()) return;
  MkfsImage img("-d agcount=4");
  auto m = open_rw(img.path);
  InodeRef root = root_of(*m);
  InodeRef shared = make(*m, root, "shared", S_IFDIR | 0777);
  const uint64_t free0 = bfree(*m);
  constexpr int kThreads = 4, kRounds = 150;
  std::vector<std::thread> ts;
  std::vector<int> failures(kThreads, 0), removed(kThreads, 0), last(kThreads, 0);
  for (int t = 0; t < kThreads; t++)
    ts.emplace_back([&, t] {
      std::mt19937_64 rng(100 + t);
      InodeRef own;
      if (make_node(*m, root, "own" + std::to_string(t), kRoot, S_IFDIR | 0755, 0, &own) != 0) {
        failures[t]++;
        return;
      }
      for (int r = 0; r < kRounds; r++) {
        // Every thread races for the same names in the shared directory:
        // each name is made and removed by exactly one of them.
        const std::string name = "s" + std::to_string(rng() % 8);
        InodeRef ip;
        int e = make_node(*m, shared, name, kRoot, S_IFREG | 0644, 0, &ip);
        if (e == 0) {
          std::vector<std::byte> data(5000, std::byte(t));
          // EINVAL: another thread removed and freed it meanwhile (mode 0);
          // EISDIR: and a third reused the number for its directory (this
          // test frees inodes it still holds, which FUSE never does).
          e = write_file(*m, ip, 0, data.data(), data.size());
          if (e != 0 && e != EINVAL && e != EISDIR) failures[t]++, last[t] = 5000 + e;
        } else if (e != EEXIST) {
          failures[t]++, last[t] = 3000 + e;
        }
        uint64_t ino;
        InodeRef victim;
        {
          std::shared_lock<std::shared_mutex> l(shared->lock);
          e = dir_lookup(*m, *shared, name, &ino);
        }
        if (e == 0 && m->iget(ino, &victim) == 0) {
          e = unlink(*m, shared, name, kRoot);
          if (e == 0) {
            removed[t]++;
            if ((e = inactivate(*m, victim)) != 0) failures[t]++, last[t] = 1000 + e;
          } else if (e != ENOENT) {
            failures[t]++, last[t] = 2000 + e;
          }
        }
        // In its own directory: a subdirectory made and removed.
        const std::string sub = "d" + std::to_string(r);
        InodeRef d;
        if ((e = make_node(*m, own, sub, kRoot, S_IFDIR | 0755, 0, &d)) != 0 || (e = rmdir(*m, own, sub, kRoot)) != 0 ||
            (e = inactivate(*m, d)) != 0)
          failures[t]++, last[t] = 4000 + e;
      }
    });
  for (auto& th : ts) th.join();
  for (int t = 0; t < kThreads; t++) {
    INFO("thread " << t << " last failure " << last[t]);
    CHECK(failures[t] == 0);
    CHECK(removed[t] > 0);
  }
  // What is left in the shared directory goes too; then the own ones.
  for (int i = 0; i < 8; i++) {
    uint64_t ino;
    InodeRef ip;
    if (dir_lookup(*m, *shared, "s" + std::to_string(i), &ino) != 0) continue;
    REQUIRE(m->iget(ino, &ip) == 0);
    REQUIRE(unlink(*m, shared, "s" + std::to_string(i), kRoot) == 0);
    REQUIRE(inactivate(*m, ip) == 0);
  }
  for (int t = 0; t < kThreads; t++) REQUIRE(rmdir(*m, root, "own" + std::to_string(t), kRoot) == 0);
  CHECK(inactivate_unlinked(*m) == 0);
  CHECK(lists_empty(*m));
  CHECK(bfree(*m) == free0);
  unmount_and_repair_check(m, img.path);
}

}  // namespace xfsfuse::fs::test
