// Verifiers: CRC32C against a real mkfs.xfs superblock, the v5 header checks,
// corruption remembered and reported once, write-back refusals.
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <cstdio>

#include "buffer_cache/crc32c.h"
#include "tests/buffer_cache/bc_test_util.h"

using namespace xfsfuse;
using namespace xfsfuse::bc;
using bc::test::TempImage;

namespace {

// A made-up 4 KiB block type shaped like XFS's v5 headers.
const HeaderLayout kLayout{
    .name = "test block",
    .magic_off = 0,
    .magic_size = 4,
    .magics = {0x58544231},  // "XTB1"
    .crc_off = 4,
    .crc_len = 0,
    .blkno_off = 8,
    .uuid_off = 16,
    .owner_off = 32,
    .owner_size = 8,
};

void put_be(std::byte* p, uint64_t v, unsigned n) {
  for (unsigned i = 0; i < n; i++) p[i] = std::byte(v >> (8 * (n - 1 - i)));
}

// Writes a valid test block at daddr through the cache (kGetNoRead + verify_write).
void make_block(BufferCache& c, const HeaderBufOps& ops, uint64_t daddr, uint64_t owner) {
  std::vector<DiskRange> m = {{daddr, 8}};
  BufHandle h;
  REQUIRE(c.get(m, &ops, kAnyOwner, kGetExclusive | kGetNoRead, &h) == 0);
  put_be(h.data(), 0x58544231, 4);
  put_be(h.data() + 8, daddr, 8);
  for (int i = 0; i < 16; i++) h.data()[16 + i] = std::byte(0xa0 + i);
  put_be(h.data() + 32, owner, 8);
  for (size_t i = 64; i < h.size(); i++) h.data()[i] = std::byte(i * 13);
  REQUIRE(c.mark_dirty(h, 0, h.size()) == 0);
  REQUIRE(c.write(h) == 0);
}

Uuid test_uuid() {
  Uuid u;
  for (int i = 0; i < 16; i++) u[i] = static_cast<uint8_t>(0xa0 + i);
  return u;
}

}  // namespace

TEST_CASE("crc32c: matches what mkfs.xfs stored in a superblock", "[bc][crc]") {
  if (system("command -v mkfs.xfs >/dev/null 2>&1") != 0) {
    WARN("SKIP: mkfs.xfs is not installed (Debian package xfsprogs)");
    return;
  }
  TempImage img(1);
  REQUIRE(truncate(img.path().c_str(), 320ll << 20) == 0);  // mkfs.xfs 6.x wants >= 300 MB
  std::string cmd = "mkfs.xfs -q -f -n size=65536 " + img.path();
  REQUIRE(system(cmd.c_str()) == 0);
  auto sb = img.read(0, 1);
  std::span<std::byte> s(reinterpret_cast<std::byte*>(sb.data()), 512);
  REQUIRE(xfs_cksum_ok(s, 224));  // sb_crc
  s[100] ^= std::byte{1};
  REQUIRE_FALSE(xfs_cksum_ok(s, 224));
  xfs_cksum_update(s, 224);
  REQUIRE(xfs_cksum_ok(s, 224));
}

TEST_CASE("bc: a good block verifies once, every field is checked", "[bc][verify]") {
  TempImage img(1024);
  std::unique_ptr<BlockDevice> dev;
  REQUIRE(FileDevice::open(img.path(), true, &dev) == 0);
  test::Stack st(dev.get(), 8 << 20);
  HeaderBufOps ops(kLayout);
  st.cache->set_uuid(test_uuid());
  make_block(*st.cache, ops, 64, 77);
  REQUIRE(st.cache->drop_caches() == 1);
  BufHandle h;
  REQUIRE(st.cache->get(std::vector<DiskRange>{{64, 8}}, &ops, 77, 0, &h) == 0);
  h.release();

  test::StderrCapture cap;
  REQUIRE(st.cache->get(std::vector<DiskRange>{{64, 8}}, &ops, 78, 0, &h) == EUCLEAN);  // wrong owner
  REQUIRE(st.cache->get(std::vector<DiskRange>{{64, 8}}, &ops, 78, 0, &h) == EUCLEAN);
  std::string err = cap.text();
  REQUIRE(test::count_lines(err, "test block at daddr 0x40") == 1);  // reported once
  REQUIRE(test::count_lines(err, "owner is not 78") == 1);

  struct Case {
    const char* what;
    size_t off;
    const char* why;
  } cases[] = {{"magic", 1, "bad magic"}, {"blkno", 15, "blkno"}, {"uuid", 20, "uuid"}, {"crc", 2000, "CRC mismatch"}};
  for (const Case& c : cases) {
    SECTION(c.what) {
      auto blk = img.read(64, 8);
      blk[c.off] ^= 0x40;
      img.write(64, blk.data(), blk.size());
      REQUIRE(st.cache->drop_caches() == 1);
      test::StderrCapture cap2;
      REQUIRE(st.cache->get(std::vector<DiskRange>{{64, 8}}, &ops, kAnyOwner, 0, &h) == EUCLEAN);
      REQUIRE(st.cache->get(std::vector<DiskRange>{{64, 8}}, &ops, kAnyOwner, kGetExclusive, &h) == EUCLEAN);
      std::string e2 = cap2.text();
      INFO(e2);
      REQUIRE(test::count_lines(e2, "xfsfuse: metadata corruption: test block at daddr 0x40") == 1);
      REQUIRE(test::count_lines(e2, c.why) == 1);
      REQUIRE(st.cache->stats().verifier_failures == 1);
      REQUIRE(st.cache->drop_caches() == 0);  // remembered: not reclaimed, not re-read
      REQUIRE(st.cache->get(std::vector<DiskRange>{{64, 8}}, &ops, kAnyOwner, 0, &h) == EUCLEAN);
      REQUIRE(st.cache->stats().verifier_failures == 1);
      REQUIRE(st.cache->stats().reads == 2);  // make_block wrote without reading; then one good read, one bad
    }
  }
}

