// check_ags on real images: the clean ones give no problem and the totals
// xfs_db prints; targeted xfs_db -x writes to AGF, AGI, AGFL and the AG
// btrees give the problem named, at the structure's daddr.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "fs/mount.h"
#include "tests/fs/fs_test_util.h"
#include "tools/fsck/context.h"

using namespace xfsfuse;
using namespace xfsfuse::fsck;
using fs::test::num;
using fs::test::run;

namespace {

// check_ags alone over the image at path.
struct AgRun {
  std::unique_ptr<fs::Mount> m;
  std::unique_ptr<Reporter> rep = std::make_unique<Reporter>(false, stdout);
  std::unique_ptr<SpaceMap> space;
  std::unique_ptr<InodeTable> inodes = make_memory_inode_table();
  std::vector<AgTotals> ags;

  explicit AgRun(const std::string& path) {
    fs::MountOptions mo;
    mo.check_root = false;
    mo.norecovery = true;
    std::string err;
    REQUIRE(fs::Mount::open(path, mo, &m, &err) == 0);
    space = make_memory_space_map(m->sb(), rep.get());
    Context cx{*m, m->sb(), *rep, *space, *inodes, std::vector<AgTotals>(m->sb().agcount), {}, {}};
    check_ags(cx);
    ags = cx.ags;
  }
  std::vector<std::string> lines() const {
    std::vector<std::string> out;
    for (const Problem& p : rep->problems()) out.push_back(format_problem(p));
    return out;
  }
  // Whether a problem of structure in agno at daddr says what.
  bool has(const std::string& structure, uint32_t agno, uint64_t daddr, const std::string& what) const {
    for (const Problem& p : rep->problems())
      if (p.structure == structure && p.agno == agno && p.daddr == daddr && p.what.find(what) != std::string::npos)
        return true;
    return false;
  }
};

// A copy of src with xfs_db -x commands applied; removed on destruction.
struct Corrupted {
  std::string path;
  Corrupted(const std::string& src, const std::string& cmds) {
    char name[] = "/tmp/xfsfuse-fsck-ag-XXXXXX";
    close(mkstemp(name));
    path = name;
    REQUIRE(system(("cp --sparse=always " + src + " " + path).c_str()) == 0);
    REQUIRE(system(("xfs_db -x " + cmds + " " + path + " >/dev/null 2>&1").c_str()) == 0);
  }
  ~Corrupted() { unlink(path.c_str()); }
};

uint64_t ag_daddr(const fs::Superblock& sb, uint32_t agno, uint32_t sector) { return fs::ag_header_daddr(sb, agno, sector); }

// The daddr of the block xfs_db is positioned on after cmds ("buffer block N" of its stack).
uint64_t db_daddr(const std::string& img, const std::string& cmds) {
  const std::string out = run("xfs_db -r " + cmds + " -c stack " + img);
  const auto at = out.find("buffer block ");
  REQUIRE(at != std::string::npos);
  return std::stoull(out.substr(at + 13));
}

// The "name = value" lines xfs_db -r prints for cmds.
std::map<std::string, std::string> db_fields(const std::string& img, const std::string& cmds) {
  std::map<std::string, std::string> m;
  std::istringstream in(run("xfs_db -r " + cmds + " " + img));
  for (std::string l; std::getline(in, l);) {
    const auto eq = l.find(" = ");
    if (eq != std::string::npos) m[l.substr(0, eq)] = l.substr(eq + 3);
  }
  return m;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const std::string& l : v) s += l + "\n";
  return s;
}

