// check_inodes on the clean demo, bigdir and kernel images (no problems) and
// on demo copies corrupted with xfs_db -x writes and blocktrash (each gives
// the expected problem, and xfs_repair -n finds the copy corrupt too).  The
// inode table is filled here as the AG phase would, from the clean image:
// every 64-inode chunk holding an inode of the directory tree, each inode
// free exactly when its di_mode is 0.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "fs/dir.h"
#include "fs/mount.h"
#include "tests/fs/dir_test_util.h"
#include "tests/fsck/fsck_test_util.h"
#include "tools/fsck/context.h"
#include "tools/fsck/inode_check.h"

namespace xfsfuse::fsck {
namespace {

using fs::test::ImageCopy;

// ino -> inobt free bit, for every inode of every chunk the tree of img touches.
const std::map<uint64_t, bool>& chunk_inodes(const std::string& img) {
  static std::map<std::string, std::map<uint64_t, bool>> memo;
  auto it = memo.find(img);
  if (it != memo.end()) return it->second;
  auto m = fs::test::open_mount(img);
  const std::vector<uint64_t>& seen = fsck::test::tree_inodes(img);
  std::map<uint64_t, bool> out;
  for (uint64_t ino : seen) {
    for (uint64_t i = ino & ~uint64_t{63}; i < (ino | 63) + 1; i++) {
      if (out.count(i)) continue;
      fs::InodeRef ip;
      const int err = m->iget(i, &ip);
      if (err == 0 || err == ENOENT) out[i] = err == ENOENT;  // else a sparse hole: no inode there
    }
  }
  return memo[img] = std::move(out);
}

struct Result {
  std::vector<Problem> problems;
  std::string text;  // one line per problem, for INFO
  std::map<uint64_t, InodeRec> recs;
  uint64_t data_blocks = 0, bmbt_blocks = 0;
  double seconds = 0;
  uint64_t ino = 0;  // corrupt_and_check: the inode it corrupted
};

// What the AG phase hands the inode phase (the shared extents of a reflink
// filesystem), from a run of check_ags on its own tables.
std::vector<AgTotals> ag_totals(fs::Mount& m) {
  Reporter rep(false, stdout);
  auto space = make_memory_space_map(m.sb(), &rep);
  auto table = make_memory_inode_table();
  Context cx{m, m.sb(), rep, *space, *table, std::vector<AgTotals>(m.sb().agcount), {}, {}};
  check_ags(cx);
  return std::move(cx.ags);
}

// Runs check_inodes on img with the table of clean, with the inobt free
// bits of the inodes in flip inverted.
Result run_inodes(const std::string& img, const std::string& clean, const std::set<uint64_t>& flip = {}) {
  const auto& inodes = chunk_inodes(clean);
  fs::MountOptions mo;
  mo.check_root = false;
  std::unique_ptr<fs::Mount> m;
  std::string err;
  REQUIRE(fs::Mount::open(img, mo, &m, &err) == 0);
  Reporter rep(false, stdout);
  auto space = make_memory_space_map(m->sb(), &rep);
  auto table = make_memory_inode_table();
  for (const auto& [ino, free] : inodes) table->add(ino, free != (flip.count(ino) != 0));
  Context cx{*m, m->sb(), rep, *space, *table, ag_totals(*m), {}, {}};
  const auto t0 = std::chrono::steady_clock::now();
  check_inodes(cx);
  Result r;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.problems = rep.problems();
  for (const Problem& p : r.problems) r.text += format_problem(p) + "\n";
  table->for_each([&](uint64_t ino, const InodeRec& rec) { r.recs[ino] = rec; });
  r.data_blocks = space->claimed(Owner::kData);
  r.bmbt_blocks = space->claimed(Owner::kBmbt);
  return r;
}

uint64_t ino_of(const std::string& img, const std::string& path) {
  auto m = fs::test::open_mount(img);
  fs::InodeRef ip;
  REQUIRE(fs::test::resolve(*m, path, &ip) == 0);
  return ip->core.ino;
}

// xfs_repair -n's exit status on img (-1 without xfs_repair).
int repair_status(const std::string& img) {
  if (std::system("command -v xfs_repair >/dev/null 2>&1") != 0) return -1;
  return WEXITSTATUS(std::system(("xfs_repair -n -f " + img + " >/dev/null 2>&1").c_str()));
}

// One corruption case: a copy of clean, xfs_db -x 'path PATH' then cmds; the
// inode phase must report a problem of that inode containing `problem`, and
// xfs_repair -n (when present) must find the copy unclean too.  Returns the
// run, for the case's own further checks.
Result corrupt_and_check(const std::string& clean, const char* path, const char* cmds, const char* problem) {
  ImageCopy copy(clean);
  const std::string cmd = std::string("xfs_db -x -c 'path ") + path + "' " + cmds + " " + copy.path + " >/dev/null 2>&1";
  REQUIRE(std::system(cmd.c_str()) == 0);
  const uint64_t ino = ino_of(clean, path);
  Result r = run_inodes(copy.path, clean);
  INFO(path << " " << cmds << " (inode " << ino << "):\n" << r.text);
  bool found = false;
  for (const Problem& p : r.problems) found = found || (p.ino == ino && p.what.find(problem) != std::string::npos);
  CHECK(found);
  const int repair = repair_status(copy.path);
  if (repair >= 0) CHECK(repair == 1);
  r.ino = ino;
  return r;
}

TEST_CASE("inodes: the clean demo, bigdir and kernel images have no inode problems") {
  for (const char* name : {"demo", "bigdir", "kernel"}) {
    const std::string& img = fs::test::image(name);
    if (img.empty()) continue;  // the kernel image needs root and loop devices
    const Result r = run_inodes(img, img);
    INFO(name << ": " << r.recs.size() << " inodes in " << r.seconds << " s\n" << r.text);
    CHECK(r.problems.empty());
    CHECK(r.data_blocks > 0);
    for (const auto& [ino, rec] : r.recs) {
      CHECK(rec.in_use == !rec.inobt_free);
      CHECK(rec.bad == false);
      CHECK((rec.mode != 0) == rec.in_use);
    }
  }
}

TEST_CASE("inodes: xfs_db corruptions of demo copies give the expected problem, and xfs_repair -n agrees") {
  const std::string& clean = fs::test::image("demo");
  struct Case {
    const char* path;     // the inode corrupted (its problem names it)
    const char* cmds;     // xfs_db -x commands after selecting it with 'path'
    const char* problem;  // a substring of the problem line
    bool bad;             // the inode is to be marked not fit to follow
  };
  const Case cases[] = {
      {"/files/big.bin", "-c 'write core.nblocks 5'", "di_nblocks 5 but its forks hold 2049 blocks", false},
      {"/files/big.bin", "-c 'write -c core.gen 12345'", "CRC mismatch", true},
      {"/files/big.bin", "-c 'write -d v3.inumber 999'", "di_ino 999 is not its number", true},
      {"/files/big.bin", "-c 'write -d core.mode 0'", "the inobt marks it in use but its di_mode is 0", true},
      {"/files/big.bin", "-c 'write -d core.forkoff 60'", "attr fork offset 60 invalid", true},
      {"/files/big.bin", "-c 'write -d u3.bmx[0].startblock 99999999'", "lies outside its AG or the filesystem", true},
      {"/files/big.bin", "-c 'write -d core.nlinkv2 0'", "in use with di_nlink 0", false},
      {"/files/big.bin", "-c 'write -d core.extsize 16'", "di_extsize 16 without its flag", false},
      {"/files/big.bin", "-c 'write -d core.onlink 3'", "obsolete di_onlink 3", false},
      {"/files/big.bin", "-c 'write -d next_unlinked 5'", "di_next_unlinked 0x5 is not an inode of this AG", false},
      {"/files/prealloc-1m", "-c 'write -d u3.bmx[0].startoff 4503599627370000'", "ends past the largest file offset", true},
      {"/devs/chr-1-3", "-c 'write -d core.format 2'", "data fork format 2 does not suit di_mode 020666", true},
      {"/devs/chr-1-3", "-c 'write -d core.size 10'", "special file with di_size 10", true},
      {"/node", "-c 'write -d core.nextents 51'", "bmbt holds 52 extents, di_nextents says 51", true},
      {"/node", "-c 'addr u3.bmbt.ptrs[1]' -c 'write -d magic 0'", "data fork: bad magic", true},
      {"/files", "-c 'write -d core.size 10000'", "local directory di_size 10000 exceeds its 336-byte fork", true},
      {"/links/inline-100", "-c 'write -d core.size 0'", "symlink di_size 0 outside 1..1024", true},
      {"/leaf", "-c 'write -d u3.bmx[0].extentflag 1'", "unwritten extent at file block 0", true},
  };
  for (const Case& c : cases) {
    const Result r = corrupt_and_check(clean, c.path, c.cmds, c.problem);
    INFO(c.path << " " << c.cmds);
    CHECK(r.recs.at(r.ino).bad == c.bad);
  }
}

TEST_CASE("inodes: kernel image copies: remote symlink block header, attr fork extent and format") {
  const std::string& clean = fs::test::image("kernel");
  if (clean.empty()) {
    WARN("SKIP: no kernel image (needs root and loop devices)");
    return;
  }
  struct Case {
    const char* path;
    const char* cmds;
    const char* problem;
  };
  const Case cases[] = {
      {"/symlinks/remote-337", "-c 'dblock 0' -c 'write -d magic 0'", "remote symlink target unreadable"},
      {"/symlinks/remote-337", "-c 'dblock 0' -c 'write -d bytes 10'", "remote symlink target unreadable"},
      {"/xattr/node", "-c 'write -d a.bmx[0].startblock 99999999'", "attr fork: extent [0, +"},
      {"/xattr/shortform", "-c 'write -d core.aformat 5'", "attr fork format 5 unknown"},
      {"/xattr/shortform", "-c 'write -d a.sfattr.hdr.totsize 4000'", "short-form totsize 4000 outside 4.."},
  };
  for (const Case& c : cases) corrupt_and_check(clean, c.path, c.cmds, c.problem);
}

TEST_CASE("inodes: an extent claiming another file's blocks is reported by the space map") {
  const std::string& clean = fs::test::image("demo");
  ImageCopy copy(clean);
  REQUIRE(std::system(("xfs_db -x -c 'path /files/big.bin' -c 'write -d u3.bmx[0].startblock 33000' " + copy.path +
                       " >/dev/null 2>&1").c_str()) == 0);
  const Result r = run_inodes(copy.path, clean);
  INFO(r.text);
  const std::string big = std::to_string(ino_of(clean, "/files/big.bin"));
  CHECK(r.text.find("already data of inode " + big) != std::string::npos);
  CHECK(repair_status(copy.path) != 0);
}

TEST_CASE("inodes: an inode in use that the inobt marks free, and the reverse") {
  const std::string& clean = fs::test::image("demo");
  const uint64_t used = ino_of(clean, "/files/one-meg");
  uint64_t free_ino = 0;
  for (const auto& [ino, free] : chunk_inodes(clean))
    if (free) free_ino = ino;
  REQUIRE(free_ino != 0);
  const Result r = run_inodes(clean, clean, {used, free_ino});
  INFO(r.text);
  CHECK(r.text.find("ino " + std::to_string(used) + " daddr") != std::string::npos);
  CHECK(r.text.find("the inobt marks it free but its di_mode is 0100644") != std::string::npos);
  CHECK(r.text.find("ino " + std::to_string(free_ino) + " daddr") != std::string::npos);
  CHECK(r.recs.at(used).in_use);
  CHECK(!r.recs.at(free_ino).in_use);
  CHECK(r.recs.at(free_ino).bad);
}

// A 320 MiB image with /a (4 MiB), /b and /c reflinked copies of it, one
// block of /c rewritten; written by the kernel.  "" without root or loop devices.
std::string reflink_image(const std::string& dir) {
  const std::string img = dir + "/reflink.img", mnt = dir + "/mnt";
  const std::string cmd = "truncate -s 320M " + img + " && mkfs.xfs -q -f -m reflink=1 " + img + " && mkdir -p " + mnt +
                          " && mount -o loop " + img + " " + mnt + " && dd if=/dev/urandom of=" + mnt +
                          "/a bs=1M count=4 status=none && cp --reflink=always " + mnt + "/a " + mnt + "/b && cp --reflink=always " +
                          mnt + "/a " + mnt + "/c && dd if=/dev/zero of=" + mnt +
                          "/c bs=4k count=1 seek=10 conv=notrunc status=none; umount " + mnt + " 2>/dev/null";
  if (std::system((cmd + " >/dev/null 2>&1").c_str()) != 0 || !fs::test::exists(img)) return "";
  return img;
}

TEST_CASE("inodes: shared blocks are counted block by block (an over- and an under-mapped part do not cancel out)") {
  auto m = fs::test::open_mount(fs::test::image("demo"));
  Reporter rep(false, stdout);
  auto space = make_memory_space_map(m->sb(), &rep);
  auto table = make_memory_inode_table();
  Context cx{*m, m->sb(), rep, *space, *table, std::vector<AgTotals>(m->sb().agcount), {}, {}};
  cx.ags[0].shared = {AgTotals::SharedExtent{100, 10, 2, 0x10}, AgTotals::SharedExtent{200, 4, 2, 0x10}};
  SharedBlocks shared(cx);
  shared.claim_data(0, 100, 5, 1001);   // 100..104 three times,
  shared.claim_data(0, 100, 5, 1002);
  shared.claim_data(0, 98, 7, 1003);    // (98, 99 are not shared: claimed as data at once)
  shared.claim_data(0, 105, 5, 1004);   // 105..109 once: 3 * 5 + 5 = 2 * 10 all the same
  shared.claim_data(0, 200, 4, 1005);   // 200..203 exactly twice, in two pieces
  shared.claim_data(0, 199, 3, 1006);
  shared.claim_data(0, 202, 2, 1006);
  shared.finish();
  std::string text;
  for (const Problem& p : rep.problems()) text += format_problem(p) + "\n";
  INFO(text);
  REQUIRE(rep.problems().size() == 2);
  CHECK(text.find("agbno 100 length 10 has refcount 2, but files map agbno 100..104 3 times") != std::string::npos);
  CHECK(text.find("agbno 100 length 10 has refcount 2, but files map agbno 105..109 1 times") != std::string::npos);
  CHECK(space->claimed(Owner::kData) == 2 + 1 + 10 + 4);  // 98, 99, 199 and each shared extent once
}

TEST_CASE("inodes: reflinked files share blocks without overlap problems, and a refcount they do not bear out is reported") {
  char dir[] = "/tmp/xfsfuse-reflink-XXXXXX";
  REQUIRE(mkdtemp(dir));
  const std::string img = reflink_image(dir);
  if (img.empty() || getuid() != 0) {
    WARN("SKIP: building the reflink image needs root and loop devices");
    std::system(("rm -rf " + std::string(dir)).c_str());
    return;
  }
  const Result clean = run_inodes(img, img);
  INFO(clean.text);
  CHECK(clean.problems.empty());
  CHECK(clean.data_blocks >= 1024);
  REQUIRE(std::system(("xfs_db -x -c 'agf 0' -c 'addr refcntroot' -c 'write recs[1].refcount 2' " + img +
                       " >/dev/null 2>&1").c_str()) == 0);
  const Result bad = run_inodes(img, img);
  INFO(bad.text);
  // recs[1] covers 10 blocks that /a, /b and /c all map.
  CHECK(bad.text.find("length 10 has refcount 2, but files map agbno ") != std::string::npos);
  CHECK(bad.text.find(" 3 times") != std::string::npos);
  CHECK(bad.problems.size() == 1);
  CHECK(repair_status(img) == 1);
  std::system(("rm -rf " + std::string(dir)).c_str());
}

TEST_CASE("inodes: blocktrash of inode and bmbt blocks (fixed seeds): problems found, no crash, xfs_repair -n agrees") {
  const std::string& clean = fs::test::image("demo");
  for (int seed : {7, 8, 9}) {
    ImageCopy copy(clean);
    const std::string cmd = "xfs_db -x -c blockget -c 'blocktrash -s " + std::to_string(seed) +
                            " -n 100 -t inode -t btbmapd -3' " + copy.path + " >/dev/null 2>&1";
    REQUIRE(std::system(cmd.c_str()) == 0);
    const Result r = run_inodes(copy.path, clean);
    INFO("seed " << seed << ":\n" << r.text.substr(0, 4000));
    CHECK(!r.problems.empty());
    CHECK(repair_status(copy.path) != 0);
  }
}

}  // namespace
}  // namespace xfsfuse::fsck
