// fs/da_write.h — changing a da btree (the hashed btree under node-form
// directories, and later under node-form xattrs) inside a transaction: the
// path from the root to a leaf, moving it to a sibling, hash fix-ups up the
// path, and the kernel's split and join of leaves and nodes at any depth,
// with the root split and root join that change the tree's height.
//
// Format (btree/da_btree.h has the read side): every block starts with an
// xd_da3_blkinfo (forw, back sibling dablks at bytes 0 and 4, the 16-bit
// magic at 8, blkno at 16, uuid at 32, owner at 48); a node (magic 0x3ebe)
// has count at 56, level at 58 (leaves are level 0) and (hashval, before)
// entries from byte 64, hashval being the largest hash below before.  The
// root stays at its fork block (the leaf-space start for directories):
// splitting it copies it elsewhere and makes it a node one level higher;
// joining copies its only child back into it.  XFS Algorithms & Data
// Structures, "Variable Length Record B+trees"; docs/format.md "Directory
// node form with more than one leaf".
//
// What the kernel does, and so what is done here (xfs_da3_split /
// xfs_da3_join are the models, their choices decide the bytes):
//  - split: the leaf splits (the owner's Owner::leaf_split: a new leaf at the
//    first unmapped block from the root on, entries moved, linked after
//    the old one, the pending entry added; an attr leaf may split twice,
//    see extrablk); each node above takes the new child's entry (and the
//    extra leaf's) after the old child's, splitting when full (the upper
//    half of its entries to a new node linked after it), up to the root,
//    which splits by moving; hashes are fixed up the path at every level.
//  - join, after a removal left a leaf below the owner's threshold: the
//    owner's toosmall picks the sibling to merge with (or none), its
//    unbalance moves the entries, the dropped block is unlinked and freed
//    and its parent loses its entry; a node at or under half full merges
//    the same way with a sibling that leaves a quarter free; a root node
//    left with one child takes that child's contents.
// Units: dablks are fork offsets in fsblocks; a block is the owner's
// directory (or attr) block size.  Errors: positive errno; EUCLEAN with one
// log line naming the block's daddr.  A failed change leaves the
// transaction to be cancelled (blocks for splits are reserved before).
// Thread safety: one Tree per transaction, under the inode's lock.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "btree/da_btree.h"
#include "fs/trans/trans.h"

namespace xfsfuse::fs::da {

inline constexpr int kMaxDepth = static_cast<int>(btree::kDaNodeMaxDepth);
inline constexpr size_t kForwOff = 0, kBackOff = 4, kMagicOff = 8, kBlknoOff = 16, kUuidOff = 32, kOwnerOff = 48;
inline constexpr size_t kNodeCountOff = 56, kNodeLevelOff = 58, kNodeHdrSize = 64;

/// One block of a path from the root.
struct PathBlk {
  bc::BufHandle* h = nullptr;  ///< joined to the transaction
  uint32_t dablk = 0;
  int index = 0;          ///< node: the entry the path goes through; leaf: the owner's entry index
  uint32_t hashval = 0;   ///< the block's last hash
  bool node = false;
};

/// A root-to-leaf path: blk[0] is the root, blk[active - 1] the leaf.
struct Path {
  std::array<PathBlk, kMaxDepth> blk{};
  int active = 0;
  PathBlk& leaf() { return blk[static_cast<size_t>(active - 1)]; }
};

class Tree;

/// What a tree's owner provides: its fork's blocks, and everything about
/// its leaves (their format is the owner's).
class Owner {
 public:
  virtual ~Owner() = default;
  virtual uint32_t root() const = 0;
  virtual uint16_t leaf_magic() const = 0;
  /// Bytes of a node block (the directory or attr block size).
  virtual uint32_t block_size() const = 0;
  /// Reads the block at dablk into the transaction (verified as a node or
  /// leaf of this tree).  Returns 0, EUCLEAN (a hole too), EIO.
  virtual int read(uint32_t dablk, bc::BufHandle** h) = 0;
  /// Maps a new block at the first unmapped block from root() on (the
  /// kernel's xfs_da_grow_inode) and gets it zero-filled and joined.
  virtual int grow(uint32_t* dablk, bc::BufHandle** h) = 0;
  /// Unmaps block dablk (buffer h, joined): never written again.
  virtual int shrink(uint32_t dablk, bc::BufHandle* h) = 0;
  /// The last hash of leaf h, and its entry count (0: *count 0, hash 0).
  virtual uint32_t leaf_lasthash(bc::BufHandle* h, int* count) const = 0;
  /// Bytes of leaf h a root split copies (header and entries).
  virtual size_t leaf_used(bc::BufHandle* h) const = 0;
  /// Whether leaf b belongs before leaf a (the kernel's *_order).
  virtual bool leaf_order(bc::BufHandle* a, bc::BufHandle* b) const = 0;
  /// Splits t's path leaf `old` with a new leaf `added` (grow, move entries,
  /// t.link, add the pending entry), setting both hashvals.
  virtual int leaf_split(Tree& t, PathBlk* old, PathBlk* added) = 0;
  /// After a removal from t's path leaf: 0 leave it, 1 merge (t.path's
  /// leaf is dropped into t.altpath's), 2 drop it empty.
  virtual int leaf_toosmall(Tree& t, int* action) = 0;
  /// Moves every entry of leaf drop into leaf save; sets both hashvals.
  virtual void leaf_unbalance(Tree& t, PathBlk* drop, PathBlk* save) = 0;
  /// Logs one corruption line about the block at daddr; returns EUCLEAN.
  virtual int corrupt(uint64_t daddr, const std::string& why) = 0;
};

/// One change to one da btree.
class Tree {
 public:
  Tree(Transaction& t, Owner& o, uint64_t ino, const bc::Uuid& uuid) : tp(t), owner(o), ino_(ino), uuid_(uuid) {}

