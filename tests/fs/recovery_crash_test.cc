// Log recovery survives a power cut anywhere in it: a read-write mount that
// replays a log the kernel left dirty runs on a CrashDevice
// (tests/buffer_cache/crash_device.h) that cuts the power at write n — the
// write-back of the replayed metadata, the blocks cleared past the head, the
// unmount record, the superblock counters, the unmount — with the unsynced
// writes landing at random and write n landing or not (never torn: XFS,
// the kernel's too, cannot recover a metadata buffer torn inside, see
// crash_device.h).  A second mount must then
// recover whatever the cut left (replaying again where the log is still
// dirty), and the image must come out as the kernel's own replay: the same
// tree and contents through a kernel mount, a clean log, xfs_repair -n and
// xfsfuse-fsck -n exit 0.  (A crash in the running log of a read-write
// mount, not in recovery: tests/fs/log_crash_test.cc.)
// Needs root, loop devices, xfs_io, xfs_logprint ("SKIP:" otherwise).
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <random>

#include "fs/mount.h"
#include "tests/buffer_cache/bc_test_util.h"
#include "tests/buffer_cache/crash_device.h"
#include "tests/fs/fs_test_util.h"
#include "tests/fs/log_kernel_test_util.h"

#ifndef XFSFUSE_FSCK_BIN
#error "XFSFUSE_FSCK_BIN (the xfsfuse-fsck binary) must be defined by the build"
#endif

