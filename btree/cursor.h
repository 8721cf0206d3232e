// btree/cursor.h — one writable cursor for the v5 short-form AG btrees
// (bnobt, cntbt, inobt, finobt) and the long-form bmbt.
//
// Concept as libxfs's generic btree: a cursor holds the path from the root to
// a leaf record (one block per level, with the entry index at each level),
// and lookup / increment / decrement move it; update, insert and remove edit
// the tree, splitting, merging and re-rooting blocks as needed.  Per-tree
// facts (magic, record and key layout, key order) sit in tree_ops.h.
//
// Shapes (btree/layout.h): blocks are one fsblock; leaves hold records,
// nodes hold keys and then, after room for maxrecs keys, pointers.  An AG
// tree's root is a block named by the AGF / AGI; the bmbt's root lives in
// the inode fork (xd_bmdr_block, level >= 1), which the caller owns and hands
// in as a span of the fork's size (its capacity: (bytes - 4) / 16 keys).
//
// Balance policy: every non-root block keeps at least minrecs = maxrecs / 2
// entries.  Insert into a full non-root block first moves one entry to a
// sibling under the same parent that has room (its first entry to the left
// sibling, else its last to the right one, as XFS's lshift / rshift), and
// only then splits it in two halves; a full AG root splits and a new root is made above it; a
// full inode root moves its entries into a new child block and the root, one
// level higher, holds one key / pointer to it.  Remove from a block that
// falls below minrecs first merges it with a sibling under the same parent
// when both fit in one block, else moves entries from that sibling so both
// halves are even; the parent loses an entry on a merge, recursively.  An AG
// root node left with one child is freed and the child becomes the root; an
// inode root with one child node whose entries fit in the root takes them
// back (the child is freed).  The sole child of an inode root is exempt from
// minrecs; a level-1 inode root with a single leaf stays (even with an
// empty leaf): turning the fork back into extents format, or an extents fork
// into a btree (bmbt_init_root), is the bmap code's choice.
//
// I/O, allocation and logging belong to the caller through BtreeHost; the
// cursor formats new block headers (magic, level, numrecs, NULL siblings,
// blkno = daddr, uuid, owner, LSN 0; the CRC is computed at write-back by the
// verifier).  Errors: positive errno values; EUCLEAN for a structurally bad
// block (wrong level, numrecs over maxrecs, a pointer reached twice, sibling
// links that disagree with the parent), with one log line naming the tree,
// the block's daddr and why.  An error in the middle of a modifying call
// (EUCLEAN, ENOSPC from the allocator, EIO) leaves the tree partly changed:
// the caller must cancel its transaction (blocks for splits are meant to be
// reserved beforehand, as XFS does).
//
// Thread safety: a cursor is single-threaded, and the caller serializes all
// cursors of one tree (per AG: the AGF / AGI lock; per inode: the inode
// lock).  The cursor holds its path's buffers locked exclusive from a lookup
// until release() or destruction; other code (including other cursors of the
// same tree, and btree walkers) must not get those blocks meanwhile.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "btree/tree_ops.h"
#include "buffer_cache/buffer_cache.h"

namespace xfsfuse::btree {

enum class LookupMode : uint8_t {
  kLe,  ///< the last record whose key is <= the search key
  kGe,  ///< the first record whose key is >= the search key
  kEq,  ///< the record whose key equals the search key
};

/// What a cursor needs from its owner: block I/O, allocation, logging, and
/// where the root lives.  Subclass it (later: the transaction's version).
/// Single-threaded, as the cursors using it.
class BtreeHost {
 public:
  /// Blocks of kind's tree, blocksize bytes each, live in cache; owner is
  /// the agno (AG trees) or the inode number (bmbt); uuid is the
  /// filesystem's metadata uuid, stamped into new headers.
  BtreeHost(bc::BufferCache* cache, BtreeKind kind, uint32_t blocksize, uint64_t owner, const bc::Uuid& uuid)
      : cache_(cache), kind_(kind), blocksize_(blocksize), owner_(owner), uuid_(uuid) {}
  virtual ~BtreeHost() = default;

