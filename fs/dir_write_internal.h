// fs/dir_write_internal.h — what the directory write files share:
// dir_data_write.cc (free space of a data or block-form block, edited as the
// kernel edits it), dir_sf_write.cc (short form), dir_block_write.cc (block
// form), dir_leaf_write.cc (leaf form), dir_leaf_convert.cc (block <-> leaf),
// dir_node_write.cc (node form), dir_node_convert.cc (leaf <-> node),
// dir_alloc.cc (directory blocks in the data fork) and the dispatcher
// dir_write.cc.  Not an API: callers use fs/dir_write.h.
// Format facts: XFS Algorithms & Data Structures, "Directories";
// docs/format.md "Directories (64 KiB blocks)" ("bestfree, leaves and bests").
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "fs/da_write.h"
#include "fs/dir_internal.h"
#include "fs/dir_write.h"

namespace xfsfuse::fs::dir {

/// Allocates the fsblocks of the directory block at fork block dablk (1 <<
/// sb_dirblklog of them; contiguous if free space allows, else in up to that
/// many extents, near the inode) through bmap_write (fs/bmap_write.h: the
/// extent list, the bmbt and core nextents / nblocks follow) and returns the
/// block's disk ranges in *maps.  Takes the blocks from tp's reservation.
/// Returns 0, ENOSPC, EAGAIN (retry the whole change), EUCLEAN, EIO.
int dir_alloc_block(Transaction& tp, CachedInode* dp, uint64_t dablk, std::vector<bc::DiskRange>* maps);

/// Frees the directory block at fork block dablk (the inverse of
/// dir_alloc_block): its extents leave dp's fork, its buffer h (joined to tp)
/// is never written again.  Returns 0, EAGAIN, EUCLEAN, EIO.
int dir_free_block(Transaction& tp, CachedInode* dp, uint64_t dablk, bc::BufHandle* h);

/// A directory data or block-form block being changed in tp.  The free-space
/// calls keep bestfree exactly as the kernel keeps it: a region that stays
/// in the table is moved within it, one that leaves it or grows past its
/// last slot marks the table for a rescan (scan_if_needed), and a rescan
/// inserts the regions in offset order on strictly greater length.  Every
/// change is logged in tp.
class DataBlockEdit {
 public:
  static constexpr size_t kBestfreeOff = 48;  ///< xd_dir3_data_hdr.best_free
  /// h: the joined buffer; ino: the directory (for log lines).
  DataBlockEdit(Transaction& tp, bc::BufHandle* h, uint64_t ino);
  std::byte* data() { return h_->data(); }
  size_t size() const { return h_->size(); }
  uint16_t u16(size_t off) const { return static_cast<uint16_t>(bc::load_be(h_->data() + off, 2)); }
  uint32_t u32(size_t off) const { return static_cast<uint32_t>(bc::load_be(h_->data() + off, 4)); }
  /// Stores v (n bytes, big-endian) at off and logs it.
  void put(size_t off, unsigned n, uint64_t v);
  void log(size_t off, size_t len) { tp_.log_buf(h_, off, len); }

  /// Block form: the tail's count and stale, and where the leaf starts.
  uint32_t count() const { return u32(size() - 8); }
  uint32_t stale() const { return u32(size() - 4); }
  size_t leaf_off() const { return size() - 8 - size_t{count()} * 8; }
  /// Where the entries end: the leaf (block form) or the block's end (data).
  size_t end() const { return block_form_ ? leaf_off() : size(); }

  /// Takes [off, off + len) out of the free region at region.  Returns 0 or
  /// EUCLEAN (logged) when region is not a free region holding that range.
  int use_free(size_t region, size_t off, size_t len);
  /// Makes [off, off + len) free, merged with free neighbours.  Returns 0 or
  /// EUCLEAN (logged) for a bestfree table that does not match the regions.
  int make_free(size_t off, size_t len);
  /// Writes a free region of len bytes at off and offers it to bestfree (the
  /// holes of a block built from a short-form directory).
  void add_hole(size_t off, size_t len);
  /// Clears bestfree (every free region taken back by the caller).
  void clear_bestfree();
  /// Turns the block into a data block (kDir3DataMagic) or block form's
  /// block (kDir3BlockMagic) in place: the magic, the buffer's verifier, and
  /// where the entries end (block form: the tail must be written before the
  /// next call that needs end()).
  void set_magic(uint32_t magic);
  /// Rebuilds bestfree if a change above asked for it.
  void scan_if_needed();
  /// Writes a used entry at off (inumber, namelen, name, ftype, tag); bytes of
  /// padding keep what they held, as the kernel leaves them.
  void write_entry(size_t off, uint64_t ino, std::string_view name, uint8_t ftype);

