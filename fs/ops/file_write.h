// fs/ops/file_write.h — changing a regular file's data and size: write,
// truncate and fallocate, as the kernel's XFS does them.
//
// Data goes straight to the image (Mount::write_data_blocks) while the
// file's transaction holds its inode lock, before the commit that maps it:
// no reader sees a block mapped before its data is there.  A block that was
// a hole or unwritten and is written only in part is written whole, the
// rest zeros.  A size that grows first zeroes the old last block past the
// old size (the kernel's xfs_zero_eof); a size that shrinks zeroes the new
// last block past the new size and unmaps every block after it (post-EOF
// preallocation included), a few extents per transaction as the kernel's
// truncate loop does.  Every change sets mtime and ctime and, when the
// caller is not root (kill_priv), drops S_ISUID, and S_ISGID with group
// execute, as the kernel's file_remove_privs() does for writes, truncates
// and fallocate.
// Files whose extents may be shared (reflink flag) are refused with
// EOPNOTSUPP: copy-on-write does not exist yet.
//
// Errors: EISDIR / EINVAL (not a regular file), EFBIG (past the largest
// offset, 2^63 - 1 bytes), ENOSPC, EOPNOTSUPP, EROFS, EIO, EUCLEAN.
// Thread safety: any thread; each call holds the file's I/O lock
// (CachedInode::iolock) throughout, and its inode lock through each of its
// transactions.
#pragma once

#include <cstddef>
#include <cstdint>

#include "fs/incore_inode.h"

namespace xfsfuse::fs {

class Mount;

/// Largest file size in bytes (the kernel's s_maxbytes on 64-bit hosts).
inline constexpr uint64_t kMaxFileSize = (uint64_t{1} << 63) - 1;

/// Writes len bytes from data at byte off of the regular file ip, growing
/// it as needed.  One transaction: len is at most a FUSE write (a few MiB).
int write_file(Mount& m, const InodeRef& ip, uint64_t off, const std::byte* data, size_t len, bool kill_priv);

/// Sets the size of the regular file ip (truncate up or down).
int truncate_file(Mount& m, const InodeRef& ip, uint64_t size, bool kill_priv);

/// fallocate(2) modes this driver serves (the kernel's values).
enum FallocMode : int {
  kFallocKeepSize = 0x01,   ///< FALLOC_FL_KEEP_SIZE
  kFallocPunchHole = 0x02,  ///< FALLOC_FL_PUNCH_HOLE (with KEEP_SIZE)
  kFallocZeroRange = 0x10,  ///< FALLOC_FL_ZERO_RANGE
};

/// fallocate(2) on the regular file ip: mode 0 or KEEP_SIZE preallocates
/// unwritten extents over the holes of [off, off + len) (growing the size
/// unless KEEP_SIZE); PUNCH_HOLE|KEEP_SIZE zeroes the partial blocks at the
/// edges and unmaps the whole ones; ZERO_RANGE (± KEEP_SIZE) punches, then
/// preallocates the whole blocks.  Other modes: EOPNOTSUPP; PUNCH_HOLE
/// without KEEP_SIZE, or len 0: EINVAL.
int fallocate_file(Mount& m, const InodeRef& ip, int mode, uint64_t off, uint64_t len, bool kill_priv);

}  // namespace xfsfuse::fs
