// fs/inode against inodes mkfs.xfs made from a protofile, as xfs_db reads
// them, and against targeted corruptions.
#include "fs/inode.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <ctime>
#include <fstream>

#include "buffer_cache/crc32c.h"
#include "fs/format/endian.h"
#include "fs/format/inode.h"
#include "tests/fs/fs_test_util.h"

using namespace xfsfuse;
using namespace xfsfuse::fs;
using test::MkfsImage;
using test::num;

namespace {

// xfs_db prints "core.mtime.sec = Mon Nov 23 20:08:53 2026" (TZ=UTC).
int64_t parse_db_time(const std::string& s) {
  struct tm tm {};
  REQUIRE(strptime(s.c_str(), "%a %b %d %H:%M:%S %Y", &tm) != nullptr);
  return static_cast<int64_t>(timegm(&tm));
}

struct ProtoImage {
  std::string dir = "/tmp/xfsfuse-proto-" + std::to_string(getpid());
  std::unique_ptr<MkfsImage> img;
  ProtoImage() {
    REQUIRE(system(("mkdir -p " + dir + " && printf 'hello, inode\\n' > " + dir + "/f").c_str()) == 0);
    std::ofstream p(dir + "/proto");
    p << "/dummy\n0 0\nd--755 0 0\n"
      << "file1 ---644 1234 5678 " << dir << "/f\n"
      << "sub d--750 42 43\n"
      << "link l--777 0 0 /some/where/else\n"
      << "chr c--600 0 0 4 5\n"
      << "fifo p--640 7 8\n"
      << "$\n$\n";
    p.close();
    img = std::make_unique<MkfsImage>("-p " + dir + "/proto");
  }
  ~ProtoImage() {
    img.reset();
    [[maybe_unused]] int rc = system(("rm -rf " + dir).c_str());  // best effort: no REQUIRE in a destructor
  }
};

}  // namespace

TEST_CASE("inode: timestamps in both encodings, before and after 1970", "[fs][inode]") {
  const uint64_t billion = 1000000000u;
  auto raw = [](uint64_t v) { return to_be64(v); };
  CHECK(decode_timestamp(raw(0), true) == Timestamp{-(int64_t{1} << 31), 0});
  CHECK(decode_timestamp(raw(((uint64_t{1} << 31) - 1) * billion + 500000000u), true) == Timestamp{-1, 500000000u});
  CHECK(decode_timestamp(raw((uint64_t{1} << 31) * billion + 7), true) == Timestamp{0, 7});
  CHECK(decode_timestamp(raw(uint64_t{0xffffffff} << 32 | 1), false) == Timestamp{-1, 1});
  CHECK(decode_timestamp(raw(uint64_t{0x80000000} << 32), false) == Timestamp{-(int64_t{1} << 31), 0});
  CHECK(decode_timestamp(raw(uint64_t{1700000000} << 32 | 999999999u), false) == Timestamp{1700000000, 999999999u});
}

