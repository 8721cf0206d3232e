// check_directories and check_links on the clean demo, bigdir and kernel
// images (no problems) and on demo copies corrupted with xfs_db -x writes
// (each gives the expected problems, and xfs_repair -n finds the copy
// corrupt too).  The inode table is filled here as the AG and inode phases
// would: every inode the clean image's tree holds, with mode and nlink from
// the image under test (Mount::iget), plus the free inodes a test names.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <set>
#include <memory>
#include <string>
#include <vector>

#include "fs/dir.h"
#include "fs/dir_check.h"
#include "fs/mount.h"
#include "tests/fs/dir_test_util.h"
#include "tests/fsck/fsck_test_util.h"
#include "tools/fsck/context.h"

namespace xfsfuse::fsck {
namespace {

using fs::test::ImageCopy;

using fsck::test::tree_inodes;

struct Result {
  std::vector<Problem> problems;
  std::vector<Problem> warnings;
  std::string text;  // one line per problem, for INFO
  double seconds = 0;
};

// Runs the two phases on img with the table described above.
Result run_phases(const std::string& img, const std::vector<uint64_t>& inos, const std::vector<uint64_t>& free_inos = {}) {
  auto m = fs::test::open_mount(img);
  Reporter rep(false, stdout);
  auto space = make_memory_space_map(m->sb(), &rep);
  auto table = make_memory_inode_table();
  for (uint64_t ino : free_inos) table->add(ino, true);
  for (uint64_t ino : inos) {
    table->add(ino, false);
    fs::InodeRef ip;
    const int err = m->iget(ino, &ip);
    table->update(ino, [&](InodeRec& r) {
      r.in_use = err != ENOENT;
      r.bad = err != 0 && err != ENOENT;
      if (err) return;
      r.mode = ip->core.mode;
      r.nlink = ip->core.nlink;
    });
  }
  Context cx{*m, m->sb(), rep, *space, *table, {}, {}, {}};
  const auto t0 = std::chrono::steady_clock::now();
  check_directories(cx);
  check_links(cx);
  Result r;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.problems = rep.problems();
  r.warnings = rep.warnings();
  for (const Problem& p : r.problems) r.text += format_problem(p) + "\n";
  table->for_each([&](uint64_t ino, const InodeRec& rec) {
    if (!rec.inobt_free && rec.in_use) CHECK(rec.reachable);
    (void)ino;
  });
  return r;
}

// Whether some problem has this structure and ino and contains what.
bool has(const Result& r, const std::string& structure, uint64_t ino, const std::string& what) {
  for (const Problem& p : r.problems)
    if (p.structure == structure && p.ino == ino && p.what.find(what) != std::string::npos) return true;
  return false;
}

// xfs_repair -n's exit status on img (1: corruption found).
int repair_n(const std::string& img) { return WEXITSTATUS(std::system(("xfs_repair -n " + img + " >/dev/null 2>&1").c_str())); }

void xfs_db_x(const std::string& img, const std::string& cmds) {
  REQUIRE(std::system(("xfs_db -x " + cmds + " " + img + " >/dev/null").c_str()) == 0);
}

// demo inode numbers (images/make-image builds the same ones every time).
constexpr uint64_t kSf = 658004, kSfA = 658006, kSfDash = 658005, kDeep = 786560, kDeepL1 = 132, kLeaf = 786564,
                   kNode = 262697;

}  // namespace

TEST_CASE("fsck dirs: clean images give no problems", "[fsck][dir]") {
  for (const char* name : {"demo", "bigdir", "kernel"}) {
    const std::string& img = fs::test::image(name);
    if (img.empty()) {
      WARN("no " << name << " image");
      continue;
    }
    Result r = run_phases(img, tree_inodes(img));
    INFO(name << ":\n" << r.text);
    CHECK(r.problems.empty());
    WARN(name << ": directories and links checked in " << r.seconds << " s");
  }
}

TEST_CASE("fsck dirs: xfs_db corruptions of demo copies give exactly the expected problems, as xfs_repair -n", "[fsck][dir]") {
  struct Expect {
    const char* structure;
    uint64_t ino;
    const char* what;  // a substring of the problem
  };
  struct Case {
    const char* name;
    std::vector<std::string> cmds;  // xfs_db -x command lines, one run each
    std::vector<uint64_t> free_inos;  // free inodes the table must know
    std::vector<Expect> expect;       // every problem there must be
  };
  const Case cases[] = {
      {"an entry naming a free inode",
       {"-c 'inode 658004' -c 'write u3.sfdir3.list[1].inumber.i4 658040'"},
       {658040},
       // "a" was 658006's only entry; as xfs_repair -n: no link count problem for the moved inode
       {{"directory", kSf, "entry \"a\" names free inode 658040"}, {"directory", kSfA, "disconnected inode 658006"}}},
      {"an entry with the wrong ftype",
       {"-c 'inode 658004' -c 'write u3.sfdir3.list[1].filetype 2'"},
       {},
       {{"directory", kSf, "entry \"a\" has ftype 2 but inode 658006 has ftype 1"}}},
      {"nlink changed",
       {"-c 'inode 658005' -c 'write core.nlinkv2 7'", "-c 'inode 786560' -c 'write core.nlinkv2 9'"},
       {},
       {{"inode", kSfDash, "nlink 7 but 1 link found"}, {"inode", kDeep, "nlink 9 but 3 links found"}}},
      // lents[100..102] hash 0x5f0c372a, 0x5f0c372b, 0x5f0c372f; xfs_db refreshes the CRC.
      {"a LEAF1 hashval changed (still in order)",
       {"-c 'inode 786564' -c 'dblock 8388608' -c 'write lents[101].hashval 0x5f0c372d'"},
       {},
       {{"directory", kLeaf, "has hashval 0x5f0c372d, the name's hash is 0x5f0c372b"}}},
      // /node: a level-1 da node over 4 LEAFN blocks (entry 1: hashval 0x77b2d1f2)
      // and one free-index block whose bests[3] is 0x10.
      {"node form: a da node key and a free-index best changed",
       {"-c 'inode 262697' -c 'dblock 8388608' -c 'write nbtree[1].hashval 0x77b2d1f3'",
        "-c 'inode 262697' -c 'dblock 16777216' -c 'write fbests[3] 0x100'"},
       {},
       {{"directory", kNode, "node entry 1 has hashval 0x77b2d1f3 but the largest hash under it is 0x77b2d1f2"},
        {"directory", kNode, "free block 0 best for data block 3 is 256, the block's is bestfree[0] 16"}}},
      // /deep's only entry is l1: an empty short-form fork is the 6-byte header.  xfs_repair -n:
      // "disconnected dir inode 132, would move to lost+found", "would have reset inode 786560
      // nlinks from 3 to 2"; nothing below l1.
      {"a directory disconnected by removing its entry",
       {"-c 'inode 786560' -c 'write u3.sfdir3.hdr.count 0' -c 'write core.size 6'"},
       {},
       {{"directory", kDeepL1, "disconnected directory inode 132"}, {"inode", kDeep, "nlink 3 but 2 links found"}}},
      // /deep/l1 (short form): its header's parent becomes the root.
      {"a subdirectory whose \"..\" names another directory",
       {"-c 'inode 132' -c 'write u3.sfdir3.hdr.parent.i4 128'"},
       {},
       {{"directory", kDeepL1, "\"..\" names 128 but directory 786560 holds an entry for it"}}},
  };
  const std::string& demo = fs::test::image("demo");
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.name) {
      ImageCopy copy(demo);
      for (const std::string& cmd : c.cmds) xfs_db_x(copy.path, cmd);
      Result r = run_phases(copy.path, tree_inodes(demo), c.free_inos);
      INFO(r.text);
      for (const Expect& e : c.expect) CHECK(has(r, e.structure, e.ino, e.what));
      CHECK(r.problems.size() == c.expect.size());
      CHECK(repair_n(copy.path) == 1);
    }
  }
}

TEST_CASE("fsck dirs: a wrong directory di_size is listed past and not reported, as xfs_repair -n", "[fsck][dir]") {
  const std::string& demo = fs::test::image("demo");
  ImageCopy copy(demo);
  xfs_db_x(copy.path, "-c 'inode 262272' -c 'write core.size 4096'");     // /block: one 64 KiB block
  xfs_db_x(copy.path, "-c 'inode 786564' -c 'write core.size 1048576'");  // /leaf: 3 data blocks
  Result r = run_phases(copy.path, tree_inodes(demo));
  INFO(r.text);
  CHECK(r.problems.empty());
  CHECK(r.warnings.size() == 2);  // both di_size findings, as warnings
  CHECK(repair_n(copy.path) == 0);
  auto m = fs::test::open_mount(copy.path);
  fs::InodeRef ip;
  REQUIRE(m->iget(786564, &ip) == 0);
  std::vector<fs::DirFault> faults;
  REQUIRE(fs::dir_deep_check(*m, *ip, &faults) == 0);
  REQUIRE(faults.size() == 1);
  CHECK(faults[0].repair_silent);
  CHECK(faults[0].why == "di_size 1048576 but the data blocks end at byte 196608");
}

}  // namespace xfsfuse::fsck
