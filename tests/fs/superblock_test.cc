// fs/superblock against mkfs.xfs images and xfs_db's reading of them, and
// against targeted corruptions of each rule.
#include "fs/superblock.h"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>

#include "buffer_cache/buffer_cache.h"
#include "buffer_cache/crc32c.h"
#include "fs/buf_ops.h"
#include "fs/format/endian.h"
#include "fs/format/sb.h"
#include "tests/fs/fs_test_util.h"

using namespace xfsfuse;
using namespace xfsfuse::fs;

namespace {

using test::have_xfsprogs;
using test::MkfsImage;
using test::num;

std::array<std::byte, 512> sector0(const MkfsImage& img) {
  std::array<std::byte, 512> s;
  auto v = img.read(0, 512);
  std::memcpy(s.data(), v.data(), 512);
  return s;
}


template <typename F>
std::array<std::byte, 512> edited(std::array<std::byte, 512> s, F f) {
  return test::edit_with_crc<xd_dsb>(s, offsetof(xd_dsb, sb_crc), f);
}

}  // namespace

TEST_CASE("superblock: decodes what mkfs.xfs wrote, as xfs_db reads it", "[fs][sb]") {
  if (!have_xfsprogs()) {
    WARN("SKIP: mkfs.xfs/xfs_db not installed (Debian package xfsprogs)");
    return;
  }
  MkfsImage img("-L xfsfuse");
  auto db = img.xfs_db("-c 'sb 0' -c print");
  Superblock sb;
  std::string why;
  auto s0 = sector0(img);
  REQUIRE(decode_superblock(s0, &sb, &why) == 0);
  CHECK(sb.blocksize == num(db["blocksize"]));
  CHECK(sb.sectsize == num(db["sectsize"]));
  CHECK(sb.inodesize == num(db["inodesize"]));
  CHECK(sb.inopblock == num(db["inopblock"]));
  CHECK(sb.dblocks == num(db["dblocks"]));
  CHECK(sb.agblocks == num(db["agblocks"]));
  CHECK(sb.agblklog == num(db["agblklog"]));
  CHECK(sb.agcount == num(db["agcount"]));
  CHECK(sb.rootino == num(db["rootino"]));
  CHECK(sb.dirblklog == num(db["dirblklog"]));
  CHECK(sb.dirblksize == 65536);
  CHECK(sb.logstart == num(db["logstart"]));
  CHECK(sb.logblocks == num(db["logblocks"]));
  CHECK(sb.icount == num(db["icount"]));
  CHECK(sb.ifree == num(db["ifree"]));
  CHECK(sb.fdblocks == num(db["fdblocks"]));
  CHECK(sb.features_incompat == num(db["features_incompat"]));
  CHECK(sb.features_ro_compat == num(db["features_ro_compat"]));
  CHECK(sb.features_log_incompat == num(db["features_log_incompat"]));
  CHECK(sb.fname == "xfsfuse");
  CHECK(sb.meta_uuid == sb.uuid);
  char uuid[40];
  std::snprintf(uuid, sizeof uuid, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", sb.uuid[0],
                sb.uuid[1], sb.uuid[2], sb.uuid[3], sb.uuid[4], sb.uuid[5], sb.uuid[6], sb.uuid[7], sb.uuid[8],
                sb.uuid[9], sb.uuid[10], sb.uuid[11], sb.uuid[12], sb.uuid[13], sb.uuid[14], sb.uuid[15]);
  CHECK(std::string(uuid) == db["uuid"]);
  CHECK(judge_features(sb, &why) == MountAccess::kReadWrite);

  // The same sector through the buffer cache and its verifier.
  std::unique_ptr<bc::BlockDevice> dev;
  REQUIRE(bc::FileDevice::open(img.path, false, &dev) == 0);
  vmap::ShrinkerRegistry reg;
  std::unique_ptr<vmap::PagePool> pool;
  REQUIRE(vmap::PagePool::create(1 << 20, &reg, &pool) == 0);
  std::unique_ptr<vmap::Vmap> vm;
  vmap::VmapOptions vo;
  vo.timer_period = std::chrono::milliseconds(0);
  REQUIRE(vmap::Vmap::create(pool.get(), &reg, vo, &vm) == 0);
  std::unique_ptr<bc::BufferCache> cache;
  REQUIRE(bc::BufferCache::create(dev.get(), pool.get(), vm.get(), &reg, bc::CacheOptions{}, &cache) == 0);
  bc::BufHandle h;
  REQUIRE(cache->get(std::vector<bc::DiskRange>{{0, 1}}, &superblock_ops(), bc::kAnyOwner, 0, &h) == 0);
  REQUIRE(std::memcmp(h.data(), s0.data(), 512) == 0);
}