void check_clean(const std::string& img) {
  INFO(img);
  AgRun r(img);
  CHECK(r.lines() == std::vector<std::string>{});
  const fs::Superblock& sb = r.m->sb();
  uint64_t icount = 0, ifree = 0, fdblocks = 0;
  for (uint32_t agno = 0; agno < sb.agcount; agno++) {
    const AgTotals& t = r.ags[agno];
    CHECK(t.ok);
    auto f = db_fields(img, "-c 'agf " + std::to_string(agno) + "' -c p");
    CHECK(t.free_blocks == num(f["freeblks"]));
    CHECK(t.agfl_blocks == num(f["flcount"]));
    CHECK(t.btree_blocks == num(f["btreeblks"]));
    icount += t.icount;
    ifree += t.ifree;
    fdblocks += t.free_blocks + t.agfl_blocks + t.btree_blocks;
  }
  CHECK(icount == sb.icount);
  CHECK(ifree == sb.ifree);
  CHECK(fdblocks == sb.fdblocks);
  CHECK(r.inodes->size() == sb.icount);
}

}  // namespace

TEST_CASE("fsck ags: clean images give no problem and xfs_db's totals", "[fsck][ags]") {
  if (!fs::test::have_xfsprogs()) {
    WARN("SKIP: mkfs.xfs/xfs_db not installed (Debian package xfsprogs)");
    return;
  }
  // Default, rmapbt with 1 KiB blocks, non-sparse inobt records (a be32
  // freecount), 4 KiB sectors (AG headers in one block each way), 64 KiB blocks.
  for (const char* args : {"", "-m rmapbt=1 -b size=1024", "-i sparse=0", "-s size=4096", "-b size=65536"}) {
    INFO(args);
    fs::test::MkfsImage img(args);
    check_clean(img.path);
  }
  for (const char* name : {"demo.img", "bigdir.img", "kernel.img"}) {
    const std::string img = std::string(XFSFUSE_IMAGES_DIR) + "/" + name;
    if (fs::test::exists(img)) check_clean(img);
  }
}

