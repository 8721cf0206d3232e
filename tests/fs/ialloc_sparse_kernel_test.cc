// Sparse inode chunks against the kernel: an image fragmented by
// fs/alloc (free space only in runs of 7, 5 and 6 blocks in turn, each
// holding the upper half of an 8-aligned region: the kernel's allocator
// wants the AG's longest free extent to hold minlen + alignment - 1 blocks
// before it looks for an aligned 4-block piece; the mixed lengths tell
// placement near the inobt root from placement by length) gets new files
// from the kernel (a loop mount) and as many inodes from ialloc on a copy;
// both leave the same inobt records, also when a second piece of a chunk
// merges into its record.
// Then, with every other kernel file removed, ialloc takes only the free
// inodes the kernel's sparse records hold, never their holes.
// Needs root and loop devices ("SKIP:" otherwise).
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <set>

#include "fs/alloc/ialloc.h"
#include "fs/format/geometry.h"
#include "fs/format/records.h"
#include "fs/mount.h"
#include "tests/fs/dir_test_util.h"
#include "tests/fs/ialloc_test_util.h"

namespace xfsfuse::fs::test {
namespace {

// Runs a shell script against a loop mount of img at mnt.
bool kernel_run(const std::string& img, const std::string& mnt, const std::string& script) {
  if (system(("mount -o loop " + img + " " + mnt + " 2>/dev/null").c_str()) != 0) return false;
  const int rc = system(("cd " + mnt + " && (" + script + ")").c_str());
  for (int i = 0; i < 20; i++) {
    if (system(("umount " + mnt + " 2>/dev/null").c_str()) == 0) return rc == 0;
    usleep(100000);
  }
  return false;
}

// The inobt records of every AG of img (read-only mount).
std::vector<std::vector<InobtRec>> records(const std::string& img) {
  auto m = open_mount(img);
  std::vector<std::vector<InobtRec>> out;
  for (uint32_t agno = 0; agno < m->sb().agcount; agno++) {
    AgiInfo agi;
    REQUIRE(m->ag_headers().read_agi(m->cache(), agno, &agi) == 0);
    out.push_back(walk_inode_tree(*m, agno, false, agi));
  }
  return out;
}

// n inodes from ialloc near parent on img, each in its own transaction.
void ialloc_n(const std::string& img, uint64_t parent, unsigned n) {
  auto m = open_rw(img);
  for (unsigned i = 0; i < n; i++) {
    std::unique_ptr<Transaction> tp;
    REQUIRE(Transaction::begin(*m, &tp) == 0);
    REQUIRE(tp->reserve_blocks(ialloc_reservation(m->sb())) == 0);
    uint64_t ino;
    REQUIRE(ialloc(*tp, parent, &ino) == 0);
    REQUIRE(tp->commit() == 0);
  }
  REQUIRE(m->unmount_clean() == 0);
}

// Checks that both images hold the same inobt records; returns how many of
// them are sparse.
unsigned same_records(const std::string& kernel_img, const std::string& our_img) {
  const auto kernel = records(kernel_img), mine = records(our_img);
  unsigned sparse = 0;
  REQUIRE(kernel.size() == mine.size());
  for (uint32_t agno = 0; agno < kernel.size(); agno++) {
    INFO("AG " << agno);
    REQUIRE(kernel[agno].size() == mine[agno].size());
    for (size_t i = 0; i < kernel[agno].size(); i++) {
      const InobtRec &k = kernel[agno][i], &o = mine[agno][i];
      INFO("kernel [" << k.startino << "," << k.holemask << "," << k.count << "," << k.freecount << "," << k.free
                      << "] ours [" << o.startino << "," << o.holemask << "," << o.count << "," << o.freecount << ","
                      << o.free << "]");
      CHECK(k == o);
      sparse += k.holemask != 0;
    }
  }
  return sparse;
}

}  // namespace

TEST_CASE("ialloc: sparse pieces as the kernel makes them", "[ialloc][sparse][kernel]") {
  if (!have_xfsprogs()) return;
  if (geteuid() != 0) {
    WARN("SKIP: not root");
    return;
  }
  MkfsImage img("-d agcount=2", 64ll << 20);
  const std::string mnt = img.path + ".mnt", ours = img.path + ".ours";
  REQUIRE(mkdir(mnt.c_str(), 0755) == 0);
  struct Cleanup {
    std::string mnt, ours;
    ~Cleanup() {
      rmdir(mnt.c_str());
      unlink(ours.c_str());
    }
  } cleanup{mnt, ours};
  // A directory with room for the files to come, so that creating them
  // allocates inodes and nothing else: a 64 KiB directory block kept by
  // entries too long for a short-form directory.
  if (!kernel_run(img.path, mnt,
                  "mkdir d && cd d && for i in $(seq 1 20); do : > k${i}_0123456789012345678901234567890123456789; done"
                  " && for i in $(seq 1 400); do : > f$i; done && rm -f f*")) {
    WARN("SKIP: mount -o loop failed (no loop devices or no XFS in this kernel?)");
    return;
  }
  uint64_t dir_ino = 0;
  std::vector<std::set<uint32_t>> taken;
  {
    auto m = open_rw(img.path);
    InodeRef d;
    REQUIRE(resolve(*m, "/d", &d) == 0);
    dir_ino = d->core.ino;
    for (uint32_t agno = 0; agno < m->sb().agcount; agno++) taken.push_back(fill_ag(*m, agno));
    for (uint32_t agno = 0; agno < m->sb().agcount; agno++) REQUIRE(free_pieces(*m, agno, taken[agno], 200, {3, 1, 2}) == 200);
    REQUIRE(m->unmount_clean() == 0);
  }
  REQUIRE(system(("cp --sparse=always " + img.path + " " + ours).c_str()) == 0);
  const auto before = records(img.path);
  const uint32_t dir_agno = ino_to_agno(open_mount(img.path)->sb(), dir_ino);
  const uint32_t free_before = [&] {
    uint32_t n = 0;
    for (const InobtRec& r : before[dir_agno]) n += r.freecount;
    return n;
  }();
  // The kernel: 100 files beyond the free inodes the AG had (its reserve
  // pool, 5% of this small filesystem, given back to free space first).
  const unsigned files = free_before + 100;
  REQUIRE(kernel_run(img.path, mnt,
                     "xfs_io -x -c 'resblks 0' . >/dev/null && cd d && for i in $(seq 1 " + std::to_string(files) +
                         "); do : > n$i; done"));
  // Ours on the copy: as many inodes near the directory.
  ialloc_n(ours, dir_ino, files);
  CHECK(same_records(img.path, ours) >= 3);

  // The lower half of the lowest sparse chunk comes free on both images
  // (what of it the filler held): an aligned piece, the one nearest the
  // inobt root, which the next new piece takes, merging into the record.
  InobtRec first_sparse;
  const auto after = records(img.path);
  for (const InobtRec& r : after[dir_agno])
    if (r.holemask && first_sparse.count == 0) first_sparse = r;
  REQUIRE(first_sparse.count == 32);
  const uint32_t x = agino_to_agbno(open_mount(ours)->sb(), first_sparse.startino);
  for (const std::string& path : {img.path, ours}) {
    auto m = open_rw(path);
    for (uint32_t b = x; b < x + m->sb().spino_align; b++)
      if (taken[dir_agno].count(b)) give_back(*m, dir_agno, b, 1);
    REQUIRE(m->unmount_clean() == 0);
  }
  for (uint32_t b = x; b < x + 4; b++) taken[dir_agno].erase(b);
  const unsigned more = 64;
  REQUIRE(kernel_run(img.path, mnt,
                     "xfs_io -x -c 'resblks 0' . >/dev/null && cd d && for i in $(seq " + std::to_string(files + 1) +
                         " " + std::to_string(files + more) + "); do : > n$i; done"));
  ialloc_n(ours, dir_ino, more);
  same_records(img.path, ours);
  bool merged = false;
  const auto after_more = records(img.path);
  for (const InobtRec& r : after_more[dir_agno])
    merged = merged || (r.startino == first_sparse.startino && r.holemask == 0 && r.count == 64);
  CHECK(merged);

  // Every other kernel file gone: the kernel's sparse records have free
  // inodes, and ialloc takes exactly those.
  REQUIRE(kernel_run(img.path, mnt, "cd d && for i in $(seq 1 2 " + std::to_string(files) + "); do rm n$i; done"));
  auto m = open_rw(img.path);
  const Superblock& sb = m->sb();
  std::set<uint64_t> free_inodes;
  AgiInfo agi;
  REQUIRE(m->ag_headers().read_agi(m->cache(), dir_agno, &agi) == 0);
  unsigned sparse_with_free = 0;
  for (const InobtRec& r : walk_inode_tree(*m, dir_agno, false, agi)) {
    const uint64_t avail = r.free & ~inobt_hole_bits(r.holemask);
    sparse_with_free += r.holemask && avail;
    for (unsigned i = 0; i < kInodesPerChunk; i++)
      if (avail >> i & 1) free_inodes.insert(agino_to_ino(sb, dir_agno, r.startino + i));
  }
  CHECK(sparse_with_free >= 2);
  REQUIRE(free_inodes.size() == agi.freecount);
  std::vector<uint64_t> got;
  for (size_t i = 0; i < free_inodes.size(); i++) {
    std::unique_ptr<Transaction> tp;
    REQUIRE(Transaction::begin(*m, &tp) == 0);
    REQUIRE(tp->reserve_blocks(ialloc_reservation(sb)) == 0);
    uint64_t ino;
    REQUIRE(ialloc(*tp, dir_ino, &ino) == 0);
    REQUIRE(tp->commit() == 0);
    INFO("inode " << ino);
    REQUIRE(free_inodes.count(ino));
    got.push_back(ino);
  }
  // Back as the kernel left it, then the filler's blocks freed: clean.
  for (uint64_t ino : got) {
    std::unique_ptr<Transaction> tp;
    REQUIRE(Transaction::begin(*m, &tp) == 0);
    REQUIRE(tp->reserve_blocks(ifree_reservation(sb)) == 0);
    REQUIRE(ifree(*tp, ino) == 0);
    REQUIRE(tp->commit() == 0);
  }
  for (uint32_t agno = 0; agno < taken.size(); agno++) give_back_all(*m, agno, taken[agno]);
  unmount_and_repair_check(m, img.path);
}

}  // namespace xfsfuse::fs::test