TEST_CASE("superblock: every rule rejects what it should", "[fs][sb]") {
  if (!have_xfsprogs()) {
    WARN("SKIP: mkfs.xfs not installed (Debian package xfsprogs)");
    return;
  }
  MkfsImage img;
  const auto good = sector0(img);
  Superblock sb;
  std::string why;
  auto rejects = [&](std::array<std::byte, 512> s, const char* reason) {
    INFO(reason);
    REQUIRE(decode_superblock(s, &sb, &why) == EUCLEAN);
    REQUIRE(why.find(reason) != std::string::npos);
  };
  auto bad_crc = good;
  bad_crc[300] ^= std::byte{1};
  rejects(bad_crc, "CRC mismatch");
  rejects(edited(good, [](xd_dsb& d) { d.sb_magicnum = to_be32(0x58465343); }), "bad magic");
  rejects(edited(good, [](xd_dsb& d) { d.sb_versionnum = to_be16((be16(d.sb_versionnum) & ~0xf) | 4); }),
          "only v5");
  rejects(edited(good, [](xd_dsb& d) { d.sb_blocklog = 11; }), "bad block size");
  rejects(edited(good, [](xd_dsb& d) { d.sb_inodesize = to_be16(1024); }), "bad inode size");
  rejects(edited(good, [](xd_dsb& d) { d.sb_inopblock = to_be16(16); }), "inodes per block");
  rejects(edited(good, [](xd_dsb& d) { d.sb_agcount = 0; }), "bad AG geometry");
  rejects(edited(good, [](xd_dsb& d) { d.sb_dblocks = to_be64(be64(d.sb_dblocks) * 2); }), "does not fit");
  rejects(edited(good, [](xd_dsb& d) { d.sb_dirblklog = 5; }), "directory block");
  rejects(edited(good, [](xd_dsb& d) { d.sb_rootino = 0; }), "no root inode");
  rejects(edited(good, [](xd_dsb& d) { d.sb_logblocks = to_be32(be32(d.sb_agblocks) + 1); }), "outside its AG");

  auto judged = [&](std::array<std::byte, 512> s, MountAccess want, const char* reason) {
    INFO(reason);
    REQUIRE(decode_superblock(s, &sb, &why) == 0);
    why.clear();
    REQUIRE(judge_features(sb, &why) == want);
    REQUIRE(why.find(reason) != std::string::npos);
  };
  judged(edited(good, [](xd_dsb& d) { d.sb_features_incompat = to_be32(be32(d.sb_features_incompat) | 1u << 20); }),
         MountAccess::kRefuse, "unknown incompatible features 0x100000");
  judged(edited(good,
                [](xd_dsb& d) { d.sb_features_incompat = to_be32(be32(d.sb_features_incompat) | kIncompatNeedsRepair); }),
         MountAccess::kRefuse, "xfs_repair");
  judged(edited(good, [](xd_dsb& d) { d.sb_features_ro_compat = to_be32(be32(d.sb_features_ro_compat) | 1u << 9); }),
         MountAccess::kReadOnly, "read-only");
}
