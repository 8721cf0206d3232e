// fs/dir on corrupted copies of the demo image: each broken structure gives
// EUCLEAN with exactly one log line naming it, and the other directories
// keep working.  Blocks are edited in place with their CRC refreshed, so the
// structural checks (not the CRC) must catch the damage; one case leaves the
// CRC stale.  Short-form damage goes through xfs_db -x write (which refreshes
// the inode CRC).
#include <fcntl.h>

#include <catch2/catch.hpp>
#include <random>

#include "btree/da_btree.h"
#include "buffer_cache/crc32c.h"
#include "fs/dir_internal.h"
#include "fs/format/endian.h"
#include "tests/buffer_cache/bc_test_util.h"
#include "tests/fs/dir_test_util.h"
#include "tests/fs/fs_test_util.h"

namespace xfsfuse::fs::test {
namespace {

constexpr uint64_t kLeafDablk = (32ull << 30) >> 12;  // 4 KiB fsblocks

// A directory block of a copy of the demo image, read and written through
// the disk ranges the directory's data fork maps it to.
struct DirBlock {
  std::string img;
  std::vector<bc::DiskRange> maps;
  std::vector<std::byte> b;

  DirBlock(const std::string& image, const std::string& dir, uint64_t dablk) : img(image) {
    auto m = open_mount(img);
    InodeRef d;
    REQUIRE(resolve(*m, dir, &d) == 0);
    REQUIRE(m->map_blocks(*d, false, dablk, 1u << m->sb().dirblklog, &maps) == 0);
    int fd = open(img.c_str(), O_RDONLY);
    for (const bc::DiskRange& r : maps) {
      const size_t at = b.size();
      b.resize(at + r.len * 512ull);
      REQUIRE(pread(fd, b.data() + at, r.len * 512ull, static_cast<off_t>(r.daddr * 512)) ==
              static_cast<ssize_t>(r.len * 512ull));
    }
    close(fd);
  }
  uint32_t be(size_t off, unsigned n) const { return static_cast<uint32_t>(bc::load_be(b.data() + off, n)); }
  void set_be(size_t off, unsigned n, uint32_t v) {
    for (unsigned i = 0; i < n; i++) b[off + i] = std::byte(static_cast<uint8_t>(v >> (8 * (n - 1 - i))));
  }
  // Writes the block back, with its CRC (at crc_off) refreshed unless crc_off < 0.
  void write(int crc_off) {
    if (crc_off >= 0) bc::xfs_cksum_update(b, static_cast<size_t>(crc_off));
    int fd = open(img.c_str(), O_WRONLY);
    size_t at = 0;
    for (const bc::DiskRange& r : maps) {
      REQUIRE(pwrite(fd, b.data() + at, r.len * 512ull, static_cast<off_t>(r.daddr * 512)) ==
              static_cast<ssize_t>(r.len * 512ull));
      at += r.len * 512ull;
    }
    close(fd);
  }
};

constexpr int kDataCrc = 4;  // xd_dir3_blk_hdr.crc
constexpr int kDaCrc = 12;   // xd_da3_blkinfo.crc

// Iterates the directory: 0 or the errno.
int iterate_dir(Mount& m, const std::string& path, std::vector<Got>* out = nullptr) {
  InodeRef d;
  if (int err = resolve(m, path, &d)) return err;
  int err;
  std::vector<Got> v = iterate(m, *d, 0, SIZE_MAX, &err);
  if (out) *out = std::move(v);
  return err;
}

int lookup(Mount& m, const std::string& dir, const std::string& name) {
  InodeRef d;
  if (int err = resolve(m, dir, &d)) return err;
  uint64_t ino;
  return dir_lookup(m, *d, name, &ino);
}

// Every demo directory but `broken` iterates, and looks up its last name.
void others_work(Mount& m, const std::string& broken) {
  for (const char* path : {"/sf", "/block", "/leaf", "/node", "/hashrun", "/deep/l1"}) {
    if (broken == path) continue;
    INFO(path);
    std::vector<Got> v;
    REQUIRE(iterate_dir(m, path, &v) == 0);
    CHECK(lookup(m, path, v.back().name) == 0);
  }
}

// Runs op on a fresh mount of img and checks: EUCLEAN, and exactly one
// corruption line, which names structure and contains reason.
void expect_corrupt(const std::string& img, const std::string& broken, const char* structure, const char* reason,
                    const std::function<int(Mount&)>& op) {
  auto m = open_mount(img);
  std::string log;
  {
    bc::test::StderrCapture cap;
    CHECK(op(*m) == EUCLEAN);
    log = cap.text();
  }
  INFO(log);
  CHECK(bc::test::count_lines(log, "metadata corruption") == 1);
  CHECK(log.find(structure) != std::string::npos);
  CHECK(log.find(reason) != std::string::npos);
  others_work(*m, broken);
}

}  // namespace

TEST_CASE("dir corruption: a block-form entry with a wrong tag", "[fs][dir]") {
  ImageCopy copy(image("demo"));
  DirBlock blk(copy.path, "/block", 0);
  size_t off = 64;
  for (int i = 0; i < 2; i++) off += (8 + 1 + blk.be(off + 8, 1) + 1 + 2 + 7) & ~size_t{7};  // past "." and ".."
  const size_t len = (8 + 1 + blk.be(off + 8, 1) + 1 + 2 + 7) & ~size_t{7};
  blk.set_be(off + len - 2, 2, static_cast<uint32_t>(off + 8));
  blk.write(kDataCrc);
  expect_corrupt(copy.path, "/block", "dir3 block", "tag", [](Mount& m) { return iterate_dir(m, "/block"); });
  expect_corrupt(copy.path, "/block", "dir3 block", "tag", [](Mount& m) { return lookup(m, "/block", "a"); });
}

TEST_CASE("dir corruption: a data block whose bestfree is wrong", "[fs][dir]") {
  ImageCopy copy(image("demo"));
  DirBlock blk(copy.path, "/leaf", 0);
  const size_t len0 = 48 + 2;  // best_free[0].length
  blk.set_be(len0, 2, blk.be(len0, 2) + 8);
  blk.write(kDataCrc);
  expect_corrupt(copy.path, "/leaf", "dir3 data", "bestfree", [](Mount& m) { return iterate_dir(m, "/leaf"); });
}

TEST_CASE("dir corruption: a stale CRC is caught by the buffer cache", "[fs][dir]") {
  ImageCopy copy(image("demo"));
  DirBlock blk(copy.path, "/leaf", 16);
  blk.b[200] ^= std::byte{0x20};
  blk.write(-1);
  expect_corrupt(copy.path, "/leaf", "dir3 data", "CRC", [](Mount& m) { return iterate_dir(m, "/leaf"); });
}

TEST_CASE("dir corruption: a LEAFN address that names no entry", "[fs][dir]") {
  const std::string& demo = image("demo");
  std::vector<Got> all;
  {
    auto m = open_mount(demo);
    REQUIRE(iterate_dir(*m, "/node", &all) == 0);
  }
  ImageCopy copy(demo);
  DirBlock root(copy.path, "/node", kLeafDablk);
  REQUIRE(root.be(8, 2) == kDa3NodeMagic);
  DirBlock leaf(copy.path, "/node", root.be(64 + 4, 4));  // the leftmost leaf
  REQUIRE(leaf.be(8, 2) == kDir3LeafnMagic);
  size_t i = 0;
  while (leaf.be(64 + i * 8 + 4, 4) == 0) i++;  // the first live entry
  const uint32_t hash = leaf.be(64 + i * 8, 4);
  leaf.set_be(64 + i * 8 + 4, 4, leaf.be(64 + i * 8 + 4, 4) + 1);
  leaf.write(kDaCrc);
  std::string victim, bystander;
  for (const Got& g : all) (da_hashname(g.name) == hash ? victim : bystander) = g.name;
  REQUIRE(!victim.empty());
  expect_corrupt(copy.path, "/node", "dir3 leafn", "names no entry",
                 [&](Mount& m) { return lookup(m, "/node", victim); });
  auto m = open_mount(copy.path);
  CHECK(lookup(*m, "/node", bystander) == 0);
  CHECK(iterate_dir(*m, "/node") == 0);  // iteration reads data blocks only
}

TEST_CASE("dir corruption: a da node whose level does not match its children", "[fs][dir]") {
  ImageCopy copy(image("demo"));
  DirBlock root(copy.path, "/node", kLeafDablk);
  REQUIRE(root.be(56 + 2, 2) == 1);
  root.set_be(56 + 2, 2, 2);
  root.write(kDaCrc);
  expect_corrupt(copy.path, "/node", "dir3 node", "not a node of level 1",
                 [](Mount& m) { return lookup(m, "/node", "x"); });
  auto m = open_mount(copy.path);
  CHECK(iterate_dir(*m, "/node") == 0);
}

TEST_CASE("dir corruption: short-form entries out of offset order", "[fs][dir]") {
  ImageCopy copy(image("demo"));
  REQUIRE(system(("xfs_db -x -c 'path /sf' -c 'write u3.sfdir3.list[1].offset 0x60' " + copy.path + " >/dev/null 2>&1")
                     .c_str()) == 0);
  expect_corrupt(copy.path, "/sf", "dir sf", "offset 96 is below", [](Mount& m) { return iterate_dir(m, "/sf"); });
  expect_corrupt(copy.path, "/sf", "dir sf", "offset 96 is below", [](Mount& m) { return lookup(m, "/sf", "a"); });
}

TEST_CASE("dir: a non-directory is ENOTDIR", "[fs][dir]") {
  auto m = open_mount(image("demo"));
  InodeRef f;
  REQUIRE(resolve(*m, "/README", &f) == 0);
  uint64_t ino;
  CHECK(dir_lookup(*m, *f, "x", &ino) == ENOTDIR);
  CHECK(dir_iterate(*m, *f, 0, [](const DirEntry&) { return true; }) == ENOTDIR);
}

TEST_CASE("dir: walks stay inside blocks another verifier vouched for", "[fs][dir]") {
  // The buffer cache verifies a buffer with its first reader's ops only; a
  // corrupt image that maps one disk block at two fork offsets hands the walks
  // a block no dir verifier checked.  They must refuse it, never overrun it.
  std::vector<std::byte> blk(65536);
  std::mt19937 rng(7);
  auto walk = [&] {
    bool stopped = false;
    size_t n = 0;
    const size_t end = dir::entries_end(blk, kDir3DataMagic);
    return end != 0 && dir::walk_entries(
                           blk, end, 0, [&](const dir::DataEntry&) { return ++n < 100000; }, &stopped);
  };
  CHECK_FALSE(walk());  // no magic
  blk[0] = std::byte{'X'}, blk[1] = std::byte{'D'}, blk[2] = std::byte{'D'}, blk[3] = std::byte{'3'};
  CHECK_FALSE(walk());  // zeros: an entry with an empty name
  std::fill(blk.begin() + 4, blk.end(), std::byte{0xff});
  CHECK_FALSE(walk());  // a free region of 65535 bytes
  for (int round = 0; round < 200; round++) {
    for (size_t i = 4; i < blk.size(); i++) blk[i] = std::byte(static_cast<uint8_t>(rng()));
    walk();  // any verdict, within bounds (ASan checks)
    dir::DataEntry e;
    for (size_t off = 0; off < blk.size(); off += 8) dir::entry_at(blk, blk.size(), off, &e);
  }
  blk[2] = std::byte{'B'};  // "XDB3" whose tail claims 2^32 - 1 leaf entries
  std::fill(blk.end() - 8, blk.end() - 4, std::byte{0xff});
  CHECK(dir::entries_end(blk, kDir3BlockMagic) == 0);
}

}  // namespace xfsfuse::fs::test