  /// 512-byte sector of the block a pointer names (agbno for AG trees, fsblock for the bmbt).
  virtual uint64_t daddr_of(uint64_t ptr) const = 0;
  /// Allocates one block for the tree, near the block `near` (a pointer of
  /// the tree, a hint).  Returns 0 with *ptr, or ENOSPC (or another errno).
  virtual int alloc_block(uint64_t near, uint64_t* ptr) = 0;
  /// Gives back a block the tree no longer uses.  Returns 0 or an errno.
  /// The block's buffer may still be cached (the caller invalidates it).
  virtual int free_block(uint64_t ptr) = 0;
  /// Gets the block at ptr exclusive, verified with the tree's BufOps
  /// (tree_buf_ops) and its owner checked.  Returns 0 or the cache's errno.
  virtual int read_block(uint64_t ptr, bc::BufHandle* out);
  /// Gets a just-allocated block at ptr exclusive without reading it (the
  /// cursor writes its whole header).  Returns 0 or the cache's errno.  The
  /// default meets the cache's rule for a block still cached from an earlier
  /// life under other BufOps (say a bnobt block freed to the AGFL and taken
  /// by the cntbt): EUCLEAN, until the cache can invalidate freed blocks.
  virtual int new_block(uint64_t ptr, bc::BufHandle* out);
  /// Records that bytes [off, off + len) of an exclusively held block changed.
  /// Default: BufferCache::mark_dirty (which cannot fail for such a range).
  virtual void log(bc::BufHandle& h, size_t off, size_t len);
  /// Bmbt: bytes [off, off + len) of the inode-fork root changed (the caller
  /// logs the inode).  Default: nothing.
  virtual void log_iroot(size_t off, size_t len) {}
  /// AG trees: the root moved to ptr and the tree is now levels high (the
  /// caller updates the AGF / AGI).  Default: nothing.
  virtual void set_root(uint64_t ptr, unsigned levels) {}
  /// Trees with TreeOps::lastrec (the cntbt): the tree's last record changed
  /// to rec (record-size bytes), or the tree became empty (rec null); the
  /// caller keeps agf_longest.  Default: nothing.
  virtual void lastrec_changed(const std::byte* rec) {}

  bc::BufferCache* cache() const { return cache_; }
  BtreeKind kind() const { return kind_; }
  uint32_t blocksize() const { return blocksize_; }
  uint64_t owner() const { return owner_; }
  const bc::Uuid& uuid() const { return uuid_; }

 private:
  bc::BufferCache* const cache_;
  const BtreeKind kind_;
  const uint32_t blocksize_;
  const uint64_t owner_;
  const bc::Uuid uuid_;
};

/// Gets the newly allocated block ptr through host.new_block and writes a
/// fresh header for a block of host's tree at level (numrecs 0, NULL
/// siblings), logging it.  Returns 0 or new_block's errno.  AG trees start
/// as one empty root leaf made this way.
int init_block(BtreeHost& host, uint64_t ptr, unsigned level, bc::BufHandle* out);

/// Builds a bmbt of one leaf: allocates the leaf (near `near`), writes recs
/// (whole records, in key order, at most a leaf's maxrecs) into it, and
/// makes iroot (the fork's bytes) a level-1 root with one key / pointer.
/// Returns 0, EINVAL (too many records or a fork too small), or the host's
/// errno.  The bmap code calls it when an extents fork becomes a btree.
int bmbt_init_root(BtreeHost& host, std::span<std::byte> iroot, std::span<const std::byte> recs, uint64_t near);

class BtreeCursor {
 public:
  /// A cursor over the AG tree (host.kind() not kBmbt) rooted at agbno root,
  /// levels high (>= 1).
  BtreeCursor(BtreeHost* host, uint64_t root, unsigned levels);
  /// A cursor over the bmbt whose root is the inode fork iroot (level >= 1).
  /// The span must stay valid (and the fork's size fixed) while the cursor lives.
  BtreeCursor(BtreeHost* host, std::span<std::byte> iroot);
  ~BtreeCursor() { release(); }
  BtreeCursor(const BtreeCursor&) = delete;
  BtreeCursor& operator=(const BtreeCursor&) = delete;

  /// Positions the cursor for key (see LookupMode).  *found tells whether
  /// it sits on such a record; when not, a kEq or kGe cursor sits where a
  /// record of that key would be inserted, a kLe one before the first record.
  int lookup(const BtreeKey& key, LookupMode mode, bool* found);
  /// Moves to the next (previous) record.  *found is false at the end (start).
  int increment(bool* found);
  int decrement(bool* found);
  /// The current record (TreeOps::layout.rec bytes), or an empty span when
  /// the cursor is not on one.  Valid until the cursor moves.
  std::span<const std::byte> record() const;
  /// Overwrites the current record with rec (same size).  Its key may change
  /// only within its neighbours' keys (EINVAL otherwise; delete and insert
  /// to move a record); parent keys follow a leaf's changed first key.
  /// EINVAL also when not on a record.
  int update(std::span<const std::byte> rec);
  /// Inserts rec where its key belongs and leaves the cursor on it.
  /// Returns 0, EEXIST (a record with that key exists; the cursor sits on
  /// it), or an errno.
  int insert(std::span<const std::byte> rec);
  /// Deletes the current record; the cursor then sits on the record after it
  /// (*found false when there is none).  EINVAL when not on a record.
  int remove(bool* found);
  /// Lets go of every held buffer; the next move must be a lookup.
  void release();
  /// Whether the leaf the cursor is in is the tree's last (no right
  /// sibling); false when not positioned.  The kernel's NEAR allocation
  /// scans that leaf whole when its cntbt lookup lands in it.
  bool in_last_leaf();
  /// Moves to the first record of the leaf the cursor is in; *found false
  /// when the leaf is empty or the cursor not positioned.
  void to_leaf_start(bool* found);

