// fs/symlink_write.h — writing a symlink's target, the write side
// of fs/symlink.h, as the kernel's xfs_symlink does it.
//
// A target of at most the data fork's size (336 bytes with 512-byte inodes
// and no attr fork) goes inline: a local-format data fork holding exactly
// the target's bytes.  A longer one goes to remote blocks: symlink_blocks()
// fsblocks from file offset 0, mapped through the bmap (fs/bmap_write.h), and
// each contiguous extent written as one buffer that starts with a v5 header
// (magic "XSLM", sl_offset = where in the target its bytes begin, sl_bytes =
// how many it holds, uuid, owner = the symlink's inode, blkno = the extent's
// daddr; CRC and LSN at write-back) followed by those bytes, the rest zero.
// An extent of two blocks is one buffer with one header (its CRC covers both
// blocks).  di_size = the target's length.  Checked against kernel-made
// symlinks of 1, 60, 300, 336, 337 and 1023 bytes with 4 KiB blocks and 968,
// 969 and 1023 bytes with 1 KiB blocks (tests/fs/symlink_create_test.cc;
// docs/format.md "Symlinks").
// Thread safety: as the transaction.
#pragma once

#include <cstdint>
#include <string_view>

#include "fs/superblock.h"
#include "fs/trans/trans.h"

namespace xfsfuse::fs {

/// Longest target the kernel's XFS creates: 1023 bytes (it refuses a target
/// of XFS_SYMLINK_MAXLEN = 1024 bytes or more with ENAMETOOLONG; readers
/// accept 1024).
inline constexpr size_t kSymlinkTargetMax = 1023;

/// Remote blocks a target of len bytes takes: ceil(len / (blocksize - 56)).
uint32_t symlink_blocks(const Superblock& sb, size_t len);

/// Blocks a transaction must reserve to write a target of len bytes
/// (remote blocks, bmbt and AGFL needs; 0 for an inline target).
uint64_t symlink_target_reservation(const Superblock& sb, size_t len);

/// Writes target (1..kSymlinkTargetMax bytes, no NUL) into the new symlink
/// ip: inline or in remote blocks as above; sets di_size and logs the inode.
/// REQUIRES: ip joined to tp, a symlink with an extents-format data fork
/// holding no extents, symlink_target_reservation() blocks reserved.
/// Errors: bmap_write()'s (ENOSPC, EAGAIN, EUCLEAN, EIO), EBUSY/EIO/ENOMEM
/// from the new buffers; after an error the transaction must be cancelled.
int symlink_write_target(Transaction& tp, CachedInode* ip, std::string_view target);

/// Moves inline symlink ip's target to a remote block (the kernel's
/// xfs_symlink_local_to_remote, when an attr fork takes the room it held).
/// REQUIRES: ip joined to tp, local format; symlink_target_reservation()
/// blocks reserved.  Errors: symlink_write_target()'s.
int symlink_local_to_remote(Transaction& tp, CachedInode* ip);

}  // namespace xfsfuse::fs
