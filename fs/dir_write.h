// fs/dir_write.h — changing directories inside a transaction: adding,
// removing and re-pointing entries, making a new directory, and asking
// whether one is empty.
//
// Formats handled: short form (in the inode) and block form (one directory
// block, 1 << sb_dirblklog fsblocks, at data-space block 0).  Every change
// lays the directory out as the kernel does for the same operation, so a
// directory changed here is byte for byte what the kernel would have
// written (the block's position on disk, its LSN and CRC aside):
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
//    and the directory goes back to short form when that fits the data fork.
// Not yet: leaf and node forms.  An add that does not fit the block-form
// block fails with ENOSPC (the kernel converts to leaf form there), and
// dir_add / dir_remove / dir_replace on a leaf- or node-form directory fail
// with EOPNOTSUPP.
// Format facts: XFS Algorithms & Data Structures, "Directories";
// docs/format.md "Directories (64 KiB blocks)".
//
// REQUIRES for the changing calls: dp joined to tp (its lock held
// exclusively), a directory.  Lock order: going back to short form frees the
// block, joining its AGF after the directory's block, as the kernel does
// (only holders of dp's lock reach that block, so no one waits the other way).  Errors: ENOSPC (no block, no room), EUCLEAN
// (the directory is corrupt: one log line), EIO, ENOMEM, EOPNOTSUPP.  After
// any error the transaction must be cancelled (a conversion may have begun).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "fs/mount.h"
#include "fs/trans/trans.h"

namespace xfsfuse::fs {

/// Blocks a transaction must reserve before dir_add() or dir_replace() (a
/// short-form directory may become block form): one directory block, and
/// AGFL refills for its allocation.
uint64_t dir_add_reservation(const Superblock& sb);

/// Adds entry name -> ino (ftype: a DirFtype) to directory dp and logs what
/// changed (buffers, dp's core and data fork).
/// REQUIRES: name is 1..255 bytes, not "." or "..", and not in dp (the caller
/// looked it up); tp reserved dir_add_reservation() blocks.
int dir_add(Transaction& tp, CachedInode* dp, std::string_view name, uint64_t ino, uint8_t ftype);

/// Removes entry name from dp; a block-form directory that then fits the data
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

/// Whether dp holds nothing but "." and "..".  Returns 0 with *empty, or
/// dir_iterate()'s errors.
/// REQUIRES: dp's lock held (shared is enough).
int dir_is_empty(Mount& m, const CachedInode& dp, bool* empty);

}  // namespace xfsfuse::fs
