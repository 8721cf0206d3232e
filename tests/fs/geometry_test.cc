// fs/format/geometry.h against xfs_db's `convert` on real multi-AG images
// whose agblocks is not a power of two (and whose last AG is shorter).
#include "fs/format/geometry.h"

#include <sstream>

#include "fs/inode.h"
#include "fs/superblock.h"
#include "tests/fs/fs_test_util.h"

namespace xfsfuse::fs {
namespace {

using test::MkfsImage;

Superblock read_sb(const MkfsImage& img) {
  Superblock sb;
  std::string why;
  REQUIRE(decode_superblock(img.read(0, 4096), &sb, &why) == 0);
  return sb;
}

// Runs every xfs_db command (each printing one "0x.. (N)" or "current daddr
// is N" line) in one xfs_db and returns the numbers, in order.
std::vector<uint64_t> xfs_db_numbers(const MkfsImage& img, const std::vector<std::string>& cmds) {
  std::string cmd = "xfs_db -r";
  for (const auto& c : cmds) cmd += " -c '" + c + "'";
  std::istringstream out(test::run(cmd + " " + img.path + " 2>&1"));
  std::vector<uint64_t> nums;
  for (std::string line; std::getline(out, line);) {
    INFO(line);
    if (line.rfind("current daddr is ", 0) == 0)
      nums.push_back(std::stoull(line.substr(17)));
    else if (auto p = line.find(" ("); p != std::string::npos && line.rfind("0x", 0) == 0)
      nums.push_back(std::stoull(line.substr(0, p), nullptr, 16));
    else
      FAIL("unexpected xfs_db output");
  }
  REQUIRE(nums.size() == cmds.size());
  return nums;
}

std::string n(uint64_t v) { return std::to_string(v); }

// Checks every function of geometry.h on the image made with mkfs_args.
void check_image(const std::string& mkfs_args) {
  if (!test::have_xfsprogs()) {
    WARN("SKIP: mkfs.xfs/xfs_db not installed (Debian package xfsprogs)");
    return;
  }
  const MkfsImage img(mkfs_args, 1000ll << 20);
  const Superblock sb = read_sb(img);
  INFO(mkfs_args << ": agblocks " << sb.agblocks << ", agcount " << sb.agcount);
  REQUIRE(sb.agcount > 2);
  REQUIRE((sb.agblocks & (sb.agblocks - 1)) != 0);
  const uint32_t last = sb.agcount - 1;
  REQUIRE(ag_length(sb, last) < sb.agblocks);

  // (agno, agbno) pairs: AG starts and ends, the last AG's last block.
  const std::vector<std::pair<uint32_t, uint32_t>> blocks = {
      {0, 0}, {0, 1}, {1, 0}, {1, sb.agblocks - 1}, {last, 12345}, {last, ag_length(sb, last) - 1}};
  std::vector<std::string> cmds;
  for (auto [agno, agbno] : blocks) {
    const uint64_t fsb = agbno_to_fsblock(sb, agno, agbno);
    cmds.push_back("convert agno " + n(agno) + " agbno " + n(agbno) + " fsb");
    cmds.push_back("convert fsb " + n(fsb) + " daddr");
    cmds.push_back("convert fsb " + n(fsb) + " agno");
    cmds.push_back("convert fsb " + n(fsb) + " agbno");
    cmds.push_back("convert fsb " + n(fsb) + " byte");
    cmds.push_back("convert daddr " + n(fsblock_to_daddr(sb, fsb)) + " agno");
  }
  auto db = xfs_db_numbers(img, cmds);
  for (size_t i = 0; i < blocks.size(); i++) {
    const auto [agno, agbno] = blocks[i];
    const uint64_t fsb = agbno_to_fsblock(sb, agno, agbno);
    INFO("agno " << agno << " agbno " << agbno);
    CHECK(fsb == db[6 * i]);
    CHECK(fsblock_to_daddr(sb, fsb) == db[6 * i + 1]);
    CHECK(agbno_to_daddr(sb, agno, agbno) == db[6 * i + 1]);
    CHECK(fsblock_to_agno(sb, fsb) == db[6 * i + 2]);
    CHECK(fsblock_to_agbno(sb, fsb) == db[6 * i + 3]);
    CHECK(daddr_to_bytes(fsblock_to_daddr(sb, fsb)) == db[6 * i + 4]);
    CHECK(daddr_to_agno(sb, fsblock_to_daddr(sb, fsb)) == db[6 * i + 5]);
  }

  // Inodes: (agno, agino) with every index in a block, in several AGs.
  const std::vector<std::pair<uint32_t, uint32_t>> inodes = {
      {0, 128}, {0, 131}, {1, 64}, {1, agbno_to_agino(sb, 1000, sb.inopblock - 1)}, {last, 200003}};
  cmds.clear();
  for (auto [agno, agino] : inodes) {
    const uint64_t ino = agino_to_ino(sb, agno, agino);
    cmds.push_back("convert agno " + n(agno) + " agino " + n(agino) + " ino");
    cmds.push_back("convert ino " + n(ino) + " agno");
    cmds.push_back("convert ino " + n(ino) + " agino");
    cmds.push_back("convert ino " + n(ino) + " agbno");
    cmds.push_back("convert ino " + n(ino) + " inoidx");
    cmds.push_back("convert ino " + n(ino) + " daddr");
    cmds.push_back("convert ino " + n(ino) + " byte");
  }
  db = xfs_db_numbers(img, cmds);
  for (size_t i = 0; i < inodes.size(); i++) {
    const auto [agno, agino] = inodes[i];
    const uint64_t ino = agino_to_ino(sb, agno, agino);
    INFO("agno " << agno << " agino " << agino);
    CHECK(ino == db[7 * i]);
    CHECK(ino_to_agno(sb, ino) == db[7 * i + 1]);
    CHECK(ino_to_agino(sb, ino) == db[7 * i + 2]);
    CHECK(agino_to_agbno(sb, agino) == db[7 * i + 3]);
    CHECK(agino_to_index(sb, agino) == db[7 * i + 4]);
    CHECK(agbno_to_agino(sb, agino_to_agbno(sb, agino), agino_to_index(sb, agino)) == agino);
    // xfs_db's daddr of an inode is the sector holding it, not its block's.
    const uint64_t inode_sector = ino_to_daddr(sb, ino) + (ino_to_offset(sb, ino) >> kSectorShift);
    CHECK(inode_sector == db[7 * i + 5]);
    CHECK(daddr_to_bytes(ino_to_daddr(sb, ino)) + ino_to_offset(sb, ino) == db[7 * i + 6]);
    REQUIRE(ino_in_fs(sb, ino));
    InodeLocation loc;
    REQUIRE(locate_inode(sb, ino, &loc));
    CHECK(loc.daddr == ino_to_daddr(sb, ino));
    CHECK(loc.offset == ino_to_offset(sb, ino));
    CHECK(loc.agbno == db[7 * i + 3]);
  }

  // AG headers and lengths: xfs_db's own header commands say where it read.
  cmds.clear();
  for (uint32_t agno : {1u, last}) {
    for (const char* hdr : {"sb", "agf", "agi", "agfl"}) {
      cmds.push_back(std::string(hdr) + " " + n(agno));
      cmds.push_back("daddr");
    }
  }
  std::string cmd = "xfs_db -r";
  for (const auto& c : cmds) cmd += " -c '" + c + "'";
  std::istringstream out(test::run(cmd + " " + img.path));
  std::vector<uint64_t> daddrs;
  for (std::string line; std::getline(out, line);)
    if (line.rfind("current daddr is ", 0) == 0) daddrs.push_back(std::stoull(line.substr(17)));
  REQUIRE(daddrs.size() == 8);
  for (uint32_t hdr = 0; hdr < 4; hdr++) {
    CHECK(ag_header_daddr(sb, 1, hdr) == daddrs[hdr]);
    CHECK(ag_header_daddr(sb, last, hdr) == daddrs[4 + hdr]);
  }
  auto agf = img.xfs_db("-c 'agf " + n(last) + "' -c 'p length'");
  CHECK(ag_length(sb, last) == test::num(agf["length"]));
  agf = img.xfs_db("-c 'agf 0' -c 'p length'");
  CHECK(ag_length(sb, 0) == test::num(agf["length"]));
  CHECK(ag_header_blocks(sb) == bytes_to_fsblocks(sb, 4 * sb.sectsize));

  // The log's start and the root inode.
  db = xfs_db_numbers(img, {"convert fsb " + n(sb.logstart) + " daddr", "convert ino " + n(sb.rootino) + " daddr"});
  CHECK(fsblock_to_daddr(sb, sb.logstart) == db[0]);
  CHECK(ino_to_daddr(sb, sb.rootino) + (ino_to_offset(sb, sb.rootino) >> kSectorShift) == db[1]);
  CHECK(chunk_start_agino(ino_to_agino(sb, sb.rootino)) == ino_to_agino(sb, sb.rootino));
}

TEST_CASE("geometry: 4 KiB blocks, 512-byte sectors, 3 AGs", "[geometry]") { check_image("-d agcount=3"); }
TEST_CASE("geometry: 4 KiB blocks and sectors, 7 AGs", "[geometry]") { check_image("-s size=4096 -d agcount=7"); }
TEST_CASE("geometry: 1 KiB blocks, 6 AGs", "[geometry]") { check_image("-b size=1024 -d agcount=6"); }

TEST_CASE("geometry: outside the filesystem", "[geometry]") {
  Geometry g;
  g.blocksize = 4096;
  g.blocklog = 12;
  g.inopblog = 3;
  g.inodelog = 9;
  g.agblocks = 1000;
  g.agblklog = 10;
  g.agcount = 3;
  g.dblocks = 2990;  // the last AG has 990 blocks
  CHECK(ag_length(g, 2) == 990);
  CHECK(extent_in_ag(g, 1, 990, 10));
  CHECK_FALSE(extent_in_ag(g, 1, 991, 10));  // crosses the AG's end
  CHECK_FALSE(extent_in_ag(g, 2, 980, 11));  // past dblocks
  CHECK_FALSE(extent_in_ag(g, 3, 0, 1));     // no such AG
  CHECK(ino_in_fs(g, agino_to_ino(g, 2, agbno_to_agino(g, 989, 7))));
  CHECK_FALSE(ino_in_fs(g, agino_to_ino(g, 2, agbno_to_agino(g, 990))));
  CHECK_FALSE(ino_in_fs(g, agino_to_ino(g, 0, agbno_to_agino(g, 1000))));  // agbno past agblocks, inside agblklog
  CHECK(bytes_to_fsblocks(g, 4097) == 2);
  CHECK(fsblocks_to_sectors(g, 3) == 24);
}

}  // namespace
}  // namespace xfsfuse::fs