  /// bestfree slot i (0..2): the region's offset (0: unused slot) and length.
  uint16_t best_off(int i) const { return u16(kBestfreeOff + 4 * i); }
  uint16_t best_len(int i) const { return u16(kBestfreeOff + 4 * i + 2); }
  /// A free region's length (REQUIRES: one starts at off).
  uint16_t free_len(size_t off) const { return u16(off + 2); }
  bool is_free(size_t off) const { return u16(off) == kFreeTag; }
  int corrupt(const std::string& why);

 private:
  struct Bestfree {
    uint16_t off[3], len[3];
  };
  Bestfree load_bf() const;
  void store_bf(const Bestfree& bf);
  static int find_bf(const Bestfree& bf, size_t off, size_t len);
  static int insert_bf(Bestfree& bf, size_t off, size_t len);
  static void remove_bf(Bestfree& bf, int slot);
  void put_free(size_t off, size_t len);

  Transaction& tp_;
  bc::BufHandle* h_;
  uint64_t ino_;
  bool block_form_;
  bool needscan_ = false;
};

/// Block-form operations (dir_block_write.cc).  REQUIRES: dp in block form.
/// An add that does not fit the block converts dp to leaf form
/// (block_to_leaf) and adds there.
int block_add(Transaction& tp, CachedInode* dp, std::string_view name, uint64_t ino, uint8_t ftype);
int block_remove(Transaction& tp, CachedInode* dp, std::string_view name);
int block_replace(Transaction& tp, CachedInode* dp, std::string_view name, uint64_t ino, uint8_t ftype);
/// Makes block-form dp short form if what its block e (buffer h) holds fits
/// the data fork (its block freed); else leaves it.  Returns 0 or errors.
int block_maybe_to_sf(Transaction& tp, CachedInode* dp, DataBlockEdit& e, bc::BufHandle* h);

/// Reads directory block dablk of dp into tp, verified with ops (the leaf
/// space's ops accept a LEAF1, a LEAFN or a da node: the caller checks which).
/// Returns 0, EUCLEAN (logged: a hole, or a block that is not what ops
/// expect), EIO.
int read_dir_block(Transaction& tp, CachedInode* dp, uint64_t dablk, const bc::BufOps* ops, bc::BufHandle** h);

/// Leaf-form operations (dir_leaf_write.cc), as the kernel's
/// xfs_dir2_leaf_addname / removename / replace.  REQUIRES: dp in leaf form.
/// leaf_add converts dp to node form where the kernel does (the LEAF1 block
/// has no room for the leaf entry, and for one more best when a data block
/// must be added, and at most one entry is stale) and adds there.
/// leaf_remove frees a data block it empties and converts dp back to block
/// form (and on to short form) when leaf_to_block allows.
int leaf_add(Transaction& tp, CachedInode* dp, std::string_view name, uint64_t ino, uint8_t ftype);
int leaf_remove(Transaction& tp, CachedInode* dp, std::string_view name);
int leaf_replace(Transaction& tp, CachedInode* dp, std::string_view name, uint64_t ino, uint8_t ftype);

/// Conversions between block and leaf form (dir_leaf_convert.cc).
/// block_to_leaf: block form's block (joined buffer blk) becomes data block
/// 0, its leaf entries (stale ones too) move to a new LEAF1 block at the
/// start of the leaf space with bests[0] = the data block's longest free
/// region (xfs_dir2_block_to_leaf).
int block_to_leaf(Transaction& tp, CachedInode* dp, bc::BufHandle* blk);
/// leaf_to_block: if only data block 0 remains (trailing empty data blocks
/// freed first) and its last region is free and holds the live leaf entries
/// and a block tail, dp becomes block form (the LEAF1 block leaf freed) and
/// then short form if that fits (xfs_dir2_leaf_to_block).  Otherwise
/// nothing changes.
int leaf_to_block(Transaction& tp, CachedInode* dp, bc::BufHandle* leaf);
/// Frees data block db of a leaf-form dp (buffer h joined) and sets di_size
/// as the kernel's xfs_dir2_shrink_inode: when db was the highest data
/// block, the end of the highest data block still mapped.
int free_data_block(Transaction& tp, CachedInode* dp, uint64_t db, bc::BufHandle* h);

/// A LEAF1 block being changed in tp: header (count, stale), entries
/// (hashval, address) from byte 64, and at its end bests[bestcount] (be16;
/// 0xffff for a data block that is not there) before the be32 bestcount.
/// Bytes between the entries and bests keep whatever they held, as the
/// kernel leaves them.
class LeafEdit {
 public:
  static constexpr uint16_t kNoBlock = 0xffff;  ///< a best of a missing data block (NULLDATAOFF)
  LeafEdit(Transaction& tp, bc::BufHandle* h) : tp_(tp), h_(h) {}
  bc::BufHandle* buf() { return h_; }
  size_t size() const { return h_->size(); }
  uint32_t count() const { return get(56, 2); }
  uint32_t stale() const { return get(58, 2); }
  void set_count(uint32_t n) { put(56, 2, n); }
  void set_stale(uint32_t n) { put(58, 2, n); }
  static size_t ent_off(size_t i) { return kLeafHdrSize + 8 * i; }
  uint32_t hash(size_t i) const { return get(ent_off(i), 4); }
  uint32_t addr(size_t i) const { return get(ent_off(i) + 4, 4); }
  uint32_t bestcount() const { return get(size() - 4, 4); }
  size_t bests_off() const { return size() - 4 - 2 * size_t{bestcount()}; }
  uint16_t best(size_t db) const { return static_cast<uint16_t>(get(bests_off() + 2 * db, 2)); }
  void set_best(size_t db, uint16_t v) { put(bests_off() + 2 * db, 2, v); }
  /// The first entry index whose hash is >= hash.
  size_t lower_bound(uint32_t hash) const;
  /// Moves n bytes within the block (memmove) and logs where they land.
  void move(size_t to, size_t from, size_t n);
  void put(size_t off, unsigned n, uint64_t v);
  void log(size_t off, size_t len) { tp_.log_buf(h_, off, len); }
  uint64_t get(size_t off, unsigned n) const { return bc::load_be(h_->data() + off, n); }