TEST_CASE("bc: a cached block met with other ops is verified by those too", "[bc][verify]") {
  TempImage img(1024);
  std::unique_ptr<BlockDevice> dev;
  REQUIRE(FileDevice::open(img.path(), true, &dev) == 0);
  test::Stack st(dev.get(), 8 << 20);
  HeaderBufOps ops(kLayout);
  HeaderLayout other_layout = kLayout;
  other_layout.name = "other block";
  other_layout.magics = {0x58544232};  // "XTB2": what a second structure pointing here expects
  HeaderBufOps other(other_layout);
  HeaderLayout alike_layout = kLayout;
  alike_layout.name = "alike block";
  HeaderBufOps alike(alike_layout);  // accepts the same blocks as ops
  st.cache->set_uuid(test_uuid());
  make_block(*st.cache, ops, 64, 77);
  REQUIRE(st.cache->drop_caches() == 1);

  BufHandle h;
  REQUIRE(st.cache->get(std::vector<DiskRange>{{64, 8}}, &ops, 77, 0, &h) == 0);
  h.release();
  REQUIRE(st.cache->get(std::vector<DiskRange>{{64, 8}}, &alike, 77, 0, &h) == 0);
  h.release();
  REQUIRE(st.cache->get(std::vector<DiskRange>{{64, 8}}, &alike, 77, 0, &h) == 0);  // remembered: no second check
  h.release();
  CHECK(st.cache->stats().other_ops_checks == 1);
  test::StderrCapture cap;
  REQUIRE(st.cache->get(std::vector<DiskRange>{{64, 8}}, &other, 77, 0, &h) == EUCLEAN);
  REQUIRE(st.cache->get(std::vector<DiskRange>{{64, 8}}, &other, 77, 0, &h) == EUCLEAN);
  const std::string err = cap.text();
  INFO(err);
  CHECK(test::count_lines(err, "other block at daddr 0x40") == 1);
  CHECK(test::count_lines(err, "first read as test block") == 1);
  // The first reader's view stays valid; a null-ops get checks nothing.
  REQUIRE(st.cache->get(std::vector<DiskRange>{{64, 8}}, &ops, 77, 0, &h) == 0);
  h.release();
  REQUIRE(st.cache->get(std::vector<DiskRange>{{64, 8}}, nullptr, kAnyOwner, 0, &h) == 0);
  h.release();
  CHECK(st.cache->stats().verifier_failures == 0);
}

