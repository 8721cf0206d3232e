// The inode cache (one in-core inode per number, loads not duplicated,
// eviction only of unreferenced clean inodes) and the in-core inode's
// encoding back to on-disk bytes.
#include <sys/stat.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <thread>
#include <vector>

#include "fs/format/inode.h"
#include "fs/icache.h"
#include "fs/incore_inode.h"
#include "tests/fs/dir_test_util.h"

namespace xfsfuse::fs::test {
namespace {

// Every inode reachable from the root of m (directories walked), in the order met.
std::vector<InodeRef> all_inodes(Mount& m) {
  std::vector<InodeRef> out, todo;
  InodeRef root;
  REQUIRE(m.iget(m.sb().rootino, &root) == 0);
  todo.push_back(root);
  while (!todo.empty()) {
    InodeRef d = todo.back();
    todo.pop_back();
    out.push_back(d);
    if (!S_ISDIR(d->core.mode)) continue;
    int err = 0;
    for (const Got& g : iterate(m, *d, 0, SIZE_MAX, &err)) {
      if (g.name == "." || g.name == "..") continue;
      InodeRef ip;
      REQUIRE(m.iget(g.ino, &ip) == 0);
      todo.push_back(ip);
    }
    REQUIRE(err == 0);
  }
  return out;
}

}  // namespace

TEST_CASE("icache: threads asking for one inode at once share one load and one object", "[icache]") {
  InodeCache cache(1024);
  std::atomic<int> loads{0};
  auto load = [&](uint64_t ino, CachedInode* ip) {
    loads++;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // let the other threads arrive
    ip->core.ino = ino;
    return 0;
  };
  std::vector<InodeRef> got(8);
  std::vector<int> errs(got.size(), -1);  // Catch2's assertions are for the main thread
  std::vector<std::thread> threads;
  for (size_t i = 0; i < got.size(); i++) threads.emplace_back([&, i] { errs[i] = cache.get(128, load, &got[i]); });
  for (auto& t : threads) t.join();
  for (int e : errs) CHECK(e == 0);
  CHECK(loads == 1);
  for (const InodeRef& ip : got) CHECK(ip == got[0]);
  CHECK(got[0]->core.ino == 128);
  CHECK(cache.size() == 1);
}

TEST_CASE("icache: a failed load is not cached and the next get loads again", "[icache]") {
  InodeCache cache(1024);
  int calls = 0;
  auto load = [&](uint64_t, CachedInode*) { return ++calls == 1 ? EIO : 0; };
  InodeRef ip;
  CHECK(cache.get(7, load, &ip) == EIO);
  CHECK(cache.find(7) == nullptr);
  CHECK(cache.size() == 0);
  CHECK(cache.get(7, load, &ip) == 0);
  CHECK(calls == 2);
  CHECK(cache.find(7) == ip);
}

TEST_CASE("icache: eviction keeps referenced and dirty inodes", "[icache]") {
  InodeCache cache(64);  // one inode per shard before get() trims
  auto load = [](uint64_t ino, CachedInode* ip) {
    ip->core.ino = ino;
    return 0;
  };
  std::vector<InodeRef> held;
  InodeRef dirty;
  for (uint64_t ino = 100; ino < 5100; ino++) {
    InodeRef ip;
    REQUIRE(cache.get(ino, load, &ip) == 0);
    if (ino % 100 == 0) held.push_back(ip);
    if (ino == 101) {
      ip->dirty = kDirtyCore;
      dirty = ip;
    }
  }
  CHECK(cache.size() < 500);
  for (const InodeRef& ip : held) CHECK(cache.find(ip->core.ino) == ip);
  const CachedInode* dirty_obj = dirty.get();
  dirty.reset();
  cache.drop_unreferenced();
  CHECK(cache.size() == held.size() + 1);
  REQUIRE(cache.find(101) != nullptr);
  CHECK(cache.find(101).get() == dirty_obj);  // still the one object with the unwritten change
  cache.find(101)->dirty = 0;
  held.clear();
  CHECK(cache.drop_unreferenced() == 51);
  CHECK(cache.size() == 0);
}

TEST_CASE("icache: inodes referenced past the limit stay, and go once released and more are loaded", "[icache]") {
  InodeCache cache(64);  // one inode per shard before get() trims
  auto load = [](uint64_t ino, CachedInode* ip) {
    ip->core.ino = ino;
    return 0;
  };
  // All referenced (the kernel holds every inode of an `ls -l`'d directory):
  // nothing can go, and every one stays findable.
  std::vector<InodeRef> held;
  for (uint64_t ino = 100; ino < 20100; ino++) {
    InodeRef ip;
    REQUIRE(cache.get(ino, load, &ip) == 0);
    held.push_back(ip);
  }
  CHECK(cache.size() == 20000);
  for (uint64_t ino = 100; ino < 20100; ino += 997) CHECK(cache.find(ino) != nullptr);
  // Released: the loads that follow trim the shards back below the limit's
  // order of size, not just past it.
  held.clear();
  for (uint64_t ino = 30000; ino < 40000; ino++) {
    InodeRef ip;
    REQUIRE(cache.get(ino, load, &ip) == 0);
  }
  CHECK(cache.size() < 20000 / 4);
}

TEST_CASE("icache: Mount::iget gives one object per inode number", "[icache]") {
  const std::string& img = image("demo");
  if (img.empty()) return;
  auto m = open_mount(img);
  InodeRef a, b;
  REQUIRE(m->iget(m->sb().rootino, &a) == 0);
  REQUIRE(m->iget(m->sb().rootino, &b) == 0);
  CHECK(a == b);
}

TEST_CASE("incore inode: encoding every inode of the demo image gives its on-disk bytes back", "[icache]") {
  const std::string& img = image("demo");
  if (img.empty()) return;
  auto m = open_mount(img);
  size_t formats[4] = {};
  for (const InodeRef& ip : all_inodes(*m)) {
    INFO("inode " << ip->core.ino);
    const std::vector<std::byte> disk = ip->raw;
    std::vector<std::byte> out(disk.size(), std::byte{0x5a});
    // di_next_unlinked is the one field encode_inode() keeps from its
    // destination (the unlinked-list code's: fs/alloc/iunlink.h).
    const size_t next = offsetof(xd_dinode, di_next_unlinked);
    std::copy(disk.begin() + next, disk.begin() + next + 4, out.begin() + next);
    std::string why;
    REQUIRE(encode_inode(ip.get(), out, &why) == 0);
    CHECK(out == disk);
    formats[static_cast<int>(ip->core.format)]++;
  }
  // The image holds every data fork format.
  for (size_t f : formats) CHECK(f > 0);
}

TEST_CASE("incore inode: changed core fields and extents survive encode and decode", "[icache]") {
  const std::string& img = image("demo");
  if (img.empty()) return;
  auto m = open_mount(img);
  for (const InodeRef& ip : all_inodes(*m)) {
    if (ip->core.format != ForkFormat::kExtents || ip->df.extents.empty()) continue;
    INFO("inode " << ip->core.ino);
    ip->core.mode = S_IFREG | 04751;
    ip->core.uid = 123456;
    ip->core.gid = 654321;
    ip->core.nlink = 3;
    ip->core.size = (uint64_t{1} << 40) + 17;
    ip->core.projid = 0x12345678;
    ip->core.mtime = {-2000000000, 999999999};  // before 1970: bigtime encodes it
    ip->core.atime = {4102444800, 1};           // 2100: past the 32-bit range
    ip->core.changecount = 99;
    Extent e = ip->df.extents.back();
    e.startoff += e.blockcount + 1000;
    e.unwritten = true;
    ip->df.extents.push_back(e);
    ip->core.nextents++;
    std::vector<std::byte> out(ip->raw.size());
    std::string why;
    REQUIRE(encode_inode(ip.get(), out, &why) == 0);
    Inode back;
    REQUIRE(decode_inode(m->sb(), ip->core.ino, out, &back, &why) == 0);  // the CRC is right
    CHECK(back.mode == ip->core.mode);
    CHECK(back.uid == 123456);
    CHECK(back.gid == 654321);
    CHECK(back.nlink == 3);
    CHECK(back.size == ip->core.size);
    CHECK(back.projid == 0x12345678);
    CHECK(back.mtime == ip->core.mtime);
    CHECK(back.atime == ip->core.atime);
    CHECK(back.changecount == 99);
    std::vector<Extent> ext;
    REQUIRE(decode_extent_fork(m->sb(), back, out, false, &ext, &why) == 0);
    CHECK(ext == ip->df.extents);
    // A fork the core does not count, or one too large for its room, is refused.
    ip->core.nextents++;
    CHECK(encode_inode(ip.get(), out, &why) == EUCLEAN);
    return;
  }
  FAIL("the demo image has no extents-format file");
}

TEST_CASE("inode timestamps: encode is decode's inverse and clamps like the kernel", "[icache]") {
  for (bool bigtime : {false, true}) {
    for (Timestamp t : {Timestamp{0, 0}, Timestamp{-1, 5}, Timestamp{1700000000, 123456789}, Timestamp{INT32_MIN, 0},
                        Timestamp{INT32_MAX, 999999999}})
      CHECK(decode_timestamp(encode_timestamp(t, bigtime), bigtime) == t);
  }
  CHECK(decode_timestamp(encode_timestamp({int64_t{1} << 40, 0}, false), false).sec == INT32_MAX);
  CHECK(decode_timestamp(encode_timestamp({-(int64_t{1} << 40), 0}, true), true).sec == INT32_MIN);
}

}  // namespace xfsfuse::fs::test
