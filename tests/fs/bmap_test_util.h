// tests/fs/bmap_test_util.h — images with empty files and a model of a file's
// block map for the bmap write tests.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "fs/mount.h"
#include "tests/fs/dir_test_util.h"

namespace xfsfuse::fs::test {

/// An image whose root holds `files` empty regular files f0, f1, ...
/// (mkfs.xfs -p), built with the extra mkfs arguments.
struct FileImage {
  std::string dir = "/tmp/xfsfuse-bmapw-" + std::to_string(getpid());
  std::unique_ptr<MkfsImage> img;
  explicit FileImage(const std::string& extra, unsigned files = 1) {
    REQUIRE(system(("mkdir -p " + dir + " && : > " + dir + "/empty").c_str()) == 0);
    std::ofstream p(dir + "/proto");
    p << "/dummy\n0 0\nd--755 0 0\n";
    for (unsigned i = 0; i < files; i++) p << "f" << i << " ---644 0 0 " << dir << "/empty\n";
    p << "$\n$\n";
    p.close();
    img = std::make_unique<MkfsImage>(extra + " -p " + dir + "/proto");
  }
  ~FileImage() {
    img.reset();
    [[maybe_unused]] int rc = system(("rm -rf " + dir).c_str());  // best effort: no REQUIRE in a destructor
  }
};

/// The regular file /f<i> of a FileImage.
inline InodeRef get_file(Mount& m, unsigned i = 0) {
  InodeRef ip;
  REQUIRE(resolve(m, "/f" + std::to_string(i), &ip) == 0);
  REQUIRE(S_ISREG(ip->core.mode));
  return ip;
}

/// Free blocks of every AG as their AGFs in the cache count them (free
/// extents, AGFL, free-space btree blocks).
inline uint64_t ag_space(Mount& m) {
  uint64_t n = 0;
  for (uint32_t agno = 0; agno < m.sb().agcount; agno++) {
    AgfInfo agf;
    REQUIRE(m.ag_headers().read_agf(m.cache(), agno, &agf) == 0);
    n += uint64_t{agf.freeblks} + agf.flcount + agf.btreeblks;
  }
  return n;
}

/// A file's map, per file block: the fsblock (-1: a hole) and the unwritten
/// flag; and the set of fsblocks it owns.
struct Model {
  std::vector<int64_t> fsb;
  std::vector<bool> unwritten;
  std::set<uint64_t> owned;
  explicit Model(size_t blocks) : fsb(blocks, -1), unwritten(blocks, false) {}
  uint64_t mapped() const { return owned.size(); }
};

/// What is wrong with ip's in-core data fork against md ("" when nothing):
/// di_nextents and the format against the list and the fork's size; extents
/// non-empty, inside the filesystem and the model's range, sorted, disjoint,
/// no two neighbours left unmerged; block for block the model.  Returns a
/// string rather than asserting, for threads (Catch2's assertions are not
/// thread-safe).
inline std::string list_problem(const CachedInode& ip, const Model& md, const Superblock& sb) {
  const auto& ext = ip.df.extents;
  if (ip.core.nextents != ext.size())
    return "nextents " + std::to_string(ip.core.nextents) + " for " + std::to_string(ext.size()) + " extents";
  if (ext.size() > fork_size(ip.core, false) / 16 && ip.core.format != ForkFormat::kBtree)
    return std::to_string(ext.size()) + " extents in an extents-format fork";
  if (ip.df.format != ip.core.format) return "the fork's format differs from the core's";
  std::vector<int64_t> fsb(md.fsb.size(), -1);
  std::vector<bool> unw(md.fsb.size(), false);
  for (size_t i = 0; i < ext.size(); i++) {
    const Extent& e = ext[i];
    const std::string name = "extent " + std::to_string(i) + " [" + std::to_string(e.startoff) + ", +" +
                             std::to_string(e.blockcount) + ") at " + std::to_string(e.startblock);
    std::string why;
    if (check_extent(sb, e, &why) != 0) return name + ": " + why;
    if (e.startoff + e.blockcount > md.fsb.size()) return name + " past the model's range";
    if (i > 0) {
      const Extent& p = ext[i - 1];
      if (p.startoff + p.blockcount > e.startoff) return name + " overlaps or precedes the one before";
      if (p.startoff + p.blockcount == e.startoff && p.startblock + p.blockcount == e.startblock &&
          p.unwritten == e.unwritten && p.blockcount + e.blockcount <= kBmbtMaxBlockcount)
        return name + " is not merged with the one before";
    }
    for (uint64_t b = 0; b < e.blockcount; b++) {
      fsb[e.startoff + b] = static_cast<int64_t>(e.startblock + b);
      unw[e.startoff + b] = e.unwritten;
    }
  }
  for (size_t o = 0; o < fsb.size(); o++)
    if (fsb[o] != md.fsb[o] || unw[o] != md.unwritten[o])
      return "file block " + std::to_string(o) + " maps to " + std::to_string(fsb[o]) + (unw[o] ? " unwritten" : "") +
             ", the model says " + std::to_string(md.fsb[o]) + (md.unwritten[o] ? " unwritten" : "");
  return "";
}

}  // namespace xfsfuse::fs::test