TEST_CASE("fsck ags: each corrupted AG field or record is reported at its structure", "[fsck][ags]") {
  if (!fs::test::have_xfsprogs()) {
    WARN("SKIP: mkfs.xfs/xfs_db not installed (Debian package xfsprogs)");
    return;
  }
  fs::test::MkfsImage base;
  fs::Superblock sb;
  {
    AgRun r(base.path);
    sb = r.m->sb();
    REQUIRE(r.lines().empty());
  }
  const uint64_t bnoroot = db_daddr(base.path, "-c 'agf 1' -c 'addr bnoroot'");
  const uint64_t cntroot = db_daddr(base.path, "-c 'agf 1' -c 'addr cntroot'");
  const uint64_t inoroot = db_daddr(base.path, "-c 'agi 0' -c 'addr root'");
  struct Case {
    const char* cmds;
    const char* structure;
    uint32_t agno;
    uint64_t daddr;
    const char* what;
  };
  const Case cases[] = {
      {"-c 'agf 0' -c 'write -d freeblks 5'", "agf", 0, ag_daddr(sb, 0, 1), "agf_freeblks 5 but the bnobt holds"},
      {"-c 'agf 1' -c 'write -d longest 7'", "agf", 1, ag_daddr(sb, 1, 1), "agf_longest 7"},
      {"-c 'agf 2' -c 'write -d btreeblks 3'", "agf", 2, ag_daddr(sb, 2, 1), "agf_btreeblks 3"},
      {"-c 'agf 3' -c 'write -d flcount 1'", "agf", 3, ag_daddr(sb, 3, 1), "agf_flcount 1 but slots"},
      {"-c 'agf 1' -c 'write -d refcntblocks 9'", "agf", 1, ag_daddr(sb, 1, 1), "agf_refcount_blocks 9"},
      {"-c 'agf 1' -c 'write -c lsn 5'", "agf", 1, ag_daddr(sb, 1, 1), "CRC mismatch"},
      {"-c 'agf 2' -c 'write -d magicnum 0'", "agf", 2, ag_daddr(sb, 2, 1), "bad magic"},
      {"-c 'agi 0' -c 'write -d count 128'", "agi", 0, ag_daddr(sb, 0, 2), "agi_count 128 but the inobt counts 64"},
      {"-c 'agi 0' -c 'write -d freecount 1'", "agi", 0, ag_daddr(sb, 0, 2), "agi_freecount 1"},
      {"-c 'agi 0' -c 'write -d ino_blocks 2'", "agi", 0, ag_daddr(sb, 0, 2), "agi_iblocks 2"},
      {"-c 'agi 0' -c 'write -d fino_blocks 0'", "agi", 0, ag_daddr(sb, 0, 2), "agi_fblocks 0"},
      {"-c 'agi 1' -c 'write -d unlinked[5] 77'", "agi", 1, ag_daddr(sb, 1, 2), "agi_unlinked[5] holds agino 77"},
      {"-c 'agfl 1' -c 'write -d bno[1] 4000000'", "agfl", 1, ag_daddr(sb, 1, 3), "holds agbno 4000000, outside the AG"},
      {"-c 'agfl 2' -c 'write -d seqno 3'", "agfl", 2, ag_daddr(sb, 2, 3), "seqno 3 in AG 2"},
      {"-c 'agf 1' -c 'addr bnoroot' -c 'write -d recs[1].blockcount 9'", "bnobt", 1, ag_daddr(sb, 1, 1),
       "is in the bnobt but not in the cntbt"},
      {"-c 'agf 1' -c 'addr cntroot' -c 'write -d recs[1].blockcount 0'", "cntbt", 1, cntroot, "has length 0"},
      {"-c 'agf 1' -c 'addr bnoroot' -c 'write -d numrecs 1000'", "bnobt", 1, bnoroot, "numrecs 1000 above maxrecs"},
      {"-c 'agf 1' -c 'addr bnoroot' -c 'write -c lsn 5'", "bnobt", 1, bnoroot, "CRC mismatch"},
      {"-c 'agf 1' -c 'addr bnoroot' -c 'write -d owner 2'", "bnobt", 1, bnoroot, "owner 2 is not AG 1"},
      {"-c 'agi 0' -c 'addr root' -c 'write -d recs[1].freecount 3'", "inobt", 0, inoroot, "freecount 3 but"},
      {"-c 'agi 0' -c 'addr root' -c 'write -d recs[1].holemask 1'", "inobt", 0, inoroot, "count 64 but the holemask leaves 60"},
      {"-c 'agi 0' -c 'addr free_root' -c 'write -d recs[1].freecount 2'", "finobt", 0, ag_daddr(sb, 0, 2),
       "is in the finobt but not in the inobt"},
  };
  for (const Case& c : cases) {
    INFO(c.cmds);
    Corrupted img(base.path, c.cmds);
    AgRun r(img.path);
    INFO(join(r.lines()));
    CHECK(r.has(c.structure, c.agno, c.daddr, c.what));
  }
}

TEST_CASE("fsck ags: rmapbt counters and blocks are checked when the feature is on", "[fsck][ags]") {
  if (!fs::test::have_xfsprogs()) {
    WARN("SKIP: mkfs.xfs/xfs_db not installed (Debian package xfsprogs)");
    return;
  }
  fs::test::MkfsImage base("-m rmapbt=1");
  const uint64_t rmaproot = db_daddr(base.path, "-c 'agf 2' -c 'addr rmaproot'");
  fs::Superblock sb;
  {
    AgRun r(base.path);
    sb = r.m->sb();
    REQUIRE(r.lines().empty());
  }
  {
    Corrupted img(base.path, "-c 'agf 2' -c 'write -d rmapblocks 5'");
    AgRun r(img.path);
    CHECK(r.has("agf", 2, ag_daddr(sb, 2, 1), "agf_rmap_blocks 5 but the rmapbt has 1 blocks"));
  }
  {
    Corrupted img(base.path, "-c 'agf 2' -c 'addr rmaproot' -c 'write -d recs[2].startblock 0'");
    AgRun r(img.path);
    INFO(join(r.lines()));
    CHECK(r.has("rmapbt", 2, rmaproot, "record 1 out of order"));
  }
}
