// fs/format/magic.h: the ASCII magics spell their names, and the magics
// xfs_db reads from a fresh image's superblock, AG headers and btree roots
// are the ones defined.
#include "fs/format/magic.h"

#include <string>

#include "tests/fs/fs_test_util.h"

namespace xfsfuse::fs {
namespace {

std::string ascii(uint32_t m) {
  return {static_cast<char>(m >> 24), static_cast<char>(m >> 16), static_cast<char>(m >> 8), static_cast<char>(m)};
}

TEST_CASE("magic: four-byte magics spell their names", "[magic]") {
  const std::pair<uint32_t, const char*> named[] = {
      {kSbMagic, "XFSB"},         {kAgfMagic, "XAGF"},         {kAgiMagic, "XAGI"},        {kAgflMagic, "XAFL"},
      {kBnobtMagic, "AB3B"},      {kCntbtMagic, "AB3C"},       {kInobtMagic, "IAB3"},      {kFinobtMagic, "FIB3"},
      {kRefcountbtMagic, "R3FC"}, {kRmapbtMagic, "RMB3"},      {kBmbtMagic, "BMA3"},       {kDir3BlockMagic, "XDB3"},
      {kDir3DataMagic, "XDD3"},   {kDir3FreeMagic, "XDF3"},    {kSymlinkMagic, "XSLM"},    {kAttr3RemoteMagic, "XARM"},
      {kLogTransMagic, "TRAN"}};
  for (const auto& [m, name] : named) CHECK(ascii(m) == name);
  CHECK(kInodeMagic == ('I' << 8 | 'N'));
}

TEST_CASE("magic: what xfs_db reads on a fresh image", "[magic]") {
  if (!test::have_xfsprogs()) {
    WARN("SKIP: mkfs.xfs/xfs_db not installed (Debian package xfsprogs)");
    return;
  }
  const test::MkfsImage img;
  struct Where {
    std::string cmds, field;
    uint64_t magic;
  };
  const Where where[] = {
      {"-c 'sb 0'", "magicnum", kSbMagic},
      {"-c 'agf 0'", "magicnum", kAgfMagic},
      {"-c 'agi 0'", "magicnum", kAgiMagic},
      {"-c 'agfl 0'", "magicnum", kAgflMagic},
      {"-c 'agf 0' -c 'addr bnoroot'", "magic", kBnobtMagic},
      {"-c 'agf 0' -c 'addr cntroot'", "magic", kCntbtMagic},
      {"-c 'agi 0' -c 'addr root'", "magic", kInobtMagic},
      {"-c 'agi 0' -c 'addr free_root'", "magic", kFinobtMagic},
      {"-c 'agf 0' -c 'addr refcntroot'", "magic", kRefcountbtMagic},
      {"-c 'sb 0' -c 'addr rootino'", "core.magic", kInodeMagic},
  };
  for (const Where& w : where) {
    INFO(w.cmds);
    auto db = img.xfs_db(w.cmds + " -c 'p " + w.field + "'");
    REQUIRE(db.count(w.field));
    CHECK(test::num(db[w.field]) == w.magic);
  }
}

}  // namespace
}  // namespace xfsfuse::fs