  unsigned levels() const { return levels_; }
  /// The root's pointer (AG trees; unused for the bmbt).
  uint64_t root() const { return root_; }
  const TreeOps& ops() const { return ops_; }

 private:
  static constexpr uint64_t kNullPtr = ~uint64_t{0};  // sib(): NULLAGBLOCK / NULLFSBLOCK
  struct Level {
    bc::BufHandle h;  // empty for the inode root
    uint64_t ptr = 0;
    int idx = 0;      // entry index; a leaf's may be -1 or numrecs (off a record)
  };
  // One block being edited: a path block, a sibling, a new block or the inode root.
  struct Blk {
    std::byte* p = nullptr;
    size_t size = 0;
    unsigned level = 0;
    bc::BufHandle* h = nullptr;  // null for the inode root
  };

  // cursor.cc: blocks and entries
  bool inode_root(unsigned level) const { return !iroot_.empty() && level + 1 == levels_; }
  Blk at(unsigned level);
  Blk wrap(bc::BufHandle& h, unsigned level);
  const BlockLayout& layout(const Blk& b) const;
  uint32_t numrecs(const Blk& b) const;
  void set_numrecs(Blk& b, uint32_t n);
  uint32_t maxrecs(const Blk& b) const;
  uint32_t minrecs(unsigned level) const;
  uint64_t sib(const Blk& b, bool right) const;
  void set_sib(Blk& b, bool right, uint64_t ptr);
  uint64_t ptr_at(const Blk& b, uint32_t i) const;
  BtreeKey key_at(const Blk& b, uint32_t i) const;
  // Writes block b's first key (disk form) into out (layout.key bytes).
  void first_key(const Blk& b, std::byte* out) const;
  size_t entry_bytes(const Blk& b) const;
  // Copies cnt entries (records, or keys and pointers) from src[si] to dst[di]
  // (overlap allowed within one block) and logs them.
  void copy_entries(Blk& dst, uint32_t di, const Blk& src, uint32_t si, uint32_t cnt);
  // Writes a key/pointer pair (node) or a record (leaf, key unused) at i.
  void put_entry(Blk& b, uint32_t i, const std::byte* key_or_rec, uint64_t ptr);
  void log(const Blk& b, size_t off, size_t len);
  // Reads the block at ptr expected at level, checking it; EUCLEAN logged.
  // corrupt() logs one line for the block at daddr (0: the inode root).
  int read(uint64_t ptr, unsigned level, bc::BufHandle* out);
  int corrupt(uint64_t daddr, const std::string& why) const;
  // Makes path_[level] hold the block at ptr (reusing a held handle).
  int load(unsigned level, uint64_t ptr);
  // Fills the path below level down to the leaf, taking the first (or last) entries.
  int descend_edge(unsigned level, bool last);
  // Keys of the blocks above level follow block level's first key.
  void fix_keys(unsigned level);
  // Parent key i takes its child's first key (no further up).
  void set_key(Blk& parent, uint32_t i, const Blk& child);
  // The key of the current leaf's left (right) neighbour leaf's nearest
  // record; *have false at the tree's edge.
  int neighbour_key(bool right, BtreeKey* key, bool* have);
  // The cntbt hook: tells the host the tree's last record.
  int report_lastrec();

  // cursor_insert.cc: entry is a record (leaf) or a key with ptr (node).
  int insert_at(unsigned level, uint32_t idx, const std::byte* entry, uint64_t ptr);
  // Inserts into a block with room.
  void insert_into(Blk& b, uint32_t idx, const std::byte* entry, uint64_t ptr);
  // Moves one entry of the full block at level to a same-parent sibling
  // with room (lshift / rshift); *idx follows.  *moved tells whether it did.
  int shift(unsigned level, uint32_t* idx, bool* moved);
  int split_insert(unsigned level, uint32_t idx, const std::byte* entry, uint64_t ptr);
  // Allocates and formats a block at level, refusing a block the path holds.
  int alloc(uint64_t near, unsigned level, uint64_t* ptr, bc::BufHandle* h);
  int new_root();
  int new_iroot();

  // cursor_delete.cc
  int remove_at(unsigned level, uint32_t idx);
  int rebalance(unsigned level);
  int collapse_root();

  const TreeOps& ops_;
  BtreeHost* const host_;
  const uint32_t blocksize_;
  const std::span<std::byte> iroot_;
  uint64_t root_ = 0;
  unsigned levels_ = 0;
  std::vector<Level> path_;  // path_[0] is the leaf
  bool positioned_ = false;
  bool split_ = false;  // insert: a block split since the lookup
};

}  // namespace xfsfuse::btree
