// btree/da_check.h — a da btree walked whole by a checker (a directory's
// leaf space, an attr fork), every node and leaf read once, with what only
// shows across blocks judged on the way (each block's own structure is its
// DaBufOps's, checked when it is read):
//   - a child's level is its parent's minus one (leaves 0), a node's level in
//     1..kDaNodeMaxDepth-1 and its count in 1..what the block holds;
//   - each node entry's hashval is the largest hash of its child's subtree
//     (a leaf's last entry, 0 for an empty leaf, as the kernel takes it);
//   - the leaves, in tree order, run in hash order;
//   - the blocks of each level (leaves, and nodes of each level) are linked
//     in tree order by forw/back, the first back and the last forw 0;
//   - no block is reached twice (a corrupt image can make a cycle).
// The owner supplies the reads, judges its leaves, and words the findings'
// block names.  Recursion depth is bounded by the node levels, which
// strictly decrease; no block is held while another is read (as
// da_btree.cc).  Format: XFS Algorithms & Data Structures, "Directory and
// Attribute Block Headers".  Thread safety: a pure function over the
// owner's callbacks.
#pragma once

#include <cstdint>
#include <functional>
#include <set>
#include <string>

#include "buffer_cache/buffer_cache.h"

namespace xfsfuse::btree {

/// What the walk keeps of a leaf the owner judged usable.
struct DaLeafSummary {
  size_t count = 0;              ///< entries
  uint32_t first = 0, last = 0;  ///< hashvals of the first and last entries (0 when empty)
};

/// The tree's owner, as the walk needs it.
struct DaCheckOwner {
  uint32_t root = 0;        ///< dablk of the root (a node, or the lone leaf)
  uint16_t leaf_magic = 0;  ///< the magic every leaf of this tree has
  /// Whether the root must be a leaf (a leaf-form directory's LEAF1).
  bool root_is_leaf = false;
  /// Whether the back pointer of a level's first node is a repair_silent
  /// finding (a directory's: xfs_repair -n 6.1 passes it; an attr fork's
  /// counts).
  bool first_node_back_silent = false;
  /// A block's name in findings, e.g. "leaf-space block 0x800000", and a
  /// dablk as findings print it (hex or decimal).
  std::string block_word;
  std::function<std::string(uint32_t dablk)> number;
  /// Reads the block at dablk verified.  Returns 0, ENOENT (hole), EUCLEAN
  /// (its checks failed), or another errno.
  std::function<int(uint32_t dablk, bc::BufHandle* out)> read;
  /// The daddr of dablk's first fsblock, for a block that failed to read.
  std::function<uint64_t(uint32_t dablk)> block_daddr;
  /// Empty if a node may point at child, else the rest of the finding after
  /// "node entry I " (e.g. "points at block 0x3, outside the leaf space").
  std::function<std::string(uint32_t child)> child_fault;
  /// Judges a leaf (leaf_magic; verified by the read) and fills *out.
  /// Returns false if its entries cannot be used (the owner reported why).
  std::function<bool(const bc::BufHandle& h, uint32_t dablk, DaLeafSummary* out)> leaf;
  /// Records one finding about the block at daddr.
  std::function<void(uint64_t daddr, std::string why, bool repair_silent)> fault;
};

/// What a walk saw.
struct DaCheckResult {
  /// Every block was read and judged usable: the sibling chains and the
  /// leaves' hash order were checked too (they are not otherwise).
  bool complete = false;
  std::set<uint32_t> blocks;  ///< every dablk the walk reached
};

/// Walks the tree of o from its root (see the file comment).
DaCheckResult da_check_walk(const DaCheckOwner& o);

}  // namespace xfsfuse::btree
