// btree/da_btree.h — the generic da btree under directories and xattrs.
//
// A da btree maps 32-bit name hashes to leaf blocks.  Every block starts with
// an xd_da3_blkinfo (forw/back sibling dablks, a 16-bit magic at byte 8, then
// the v5 self-describing fields: CRC, blkno, lsn, uuid, owner inode).  Node
// blocks (magic 0x3ebe) hold an xd_da3_node_hdr (count, level >= 1) and
// `count` (hashval, before) entries sorted by hashval, where hashval is the
// largest hash in the subtree at fork block `before`; a level-1 node points
// at leaves.  Leaves have the tree owner's magic: 0x3df1 (dir LEAF1, the
// lone leaf of a leaf-form directory), 0x3dff (dir LEAFN), 0x3bee (attr
// leaf); their entries are the owner's business.  The root sits at fork
// block 0 for attrs and at the leaf-space offset (32 GiB >> blocklog) for
// directories; it may itself be a leaf.  Equal hashes may run across leaves,
// which is why a lookup lands on the FIRST leaf that can hold a hash and the
// caller walks on through forw (da_next_leaf).
// Format: the XFS Algorithms & Data Structures document, "Directory and
// Attribute Block Headers" and "Variable Length Record B+trees"; the node
// depth limit is XFS_DA_NODE_MAXDEPTH (5).
//
// Checking is split in two.  Each block's own structure is checked once, when
// the buffer cache reads it, by a DaBufOps (header fields and CRC, then node
// count/level/hash order, then the owner's leaf check); a failure there is
// logged by the buffer cache.  What only shows across blocks (a child's level
// one below its parent, a leaf where a node must be, sibling back pointers, a
// child that is a hole) is checked here while walking, and reported through
// DaTree::report (one log line), which also returns EUCLEAN.  The walk also
// re-checks each node's count against its block size (O(1)), so a DaTree
// whose read verifies with other ops cannot make it read out of bounds.
// Units: dablks are fork offsets in fsblocks; daddrs are 512-byte sectors.
// Thread safety: pure functions over the caller's callbacks; DaBufOps is
// immutable and shared.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "buffer_cache/buffer_cache.h"
#include "fs/format/magic.h"

namespace xfsfuse::btree {

inline constexpr unsigned kDaNodeMaxDepth = 5;  ///< levels, root included (XFS_DA_NODE_MAXDEPTH)
inline constexpr size_t kDaNodeHdrSize = 64;    ///< sizeof(xd_da3_node_hdr); entries follow
inline constexpr size_t kDaNodeEntrySize = 8;   ///< sizeof(xd_da_node_entry)

/// Checks a da node block's own structure: 1 <= level < kDaNodeMaxDepth,
/// 1 <= count <= (block size - 64) / 8, hashvals non-decreasing.  block is
/// the whole block and must have the node magic.  Returns true, or false with
/// a short reason in *why.
bool da_node_check(std::span<const std::byte> block, std::string* why);

/// The verifier for one da btree's blocks (dir leaf space, or an attr fork):
/// xd_da3_blkinfo header (16-bit magic at byte 8: the node magic or one of
/// leaf_magics; CRC at byte 12 over the whole block; blkno at 16 = the
/// block's daddr; uuid at 32; owner inode at 48), then da_node_check() for
/// nodes, or leaf_check (if non-null) for leaves.  A child's type is only
/// known once it is read, so one ops object accepts every block of the tree.
class DaBufOps : public bc::HeaderBufOps {
 public:
  /// Checks a leaf block (any of leaf_magics) whose header already passed.
  /// Returns true, or false with a short reason in *why.
  using LeafCheck = bool (*)(std::span<const std::byte> block, std::string* why);
  DaBufOps(std::string name, std::vector<uint16_t> leaf_magics, LeafCheck leaf_check);
  bool verify_read(const bc::VerifyInput& in, std::string* why) const override;

 private:
  LeafCheck leaf_check_;
};

/// One da btree as its owner (a directory or an attr fork) sees it.
struct DaTree {
  uint32_t root = 0;        ///< dablk of the root block
  uint16_t leaf_magic = 0;  ///< the magic every leaf of this tree must have
  /// Reads the block at dablk (verified by the tree's DaBufOps) into *out.
  /// Returns 0, ENOENT for a hole, or another errno (EUCLEAN already logged).
  std::function<int(uint32_t dablk, bc::BufHandle* out)> read;
  /// Logs one line "corrupt block at daddr: why" and returns EUCLEAN.
  std::function<int(uint64_t daddr, const std::string& why)> report;
};

/// A leaf reached by a walk: its buffer (held shared) and fork block.
struct DaLeaf {
  bc::BufHandle buf;
  uint32_t dablk = 0;
};

/// Descends from the root to the first leaf whose hash range can hold
/// hashval: in each node, the first entry with hashval >= the key (the last
/// entry if none).  Returns 0 with *out, ENOENT if the root is a hole (the
/// owner decides whether that is corrupt), EUCLEAN (reported: a child's level
/// is not its parent's minus one, a leaf with the wrong magic, a child that
/// is a hole, a node count beyond its block), or the read's errno.
int da_lookup_leaf(const DaTree& t, uint32_t hashval, DaLeaf* out);

/// Descends through every node's first entry to the leftmost leaf.  Returns
/// as da_lookup_leaf().
int da_first_leaf(const DaTree& t, DaLeaf* out);

/// Replaces *leaf by its right sibling (forw), checking that the sibling is a
/// leaf of this tree whose back pointer names leaf->dablk.  Returns 0,
/// ENOENT if leaf is the last one (forw 0; *leaf untouched), EUCLEAN
/// (reported, or logged by the read), or the read's errno.  A corrupt image
/// can link siblings into a cycle: callers bound their walk (for example by
/// the number of blocks the fork maps).  The current leaf is released
/// before the sibling is read, so after an error other than ENOENT leaf->buf
/// is empty.
int da_next_leaf(const DaTree& t, DaLeaf* leaf);

}  // namespace xfsfuse::btree
