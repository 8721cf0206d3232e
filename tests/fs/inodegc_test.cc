// The deferred freeing of unlinked inodes (fs/inodegc.h): what waits is
// freed in batches, by flush(), by statfs, by a change that met ENOSPC and
// at unmount; xfs_repair -n and xfsfuse-fsck -n judge every image.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "fs/inodegc.h"
#include "fs/mount.h"
#include "fs/ops/create.h"
#include "fs/ops/file_write.h"
#include "fs/ops/remove.h"
#include "tests/fs/fs_test_util.h"
#include "tests/fs/ops_test_util.h"

namespace xfsfuse::fs::test {
namespace {

using namespace std::chrono_literals;

// Creates n empty files in dp, unlinks them and queues each for the GC (as
// the FUSE layer does at the kernel's FORGET); returns them.
std::vector<InodeRef> unlink_and_queue(Mount& m, const InodeRef& dp, int n, const std::string& prefix) {
  std::vector<InodeRef> out;
  for (int i = 0; i < n; i++) {
    const std::string name = prefix + std::to_string(i);
    InodeRef ip = make(m, dp, name, S_IFREG | 0644);
    REQUIRE(unlink(m, dp, name, kRoot) == 0);
    m.inodegc().queue(ip);
    out.push_back(std::move(ip));
  }
  return out;
}

size_t freed(const std::vector<InodeRef>& v) {
  size_t n = 0;
  for (const InodeRef& ip : v) n += ip->is_free.load();
  return n;
}

}  // namespace

TEST_CASE("inodegc: a full batch is freed without waiting for the delay, flush() frees the rest", "[inodegc]") {
  if (!have_xfsprogs()) return;
  MkfsImage img;
  auto m = open_rw(img.path);
  InodeRef root = root_of(*m);
  const uint64_t used0 = inodes_used(*m);
  m->inodegc().set_delay(1h);  // only a full batch or a flush frees anything
  auto batch = unlink_and_queue(*m, root, InodeGc::kBatch, "a");
  // A full batch goes at once.
  for (int i = 0; i < 2000 && freed(batch) != batch.size(); i++) std::this_thread::sleep_for(5ms);
  CHECK(freed(batch) == batch.size());
  auto few = unlink_and_queue(*m, root, 10, "b");
  std::this_thread::sleep_for(50ms);
  CHECK(freed(few) == 0);  // under a batch, with an hour to wait
  CHECK(m->inodegc().pending());
  m->inodegc().flush();
  CHECK(freed(few) == few.size());
  CHECK_FALSE(m->inodegc().pending());
  const InodeGcStats s = m->inodegc().stats();
  CHECK(s.queued == InodeGc::kBatch + 10);
  CHECK(s.pending == 0);
  CHECK(s.batches >= 2);
  CHECK(s.flushes == 1);
  CHECK(inodes_used(*m) == used0);
  CHECK(lists_empty(*m));
  batch.clear();
  few.clear();
  unmount_and_check(m, img.path);
}

TEST_CASE("inodegc: statfs counts what waits as freed, as the kernel's statfs flushes inodegc", "[inodegc]") {
  if (!have_xfsprogs()) return;
  MkfsImage img;
  auto m = open_rw(img.path);
  InodeRef root = root_of(*m);
  const uint64_t free0 = bfree(*m), used0 = inodes_used(*m);
  m->inodegc().set_delay(1h);
  InodeRef f = make(*m, root, "f", S_IFREG | 0644);
  std::vector<std::byte> data(1 << 20, std::byte{3});
  REQUIRE(write_file(*m, f, 0, data.data(), data.size()) == 0);
  REQUIRE(unlink(*m, root, "f", kRoot) == 0);
  m->inodegc().queue(f);
  CHECK_FALSE(f->is_free.load());
  CHECK(bfree(*m) == free0);  // statfs waited for it
  CHECK(inodes_used(*m) == used0);
  CHECK(f->is_free.load());
  f.reset();
  unmount_and_check(m, img.path);
}

TEST_CASE("inodegc: a write that meets ENOSPC frees what waits and succeeds", "[inodegc]") {
  if (!have_xfsprogs()) return;
  MkfsImage img("", 64ll << 20);
  auto m = open_rw(img.path);
  InodeRef root = root_of(*m);
  m->inodegc().set_delay(1h);
  // Fill the filesystem with one file, unlink it and queue it.
  InodeRef big = make(*m, root, "big", S_IFREG | 0644);
  std::vector<std::byte> chunk(1 << 20, std::byte{7});
  int e = 0;
  for (uint64_t off = 0; e == 0; off += chunk.size()) e = write_file(*m, big, off, chunk.data(), chunk.size());
  REQUIRE(e == ENOSPC);
  REQUIRE(unlink(*m, root, "big", kRoot) == 0);
  m->inodegc().queue(big);
  REQUIRE_FALSE(big->is_free.load());
  // Less than a chunk is free: 4 MiB need big's blocks back.
  InodeRef f = make(*m, root, "f", S_IFREG | 0644);
  std::vector<std::byte> more(4 << 20, std::byte{9});
  CHECK(write_file(*m, f, 0, more.data(), more.size()) == 0);
  CHECK(big->is_free.load());
  CHECK(m->inodegc().stats().flushes == 1);
  CHECK(f->core.size == more.size());
  big.reset();
  f.reset();
  unmount_and_check(m, img.path);
}

TEST_CASE("inodegc: unmount frees what waits, queue() after stop() frees on the caller's thread", "[inodegc]") {
  if (!have_xfsprogs()) return;
  MkfsImage img;
  auto m = open_rw(img.path);
  InodeRef root = root_of(*m);
  m->inodegc().set_delay(1h);
  auto waiting = unlink_and_queue(*m, root, 20, "w");
  CHECK(freed(waiting) == 0);
  m->inodegc().stop();
  CHECK(freed(waiting) == waiting.size());
  auto after = unlink_and_queue(*m, root, 3, "s");
  CHECK(freed(after) == after.size());
  CHECK(lists_empty(*m));
  waiting.clear();
  after.clear();
  unmount_and_check(m, img.path);
  // And through a plain unmount: queued inodes are freed, not left on the lists.
  m = open_rw(img.path);
  root = root_of(*m);
  m->inodegc().set_delay(1h);
  auto queued = unlink_and_queue(*m, root, 20, "u");
  queued.clear();
  root.reset();
  REQUIRE(m->unmount_clean() == 0);
  CHECK(m->inodegc().stats().pending == 0);
  m.reset();
  CHECK(img.xfs_db("-c 'agi 0' -c 'p unlinked'")["unlinked[0-63]"].empty());
  m = open_rw(img.path);
  unmount_and_check(m, img.path);
}

}  // namespace xfsfuse::fs::test
