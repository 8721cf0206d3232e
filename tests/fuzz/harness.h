// tests/fuzz/harness.h — what every fuzz target of tests/fuzz/ shares: two
// small seed images (made once per process), the metadata regions of each
// family of decoders in them, and the walks that read a region back through
// the fs library (no FUSE).
//
// A block target's input is: byte 0 = flags (bit 0: the image with 64 KiB
// directory blocks, else 4 KiB ones; bit 1: keep the header as given, else
// the harness rewrites uuid, blkno, owner and CRC so the fuzzer reaches the
// checks behind them), byte 1 = which region of the family (modulo their
// count), then bytes laid over the region's original bytes from its start
// (a short input changes only the region's first bytes; a longer one is cut
// at the region's end).  The region is written into the image (a memfd), a
// fresh read-only Mount reads it through the driver's entry points, and the
// original bytes are put back.
// Thread safety: none; a fuzz target runs one input at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "buffer_cache/buf_ops.h"
#include "fs/mount.h"

namespace xfsfuse::fuzz {

/// The decoder families, one fuzz target each.
enum class Family { kSb, kAg, kInode, kBmbt, kAgBtree, kDaNode, kDir, kAttr, kSymlink, kCount };

/// One piece of metadata in a seed image.
struct Region {
  Family family = Family::kSb;
  std::string what;                      ///< for messages: "dir /leaf dablk 8388608"
  std::vector<std::pair<uint64_t, uint32_t>> pieces;  ///< (image byte offset, bytes), in order
  size_t size = 0;                       ///< bytes over all pieces
  const bc::BufOps* ops = nullptr;       ///< its verifier (header fix-up, verify_read); null: none
  uint64_t owner = 0;                    ///< owner field value (inode number or agno) for the fix-up
  int64_t inode_byte = -1;               ///< inside the inode at this image byte offset: its di_crc is refreshed
  uint64_t walk_ino = 0;                 ///< the inode whose walk reads the region (0: the AG walk)
  std::vector<std::byte> orig;           ///< the region's bytes in the seed image
  uint64_t daddr() const { return pieces.front().first >> 9; }
};

/// One seed image, in a memfd, with its regions.
class SeedImage {
 public:
  /// The seed image with 4 KiB (dir64k false) or 64 KiB directory blocks,
  /// made on first use (mkfs.xfs -p, then xattrs and a bmbt-format file
  /// written through the fs library).  Aborts if it cannot be made.
  static SeedImage& get(bool dir64k);

  const std::string& path() const { return path_; }  ///< "/proc/self/fd/N"
  const fs::Superblock& sb() const { return *sb_; }
  const std::vector<Region>& regions(Family f) const { return regions_[static_cast<size_t>(f)]; }
  /// Every region of every family (the image target mutates these).
  std::vector<const Region*> all_regions() const;

  /// Writes bytes (region.size of them) over region r in the image; fix:
  /// rewrite the header fields and CRC first (see the file comment).
  void write(const Region& r, std::vector<std::byte> bytes, bool fix);
  /// The bytes of region r as the image holds them now.
  std::vector<std::byte> read(const Region& r) const;
  /// Puts back the original bytes of every region written since the last restore.
  void restore();
  /// Opens a fresh Mount of the image (read-only unless writable); null if refused.
  std::unique_ptr<fs::Mount> mount(bool writable = false) const;
  /// A copy of the image as it is now in a new memfd (*fd, the caller's to
  /// close); returns its path.
  std::string copy(int* fd) const;

 private:
  SeedImage() = default;
  void build(bool dir64k);
  void find_regions();
  void add(Region r);
  void add_region(Family f, std::string what, std::vector<std::pair<uint64_t, uint32_t>> pieces, const bc::BufOps* ops,
                  uint64_t owner, int64_t inode_byte = -1, uint64_t walk_ino = 0);
  void pwrite_region(const Region& r, std::span<const std::byte> bytes);

  int fd_ = -1;
  std::string path_;
  std::unique_ptr<fs::Superblock> sb_;
  std::unique_ptr<fs::BufOpsSet> ops_;
  std::vector<Region> regions_[static_cast<size_t>(Family::kCount)];
  std::vector<const Region*> dirty_;
};

/// The block of a region an input describes (see the file comment).
struct BlockInput {
  SeedImage* img = nullptr;
  const Region* region = nullptr;
  bool fix = true;
  std::vector<std::byte> bytes;  ///< region->size bytes
};
/// Parses data as a block input of family f; false if there is no region.
bool parse_block_input(Family f, const uint8_t* data, size_t size, BlockInput* out);

/// Reads inode ino through every entry point its type has: iget; directory
/// iterate, lookups of up to 48 of its names and of a missing one, deep check;
/// file data; symlink target; xattr list, get and deep check.
void walk_inode(fs::Mount& m, uint64_t ino);
/// Walks the tree from the root (walk_inode on every inode it reaches, at
/// most max_children per directory) and statfs.
void walk_tree(fs::Mount& m, size_t max_children);
/// Runs the fsck phases through check_ags (all: every phase and the space
/// map's coverage) and returns the problems it reported (print: each on stdout).
size_t run_fsck(fs::Mount& m, bool all, bool print = false);

/// The read-write check of the image target, for an image fsck found clean:
/// on a copy of img, a read-write mount runs a short sequence of changes
/// (create, mkdir, symlink, setxattr, rename, unlink, in directories and
/// attr forks of every form), unmounts cleanly, and fsck judges the result;
/// a problem there is something the driver wrote wrong: aborts (the fuzzer's
/// crash).  Nothing is judged when the mount refused to write or shut down.
void rw_check(const SeedImage& img);

/// With XFSFUSE_FUZZ_DUMP_SEEDS=DIR in the environment, writes once per
/// process one input per region of family f and image into DIR: the region
/// as the seed image holds it ("dir4k-007": flags, index, bytes).
void dump_seeds(Family f);

/// The standard block target: parse, write the region, run verify_read on
/// its bytes, mount, walk the region's inode (or statfs and the AG phases of
/// fsck), restore.  Always returns 0 (libFuzzer's convention).
int run_block_target(Family f, const uint8_t* data, size_t size);

}  // namespace xfsfuse::fuzz