TEST_CASE("inode: decodes every inode of a protofile image as xfs_db reads it", "[fs][inode]") {
  if (!test::have_xfsprogs()) {
    WARN("SKIP: mkfs.xfs/xfs_db not installed (Debian package xfsprogs)");
    return;
  }
  ProtoImage pi;
  const MkfsImage& img = *pi.img;
  Superblock sb;
  std::string why;
  REQUIRE(decode_superblock(img.read(0, 512), &sb, &why) == 0);
  for (const char* path : {"/", "/file1", "/sub", "/sub/link", "/sub/chr", "/sub/fifo"}) {
    INFO(path);
    auto db = img.xfs_db(std::string("-c 'path ") + path +
                         "' -c 'print v3.inumber core.mode core.uid core.gid core.size core.nlinkv2 core.format "
                         "core.nextents core.forkoff core.mtime.sec core.mtime.nsec core.ctime.sec core.ctime.nsec "
                         "core.nblocks core.gen'");
    REQUIRE(db.count("v3.inumber"));
    const uint64_t ino = num(db["v3.inumber"]);
    InodeLocation loc;
    REQUIRE(locate_inode(sb, ino, &loc));
    auto raw = img.read(loc.daddr * 512 + loc.offset, sb.inodesize);
    Inode n;
    REQUIRE(decode_inode(sb, ino, raw, &n, &why) == 0);
    CHECK(n.mode == num(db["core.mode"]));
    CHECK(n.uid == num(db["core.uid"]));
    CHECK(n.gid == num(db["core.gid"]));
    CHECK(n.size == num(db["core.size"]));
    CHECK(n.nlink == num(db["core.nlinkv2"]));
    CHECK(static_cast<unsigned>(n.format) == num(db["core.format"].substr(0, 1)));
    CHECK(n.nextents == num(db["core.nextents"]));
    CHECK(n.forkoff == num(db["core.forkoff"]));
    CHECK(n.nblocks == num(db["core.nblocks"]));
    CHECK(n.gen == num(db["core.gen"]));
    CHECK(n.mtime.sec == parse_db_time(db["core.mtime.sec"]));
    CHECK(n.mtime.nsec == num(db["core.mtime.nsec"]));
    CHECK(n.ctime.sec == parse_db_time(db["core.ctime.sec"]));
    CHECK(n.ctime.nsec == num(db["core.ctime.nsec"]));
    CHECK((n.flags2 & kDiflag2Bigtime) != 0);  // mkfs 6.1 default
  }
  auto db = img.xfs_db("-c 'path /sub/chr' -c 'print core.mode'");
  CHECK(S_ISCHR(static_cast<mode_t>(num(db["core.mode"]))));
}

TEST_CASE("inode: corruptions are EUCLEAN with a reason, out-of-range numbers are not located", "[fs][inode]") {
  if (!test::have_xfsprogs()) {
    WARN("SKIP: mkfs.xfs/xfs_db not installed (Debian package xfsprogs)");
    return;
  }
  MkfsImage img;
  Superblock sb;
  std::string why;
  REQUIRE(decode_superblock(img.read(0, 512), &sb, &why) == 0);
  InodeLocation loc;
  REQUIRE(locate_inode(sb, sb.rootino, &loc));
  const auto good = img.read(loc.daddr * 512 + loc.offset, sb.inodesize);
  Inode n;
  REQUIRE(decode_inode(sb, sb.rootino, good, &n, &why) == 0);
  REQUIRE(S_ISDIR(n.mode));
  REQUIRE(n.format == ForkFormat::kLocal);  // an empty root is short form

  auto edited = [&](auto f) { return test::edit_with_crc<xd_dinode>(good, offsetof(xd_dinode, di_crc), f); };
  auto rejects = [&](const std::vector<std::byte>& r, const char* reason) {
    INFO(reason);
    REQUIRE(decode_inode(sb, sb.rootino, r, &n, &why) == EUCLEAN);
    REQUIRE(why.find(reason) != std::string::npos);
  };
  auto bad_crc = good;
  bad_crc[100] ^= std::byte{4};
  rejects(bad_crc, "CRC mismatch");
  rejects(edited([](xd_dinode& d) { d.di_magic = to_be16(0x494f); }), "bad magic");
  rejects(edited([](xd_dinode& d) { d.di_version = 2; }), "v3 expected");
  rejects(edited([](xd_dinode& d) { d.di_ino = to_be64(be64(d.di_ino) + 1); }), "is not its number");
  rejects(edited([](xd_dinode& d) { d.di_uuid.b[3] ^= 1; }), "uuid");
  CHECK(decode_inode(sb, sb.rootino, edited([](xd_dinode& d) { d.di_mode = 0; }), &n, &why) == ENOENT);
  rejects(edited([](xd_dinode& d) { d.di_format = 7; }), "unknown data fork format");
  rejects(edited([](xd_dinode& d) { d.di_format = 0; }), "does not suit mode");
  rejects(edited([](xd_dinode& d) { d.di_forkoff = 60; }), "attr fork offset");
  REQUIRE(decode_inode(sb, sb.rootino + 1, good, &n, &why) == EUCLEAN);  // read at the wrong number
  REQUIRE_FALSE(locate_inode(sb, uint64_t{sb.agcount} << (sb.agblklog + sb.inopblog), &loc));
}
