// fs/symlink against the symlinks of the demo image (inline, up to 336
// bytes) and the kernel image (inline and remote, up to 1023 bytes), a
// header-less remote symlink as mkfs.xfs -p writes it, and corrupted copies.
#include "fs/symlink.h"

#include <catch2/catch.hpp>
#include <cstddef>
#include <fstream>

#include "fs/format/inode.h"
#include "fs/format/types.h"
#include "tests/fs/attr_test_util.h"

using namespace xfsfuse;
using namespace xfsfuse::fs;
using namespace xfsfuse::fs::attrtest;

namespace {

constexpr size_t kInodeCrcOff = offsetof(xd_dinode, di_crc);

// Every lnk line of img's manifest reads back as its target.
void check_manifest_links(const Image& img) {
  std::vector<std::string> paths, targets;
  for (const auto& f : read_tsv(img.manifest()))
    if (f.at(1) == "lnk") {
      paths.push_back(f.at(0));
      targets.push_back(f.at(7));
      REQUIRE(std::stoull(f.at(5)) == f.at(7).size());
    }
  REQUIRE(!paths.empty());
  const auto inos = inode_numbers(img.path, paths);
  auto m = open_image(img.path);
  for (size_t i = 0; i < paths.size(); i++) {
    INFO(paths[i]);
    std::string got;
    REQUIRE(read_symlink(*m, *iget_ok(*m, inos[i]), &got) == 0);
    CHECK(got == targets[i]);
  }
}

// Reads path's target from a fresh mount of img: the errno, and the
// corruption lines logged.
int read_fresh(const std::string& img, uint64_t ino, std::string* target, size_t* lines, std::string* log = nullptr) {
  auto m = open_image(img);
  InodeRef ip = iget_ok(*m, ino);
  bc::test::StderrCapture cap;
  const int rc = read_symlink(*m, *ip, target);
  const std::string text = cap.text();
  *lines = corruption_lines(text);
  if (log) *log = text;
  return rc;
}

}  // namespace

TEST_CASE("symlink: every target in the demo manifest reads back exactly", "[fs][symlink]") {
  check_manifest_links(demo_image());
}

TEST_CASE("symlink: every target in the kernel manifest reads back exactly (inline and remote)", "[fs][symlink]") {
  const Image& img = kernel_image();
  if (!img.skip.empty()) {
    WARN("SKIP: no kernel image: " + img.skip);
    return;
  }
  check_manifest_links(img);
  // The remote ones are what the test is about.
  const auto locs = db_locate(img.path, {"path /symlinks/remote-1023"});
  auto m = open_image(img.path);
  CHECK(iget_ok(*m, locs[0].ino)->core.format == ForkFormat::kExtents);
}

TEST_CASE("symlink: what is not a symlink is EINVAL", "[fs][symlink]") {
  const Image& img = demo_image();
  const auto inos = inode_numbers(img.path, {"/files/one-byte", "/sf"});
  auto m = open_image(img.path);
  std::string t;
  for (uint64_t ino : inos) CHECK(read_symlink(*m, *iget_ok(*m, ino), &t) == EINVAL);
}

TEST_CASE("symlink: a remote target without the v5 header (mkfs.xfs -p) is EUCLEAN, as in the kernel",
          "[fs][symlink]") {
  if (!test::have_xfsprogs()) {
    WARN("SKIP: mkfs.xfs/xfs_db not installed (Debian package xfsprogs)");
    return;
  }
  const std::string dir = temp_dir(), long_target(500, 'x'), short_target = "short/target";
  {
    std::ofstream p(dir + "/proto");
    p << "/dummy\n0 0\nd--755 0 0\n"
      << "long l--777 0 0 " << long_target << "\n"
      << "short l--777 0 0 " << short_target << "\n"
      << "$\n";
  }
  test::MkfsImage img("-p " + dir + "/proto");
  const auto inos = inode_numbers(img.path, {"/long", "/short"});
  std::string got;
  size_t lines = 0;
  std::string log;
  CHECK(read_fresh(img.path, inos[0], &got, &lines, &log) == EUCLEAN);
  CHECK(lines == 1);
  CHECK(log.find("symlink") != std::string::npos);
  CHECK(read_fresh(img.path, inos[1], &got, &lines) == 0);
  CHECK(got == short_target);
  unlink((dir + "/proto").c_str());
  rmdir(dir.c_str());
}

