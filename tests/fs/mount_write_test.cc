// A read-write Mount's state: what a read-write open refuses; with the log
// (the default) nothing marked on the first change and a clean log after a
// clean unmount; with nolog, NEEDSREPAIR set by the first change and
// cleared by a clean unmount; the superblock's lazy counters rewritten,
// xfs_repair -n clean afterwards; a shut-down mount refusing changes, and
// what a failed metadata write leaves in either mode.
#include <catch2/catch.hpp>
#include <cerrno>

#include "fs/log/log.h"
#include "fs/mount.h"
#include "fs/ops/create.h"
#include "fs/ops/file_write.h"
#include "fs/ops/setattr.h"
#include "tests/buffer_cache/failing_device.h"
#include "tests/fs/dir_test_util.h"

namespace xfsfuse::fs::test {
namespace {

// sb_features_incompat as xfs_db reads it.
uint64_t incompat(const std::string& img) {
  const std::string out = run("xfs_db -r -c 'sb 0' -c 'print features_incompat' " + img + " 2>&1");
  REQUIRE(out.find(" = ") != std::string::npos);
  return std::stoull(out.substr(out.find(" = ") + 3), nullptr, 0);
}

bool needsrepair(const std::string& img) { return incompat(img) & kIncompatNeedsRepair; }

std::unique_ptr<Mount> open_rw_with(const std::string& img, bool write_log) {
  MountOptions o;
  o.writable = true;
  o.write_log = write_log;
  std::unique_ptr<Mount> m;
  std::string err;
  INFO(err);
  REQUIRE(Mount::open(img, o, &m, &err) == 0);
  return m;
}

}  // namespace

TEST_CASE("mount rw: with the log a change marks nothing and a clean unmount leaves a clean log", "[mount][rw]") {
  const std::string& demo = image("demo");
  if (demo.empty()) return;
  ImageCopy img(demo);
  const uint64_t clean_flags = incompat(img.path);
  {
    auto m = open_rw_with(img.path, true);
    REQUIRE(m->log() != nullptr);
    InodeRef root;
    REQUIRE(m->iget(m->sb().rootino, &root) == 0);
    REQUIRE(setattr(*m, root, Cred{0, 0, {}}, {.mode = 0700}) == 0);
    REQUIRE(m->sync() == 0);  // in the log, not marked in the superblock
    CHECK(incompat(img.path) == clean_flags);
    CHECK(run("xfs_repair -n " + img.path + " 2>&1").find("metadata changes in a log") != std::string::npos);
    REQUIRE(m->unmount_clean() == 0);
  }
  CHECK(incompat(img.path) == clean_flags);
  CHECK(system(("xfs_repair -n " + img.path + " >/dev/null 2>&1").c_str()) == 0);
  auto m = open_mount(img.path);
  CHECK(!m->recovered());  // the log was clean
  InodeRef root;
  REQUIRE(m->iget(m->sb().rootino, &root) == 0);
  CHECK((root->core.mode & 07777) == 0700);
}

TEST_CASE("mount rw: with nolog NEEDSREPAIR is set before the first change and cleared at a clean unmount", "[mount][rw]") {
  const std::string& demo = image("demo");
  if (demo.empty()) return;
  ImageCopy img(demo);
  const uint64_t clean_flags = incompat(img.path);
  REQUIRE(!(clean_flags & kIncompatNeedsRepair));
  // Wrong lazy counters on disk: a clean unmount writes the AG sums.
  REQUIRE(system(("xfs_db -x -c 'sb 0' -c 'write -d fdblocks 12345' -c 'write -d icount 640' " + img.path +
                  " >/dev/null").c_str()) == 0);
  const auto want = [&] {
    auto m = open_rw(img.path);
    StatFs s;
    REQUIRE(m->statfs(&s) == 0);  // a rw mount counts from the AG headers
    return s;
  }();
  CHECK(!needsrepair(img.path));  // no change, nothing written
  {
    auto m = open_rw_with(img.path, false);
    REQUIRE(m->start_change() == 0);
    CHECK(needsrepair(img.path));
    CHECK(system(("xfs_repair -n " + img.path + " >/dev/null 2>&1").c_str()) != 0);
    REQUIRE(m->start_change() == 0);  // once per mount
    REQUIRE(m->unmount_clean() == 0);
  }
  CHECK(incompat(img.path) == clean_flags);
  CHECK(system(("xfs_repair -n " + img.path + " >/dev/null 2>&1").c_str()) == 0);
  std::unique_ptr<Mount> m = open_mount(img.path);
  StatFs got;
  REQUIRE(m->statfs(&got) == 0);  // a clean ro mount believes the superblock counters
  CHECK(got.bfree == want.bfree);
  CHECK(got.files == want.files);
  CHECK(got.ffree == want.ffree);
}

TEST_CASE("mount rw: a read-only mount, and a shut-down one, refuse changes", "[mount][rw]") {
  const std::string& demo = image("demo");
  if (demo.empty()) return;
  ImageCopy img(demo);
  CHECK(open_mount(img.path)->start_change() == EROFS);
  auto m = open_rw(img.path);
  m->shut_down("a test");
  CHECK(m->shut_down_state());
  CHECK(m->start_change() == EIO);
  CHECK(m->unmount_clean() == 0);
  CHECK(!needsrepair(img.path));
}

TEST_CASE("mount rw: refused with a reason for rmapbt and unknown ro_compat features", "[mount][rw]") {
  if (!have_xfsprogs()) return;
  MkfsImage rmap("-m rmapbt=1");
  std::unique_ptr<Mount> m;
  std::string err;
  MountOptions o;
  o.writable = true;
  CHECK(Mount::open(rmap.path, o, &m, &err) == EROFS);
  CHECK(err.find("rmapbt") != std::string::npos);
  CHECK(err.find("-o ro") != std::string::npos);
  o.writable = false;
  CHECK(Mount::open(rmap.path, o, &m, &err) == 0);

  MkfsImage unknown;
  REQUIRE(system(("xfs_db -x -c 'sb 0' -c 'write -d features_ro_compat 0x8000000d' " + unknown.path + " >/dev/null")
                     .c_str()) == 0);
  o.writable = true;
  CHECK(Mount::open(unknown.path, o, &m, &err) == EROFS);
  CHECK(err.find("unknown read-only-compatible features") != std::string::npos);
}

}  // namespace xfsfuse::fs::test

