// fs/attr_write in node form against the kernel: thousands of attributes
// (short values, some remote, some replaced) set on a file until its attr
// fork is a da btree over many leaves (on 1 KiB blocks, a two-level one),
// then removed in a shuffled order back to short form and no attr fork;
// and a few hundred large local values, whose leaves split twice.
// The kernel (a loop mount, python3) and fs/ops/xattr run the same
// sequence on two copies of an image; files take longer and longer
// prefixes of it.  Each file's attr fork must then map the same fork
// blocks, and every block must read the same in xfs_db (every field but
// the header's CRC, blkno and LSN); both images pass xfs_repair -n and
// xfsfuse-fsck -n.  Needs root and loop devices ("SKIP:" otherwise).
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <fstream>
#include <random>
#include <set>
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

std::string name_of(size_t i) {
  const char* ns[] = {"user.", "user.", "user.", "trusted.", "security."};
  return ns[i % 5] + std::string("attr_") + std::to_string(i * 7919 % 100003);
}

// n sets (values 4 .. short_max + 3 bytes, every remote_every-th
// remote_len bytes), a replace of every
// 41st (with a remote value every third time), then every name removed in
// a shuffled order.  *cuts: the prefixes the files take.
std::vector<Op> sequence(size_t n, size_t short_max, size_t remote_every, size_t remote_len, std::vector<size_t>* cuts) {
  std::vector<Op> ops;
  for (size_t i = 0; i < n; i++)
    ops.push_back({true, name_of(i), i % remote_every == 5 ? remote_len : 4 + i * 13 % short_max, static_cast<unsigned>(i)});
  const size_t sets = ops.size();
  for (size_t i = 0; i < n; i += 41)
    ops.push_back({true, name_of(i), i % 3 == 0 ? remote_len + 10 : 9 + i % 20, static_cast<unsigned>(i + 7)});
  const size_t replaced = ops.size();
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; i++) order[i] = i;
  std::mt19937 rng(12);
  std::shuffle(order.begin(), order.end(), rng);
  for (size_t i : order) ops.push_back({false, name_of(i)});
  *cuts = {n / 16, sets, replaced, replaced + n / 2, replaced + n - n / 20, ops.size()};
  return ops;
}

// What xfs_db shows of inode ino's attr fork: the inode's fork fields, the
// short-form list, the fork blocks mapped and each block's fields but its
// CRC, blkno and LSN.
std::vector<std::string> db_view(const std::string& img, uint64_t ino) {
  const std::string inode = "xfs_db -r -c 'inode " + std::to_string(ino) + "'";
  // Whether the fork's extents are kept in the inode or in a bmbt is left
  // out: it follows where the allocator put the blocks.
  std::vector<std::string> out{run(inode + " -c 'print core.forkoff core.format' " + img + " 2>&1")};
  if (run(inode + " -c 'print core.aformat' " + img + " 2>&1").find("= 1") != std::string::npos)
    out.push_back(run(inode + " -c 'print a' " + img + " 2>&1"));
  std::istringstream bmap(run(inode + " -c 'bmap -a' " + img + " 2>&1"));
  std::set<uint64_t> blocks;
  for (std::string line; std::getline(bmap, line);) {
    unsigned long long off = 0, start = 0, count = 0;
    if (std::sscanf(line.c_str(), "attr offset %llu startblock %llu %*s count %llu", &off, &start, &count) == 3)
      for (uint64_t b = off; b < off + count; b++) blocks.insert(b);
  }
  std::string cmd = inode;
  for (uint64_t b : blocks) cmd += " -c 'ablock " + std::to_string(b) + "' -c 'print'";
  std::istringstream dump(blocks.empty() ? std::string() : run(cmd + " " + img + " 2>&1"));
  std::string mapped = "blocks:";
  for (uint64_t b : blocks) mapped += " " + std::to_string(b);
  out.push_back(mapped);
  std::string block;
  for (std::string line; std::getline(dump, line);) {
    if (line.find("crc") != std::string::npos || line.find("bno") != std::string::npos ||
        line.find("lsn") != std::string::npos || line.find("blkno") != std::string::npos)
      continue;
    if ((line.rfind("hdr.info.hdr.forw", 0) == 0 || line.rfind("rm_magic", 0) == 0) && !block.empty()) {
      out.push_back(block);
      block.clear();
    }
    block += line + "\n";
  }
  if (!block.empty()) out.push_back(block);
  return out;
}

