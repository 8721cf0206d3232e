// fs/format/records.h: round trips at the field limits, and records of real
// images (made by mkfs.xfs, some written with xfs_db -x) decoded as xfs_db
// prints them.
#include "fs/format/records.h"

#include <random>
#include <sstream>

#include "fs/format/geometry.h"
#include "fs/superblock.h"
#include "tests/fs/fs_test_util.h"

namespace xfsfuse::fs {
namespace {

using test::MkfsImage;

// The "N:[a,b,...]" record lines of xfs_db's output, as numbers.
std::vector<std::vector<uint64_t>> db_records(const std::string& out) {
  std::vector<std::vector<uint64_t>> recs;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    const auto open = line.find(":["), close = line.rfind(']');
    if (open == std::string::npos || close == std::string::npos) continue;
    std::vector<uint64_t> fields;
    std::istringstream f(line.substr(open + 2, close - open - 2));
    for (std::string v; std::getline(f, v, ',');) fields.push_back(std::stoull(v, nullptr, 0));
    recs.push_back(fields);
  }
  return recs;
}

// The leaf block the xfs_db commands `cmds` (ending at an `addr`) point at.
std::vector<std::byte> leaf_block(const MkfsImage& img, const Superblock& sb, const std::string& cmds) {
  const std::string out = test::run("xfs_db -r " + cmds + " -c daddr " + img.path);
  const auto at = out.find("current daddr is ");
  REQUIRE(at != std::string::npos);
  return img.read(daddr_to_bytes(std::stoull(out.substr(at + 17))), sb.blocksize);
}

Superblock read_sb(const MkfsImage& img) {
  Superblock sb;
  std::string why;
  REQUIRE(decode_superblock(img.read(0, 4096), &sb, &why) == 0);
  return sb;
}

TEST_CASE("records: round trips at the field limits and over random values", "[records]") {
  std::mt19937_64 rng(20261204);
  std::byte buf[16];
  for (int i = 0; i < 1000; i++) {
    const uint64_t v = rng();
    const AllocRec a{static_cast<uint32_t>(v), static_cast<uint32_t>(v >> 32)};
    encode_alloc_rec(a, buf);
    CHECK(decode_alloc_rec(buf) == a);

    const InobtRec in{static_cast<uint32_t>(v) & ~63u, static_cast<uint16_t>(v >> 32), static_cast<uint32_t>(v >> 48 & 64),
                      static_cast<uint32_t>(v >> 56 & 63), rng()};
    encode_inobt_rec(in, true, buf);
    CHECK(decode_inobt_rec(buf, true) == in);
    InobtRec whole = in;
    whole.holemask = 0;
    whole.count = 64;
    whole.freecount = static_cast<uint32_t>(v >> 40);  // a be32 without sparse inodes
    encode_inobt_rec(whole, false, buf);
    CHECK(decode_inobt_rec(buf, false) == whole);

    const Extent e{rng() & kBmbtMaxStartoff, rng() & kBmbtMaxStartblock, rng() & kBmbtMaxBlockcount, (v & 1) != 0};
    encode_bmbt_rec(e, buf);
    CHECK(decode_bmbt_rec(buf) == e);

    const RefcountRec r{static_cast<uint32_t>(v) & ~kRefcountCowFlag, static_cast<uint32_t>(v >> 32),
                        static_cast<uint32_t>(rng()), (v >> 63) != 0};
    encode_refcount_rec(r, buf);
    CHECK(decode_refcount_rec(buf) == r);
  }
  // The bit positions, written out: bmbt startoff 1, startblock 2, count 3, unwritten.
  encode_bmbt_rec(Extent{1, 2, 3, true}, buf);
  const std::byte want[16] = {std::byte{0x80}, {}, {}, {}, {}, {}, std::byte{0x02}, {},
                              {},              {}, {}, {}, {}, std::byte{0x40}, {}, std::byte{0x03}};
  CHECK(std::memcmp(buf, want, 16) == 0);
  encode_refcount_rec(RefcountRec{5, 6, 1, true}, buf);
  CHECK(be32(detail::load<xd_be32>(buf)) == (5u | kRefcountCowFlag));
  CHECK(inobt_hole_bits(0x8001) == (0xfull | 0xfull << 60));
}

TEST_CASE("records: bnobt, cntbt, inobt, refcountbt and bmbt records of real images decode as xfs_db prints them",
          "[records]") {
  if (!test::have_xfsprogs()) {
    WARN("SKIP: mkfs.xfs/xfs_db not installed (Debian package xfsprogs)");
    return;
  }
  const std::string dir = "/tmp/xfsfuse-records-" + std::to_string(getpid());
  REQUIRE(system(("mkdir -p " + dir + " && head -c 300000 /dev/urandom > " + dir + "/f").c_str()) == 0);
  {
    FILE* p = fopen((dir + "/proto").c_str(), "w");
    std::fprintf(p, "proto\n0 0\nd--755 0 0\nf ---644 0 0 %s/f\n$\n", dir.c_str());
    fclose(p);
  }
  const MkfsImage img("-p " + dir + "/proto");
  REQUIRE(system(("rm -rf " + dir).c_str()) == 0);
  const Superblock sb = read_sb(img);
  const bool sparse = sb.features_incompat & kIncompatSpinodes;
  REQUIRE(sparse);

  SECTION("bnobt and cntbt of AG 0") {
    for (const char* root : {"bnoroot", "cntroot"}) {
      const std::string cmds = std::string("-c 'agf 0' -c 'addr ") + root + "'";
      const auto want = db_records(test::run("xfs_db -r " + cmds + " -c p " + img.path));
      REQUIRE(!want.empty());
      const auto blk = leaf_block(img, sb, cmds);
      for (size_t i = 0; i < want.size(); i++) {
        const AllocRec r = decode_alloc_rec(blk.data() + sizeof(xd_btree_sblock) + i * kAllocRecSize);
        CHECK(r == AllocRec{static_cast<uint32_t>(want[i][0]), static_cast<uint32_t>(want[i][1])});
      }
    }
  }
  SECTION("inobt of AG 0, and a sparse record written into AG 1's") {
    const std::string w = "xfs_db -x -c 'agi 1' -c 'addr root' -c 'write numrecs 1' -c 'write recs[1].startino 4096'"
                          " -c 'write recs[1].holemask 0xf0f0' -c 'write recs[1].count 32' -c 'write recs[1].freecount 29'"
                          " -c 'write recs[1].free 0xfff0fff1fff0fff0' " + img.path + " >/dev/null";
    REQUIRE(system(w.c_str()) == 0);
    for (const char* agi : {"0", "1"}) {
      const std::string cmds = std::string("-c 'agi ") + agi + "' -c 'addr root'";
      const auto want = db_records(test::run("xfs_db -r " + cmds + " -c p " + img.path));
      REQUIRE(want.size() == 1);
      const auto blk = leaf_block(img, sb, cmds);
      const InobtRec r = decode_inobt_rec(blk.data() + sizeof(xd_btree_sblock), sparse);
      CHECK(r == InobtRec{static_cast<uint32_t>(want[0][0]), static_cast<uint16_t>(want[0][1]),
                          static_cast<uint32_t>(want[0][2]), static_cast<uint32_t>(want[0][3]), want[0][4]});
    }
  }
  SECTION("refcountbt records written into AG 1's, one of them CoW staging") {
    const std::string w = "xfs_db -x -c 'agf 1' -c 'addr refcntroot' -c 'write numrecs 2'"
                          " -c 'write recs[1].startblock 100' -c 'write recs[1].blockcount 7' -c 'write recs[1].refcount 3'"
                          " -c 'write recs[2].startblock 300' -c 'write recs[2].cowflag 1' -c 'write recs[2].blockcount 2'"
                          " -c 'write recs[2].refcount 1' " + img.path + " >/dev/null";
    REQUIRE(system(w.c_str()) == 0);
    const std::string cmds = "-c 'agf 1' -c 'addr refcntroot'";
    const auto want = db_records(test::run("xfs_db -r " + cmds + " -c p " + img.path));
    REQUIRE(want.size() == 2);
    const auto blk = leaf_block(img, sb, cmds);
    for (size_t i = 0; i < want.size(); i++) {
      const RefcountRec r = decode_refcount_rec(blk.data() + sizeof(xd_btree_sblock) + i * kRefcountRecSize);
      CHECK(r == RefcountRec{static_cast<uint32_t>(want[i][0]), static_cast<uint32_t>(want[i][1]),
                             static_cast<uint32_t>(want[i][2]), want[i][3] != 0});
    }
    CHECK(decode_refcount_rec(blk.data() + sizeof(xd_btree_sblock) + kRefcountRecSize).cow);
  }
  SECTION("the data fork extent of a regular file") {
    const std::string out = test::run("xfs_db -r -c 'path /f' -c 'p u3.bmx' -c inode " + img.path);
    const auto want = db_records(out);
    REQUIRE(want.size() == 1);
    const uint64_t ino = std::stoull(out.substr(out.find("current inode number is ") + 24));
    const auto raw = img.read(daddr_to_bytes(ino_to_daddr(sb, ino)) + ino_to_offset(sb, ino), sb.inodesize);
    const Extent e = decode_bmbt_rec(raw.data() + sizeof(xd_dinode));
    CHECK(e == Extent{want[0][0], want[0][1], want[0][2], want[0][3] != 0});
  }
}

}  // namespace
}  // namespace xfsfuse::fs