  /// Fills path from the root down to the first leaf whose hash range can
  /// hold hash (each node: the first entry with hashval >= hash, else the
  /// last; xfs_da3_node_lookup_int).  The leaf's index is left 0.
  int lookup(uint32_t hash);
  /// Moves p's leaf to its right (forward) or left sibling, the nodes above
  /// following; *moved false (p unchanged) at the tree's edge.
  int path_shift(Path* p, bool forward, bool* moved);
  /// Makes every parent's entry on p carry its child's last hash, as far
  /// up as one changes.
  void fixhashpath(Path* p);
  /// After the owner's add found path's leaf full: splits up the path.
  int split();
  /// After a removal left path's leaf small: joins up the path.
  int join();
  /// Links block added after (or, by the owner's order, before) old.
  int link(PathBlk* old, PathBlk* added);
  /// The merge half of the kernel's toosmall checks, for path's bottom
  /// block: its sibling with the lower dablk is tried first, then the
  /// other; the first that fits (the caller's test of the sibling's
  /// buffer) is merged with, the lower-numbered of the two kept: path then
  /// names the block to drop, altpath the block to keep, and *merge is
  /// true.  *merge false when neither fits.
  int pick_merge(const std::function<bool(bc::BufHandle*)>& fits, bool* merge);

  uint32_t node_count(bc::BufHandle* h) const { return get(h, kNodeCountOff, 2); }
  uint32_t node_hash(bc::BufHandle* h, size_t i) const { return get(h, kNodeHdrSize + 8 * i, 4); }
  uint32_t node_before(bc::BufHandle* h, size_t i) const { return get(h, kNodeHdrSize + 8 * i + 4, 4); }
  uint32_t node_max() const { return (owner.block_size() - static_cast<uint32_t>(kNodeHdrSize)) / 8; }
  static uint32_t get(bc::BufHandle* h, size_t off, unsigned n);
  void put(bc::BufHandle* h, size_t off, unsigned n, uint32_t v);
  /// Writes a v5 block header (blkno, uuid, owner; forw/back 0) with magic.
  void init_header(bc::BufHandle* h, uint16_t magic);

  Transaction& tp;
  Owner& owner;
  Path path, altpath;
  bool inleaf = false;  ///< set by a leaf split: the pending entry goes to the old leaf
  /// An attr leaf split twice (its pending entry fitting neither half: the
  /// kernel's "double split"): the second new leaf, which the node above
  /// takes as a second entry, after (extraafter) or before the first new
  /// leaf's (xfs_da3_node_split's useextra).  Set by the owner's leaf_split.
  PathBlk extrablk;
  bool extravalid = false, extraafter = false;

 private:
  int read_level(Path* p, int level, uint32_t dablk, bool forward);
  int node_split(PathBlk* old, PathBlk* added, PathBlk* child, int level, bool* split);
  void node_rebalance(PathBlk* b1, PathBlk* b2);
  void node_add(PathBlk* b, const PathBlk* child);
  void node_remove(PathBlk* b);
  int node_toosmall(int* action);
  void node_unbalance(PathBlk* drop, PathBlk* save);
  int root_split(PathBlk* b1, PathBlk* b2);
  int root_join(PathBlk* root);
  int unlink(PathBlk* drop, PathBlk* save);
  void move_node_ents(bc::BufHandle* h, size_t to, size_t from, size_t n);

  uint64_t ino_;
  bc::Uuid uuid_;
};

}  // namespace xfsfuse::fs::da
