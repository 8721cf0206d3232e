// fs/dir_check_internal.h — what fs/dir_check.cc (data blocks, entry
// matching, bests and free-index blocks) and fs/dir_check_leaf.cc (the leaf
// space's da btree) share.  Not an API: callers use fs/dir_check.h.
// Units: db = directory data block number (data-space byte offset /
// dirblksize); dablk = fork offset in fsblocks; addresses as leaf entries
// hold them (data-space byte offset >> 3).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "fs/dir_check.h"
#include "fs/dir_internal.h"

namespace xfsfuse::fs::dir {

inline constexpr uint16_t kNullBest = 0xffff;  // bests[] value of a data block that is a hole

/// A (hashval, address) pair from a data entry or a live leaf entry, with
/// where it was found (the daddr of its block).
struct HashAddr {
  uint32_t addr = 0;
  uint32_t hash = 0;
  uint64_t daddr = 0;
};

/// An order-independent digest of a multiset of (address, hashval) pairs:
/// when the data entries' and the live leaf entries' digests are equal, they
/// pair up exactly (but for a 2^-64 chance), so the entries are collected
/// and matched one by one only when the digests differ — a directory of
/// 1,000,000 entries is checked in O(1) memory.
struct PairDigest {
  uint64_t count = 0, sum = 0;
  void add(uint32_t addr, uint32_t hash) {
    uint64_t x = (uint64_t{addr} << 32 | hash) + 0x9e3779b97f4a7c15ull;  // splitmix64's finaliser
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    sum += x ^ (x >> 31);
    count++;
  }
  bool operator==(const PairDigest&) const = default;
};

/// State of one deep check.
struct DeepCheck {
  DeepCheck(Mount& mount, const CachedInode& dir, std::vector<DirFault>* out)
      : m(mount), ip(dir), g(geometry(mount.sb())), faults(out) {}
  Mount& m;
  const CachedInode& ip;
  Geometry g;
  std::vector<DirFault>* faults;
  const std::function<void(const DirEntry&)>* list = nullptr;  ///< gets every data entry (may be empty)
  size_t dropped = 0;  ///< faults beyond kMaxDirFaults

  /// Per data block below the last one: bestfree[0] length, or kHole / kUnread.
  static constexpr int32_t kHole = -1, kUnread = -2;
  std::vector<int32_t> best;
  std::vector<uint64_t> data_daddr;  ///< per data block (0 for holes)
  PairDigest data_digest;            ///< every data entry
  PairDigest leaf_digest;            ///< every live leaf entry
  std::vector<uint32_t> leaf_dablks;  ///< leaf blocks whose entries went into leaf_digest
  bool leaf_complete = true;         ///< every leaf block was read
  bool have_leaf1 = false;           ///< leaf form: the LEAF1 block was read
  uint64_t leaf1_daddr = 0;
  std::vector<uint16_t> leaf1_bests;  ///< its bests[bestcount]

  /// Records one finding (repair_silent: see DirFault).
  void fault(uint64_t daddr, std::string why, bool repair_silent = false);
  /// The daddr of fork block dablk's first fsblock (where a block that failed
  /// to read lives), or the inode's daddr when dablk is not mapped.
  uint64_t block_daddr(uint64_t dablk) const;
};

/// Walks the leaf space's da btree from its root (leaf_magic: kDir3Leaf1Magic
/// for leaf form, kDir3LeafnMagic for node form): node keys, levels, leaf order
/// and sibling links; fills c->leaf_digest and c->leaf_dablks, and for
/// leaf form c->leaf1_bests.
void check_leaf_space(DeepCheck* c, uint16_t leaf_magic);

/// Appends the live entries of the leaf blocks c->leaf_dablks to *out.
void collect_leaf_entries(DeepCheck* c, uint16_t leaf_magic, std::vector<HashAddr>* out);

}  // namespace xfsfuse::fs::dir
