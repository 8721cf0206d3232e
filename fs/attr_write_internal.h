// fs/attr_write_internal.h — the pieces under fs/attr_write.h, one file per
// format as on the read side: attr_fork.cc (creating, sizing and removing
// the attr fork), attr_sf_write.cc (short form), attr_leaf_write.cc (a
// leaf block), attr_remote_write.cc (remote values), and node form (a da
// btree over leaves, fs/da_write.h): attr_node_tree.cc (the fork as the
// tree's owner), attr_leaf_split.cc (leaf splits and joins),
// attr_node_write.cc (set and remove through the tree).
// Not an API: callers outside fs/attr*_write.cc use fs/attr_write.h.
//
// Every function changes the joined inode and buffers of tp and logs them;
// on any error the caller cancels the transaction.  Layouts:
// fs/format/attr.h; rules (the kernel's, checked against kernel-made images
// by tests/fs/attr_write_test.cc): the XFS Algorithms & Data Structures
// document, "Extended Attributes", and docs/format.md.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "buffer_cache/buffer_cache.h"
#include "fs/incore_inode.h"
#include "fs/superblock.h"
#include "fs/trans/trans.h"

namespace xfsfuse::fs::attr {

/// An attribute to store or look up: namespace bits, name without its
/// prefix (1..255 bytes), value, name hash (da_hashname).  incomplete: a
/// lookup matches only entries whose INCOMPLETE flag is this, and an add
/// sets the flag so (the new entry of a node-form replace, until the
/// kernel's xfs_attr3_leaf_flipflags moment).
struct NewAttr {
  uint8_t ns = 0;
  std::string_view name;
  std::span<const std::byte> value;
  uint32_t hash = 0;
  bool incomplete = false;
};

// ---- the attr fork (attr_fork.cc) ----

/// The kernel's xfs_attr_shortform_bytesfit: the di_forkoff (8-byte units)
/// an attr fork of `bytes` bytes of short form would take, given the data
/// fork as it is; 0 if it cannot fit.
int bytesfit(const CachedInode& ip, size_t bytes);
/// The kernel's xfs_bmap_forkoff_reset, when a short-form attr fork turns
/// into an extents fork: di_forkoff goes up to the default offset (196
/// bytes of data fork on 512-byte inodes) if it is below it, unless the
/// data fork is a btree or a device.
int reset_forkoff(Transaction& tp, CachedInode* ip);
/// Gives ip (with no attr fork) an empty extents-format attr fork, its
/// di_forkoff chosen for a first short-form attribute list of sf_size bytes
/// as the kernel's xfs_bmap_add_attrfork chooses it.  Errors: those of
/// bmap_set_forkoff (fs/bmap_write.h).
int add_fork(Transaction& tp, CachedInode* ip, size_t sf_size);
/// Drops ip's (empty) attr fork: di_forkoff 0, di_aformat extents.
int remove_fork(Transaction& tp, CachedInode* ip);

// ---- short form (attr_sf_write.cc) ----

/// Makes the empty attr fork a short-form list holding no entries.
void sf_create(Transaction& tp, CachedInode* ip);
/// Finds ns + name in the short-form list: *off = byte offset of its entry
/// in the fork, *size = its bytes.  REQUIRES: the list passed sf_walk.
bool sf_find(const CachedInode& ip, uint8_t ns, std::string_view name, size_t* off, size_t* size);
/// Appends a to the list and moves di_forkoff as the kernel's
/// xfs_attr_shortform_addname does.  Returns 0, ENOSPC (does not fit short
/// form: nothing changed), or bmap_set_forkoff's errors.
int sf_add(Transaction& tp, CachedInode* ip, const NewAttr& a);
/// Removes the entry at off (size bytes).  The fork goes when the list is
/// empty, the data fork is not a btree and keep_fork is false (a replace
/// keeps it); else di_forkoff is fitted again.
int sf_remove(Transaction& tp, CachedInode* ip, size_t off, size_t size, bool keep_fork);
/// Converts the short-form list to a leaf block at attr fork block 0 (the
/// kernel's xfs_attr_shortform_to_leaf): *leaf = that block, joined.
int sf_to_leaf(Transaction& tp, CachedInode* ip, bc::BufHandle** leaf);

// ---- the leaf block (attr_leaf_write.cc) ----

/// Where ns + name is, or would be inserted, in a leaf (the kernel's
/// xfs_attr3_leaf_lookup_int: after a run of equal hashes).
struct LeafPos {
  bool found = false;
  size_t index = 0;
  bool remote = false;      ///< found, with a remote value
  uint32_t valueblk = 0;    ///< found remote value: first attr fork block
  uint32_t valuelen = 0;    ///< found remote value: bytes
};
/// Looks a up in the leaf block b.  REQUIRES: b passed the leaf checks.
LeafPos leaf_lookup(std::span<const std::byte> b, const NewAttr& a);
/// Reads attr fork block 0 (a leaf, or the da node root of node form) into
/// the transaction.  Returns 0, or read errors.
int leaf_read(Transaction& tp, CachedInode* ip, bc::BufHandle** out);
/// Whether block h is a da node (node form's root) rather than a leaf.
bool is_node(const bc::BufHandle* h);
/// A new empty leaf (the kernel's xfs_attr3_leaf_create) in the attr fork
/// block just mapped at dablk 0.
int leaf_create(Transaction& tp, CachedInode* ip, bc::BufHandle** out);
/// Inserts a at entry index (compacting the block if that makes room).
/// *remote = whether its value goes to remote blocks (the record then
/// holds valueblk 0 and valuelen 0 until leaf_set_remote).  Returns false,
/// changing nothing but a compaction, if the block has no room.
bool leaf_add(Transaction& tp, bc::BufHandle* h, size_t index, const NewAttr& a, bool* remote);
/// Fills in the remote value of entry index.
void leaf_set_remote(Transaction& tp, bc::BufHandle* h, size_t index, uint32_t valueblk, uint32_t valuelen);
/// Removes entry index (the kernel's xfs_attr3_leaf_remove).
void leaf_remove(Transaction& tp, bc::BufHandle* h, size_t index);
/// Sets or clears the INCOMPLETE flag of entry index.
void leaf_set_incomplete(Transaction& tp, bc::BufHandle* h, size_t index, bool incomplete);
/// Writes an empty leaf (the kernel's xfs_attr3_leaf_create) into h, a new
/// zeroed attr fork block of ip joined to tp.
void leaf_init(Transaction& tp, const CachedInode& ip, bc::BufHandle* h);
/// The kernel's xfs_attr_shortform_allfit: -1 (no entries left: drop the
/// fork), 0 (stay a leaf), or the di_forkoff of the short form.
int leaf_allfit(const CachedInode& ip, std::span<const std::byte> b);
/// Converts the leaf back to short form with that di_forkoff, or drops the
/// fork for -1 (the kernel's xfs_attr3_leaf_to_shortform).
int leaf_to_sf(Transaction& tp, CachedInode* ip, bc::BufHandle* h, int forkoff);

// ---- leaf block internals the node form shares (attr_leaf_write.cc;
// leaf_moveents in attr_leaf_split.cc) ----

inline constexpr size_t kLeafMaps = 3;  ///< freemap regions of a leaf header
/// A free region of a leaf: [base, base + size) bytes.
struct FreeMap {
  size_t base = 0, size = 0;
};
/// The leaf header fields a write changes (the kernel's
/// xfs_attr3_icleaf_hdr); firstused 0 on disk reads as the block size.
struct LeafHdr {
  size_t count = 0, usedbytes = 0, firstused = 0;
  uint8_t holes = 0;
  FreeMap map[kLeafMaps];
};
LeafHdr leaf_hdr(std::span<const std::byte> b);
void put_leaf_hdr(std::span<std::byte> b, const LeafHdr& r);
/// Hash of entry i.
uint32_t leaf_hashval(std::span<const std::byte> b, size_t i);
/// Bytes of entry i's name record (xfs_attr_leaf_entsize).
size_t leaf_entsize(std::span<const std::byte> b, size_t i);
/// Record bytes a new attribute takes in a block of blocksize bytes, and
/// whether its value stays local (xfs_attr_leaf_newentsize).
size_t leaf_newentsize(size_t blocksize, const NewAttr& a, bool* local);
/// xfs_attr3_leaf_moveents: moves count entries of s from start_s to d at
/// start_d, their records packed down from d's firstused; d's freemap
/// becomes the one region between its table and firstused; s is marked
/// as having holes (its freemap and firstused are left as they were).
/// REQUIRES: s and d are different blocks.
void leaf_moveents(std::span<std::byte> s, LeafHdr* hs, size_t start_s, std::span<std::byte> d, LeafHdr* hd,
                   size_t start_d, size_t count);
/// xfs_attr3_leaf_compact: every record repacked from the block's end in
/// entry order, one free region left.
void leaf_compact(std::span<std::byte> b, LeafHdr* r);

// ---- node form (attr_node_tree.cc, attr_leaf_split.cc, attr_node_write.cc) ----

/// The kernel's xfs_attr3_leaf_to_node: leaf h (block 0, whose add did not
/// fit) is copied to the first unmapped attr fork block and block 0
/// becomes a level-1 da node over it (its bytes past the node header and
/// first entry left as the leaf had them).
int leaf_to_node(Transaction& tp, CachedInode* ip, bc::BufHandle* h);
/// attr_set / attr_remove on a node-form fork (a da node at block 0):
/// xfs_attr_node_addname (leaf, node and root splits; a replace adds the
/// new entry INCOMPLETE, flips the flags, then removes the old one) and
/// xfs_attr_node_removename (leaf and node joins, root join, then back
/// to short form when one leaf is left and everything fits).  Errors: as
/// fs/attr_write.h.
int node_set(Transaction& tp, CachedInode* ip, const NewAttr& a, unsigned flags);
int node_remove(Transaction& tp, CachedInode* ip, const NewAttr& a);

// ---- remote values (attr_remote_write.cc) ----

/// The lowest attr fork block starting len unmapped blocks, searching from
/// block 0 (the kernel's xfs_bmap_first_unused).
uint64_t first_unused(const std::vector<Extent>& ext, uint64_t len);

/// Attr fork blocks a remote value of valuelen bytes takes.
uint32_t remote_blocks(const Superblock& sb, uint32_t valuelen);
/// Maps remote blocks for value at the first hole of the attr fork that
/// holds them (the kernel's xfs_bmap_first_unused) and writes them, each
/// with its "XARM" header.  *valueblk = the first.
int remote_set(Transaction& tp, CachedInode* ip, std::span<const std::byte> value, uint32_t* valueblk);
/// Unmaps (frees) the remote value of valuelen bytes at valueblk.
int remote_remove(Transaction& tp, CachedInode* ip, uint32_t valueblk, uint32_t valuelen);

}  // namespace xfsfuse::fs::attr