namespace xfsfuse::fs::test {
namespace {

// A read-write mount of img whose disk loses power at write crash_at (never
// when UINT64_MAX): opens, unmounts, and returns the writes it made.  The
// open or the unmount may fail once the power is gone.
std::vector<std::pair<uint64_t, size_t>> mount_through_cut(const std::string& img, uint64_t crash_at, uint64_t seed) {
  std::unique_ptr<bc::BlockDevice> file;
  REQUIRE(bc::FileDevice::open(img, true, &file) == 0);
  bc::test::CrashDevice crash(file.get(), seed);
  crash.crash_at(crash_at);
  crash.set_torn(false);  // metadata writes land whole or not (see crash_device.h)
  MountOptions o;
  o.writable = true;
  o.wrap_device = [&](std::unique_ptr<bc::BlockDevice>) { return std::make_unique<bc::test::FaultyDevice>(&crash); };
  std::unique_ptr<Mount> m;
  std::string err;
  const int rc = Mount::open(img, o, &m, &err);
  if (crash_at == UINT64_MAX) {
    INFO(err);
    REQUIRE(rc == 0);
    REQUIRE(m->recovered());
  }
  if (rc == 0) {
    const int e = m->unmount_clean();
    if (crash_at == UINT64_MAX) REQUIRE(e == 0);
    m.reset();
  }
  if (crash_at == UINT64_MAX) REQUIRE(crash.sync() == 0);
  return crash.history();
}

// Runs the crash points of points (each with its seed) over copies of the
// kernel-crashed image.
void crash_points(bool every_write, int seeds_per_point) {
  if (!have_xfsprogs()) return;
  if (!have_log_tools()) {
    WARN("SKIP: not root, or no xfs_logprint / xfs_io / xfs_repair");
    return;
  }
  MkfsImage img;
  const std::string mnt = img.path + ".mnt", work = img.path + ".work";
  REQUIRE(mkdir(mnt.c_str(), 0755) == 0);
  struct Cleanup {  // however the test ends (a failed REQUIRE throws)
    const std::string &mnt, &work;
    ~Cleanup() {
      unlink(work.c_str());
      rmdir(mnt.c_str());
    }
  } cleanup{mnt, work};
  // Creates into a directory of 64 KiB blocks (block -> leaf -> node form),
  // a sync in the middle (some of it written home), renames, a file of data.
  const bool ran = kernel_run(img.path, mnt,
                              "mkdir a b && for i in $(seq 1 400); do echo $i > a/file-with-a-long-name-$i; done && "
                              "sync && for i in $(seq 1 400 | shuf --random-source=/dev/zero | head -120); do "
                              "mv a/file-with-a-long-name-$i b/moved-$i; done && mkdir a/sub && "
                              "head -c 3000000 /dev/zero | tr '\\0' x > a/sub/data",
                              true);
  if (!ran) {
    WARN("SKIP: mount -o loop failed (no loop devices or no XFS in this kernel?)");
    return;
  }
  LogPrint lp;
  REQUIRE(logprint(img.path, &lp));
  REQUIRE(lp.state == "DIRTY");
  // The kernel's replay of a copy: the reference.
  REQUIRE(system(("cp --sparse=always " + img.path + " " + work).c_str()) == 0);
  const std::string reference = kernel_view(work, mnt);
  REQUIRE(reference.find("moved-") != std::string::npos);

  // How many writes a whole recovery and unmount make.
  REQUIRE(system(("cp --sparse=always " + img.path + " " + work).c_str()) == 0);
  const auto history = mount_through_cut(work, UINT64_MAX, 0);
  const uint64_t writes = history.size();
  std::string where;  // every write's byte offset and length, for failure messages
  for (auto [off, len] : history) where += " " + std::to_string(off) + "+" + std::to_string(len);
  REQUIRE(writes > 4);
  CHECK(kernel_view(work, mnt) == reference);

  std::vector<uint64_t> points;
  if (every_write) {
    for (uint64_t n = 0; n < writes; n++) points.push_back(n);
  } else {  // the first and last writes and a fixed sample between
    std::mt19937_64 rng(20261206);
    points = {0, writes - 1};
    while (points.size() < std::min<uint64_t>(writes, 14)) {
      const uint64_t n = rng() % writes;
      if (std::find(points.begin(), points.end(), n) == points.end()) points.push_back(n);
    }
  }
  WARN("recovery makes " << writes << " writes; cutting the power at " << points.size() << " of them");
  for (uint64_t n : points)
    for (int s = 0; s < seeds_per_point; s++) {
      const uint64_t seed = n * 31 + static_cast<uint64_t>(s);
      INFO("power cut at write " << n << " of " << writes << " (offset+length:" << where << "), seed " << seed);
      REQUIRE(system(("cp --sparse=always " + img.path + " " + work).c_str()) == 0);
      mount_through_cut(work, n, seed);
      if (getenv("XFSFUSE_TEST_KEEP") != nullptr)
        system(("cp --sparse=always " + work + " /tmp/xfsfuse-crash.after-cut" + std::to_string(n) + ".img").c_str());
      {  // whatever the cut left, a mount recovers it
        MountOptions o;
        o.writable = true;
        std::unique_ptr<Mount> m;
        std::string err;
        const int rc = Mount::open(work, o, &m, &err);
        INFO(err);
        REQUIRE(rc == 0);
        REQUIRE(m->unmount_clean() == 0);
      }
      LogPrint after;
      REQUIRE(logprint(work, &after));
      CHECK(after.state == "CLEAN");
      INFO(run("xfs_repair -n " + work + " 2>&1 | tail -20"));
      CHECK(system(("xfs_repair -n " + work + " >/dev/null 2>&1").c_str()) == 0);
      INFO(run(std::string(XFSFUSE_FSCK_BIN) + " -n " + work + " 2>&1 | tail -20"));
      CHECK(system((std::string(XFSFUSE_FSCK_BIN) + " -n " + work + " >/dev/null 2>&1").c_str()) == 0);
      CHECK(kernel_view(work, mnt) == reference);
      if (getenv("XFSFUSE_TEST_KEEP") != nullptr)  // the crashed image and the recovered one
        system(("cp --sparse=always " + img.path + " /tmp/xfsfuse-crash.orig.img && cp --sparse=always " + work +
                " /tmp/xfsfuse-crash.cut" + std::to_string(n) + "-" + std::to_string(seed) + ".img")
                   .c_str());
    }
}

}  // namespace

TEST_CASE("recovery crash: a power cut anywhere in a read-write recovery is recovered by the next mount",
          "[recovery][kernel]") {
  crash_points(/*every_write=*/false, 1);
}

TEST_CASE("recovery crash: every write of a recovery as the power cut with three seeds each",
          "[recovery][kernel][long][.]") {
  crash_points(/*every_write=*/true, 3);
}

}  // namespace xfsfuse::fs::test