TEST_CASE("symlink: corrupt remote blocks and inline targets are EUCLEAN, other links keep working",
          "[fs][symlink]") {
  const Image& img = kernel_image();
  if (!img.skip.empty()) {
    WARN("SKIP: no kernel image: " + img.skip);
    return;
  }
  const auto locs = db_locate(img.path, {"path /symlinks/remote-1023", "dblock 0", "path /symlinks/remote-337",
                                         "dblock 0", "path /symlinks/inline-336"});
  const uint64_t ino1023 = locs[0].ino, blk1023 = locs[1].offset, ino337 = locs[2].ino, blk337 = locs[3].offset;
  const uint64_t ino336 = locs[4].ino, inode336 = locs[4].offset, isize = locs[4].length;
  REQUIRE(locs[1].length == 4096);
  std::string got;
  size_t lines = 0;
  std::string log;

  SECTION("a flipped target byte fails the block's CRC") {
    ScratchCopy c(img.path);
    c.flip(blk1023 + sizeof(xd_dsymlink_hdr) + 100);
    CHECK(read_fresh(c.path, ino1023, &got, &lines, &log) == EUCLEAN);
    CHECK(lines == 1);
    CHECK(log.find("CRC") != std::string::npos);
    auto m = open_image(c.path);
    CHECK(read_symlink(*m, *iget_ok(*m, ino337), &got) == 0);
    CHECK(got.size() == 337);
    CHECK(read_symlink(*m, *iget_ok(*m, ino336), &got) == 0);
    CHECK(got.size() == 336);
  }
  SECTION("a header whose bytes disagree with di_size") {
    ScratchCopy c(img.path);
    c.edit(blk337, 4096, offsetof(xd_dsymlink_hdr, sl_crc),
           [](std::vector<std::byte>& b) { put_be(b, offsetof(xd_dsymlink_hdr, sl_bytes), 336, 4); });
    CHECK(read_fresh(c.path, ino337, &got, &lines, &log) == EUCLEAN);
    CHECK(lines == 1);
    CHECK(log.find("expected [0, +337)") != std::string::npos);
    CHECK(read_fresh(c.path, ino1023, &got, &lines) == 0);
    CHECK(got.size() == 1023);
  }
  SECTION("a header naming another owner") {
    ScratchCopy c(img.path);
    c.edit(blk337, 4096, offsetof(xd_dsymlink_hdr, sl_crc),
           [&](std::vector<std::byte>& b) { put_be(b, offsetof(xd_dsymlink_hdr, sl_owner), ino1023, 8); });
    CHECK(read_fresh(c.path, ino337, &got, &lines, &log) == EUCLEAN);
    CHECK(lines == 1);
    CHECK(log.find("owner") != std::string::npos);
  }
  SECTION("an inline target longer than the fork, or holding a NUL") {
    ScratchCopy c(img.path);
    c.edit(inode336, isize, kInodeCrcOff,
           [](std::vector<std::byte>& b) { put_be(b, offsetof(xd_dinode, di_size), 337, 8); });
    CHECK(read_fresh(c.path, ino336, &got, &lines, &log) == EUCLEAN);
    CHECK(lines == 1);
    CHECK(log.find("inline target of 337 bytes") != std::string::npos);
    c.edit(inode336, isize, kInodeCrcOff, [](std::vector<std::byte>& b) {
      put_be(b, offsetof(xd_dinode, di_size), 336, 8);
      b[sizeof(xd_dinode) + 10] = std::byte{0};
    });
    CHECK(read_fresh(c.path, ino336, &got, &lines, &log) == EUCLEAN);
    CHECK(lines == 1);
    CHECK(log.find("NUL") != std::string::npos);
    CHECK(read_fresh(c.path, ino1023, &got, &lines) == 0);
  }
}
