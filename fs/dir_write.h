// fs/dir_write.h — changing directories inside a transaction: adding,
// removing and re-pointing entries, making a new directory, and asking
// whether one is empty.
//
// Formats handled: short form (in the inode), block form (one directory
// block, 1 << sb_dirblklog fsblocks, at data-space block 0), leaf form
// (data blocks from data-space block 0 and one LEAF1 block at the start of
// the leaf space) and node form with one leaf (a LEAFN block there, and
// free-index blocks from the start of the free space).  Every change lays the directory out as the kernel does
// for the same operation, so a directory changed here is byte for byte what
// the kernel would have written (the blocks' positions on disk, their LSN
// and CRC aside):
//  - short form: a new entry goes after the last one (its offset right after
//    the last entry's data-block place), or into the first gap of offsets
//    that holds it when it would not fit the end of a block or the inode
//    numbers grow to 8 bytes; i8count follows (4-byte <-> 8-byte inode
//    numbers, the parent's included); a directory that no longer fits the
//    data fork becomes block form, keeping every entry's offset;
//  - block form: the entry goes into the longest free region (the one before
//    the leaf, when there are no stale leaf entries and it holds the entry
//    and a leaf entry), bestfree kept as the kernel keeps it, the leaf entry
//    at its hash's place (reusing the nearest stale entry; squeezing the
//    stale entries out when there is no room); a removal frees the entry's
//    region (merged with free neighbours) and marks its leaf entry stale,
//    and the directory goes back to short form when that fits the data fork;
//    an add that fits nowhere makes the directory leaf form (the block
//    becomes data block 0, its leaf entries move to a new LEAF1 block);
//  - leaf form: the data block is chosen through the bests table (a new one
//    mapped at the lowest free data-space block when none has room), the
//    leaf entry inserted in hash order with the kernel's stale-entry reuse
//    and squeezing; a removal marks the leaf entry stale, frees a data block
//    it empties (trimming bests), and goes back to block form (and on to
//    short form) when only data block 0 is left and its last free region
//    holds the live leaf entries and the block tail.
//  - node form, so far with one LEAFN leaf block (no da node): a leaf-form
//    add whose leaf entry does not fit the LEAF1 block makes the directory
//    node form (a free-index block takes the bests, the LEAF1 becomes a
//    LEAFN); adds choose the data block through the leaf entries of the
//    name's hash, then the free-index blocks from the highest best down; a
//    removal frees a data block it empties and goes back to leaf form (and
//    on) when the live leaf entries and bests fit a LEAF1 block.
// Not yet: more than one leaf.  A node-form add that finds the LEAFN full
// without stale entries (the kernel splits it: xfs_da3_split) fails with
// ENOSPC, and any change to a directory whose leaf space starts with a da
// node fails with EOPNOTSUPP, in both cases with nothing changed.
// Format facts: XFS Algorithms & Data Structures, "Directories";
// docs/format.md "Directories (64 KiB blocks)" (leaf and node form as the
// kernel writes them).
//
// REQUIRES for the changing calls: dp joined to tp (its lock held
// exclusively), a directory.  Lock order: the directory's blocks (LEAF1
// first) and the AGFs of blocks mapped or freed are joined in the order the
// kernel's steps take them, a directory block sometimes after an AGF; that
// cannot deadlock, since only holders of dp's lock reach dp's blocks.
// Errors: ENOSPC (no block, no room), EUCLEAN (the directory is corrupt: one
// log line), EIO, ENOMEM, EOPNOTSUPP, EAGAIN (a block's AGF was busy: cancel
// and retry).  After any error the transaction must be cancelled (a
// conversion may have begun).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "fs/mount.h"
#include "fs/trans/trans.h"

namespace xfsfuse::fs {

/// Blocks a transaction reserves before dir_add() or dir_replace() (or a
/// rename's mix), as the kernel (XFS_DIRENTER_SPACE_RES): a new block for
/// every level of the leaf space's da btree, a data and a free-index block,
/// and the bmbt blocks under them.  With less free space the kernel's link,
/// rename and remove go on with no reservation (fs/ops: a name that needs no
/// new block still succeeds; one that does fails ENOSPC, changing nothing).
uint64_t dir_add_reservation(const Superblock& sb);
/// Blocks a transaction reserves before dir_remove() (the kernel's
/// XFS_DIRREMOVE_SPACE_RES): the bmbt blocks that unmapping a directory
/// block at each of those places may need.
uint64_t dir_remove_reservation(const Superblock& sb);

/// Adds entry name -> ino (ftype: a DirFtype) to directory dp and logs what
/// changed (buffers, dp's core and data fork).
/// REQUIRES: name is 1..255 bytes, not "." or "..", and not in dp (the caller
/// looked it up); tp reserved dir_add_reservation() blocks.
int dir_add(Transaction& tp, CachedInode* dp, std::string_view name, uint64_t ino, uint8_t ftype);

/// Removes entry name from dp; a node-form directory may free a data block
/// and go back to leaf form, a leaf-form one may free a data block and go
/// back to block form, a block-form directory that then fits the data
/// fork goes back to short form (its block freed).
/// REQUIRES: name is in dp and is not "." or "..".
int dir_remove(Transaction& tp, CachedInode* dp, std::string_view name);

/// Points the existing entry name at ino / ftype (rename over an entry; the
/// parent of a moved directory: name "..", whose ftype is always directory).
/// A short-form directory whose entries must grow to 8-byte inode numbers
/// and no longer fit becomes block form, as in dir_add.
/// REQUIRES: name is in dp, not "."; tp reserved dir_add_reservation() blocks.
int dir_replace(Transaction& tp, CachedInode* dp, std::string_view name, uint64_t ino, uint8_t ftype);

/// Makes the data fork of the new directory dp an empty short-form directory
/// whose parent is parent_ino (format local, di_size the header's, i8count 1
/// when parent_ino needs 8 bytes) and logs dp.
/// REQUIRES: dp joined to tp, its data fork holding no blocks.
void dir_init(Transaction& tp, CachedInode* dp, uint64_t parent_ino);

/// Makes short-form dp block form, entries unchanged (the kernel's
/// xfs_dir2_sf_to_block, which it also runs when an attr fork takes the
/// room the short form held).  REQUIRES: dp joined to tp, short form; a
/// directory block's bmap_write_reservation() reserved.
int dir_sf_to_block(Transaction& tp, CachedInode* dp);

/// Whether dp holds nothing but "." and "..".  Returns 0 with *empty, or
/// dir_iterate()'s errors.
/// REQUIRES: dp's lock held (shared is enough).
int dir_is_empty(Mount& m, const CachedInode& dp, bool* empty);

}  // namespace xfsfuse::fs
