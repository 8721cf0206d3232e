// fs/bmap against xfs_db's bmap of the demo image (images/make-image), and
// against corrupted extent records.
#include "fs/bmap.h"

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstring>

#include "fs/format/endian.h"
#include "tests/fs/fs_test_util.h"

using namespace xfsfuse;
using namespace xfsfuse::fs;

namespace {

// The demo image, built once for this test program.
struct DemoImage {
  std::string path = "/tmp/xfsfuse-bmap-demo-" + std::to_string(getpid()) + ".img";
  DemoImage() {
    std::string cmd = std::string(XFSFUSE_SOURCE_DIR) + "/images/make-image demo " + path + " >/dev/null";
    REQUIRE(system(cmd.c_str()) == 0);
  }
  ~DemoImage() {
    unlink(path.c_str());
    unlink((path + ".manifest").c_str());
  }
};

// "data offset 0 startblock 32840 (1/72) count 2049 flag 0" lines.
std::vector<Extent> xfs_db_bmap(const std::string& img, const std::string& file) {
  std::string cmd = "xfs_db -r -c 'path " + file + "' -c bmap " + img;
  FILE* p = popen(cmd.c_str(), "r");
  std::vector<Extent> v;
  char line[256];
  while (fgets(line, sizeof line, p)) {
    unsigned long long off, start, count;
    unsigned agno, agbno;
    int flag;
    if (std::sscanf(line, "data offset %llu startblock %llu (%u/%u) count %llu flag %d", &off, &start, &agno, &agbno,
                    &count, &flag) == 6)
      v.push_back(Extent{off, start, count, flag != 0});
  }
  pclose(p);
  return v;
}

}  // namespace

TEST_CASE("bmap: bmbt records round-trip at their field limits", "[fs][bmap]") {
  for (const Extent& e : {Extent{0, 0, 1, false}, Extent{(uint64_t{1} << 54) - 1, (uint64_t{1} << 52) - 1,
                                                          (uint64_t{1} << 21) - 1, true},
                          Extent{12345, 98328, 32744, true}}) {
    CHECK(decode_bmbt_rec(encode_bmbt_rec(e)) == e);
  }
}

TEST_CASE("bmap: extent forks decode as xfs_db maps them, and bad ones are EUCLEAN", "[fs][bmap]") {
  if (!test::have_xfsprogs()) {
    WARN("SKIP: mkfs.xfs/xfs_db not installed (Debian package xfsprogs)");
    return;
  }
  DemoImage demo;
  auto read = [&](uint64_t off, size_t len) {
    std::vector<std::byte> b(len);
    FILE* f = fopen(demo.path.c_str(), "rb");
    REQUIRE(fseeko(f, static_cast<off_t>(off), SEEK_SET) == 0);
    REQUIRE(fread(b.data(), 1, len, f) == len);
    fclose(f);
    return b;
  };
  Superblock sb;
  std::string why;
  REQUIRE(decode_superblock(read(0, 512), &sb, &why) == 0);
  auto load = [&](const std::string& file, Inode* n) {
    FILE* p = popen(("xfs_db -r -c 'path " + file + "' -c 'print v3.inumber' " + demo.path).c_str(), "r");
    unsigned long long ino = 0;
    REQUIRE(std::fscanf(p, "v3.inumber = %llu", &ino) == 1);
    pclose(p);
    InodeLocation loc;
    REQUIRE(locate_inode(sb, ino, &loc));
    auto raw = read(loc.daddr * 512 + loc.offset, sb.inodesize);
    REQUIRE(decode_inode(sb, ino, raw, n, &why) == 0);
    return raw;
  };
  for (const char* file : {"/files/big.bin", "/files/prealloc-200m", "/files/prealloc-1m", "/files/one-byte",
                           "/files/empty"}) {
    INFO(file);
    Inode n;
    auto raw = load(file, &n);
    std::vector<Extent> got;
    REQUIRE(decode_extent_fork(sb, n, raw, false, &got, &why) == 0);
    CHECK(got == xfs_db_bmap(demo.path, file));
  }
  Inode n;
  auto raw = load("/files/prealloc-200m", &n);  // two extents
  std::vector<Extent> got;
  REQUIRE(n.forkoff == 0);  // no attr fork: mkfs still stamps di_aformat "extents"; it decodes as empty
  REQUIRE(decode_extent_fork(sb, n, raw, true, &got, &why) == 0);
  REQUIRE(got.empty());
  Inode local = n;
  local.format = ForkFormat::kLocal;
  REQUIRE(decode_extent_fork(sb, local, raw, false, &got, &why) == EINVAL);  // not an extents fork
  auto rejects = [&](const std::vector<std::byte>& r, const Inode& in, const char* reason) {
    INFO(reason);
    REQUIRE(decode_extent_fork(sb, in, r, false, &got, &why) == EUCLEAN);
    REQUIRE(why.find(reason) != std::string::npos);
  };
  auto with_rec = [&](int i, Extent e) {
    auto r = raw;
    xd_bmbt_rec rec = encode_bmbt_rec(e);
    std::memcpy(r.data() + kInodeCoreSize + i * sizeof rec, &rec, sizeof rec);
    return r;
  };
  std::vector<Extent> two;
  REQUIRE(decode_extent_fork(sb, n, raw, false, &two, &why) == 0);
  REQUIRE(two.size() == 2);
  rejects(with_rec(1, Extent{two[0].startoff, two[1].startblock, two[1].blockcount, true}), n, "overlaps");
  rejects(with_rec(0, Extent{0, two[0].startblock, 0, true}), n, "is empty");
  rejects(with_rec(0, Extent{0, uint64_t{sb.agcount} << sb.agblklog, 1, false}), n, "outside");
  rejects(with_rec(0, Extent{0, (uint64_t{1} << sb.agblklog) - 1, 2, false}), n, "outside");  // crosses an AG end
  Inode too_many = n;
  too_many.nextents = 22;  // 22 * 16 bytes > the 336-byte fork
  rejects(raw, too_many, "do not fit");
}
