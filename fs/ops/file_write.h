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
// truncate loop does.  Every change sets mtime and ctime.
// Taking away privileges (set-id bits, a file capability) is the caller's,
// as it is the VFS's for the kernel's XFS: under FUSE the kernel does it
// (file_remove_privs(), with the writer's capabilities, which FUSE does not
// pass) before it sends the write, the size change or the fallocate, with
// a SETATTR of the mode and a REMOVEXATTR — xfsfuse never asks for
// FUSE_HANDLE_KILLPRIV (fs/fuse/fuse_fs.cc).  All but one case: the
// kernel's FUSE layer recomputes that mode change with the older rule
// (set-group-ID only with group execute), while the VFS, and so the
// kernel's XFS, also takes set-group-ID without group execute from a
// writer outside the file's group (setattr_should_drop_sgid(); measured on
// Linux 6.18, tests/rw/cases/kill-priv.sh).  Given the writer, these
// functions take that one bit themselves, in the change's transaction
// (uid 0 stands for CAP_FSETID).
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
#include "fs/ops/cred.h"

namespace xfsfuse::fs {

class Mount;

/// Largest file size in bytes (the kernel's s_maxbytes on 64-bit hosts).
inline constexpr uint64_t kMaxFileSize = (uint64_t{1} << 63) - 1;

/// Writes len bytes from data at byte off of the regular file ip, growing
/// it as needed.  One transaction: len is at most a FUSE write (a few MiB).
/// writer: the caller, for the set-group-ID rule above (nullptr: none).
int write_file(Mount& m, const InodeRef& ip, uint64_t off, const std::byte* data, size_t len,
               const Cred* writer = nullptr);

/// Sets the size of the regular file ip (truncate up or down); writer as
/// for write_file.
int truncate_file(Mount& m, const InodeRef& ip, uint64_t size, const Cred* writer = nullptr);

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
/// without KEEP_SIZE, or len 0: EINVAL.  writer as for write_file.
int fallocate_file(Mount& m, const InodeRef& ip, int mode, uint64_t off, uint64_t len,
                   const Cred* writer = nullptr);

}  // namespace xfsfuse::fs