 private:
  Transaction& tp_;
  bc::BufHandle* h_;
};

/// Leaf-entry and data-block steps shared by leaf and node forms
/// (dir_leaf_write.cc), as the kernel's xfs_dir3_leaf_compact_x1,
/// xfs_dir3_leaf_find_entry, xfs_bmap_first_unused and xfs_dir3_data_init.
/// compact_leaf squeezes out every stale entry of l but the one nearest
/// *index (the lower on a tie), *index following the entries; *low / *high
/// name the kept stale entry on its side (the other -1 or count).
void compact_leaf(LeafEdit& l, ptrdiff_t* index, ptrdiff_t* low, ptrdiff_t* high);
/// Inserts leaf entry (hash, addr) at index: moved up without stale entries,
/// else into the nearer stale entry (compacted: low / high from
/// compact_leaf, else searched here).
void insert_leaf_entry(LeafEdit& l, ptrdiff_t index, bool compacted, ptrdiff_t low, ptrdiff_t high, uint32_t hash,
                       uint32_t addr);
/// The data block a new data block goes to: the lowest one whose fork
/// blocks are all unmapped.
uint64_t first_unmapped_db(const CachedInode& dp, const Geometry& g);
/// Maps data block db of dp and makes it an empty XDD3 block (one free
/// region), di_size growing to its end.  Returns dir_alloc_block's errors.
int new_data_block(Transaction& tp, CachedInode* dp, uint64_t db, bc::BufHandle** h);

/// A free-index block (XDF3) of a node-form directory being read or changed
/// in tp: the 48-byte v5 header, be32 firstdb (the first data block it
/// covers), nvalid (bests in use), nused (bests not 0xffff), pad; be16
/// bests[] from byte 64.  Changes are logged.
struct FreeEdit {
  static constexpr size_t kHdrSize = 64, kFirstdbOff = 48, kNvalidOff = 52, kNusedOff = 56;
  Transaction& tp;
  bc::BufHandle* h = nullptr;
  uint32_t get(size_t off) const { return static_cast<uint32_t>(bc::load_be(h->data() + off, 4)); }
  void put(size_t off, uint32_t v);
  uint32_t firstdb() const { return get(kFirstdbOff); }
  uint32_t nvalid() const { return get(kNvalidOff); }
  uint32_t nused() const { return get(kNusedOff); }
  uint16_t best(size_t i) const { return static_cast<uint16_t>(bc::load_be(h->data() + kHdrSize + 2 * i, 2)); }
  void set_best(size_t i, uint16_t v);
};
/// Bests one free-index block holds: (blksize - 64) / 2.
inline uint32_t free_max_bests(const Geometry& g) { return (g.blksize - FreeEdit::kHdrSize) / 2; }
/// Whether fork block dablk of dp is mapped.
bool dablk_mapped(const CachedInode& dp, uint64_t dablk);
/// Reads free-index block fdb (counted from the start of the free space)
/// into f, its header checked against its place.  Returns 0, EUCLEAN
/// (logged), EIO.
int read_free_block(Transaction& tp, CachedInode* dp, uint64_t fdb, FreeEdit* f);
/// Maps free-index block fdb where the kernel's xfs_dir2_grow_inode puts
/// it (the first unmapped free-space block: EUCLEAN unless that is fdb's
/// place) and writes its header (firstdb; nvalid, nused 0).
int new_free_block(Transaction& tp, CachedInode* dp, uint64_t fdb, FreeEdit* f);

/// Node form (dir_node_write.cc; the leaf space as a da btree in
/// dir_node_tree.cc; conversions in dir_node_convert.cc).
/// leaf_to_node: LEAF1 block leaf (joined) becomes a LEAFN in place (magic
/// only) and a new free-index block at the start of the free space takes
/// its bests (xfs_dir2_leaf_to_node).
int leaf_to_node(Transaction& tp, CachedInode* dp, bc::BufHandle* leaf);
/// node_to_leaf: after a node-form removal, if the leaf space is the one
/// LEAFN leaf (joined) and it fits a LEAF1 with free-index block 0's bests
/// (empty trailing free-index blocks freed first), the stale entries are
/// squeezed out, the bests and bestcount written at its end, the magic made
/// LEAF1 and the free-index block freed; then leaf_to_block
/// (xfs_dir2_node_to_leaf).  Otherwise nothing changes.  REQUIRES: the
/// removal's path ended at the root (one level, or joined up to it).
int node_to_leaf(Transaction& tp, CachedInode* dp, bc::BufHandle* leaf);
/// A name's leaf entry (index in its leaf) and data entry (block, buffer).
struct FoundEntry {
  size_t index = 0;
  uint64_t db = 0;
  bc::BufHandle* data = nullptr;
  DataEntry de;
};
/// Finds name's entries from leaf block l (LEAF1 or LEAFN; structure names
/// it in log lines): the first live leaf entry of its hash whose data entry
/// has the name (xfs_dir2_leaf_lookup_int, xfs_dir2_leafn_lookup_for_entry).
/// max_db: data blocks the leaf may point into.  Returns 0, ENOENT, EUCLEAN
/// (logged), EIO.
int find_leaf_entry(Transaction& tp, CachedInode* dp, LeafEdit& l, std::string_view name, uint64_t max_db,
                    const char* structure, FoundEntry* f);
/// Squeezes every stale entry out of l (xfs_dir3_leaf_compact); entries
/// past the new count keep their bytes.
void compact_all(LeafEdit& l);

/// The leaf space of a node-form directory as a da btree's owner
/// (dir_node_tree.cc): LEAFN leaves (header, then count (hash, address)
/// entries, no bests), split, merged and ordered as the kernel's
/// xfs_dir2_leafn_* do.  pending_* is the leaf entry an add is making,
/// which a split inserts.
class LeafSpace final : public da::Owner {
 public:
  LeafSpace(Transaction& tp, CachedInode* dp);
  da::Tree tree;
  uint32_t pending_hash = 0, pending_addr = 0;