TEST_CASE("bc: write-back refreshes the CRC and refuses a block that lost its shape", "[bc][verify]") {
  TempImage img(1024);
  std::unique_ptr<BlockDevice> dev;
  REQUIRE(FileDevice::open(img.path(), true, &dev) == 0);
  test::Stack st(dev.get(), 8 << 20);
  HeaderBufOps ops(kLayout);
  make_block(*st.cache, ops, 128, 5);
  BufHandle h;
  REQUIRE(st.cache->get(std::vector<DiskRange>{{128, 8}}, &ops, 5, kGetExclusive, &h) == 0);
  h.data()[100] = std::byte{0x42};
  REQUIRE(st.cache->mark_dirty(h, 100, 1) == 0);
  REQUIRE(st.cache->write(h) == 0);
  auto blk = img.read(128, 8);
  REQUIRE(xfs_cksum_ok({reinterpret_cast<std::byte*>(blk.data()), blk.size()}, 4));
  REQUIRE(blk[100] == 0x42);

  h.data()[0] = std::byte{0};  // clobber the magic
  REQUIRE(st.cache->mark_dirty(h, 0, 1) == 0);
  {
    test::StderrCapture cap;
    REQUIRE(st.cache->write(h) == EUCLEAN);
    REQUIRE(test::count_lines(cap.text(), "refusing to write back: bad magic") == 1);
  }
  REQUIRE(h.dirty());
  REQUIRE(img.read(128, 1)[0] == 0x58);  // the disk still has the good block
  h.data()[0] = std::byte{0x58};  // mended: flush_all() writes it
  h.release();
  REQUIRE(st.cache->flush_all() == 0);
  blk = img.read(128, 8);
  REQUIRE(xfs_cksum_ok({reinterpret_cast<std::byte*>(blk.data()), blk.size()}, 4));
  REQUIRE(st.cache->stats().writes == 3);  // make_block, write(), flush_all()
  REQUIRE(st.cache->drop_caches() == 1);   // clean again: reclaimable
}

TEST_CASE("bc: a read-only device refuses write-back with EROFS and keeps the buffer dirty", "[bc][verify]") {
  TempImage img(1024);
  std::unique_ptr<BlockDevice> dev;
  REQUIRE(FileDevice::open(img.path(), false, &dev) == 0);
  test::Stack st(dev.get(), 8 << 20);
  BufHandle h;
  REQUIRE(st.cache->get(std::vector<DiskRange>{{16, 8}}, nullptr, kAnyOwner, kGetExclusive, &h) == 0);
  REQUIRE(st.cache->mark_dirty(h, 0, 8) == 0);
  REQUIRE(st.cache->write(h) == EROFS);
  REQUIRE(h.dirty());
  h.release();
  REQUIRE(st.cache->flush_all() == EROFS);
  REQUIRE(st.cache->drop_caches() == 0);  // dirty: never reclaimed
  REQUIRE(st.cache->stats().buffers == 1);
  test::StderrCapture cap;  // shutting down with unwritable dirty data says so
  st.cache.reset();
  REQUIRE(test::count_lines(cap.text(), "write-back at shutdown failed: Read-only file system") == 1);
}

TEST_CASE("bc: write-back stamps the LSN the committer set, 0 leaves the disk's", "[bc][verify]") {
  TempImage img(1024);
  std::unique_ptr<BlockDevice> dev;
  REQUIRE(FileDevice::open(img.path(), true, &dev) == 0);
  test::Stack st(dev.get(), 8 << 20);
  HeaderLayout with_lsn = kLayout;
  with_lsn.lsn_off = 40;
  HeaderBufOps ops(with_lsn);
  auto disk_lsn = [&] {
    auto blk = img.read(256, 8);
    REQUIRE(xfs_cksum_ok({reinterpret_cast<std::byte*>(blk.data()), blk.size()}, 4));
    return load_be(reinterpret_cast<const std::byte*>(blk.data()) + 40, 8);
  };
  make_block(*st.cache, ops, 256, 9);  // no LSN set: the field keeps what make_block left (0)
  REQUIRE(disk_lsn() == 0);
  BufHandle h;
  REQUIRE(st.cache->get(std::vector<DiskRange>{{256, 8}}, &ops, 9, kGetExclusive, &h) == 0);
  REQUIRE(st.cache->set_lsn(h, 0x0000000100000040ull) == 0);  // cycle 1, block 64
  REQUIRE(st.cache->mark_dirty(h, 100, 1) == 0);
  REQUIRE(st.cache->write(h) == 0);
  REQUIRE(disk_lsn() == 0x0000000100000040ull);
  REQUIRE(st.cache->set_lsn(h, 0x0000000100000048ull) == 0);
  REQUIRE(st.cache->mark_dirty(h, 100, 1) == 0);
  h.release();
  REQUIRE(st.cache->flush_all() == 0);  // write-back without a handle uses the buffer's LSN too
  REQUIRE(disk_lsn() == 0x0000000100000048ull);
  REQUIRE(st.cache->drop_caches() == 1);
  REQUIRE(st.cache->get(std::vector<DiskRange>{{256, 8}}, &ops, 9, kGetExclusive, &h) == 0);  // a new buffer: LSN 0
  REQUIRE(st.cache->mark_dirty(h, 100, 1) == 0);
  REQUIRE(st.cache->write(h) == 0);
  REQUIRE(disk_lsn() == 0x0000000100000048ull);  // left alone
  h.release();
  REQUIRE(st.cache->get(std::vector<DiskRange>{{256, 8}}, &ops, 9, kGetShared, &h) == 0);
  REQUIRE(st.cache->set_lsn(h, 5) == EINVAL);
}