// levels: the da btree's height (root level) once every name is set.
void compare_with_kernel(const std::string& extra, unsigned dirblk, size_t n, size_t short_max, size_t remote_every,
                         size_t remote_len, int levels) {
  std::vector<size_t> cuts;
  const std::vector<Op> ops = sequence(n, short_max, remote_every, remote_len, &cuts);
  std::string proto = "/\n0 0\nd--755 0 0\n";
  for (size_t i = 0; i < cuts.size(); i++) proto += "p" + std::to_string(i) + " ---644 0 0 /dev/null\n";
  proto += "$\n";
  ProtoImage img(proto, dirblk, extra);
  const std::string mnt = img.dir + "/mnt";
  REQUIRE(mkdir(mnt.c_str(), 0755) == 0);
  if (geteuid() != 0 || !kernel_mount(img.path, mnt)) {
    WARN("SKIP: needs root, loop devices and XFS in the kernel");
    return;
  }
  REQUIRE(umount(mnt));
  const std::string kimg = img.dir + "/kernel.img";
  REQUIRE(system(("cp --sparse=always " + img.path + " " + kimg).c_str()) == 0);

  std::ostringstream py;
  py << "import os, sys\nm = sys.argv[1]\n"
        "def v(n, s): return bytes((s + i * 7) % 251 for i in range(n))\nops = [\n";
  for (const Op& op : ops) py << "(" << op.set << ", '" << op.name << "', " << op.len << ", " << op.seed << "),\n";
  py << "]\n";
  for (size_t i = 0; i < cuts.size(); i++)
    py << "for s, n, l, e in ops[:" << cuts[i] << "]:\n"
       << "  p = m + '/p" << i << "'\n"
       << "  os.setxattr(p, n, v(l, e)) if s else os.removexattr(p, n)\n";
  kernel_run(kimg, mnt, py.str());

  std::vector<uint64_t> inos;
  {
    auto m = open_rw(img.path);
    for (size_t i = 0; i < cuts.size(); i++) {
      InodeRef ip = child(*m, "p" + std::to_string(i));
      inos.push_back(ip->core.ino);
      for (size_t j = 0; j < cuts[i]; j++) {
        const Op& op = ops[j];
        INFO("p" << i << " op " << j << " " << op.name);
        if (op.set) REQUIRE(set(*m, ip, op.name, bytes(value_of(op.len, op.seed)), nullptr) == 0);
        else REQUIRE(remove(*m, ip, op.name, nullptr) == 0);
      }
    }
    unmount_and_check(m, img.path);
  }
  {
    auto m = open_rw(kimg);
    unmount_and_check(m, kimg);
  }
  CHECK(run("xfs_db -r -c 'inode " + std::to_string(inos[1]) + "' -c 'ablock 0' -c 'print hdr.level' " + img.path) ==
        "hdr.level = " + std::to_string(levels) + "\n");
  for (size_t i = 0; i < inos.size(); i++) {
    INFO("p" << i << ": inode " << inos[i] << " after " << cuts[i] << " ops");
    const std::vector<std::string> ours = db_view(img.path, inos[i]), theirs = db_view(kimg, inos[i]);
    CHECK(ours.size() == theirs.size());
    for (size_t b = 0; b < std::min(ours.size(), theirs.size()); b++) {
      INFO("part " << b);
      if (ours[b] != theirs[b]) {
        std::ofstream(img.dir + "/ours") << ours[b];
        std::ofstream(img.dir + "/theirs") << theirs[b];
        FAIL_CHECK("differs from the kernel's:\n" + run("diff " + img.dir + "/ours " + img.dir + "/theirs"));
        break;
      }
    }
  }
}

TEST_CASE("attr_write: node form as the kernel writes it (4 KiB blocks)", "[attr_write][kernel][node]") {
  compare_with_kernel("", 4096, 2000, 37, 97, 5000, 1);
}

TEST_CASE("attr_write: node form with a two-level da btree (1 KiB blocks)", "[attr_write][kernel][node]") {
  compare_with_kernel("-b size=1024", 4096, 2000, 37, 89, 1500, 2);
}

// Local values of up to 3,000 bytes (records up to 3/4 of a block): leaves
// of a few entries, where an entry can fit neither half of a split leaf.
TEST_CASE("attr_write: node form with large local values (4 KiB blocks)", "[attr_write][kernel][node]") {
  compare_with_kernel("", 4096, 400, 2997, 53, 9000, 1);
}

}  // namespace
}  // namespace xfsfuse::fs::test