  uint32_t root() const override { return static_cast<uint32_t>(g_.leaf_dablk); }
  uint16_t leaf_magic() const override { return kDir3LeafnMagic; }
  uint32_t block_size() const override { return g_.blksize; }
  int read(uint32_t dablk, bc::BufHandle** h) override;
  int grow(uint32_t* dablk, bc::BufHandle** h) override;
  int shrink(uint32_t dablk, bc::BufHandle* h) override;
  uint32_t leaf_lasthash(bc::BufHandle* h, int* count) const override;
  size_t leaf_used(bc::BufHandle* h) const override;
  bool leaf_order(bc::BufHandle* a, bc::BufHandle* b) const override;
  int leaf_split(da::Tree& t, da::PathBlk* old, da::PathBlk* added) override;
  int leaf_toosmall(da::Tree& t, int* action) override;
  void leaf_unbalance(da::Tree& t, da::PathBlk* drop, da::PathBlk* save) override;
  int corrupt(uint64_t daddr, const std::string& why) override;
  /// Leaf entries a LEAFN holds: (block size - 64) / 8.
  size_t max_ents() const { return (g_.blksize - kLeafHdrSize) / 8; }

 private:
  Transaction& tp_;
  CachedInode* dp_;
  Geometry g_;
};

/// xfs_dir2_leafn_add: inserts leaf entry (hash, addr) at index of LEAFN
/// l, squeezing out stale entries first when l is full and more than one is
/// stale.  ENOSPC, nothing changed, when l is full without stale entries.
int leafn_add(LeafEdit& l, size_t max_ents, ptrdiff_t index, uint32_t hash, uint32_t addr);

/// node_add: xfs_dir2_node_addname: the data entry first (a data block
/// with room found through the leaf entries of the name's hash, then the
/// free-index blocks, else a new one), then the leaf entry, splitting the
/// leaf (and the nodes above, and the root) when it is full.
/// node_remove / node_replace: xfs_dir2_node_removename (a data block
/// emptied is freed, its best dropped, a free-index block left without
/// bests freed; a leaf left under 37% full joins a sibling, up the tree;
/// then node_to_leaf) / xfs_dir2_node_replace.
int node_add(Transaction& tp, CachedInode* dp, std::string_view name, uint64_t ino, uint8_t ftype);
int node_remove(Transaction& tp, CachedInode* dp, std::string_view name);
int node_replace(Transaction& tp, CachedInode* dp, std::string_view name, uint64_t ino, uint8_t ftype);

/// Short-form operations (dir_sf_write.cc).  REQUIRES: dp in short form.
int sf_add(Transaction& tp, CachedInode* dp, std::string_view name, uint64_t ino, uint8_t ftype);
int sf_remove(Transaction& tp, CachedInode* dp, std::string_view name);
int sf_replace(Transaction& tp, CachedInode* dp, std::string_view name, uint64_t ino, uint8_t ftype);

/// A short-form directory as values: what sf_encode() writes.
struct SfDir {
  uint64_t parent = 0;
  struct Ent {
    uint32_t off = 0;
    std::string name;
    uint64_t ino = 0;
    uint8_t ftype = 0;
  };
  std::vector<Ent> ents;
  /// Bytes the short form takes: header, then namelen, offset, name, ftype
  /// and 4- or 8-byte inumber per entry (8 when any inumber, the parent's
  /// included, needs more than 32 bits).
  size_t size() const;
};

/// Makes dp's data fork the short-form directory d (format local, di_size)
/// and logs dp.  The fork's bytes past d keep what they held.
void sf_encode(Transaction& tp, CachedInode* dp, const SfDir& d);

}  // namespace xfsfuse::fs::dir
