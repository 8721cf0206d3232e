// The unmount record writer (fs/log/unmount.h) on logs the kernel wrote, with
// the kernel and xfsprogs as the oracles: a log the kernel replayed after a
// forced shutdown gets a second unmount record after the kernel's; then
// xfs_logprint -t must read it clean with tail = head after it, xfs_repair -n
// must pass, and the kernel must mount it and go on writing right after our
// record (its next record names ours as the previous one: it took our record
// for the head, CRC included).  Also a record at the last block of a small
// log, whose data block wraps to block 0 in the next cycle.
// Needs root, loop devices, xfs_io, xfs_logprint, xfs_repair ("SKIP:" otherwise).
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "buffer_cache/block_device.h"
#include "fs/log/ends.h"
#include "fs/log/reader.h"
#include "fs/log/record.h"
#include "fs/log/unmount.h"
#include "fs/superblock.h"
#include "tests/fs/fs_test_util.h"
#include "tests/fs/log_kernel_test_util.h"

namespace xfsfuse::fs::test {
namespace {

// The internal log of an image, opened read-write.
struct ImageLog {
  std::unique_ptr<bc::BlockDevice> dev;
  uint64_t start = 0;
  uint32_t blocks = 0;
  bc::Uuid uuid{};

  explicit ImageLog(const std::string& img) {
    REQUIRE(bc::FileDevice::open(img, true, &dev) == 0);
    std::vector<std::byte> sector(512);
    iovec iov{sector.data(), sector.size()};
    REQUIRE(dev->preadv(&iov, 1, 0) == 0);
    Superblock sb;
    std::string why;
    REQUIRE(decode_superblock(sector, &sb, &why) == 0);
    REQUIRE(xlog::LogReader::internal(*dev, sb, &start, &blocks, &why) == 0);
    uuid = sb.uuid;
  }
  xlog::LogEnds ends() const {
    xlog::LogEnds e;
    std::string why;
    const int rc = xlog::find_log_ends(xlog::LogReader(*dev, start, blocks), uuid, &e, &why);
    INFO(why);
    REQUIRE(rc == 0);
    return e;
  }
  // Writes our unmount record at the head; returns the ends after it.
  xlog::LogEnds unmount(const xlog::LogEnds& before) {
    xlog::LogEnds after;
    std::string why;
    const int rc = xlog::write_unmount_record(*dev, start, blocks, uuid, before, &after, &why);
    INFO(why);
    REQUIRE(rc == 0);
    return after;
  }
  // The header of the record at log block b.
  xlog::RecordHeader header(uint32_t b) const {
    std::vector<std::byte> blk(512);
    REQUIRE(xlog::LogReader(*dev, start, blocks).read(b, 1, blk.data()) == 0);
    xlog::RecordHeader h;
    std::string why;
    const int rc = xlog::decode_record_header(blk, b, blocks, uuid, &h, &why);
    INFO(why);
    REQUIRE(rc == 0);
    return h;
  }
  // Log blocks [from, to) become empty records of cycle c, each its own tail,
  // as the kernel's clearing writes them: a log the kernel would have left
  // after passing over them.
  void fill(uint32_t from, uint32_t to, uint32_t c) {
    std::vector<std::byte> buf(size_t{to - from} * 512);
    for (uint32_t b = from; b < to; b++) {
      xlog::RecordHeader h;
      h.cycle = c;
      h.version = 2;
      h.lsn = h.tail_lsn = xlog::make_lsn(c, b);
      xlog::encode_record(h, uuid, blocks, std::span(buf).subspan(size_t{b - from} * 512, 512));
    }
    iovec iov{buf.data(), buf.size()};
    REQUIRE(dev->pwritev(&iov, 1, start + uint64_t{from} * 512) == 0);
    REQUIRE(dev->sync() == 0);
  }
};


// xfs_logprint reads img clean with tail = head = `head`; xfs_repair -n passes.
void check_with_xfsprogs(const std::string& img, uint32_t head) {
  LogPrint p;
  REQUIRE(logprint(img, &p));
  CHECK(p.state == "CLEAN");
  CHECK(p.head == head);
  CHECK(p.tail == head);
  CHECK(system(("xfs_repair -n " + img + " >/dev/null 2>&1").c_str()) == 0);
}

// The kernel mounts img and unmounts it; its first record after the mount
// is at our head and names our record (at `ours`) as the previous one.
void check_kernel_continues(const std::string& img, const std::string& mnt, const xlog::LogEnds& after, uint32_t ours) {
  REQUIRE(kernel_run(img, mnt, "touch after-our-record", false));
  ImageLog log(img);
  const xlog::LogEnds e = log.ends();
  CHECK(e.clean);
  CHECK(e.head_lsn() != after.head_lsn());
  const xlog::RecordHeader next = log.header(after.head_block);
  CHECK(next.lsn == after.head_lsn());
  CHECK(next.prev_block == ours);
}

}  // namespace

TEST_CASE("log unmount: a record after the kernel's on a replayed log passes xfs_logprint xfs_repair and the kernel",
          "[log][kernel]") {
  if (!have_xfsprogs()) return;
  if (!have_log_tools()) {
    WARN("SKIP: not root, or no xfs_logprint / xfs_io / xfs_repair");
    return;
  }
  MkfsImage img;
  const std::string mnt = img.path + ".mnt";
  REQUIRE(mkdir(mnt.c_str(), 0755) == 0);
  const bool ran = kernel_run(img.path, mnt, "mkdir a && for i in $(seq 1 300); do echo $i > a/f$i; done", true);
  if (!ran) {
    rmdir(mnt.c_str());
    WARN("SKIP: mount -o loop failed (no loop devices or no XFS in this kernel?)");
    return;
  }
  REQUIRE_FALSE(ImageLog(img.path).ends().clean);  // the forced shutdown left it dirty
  REQUIRE(kernel_run(img.path, mnt, "test -e a/f300", false));  // the kernel replays it
  {
    ImageLog log(img.path);
    const xlog::LogEnds before = log.ends();
    REQUIRE(before.clean);
    const xlog::LogEnds after = log.unmount(before);
    CHECK(after.head_block == before.head_block + 2);
    CHECK(after.head_cycle == before.head_cycle);
    check_with_xfsprogs(img.path, after.head_block);
    check_kernel_continues(img.path, mnt, after, before.head_block);
  }
  rmdir(mnt.c_str());
}

TEST_CASE("log unmount: a record at the last block of the log wraps its data block as the kernel reads it",
          "[log][kernel]") {
  if (!have_xfsprogs()) return;
  if (!have_log_tools()) {
    WARN("SKIP: not root, or no xfs_logprint / xfs_io / xfs_repair");
    return;
  }
  MkfsImage img("-l size=2200b", 256ll << 20);  // a small log: 17600 log blocks
  const std::string mnt = img.path + ".mnt";
  REQUIRE(mkdir(mnt.c_str(), 0755) == 0);
  if (!kernel_run(img.path, mnt, "mkdir a && for i in $(seq 1 100); do : > a/f$i; done", false)) {
    rmdir(mnt.c_str());
    WARN("SKIP: mount -o loop failed (no loop devices or no XFS in this kernel?)");
    return;
  }
  {
    ImageLog log(img.path);
    const xlog::LogEnds clean = log.ends();
    REQUIRE(clean.clean);
    REQUIRE(clean.head_block + 4 < log.blocks);
    // The rest of the pass written as the kernel's clearing would leave it
    // (nothing in it needed: the log was clean), so the head is the last block.
    const uint32_t last = log.blocks - 1;
    log.fill(clean.head_block, last, clean.head_cycle);
    const xlog::LogEnds before = log.ends();
    REQUIRE(before.head_block == last);
    REQUIRE(before.head_cycle == clean.head_cycle);
    const xlog::LogEnds after = log.unmount(before);
    CHECK(after.head_block == 1);
    CHECK(after.head_cycle == clean.head_cycle + 1);
    check_with_xfsprogs(img.path, 1);
    check_kernel_continues(img.path, mnt, after, last);
  }
  rmdir(mnt.c_str());
}

}  // namespace xfsfuse::fs::test