namespace xfsfuse::fs::test {
namespace {

// A FailingDevice that owns the device it wraps (the mount owns it in turn).
class OwningFailingDevice : public bc::test::FailingDevice {
 public:
  explicit OwningFailingDevice(std::unique_ptr<bc::BlockDevice> d) : FailingDevice(d.get()), inner_(std::move(d)) {}

 private:
  std::unique_ptr<bc::BlockDevice> inner_;
};

// A read-write mount of img through a device whose writes can be made to fail (*dev).
std::unique_ptr<Mount> open_failing(const std::string& img, bool write_log, OwningFailingDevice** dev) {
  MountOptions o;
  o.writable = true;
  o.write_log = write_log;
  o.wrap_device = [dev](std::unique_ptr<bc::BlockDevice> d) {
    auto f = std::make_unique<OwningFailingDevice>(std::move(d));
    *dev = f.get();
    return std::unique_ptr<bc::BlockDevice>(std::move(f));
  };
  std::unique_ptr<Mount> m;
  std::string err;
  INFO(err);
  REQUIRE(Mount::open(img, o, &m, &err) == 0);
  REQUIRE(*dev != nullptr);
  return m;
}

}  // namespace

TEST_CASE("mount rw: with nolog a failed metadata write shuts writing down and leaves NEEDSREPAIR", "[mount][rw]") {
  const std::string& demo = image("demo");
  if (demo.empty()) return;
  ImageCopy img(demo);
  OwningFailingDevice* dev = nullptr;
  std::unique_ptr<Mount> m = open_failing(img.path, false, &dev);
  InodeRef root;
  REQUIRE(m->iget(m->sb().rootino, &root) == 0);
  const Cred root_cred{0, 0, {}};
  REQUIRE(setattr(*m, root, root_cred, {.mode = 0700}) == 0);  // NEEDSREPAIR written, the inode dirty in the cache
  dev->fail_writes_after(0);
  CHECK(m->cache().flush_all() != 0);
  CHECK(m->shut_down_state());
  CHECK(setattr(*m, root, root_cred, {.mode = 0755}) == EIO);
  CHECK(m->unmount_clean() == 0);  // writes nothing more
  dev->heal();
  m.reset();
  CHECK(needsrepair(img.path));
  CHECK(system(("xfs_repair " + img.path + " >/dev/null 2>&1").c_str()) == 0);
  CHECK(system(("xfs_repair -n " + img.path + " >/dev/null 2>&1").c_str()) == 0);
}

TEST_CASE("mount rw: with the log a failed metadata write stops all writing and the log recovers the rest",
          "[mount][rw]") {
  const std::string& demo = image("demo");
  if (demo.empty()) return;
  ImageCopy img(demo);
  OwningFailingDevice* dev = nullptr;
  std::unique_ptr<Mount> m = open_failing(img.path, true, &dev);
  InodeRef root;
  REQUIRE(m->iget(m->sb().rootino, &root) == 0);
  const Cred root_cred{0, 0, {}};
  REQUIRE(setattr(*m, root, root_cred, {.mode = 0700}) == 0);
  REQUIRE(m->sync() == 0);  // in the log; the inode dirty in the cache
  dev->fail_writes_after(0);
  CHECK(m->cache().flush_all() != 0);
  CHECK(m->shut_down_state());
  CHECK(setattr(*m, root, root_cred, {.mode = 0755}) == EIO);
  CHECK(m->unmount_clean() == 0);  // writes nothing more
  dev->heal();
  root.reset();
  m.reset();
  CHECK(!needsrepair(img.path));
  {  // the next mount recovers what was logged; no xfs_repair needed
    auto r = open_rw_with(img.path, true);
    CHECK(r->recovered());
    REQUIRE(r->iget(r->sb().rootino, &root) == 0);
    CHECK((root->core.mode & 07777) == 0700);
    root.reset();
    REQUIRE(r->unmount_clean() == 0);
  }
  CHECK(system(("xfs_repair -n " + img.path + " >/dev/null 2>&1").c_str()) == 0);
}

TEST_CASE("mount rw: an fsync forces the log only up to the file's last transaction", "[mount][rw][log]") {
  const std::string& demo = image("demo");
  if (demo.empty()) return;
  ImageCopy img(demo);
  auto m = open_rw_with(img.path, true);
  InodeRef root, f, g;
  REQUIRE(m->iget(m->sb().rootino, &root) == 0);
  const Cred c{0, 0, {}};
  const std::string data(5000, 'x');
  REQUIRE(make_node(*m, root, "f", c, S_IFREG | 0644, 0, &f) == 0);
  REQUIRE(write_file(*m, f, 0, reinterpret_cast<const std::byte*>(data.data()), data.size()) == 0);
  REQUIRE(m->sync() == 0);
  const uint64_t forces = m->log()->stats().forces;
  // f is on the disk: its fsync forces nothing, though g's create is queued.
  REQUIRE(make_node(*m, root, "g", c, S_IFREG | 0644, 0, &g) == 0);
  REQUIRE(m->fsync(*f) == 0);
  CHECK(m->log()->stats().forces == forces);
  CHECK(f->log_seq.load() < g->log_seq.load());
  // A change to f: its fsync makes that transaction durable.
  REQUIRE(write_file(*m, f, data.size(), reinterpret_cast<const std::byte*>(data.data()), data.size()) == 0);
  const uint64_t seq = f->log_seq.load();
  CHECK(seq > g->log_seq.load());
  REQUIRE(m->fsync(*f) == 0);
  CHECK(m->log()->stats().written_transactions >= seq);
  // An inode loaded again takes the last seq queued then: it is never
  // taken for durable while a change to it may still be queued.
  f.reset();
  g.reset();
  REQUIRE(make_node(*m, root, "h", c, S_IFREG | 0644, 0, &g) == 0);
  const uint64_t h_seq = g->log_seq.load();
  g.reset();
  uint64_t dropped = 0;
  m->drop_caches(&dropped, nullptr);
  CHECK(dropped > 0);
  uint64_t ino = 0;
  REQUIRE(dir_lookup(*m, *root, "f", &ino) == 0);
  REQUIRE(m->iget(ino, &f) == 0);
  CHECK(f->log_seq.load() >= h_seq);
  REQUIRE(m->fsync(*f) == 0);
  CHECK(m->log()->stats().written_transactions >= h_seq);
  f.reset();
  root.reset();
  REQUIRE(m->unmount_clean() == 0);
  CHECK(system(("xfs_repair -n " + img.path + " >/dev/null 2>&1").c_str()) == 0);
}

TEST_CASE("mount rw: an fdatasync leaves out changes of timestamps only", "[mount][rw][log]") {
  const std::string& demo = image("demo");
  if (demo.empty()) return;
  ImageCopy img(demo);
  auto m = open_rw_with(img.path, true);
  InodeRef root, f;
  REQUIRE(m->iget(m->sb().rootino, &root) == 0);
  const Cred c{0, 0, {}};
  const std::string data(5000, 'x'), patch(100, 'y');
  auto write = [&](uint64_t off, const std::string& d) {
    return write_file(*m, f, off, reinterpret_cast<const std::byte*>(d.data()), d.size());
  };
  REQUIRE(make_node(*m, root, "f", c, S_IFREG | 0644, 0, &f) == 0);
  REQUIRE(write(0, data) == 0);
  REQUIRE(m->sync() == 0);
  const uint64_t durable = f->log_seq.load();
  CHECK(f->datasync_seq.load() == durable);

  // An overwrite inside the file's blocks changes mtime and ctime only:
  // fdatasync forces nothing, fsync forces that transaction.
  REQUIRE(write(10, patch) == 0);
  CHECK(f->log_seq.load() > durable);
  CHECK(f->datasync_seq.load() == durable);
  uint64_t forces = m->log()->stats().forces;
  REQUIRE(m->fsync(*f, true) == 0);
  CHECK(m->log()->stats().forces == forces);
  CHECK(m->log()->stats().written_transactions < f->log_seq.load());
  REQUIRE(m->fsync(*f, false) == 0);
  CHECK(m->log()->stats().forces == forces + 1);
  CHECK(m->log()->stats().written_transactions >= f->log_seq.load());

  // So does a utimes; a chmod, a write past the end (the size) and a write
  // into a hole (the extents) are more than timestamps.
  REQUIRE(setattr(*m, f, c, {.mtime = TimeSet{false, Timestamp{1700000000, 0}}}) == 0);
  CHECK(f->datasync_seq.load() < f->log_seq.load());
  REQUIRE(setattr(*m, f, c, {.mode = 0600}) == 0);
  CHECK(f->datasync_seq.load() == f->log_seq.load());
  REQUIRE(write(data.size(), patch) == 0);
  CHECK(f->datasync_seq.load() == f->log_seq.load());
  REQUIRE(write(1 << 20, patch) == 0);
  CHECK(f->datasync_seq.load() == f->log_seq.load());
  forces = m->log()->stats().forces;
  REQUIRE(m->fsync(*f, true) == 0);
  CHECK(m->log()->stats().forces == forces + 1);
  CHECK(m->log()->stats().written_transactions >= f->log_seq.load());
  f.reset();
  root.reset();
  REQUIRE(m->unmount_clean() == 0);
  CHECK(system(("xfs_repair -n " + img.path + " >/dev/null 2>&1").c_str()) == 0);
}

}  // namespace xfsfuse::fs::test
