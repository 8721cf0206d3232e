// fs/attr_write against the kernel: the same setxattr / removexattr
// sequence, run by the kernel (a loop mount, os.setxattr from python3) on
// one copy of an image and by fs/ops/xattr on another, leaves the same
// inodes: di_forkoff, formats, extent and block counts, byte for byte the
// same short-form list, and the same leaf block as xfs_db prints it (every
// field but the header's CRC, blkno and LSN, which differ with where and
// when the block was written).  Files get longer and longer prefixes of the
// sequence, so each one shows a stage of it: short form with di_forkoff
// moving, the conversion to a leaf, remote values, replaces, holes and
// compaction, the way back to short form and to no attr fork.  Half the
// files come without an attr fork (mkfs -p), half made by the kernel (on
// this host with an empty attr fork for its LSM).  Needs root and loop
// devices ("SKIP:" otherwise).
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/fs/attr_kernel_test_util.h"
#include "tests/fs/attr_write_test_util.h"
#include "tests/fs/dir_write_test_util.h"

namespace xfsfuse::fs::test {
namespace {

using namespace attrwtest;

struct Op {
  bool set = true;
  std::string name;
  size_t len = 0;  // set: value bytes, value_of(len, seed)
  unsigned seed = 0;
};

std::string value_of(size_t len, unsigned seed) {
  std::string v(len, '\0');
  for (size_t i = 0; i < len; i++) v[i] = static_cast<char>((seed + i * 7) % 251);
  return v;
}

std::vector<Op> sequence() {
  std::vector<Op> ops = {{true, "user.a", 3, 1}, {true, "user.bb", 40, 2}, {true, "trusted.t", 100, 3},
                         {true, "security.sec", 10, 4}};
  for (unsigned i = 0; i < 6; i++) ops.push_back({true, "user.c" + std::to_string(i), 30, 10 + i});
  const std::vector<Op> rest = {
      {true, "user.r1", 3000, 20},  {true, "user.r2", 5000, 21}, {true, "user.a", 12, 22},
      {false, "user.c3"},           {false, "user.c1"},          {true, "user.n1", 50, 23},
      {true, "user.r3", 65536, 24}, {false, "user.r2"},          {true, "user.r2", 200, 25},
      {true, "user.z", 4000, 30},   {true, "user.zzzz", 4000, 31}, {true, "user.zzz", 4000, 32},
      {false, "user.zzzz"},         {false, "user.z"},           {false, "user.zzz"},
      {true, "user.r3", 20, 26},    {false, "user.r1"},          {false, "user.r2"},
      {false, "user.n1"},           {false, "trusted.t"},        {false, "user.c0"},
      {false, "user.c2"},           {false, "user.c4"},          {false, "user.c5"},
      {false, "user.bb"},           {false, "user.a"},           {false, "user.r3"},
      {false, "security.sec"}};
  ops.insert(ops.end(), rest.begin(), rest.end());
  return ops;
}

// What xfs_db shows of inode ino's attrs, without the fields that depend on
// where and when a block was written.
std::string db_view(const std::string& img, uint64_t ino) {
  const std::string inode = "xfs_db -r -c 'inode " + std::to_string(ino) + "'";
  std::string out = run(inode +
                        " -c 'print core.forkoff core.format core.aformat core.nextents core.nblocks'"
                        " " + img + " 2>&1");
  if (out.find("core.aformat = 1") != std::string::npos) out += run(inode + " -c 'print a' " + img + " 2>&1");
  // The extent count is left out: where the allocator puts remote values
  // decides whether they continue the leaf's extent.
  const std::string n = run(inode + " -c 'print core.naextents' " + img + " 2>&1");
  if (out.find("core.aformat = 2") != std::string::npos && n.find("core.naextents = 0") == std::string::npos) {
    std::istringstream leaf(run(inode + " -c 'ablock 0' -c print " + img + " 2>&1"));
    for (std::string line; std::getline(leaf, line);)
      if (line.find("hdr.info.crc") == std::string::npos && line.find("hdr.info.bno") == std::string::npos &&
          line.find("hdr.info.lsn") == std::string::npos)
        out += line + "\n";
  }
  return out;
}

TEST_CASE("attr_write: the kernel lays out the same short-form lists and leaves", "[attr_write][kernel]") {
  const std::vector<Op> ops = sequence();
  const std::vector<size_t> cuts = {1, 4, 7, 10, 11, 13, 16, 19, 22, 25, 28, 31, 34, 36, ops.size() - 2, ops.size()};
  std::string proto = "/\n0 0\nd--755 0 0\n";
  for (size_t i = 0; i < cuts.size(); i++) proto += "p" + std::to_string(i) + " ---644 0 0 /dev/null\n";
  proto += "$\n";
  ProtoImage img(proto, 65536);
  const std::string mnt = img.dir + "/mnt";
  REQUIRE(mkdir(mnt.c_str(), 0755) == 0);
  if (geteuid() != 0 || !kernel_mount(img.path, mnt)) {
    WARN("SKIP: needs root, loop devices and XFS in the kernel");
    return;
  }
  // Kernel-made files, in the image both sides start from.
  for (size_t i = 0; i < cuts.size(); i++) REQUIRE(system(("touch " + mnt + "/k" + std::to_string(i)).c_str()) == 0);
  REQUIRE(umount(mnt));
  const std::string kimg = img.dir + "/kernel.img";
  REQUIRE(system(("cp --sparse=always " + img.path + " " + kimg).c_str()) == 0);

  std::ostringstream py;
  py << "import os, sys\nm = sys.argv[1]\n"
        "def v(n, s): return bytes((s + i * 7) % 251 for i in range(n))\n";
  for (const char* kind : {"p", "k"})
    for (size_t i = 0; i < cuts.size(); i++)
      for (size_t j = 0; j < cuts[i]; j++) {
        const Op& op = ops[j];
        const std::string path = "m + '/" + std::string(kind) + std::to_string(i) + "'";
        if (op.set)
          py << "os.setxattr(" << path << ", '" << op.name << "', v(" << op.len << ", " << op.seed << "))\n";
        else
          py << "os.removexattr(" << path << ", '" << op.name << "')\n";
      }
  kernel_run(kimg, mnt, py.str());

  std::vector<uint64_t> inos;
  {
    auto m = open_rw(img.path);
    for (const char* kind : {"p", "k"})
      for (size_t i = 0; i < cuts.size(); i++) {
        InodeRef ip = child(*m, kind + std::to_string(i));
        inos.push_back(ip->core.ino);
        for (size_t j = 0; j < cuts[i]; j++) {
          const Op& op = ops[j];
          INFO(kind << i << " op " << j << " " << op.name);
          if (op.set) REQUIRE(set(*m, ip, op.name, bytes(value_of(op.len, op.seed)), nullptr) == 0);
          else REQUIRE(remove(*m, ip, op.name, nullptr) == 0);
        }
      }
    unmount_and_check(m, img.path);
  }
  for (uint64_t ino : inos) {
    INFO("inode " << ino);
    CHECK(db_view(img.path, ino) == db_view(kimg, ino));
  }
}

}  // namespace
}  // namespace xfsfuse::fs::test
