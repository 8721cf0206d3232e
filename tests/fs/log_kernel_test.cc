// The log's head, tail and state (fs/log/ends.h) and its transactions
// (fs/log/parse.h) on logs the kernel wrote, against xfs_logprint -t: its
// "log tail: T head: H state: <S>" line, and per transaction its "#items"
// (th_num_items) and its item lines (BUF:, INO:, ICR: ...).  mkfs's log,
// after a clean unmount, after a forced shutdown (a dirty log, as a crash
// leaves it), and a small log that wrapped before the shutdown.
// Needs root, loop devices and xfs_io ("SKIP:" otherwise).
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <map>
#include <regex>
#include <sstream>

#include "buffer_cache/block_device.h"
#include "fs/log/parse.h"
#include "fs/mount.h"
#include "tests/fs/dir_test_util.h"
#include "tests/fs/fs_test_util.h"
#include "tests/fs/log_kernel_test_util.h"

namespace xfsfuse::fs::test {
namespace {

// A mount of img with norecovery: a dirty log is not refused.
std::unique_ptr<Mount> open_norecovery(const std::string& img) {
  MountOptions o;
  o.norecovery = true;
  return open_mount(img, o);
}

// What our mount finds in the log.
xlog::LogEnds ours(const std::string& img) { return open_norecovery(img)->log_ends(); }

// One transaction as xfs_logprint -t lists it.
struct PrintedTrans {
  uint32_t num_items = 0;
  std::map<std::string, int> items;  // "BUF" -> count
  bool operator==(const PrintedTrans&) const = default;
};

std::vector<PrintedTrans> logprint_transactions(const std::string& img) {
  std::istringstream in(run("L=$(losetup -f --show " + img + ") && { xfs_logprint -t $L 2>&1; losetup -d $L; }"));
  std::vector<PrintedTrans> out;
  static const std::regex trans(R"(^TRANS: tid:0x[0-9a-f]+ +#items:(\d+))"), item(R"(^([A-Z]+): )");
  std::string line;
  std::smatch m;
  while (std::getline(in, line)) {
    if (std::regex_search(line, m, trans)) {
      out.push_back(PrintedTrans{static_cast<uint32_t>(std::stoul(m[1])), {}});
    } else if (!out.empty() && std::regex_search(line, m, item)) {
      out.back().items[m[1]]++;
    }
  }
  return out;
}

// Our transactions of img's log, in xfs_logprint's terms.
std::vector<PrintedTrans> our_transactions(const std::string& img) {
  const auto m = open_norecovery(img);
  std::unique_ptr<bc::BlockDevice> dev;
  REQUIRE(bc::FileDevice::open(img, false, &dev) == 0);
  uint64_t start = 0;
  uint32_t blocks = 0;
  std::string why;
  REQUIRE(xlog::LogReader::internal(*dev, m->sb(), &start, &blocks, &why) == 0);
  static const std::map<uint16_t, std::string> names{{0x123c, "BUF"}, {0x123b, "INO"}, {0x123f, "ICR"},
                                                     {0x1236, "EFI"}, {0x1237, "EFD"}};
  std::vector<PrintedTrans> out;
  xlog::ParseStats stats;
  const int rc = xlog::parse_log(xlog::LogReader(*dev, start, blocks), m->sb().uuid, m->log_ends(),
                                 [&](xlog::LogTransaction&& t) {
                                   PrintedTrans p{t.num_items, {}};
                                   for (const xlog::LogItem& i : t.items)
                                     p.items[names.count(i.type) ? names.at(i.type) : "?"]++;
                                   out.push_back(std::move(p));
                                   return 0;
                                 },
                                 &stats, &why);
  INFO(why);
  REQUIRE(rc == 0);
  return out;
}

void check_against_logprint(const std::string& img) {
  LogPrint want;
  REQUIRE(logprint(img, &want));
  const xlog::LogEnds e = ours(img);
  INFO("xfs_logprint: tail " << want.tail << " head " << want.head << " " << want.state);
  CHECK(e.head_block == want.head);
  CHECK(e.tail_block() == want.tail);
  CHECK(e.clean == (want.state == "CLEAN"));
}

}  // namespace

TEST_CASE("log ends: the kernel's logs read as xfs_logprint reads them", "[log][kernel]") {
  if (!have_xfsprogs()) return;
  if (geteuid() != 0 || system("command -v xfs_logprint >/dev/null && command -v xfs_io >/dev/null") != 0) {
    WARN("SKIP: not root, or no xfs_logprint / xfs_io");
    return;
  }
  SECTION("mkfs's log") {
    MkfsImage img;
    check_against_logprint(img.path);
    CHECK(ours(img.path).clean);
  }
  const std::string files = "mkdir a && for i in $(seq 1 300); do echo $i > a/f$i; done && mkdir a/b";
  SECTION("after a clean unmount, and after a crash (forced shutdown)") {
    MkfsImage img;
    const std::string mnt = img.path + ".mnt";
    REQUIRE(mkdir(mnt.c_str(), 0755) == 0);
    if (!kernel_run(img.path, mnt, files, false)) {
      rmdir(mnt.c_str());
      WARN("SKIP: mount -o loop failed (no loop devices or no XFS in this kernel?)");
      return;
    }
    check_against_logprint(img.path);
    CHECK(ours(img.path).clean);
    REQUIRE(kernel_run(img.path, mnt, "sync && for i in $(seq 1 100); do echo $i > a/b/g$i; done", true));
    rmdir(mnt.c_str());
    check_against_logprint(img.path);
    const xlog::LogEnds e = ours(img.path);
    CHECK_FALSE(e.clean);
    CHECK(e.tail_block() < e.head_block);
    const auto want = logprint_transactions(img.path);
    CHECK(!want.empty());
    CHECK(our_transactions(img.path) == want);
  }
  SECTION("a small log that wrapped") {
    MkfsImage img("-l size=2200b", 256ll << 20);  // 8.6 MiB: below the 64 MiB minimum of mkfs (fstests mode)
    const std::string mnt = img.path + ".mnt";
    REQUIRE(mkdir(mnt.c_str(), 0755) == 0);
    const bool ran = kernel_run(img.path, mnt,
                                "mkdir a && for j in $(seq 1 30); do for i in $(seq 1 3000); do : > a/f$j.$i; done;"
                                " rm -f a/f$j.*; done",
                                true);
    rmdir(mnt.c_str());
    if (!ran) {
      WARN("SKIP: mount -o loop failed (no loop devices or no XFS in this kernel?)");
      return;
    }
    check_against_logprint(img.path);
    const xlog::LogEnds e = ours(img.path);
    CHECK(e.head_cycle >= 2);  // it wrapped
    CHECK_FALSE(e.clean);
    const auto want = logprint_transactions(img.path);
    CHECK(!want.empty());
    CHECK(our_transactions(img.path) == want);
  }
}

}  // namespace xfsfuse::fs::test
