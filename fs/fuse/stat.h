// fs/fuse/stat.h — struct stat as the kernel's XFS fills it (xfs_vn_getattr).
//
// Every field comes from the inode core: st_ino = the XFS inode number,
// st_mode = di_mode, st_nlink, st_uid, st_gid, st_size = di_size (for
// directories and symlinks too), st_blocks = di_nblocks in 512-byte units
// (the kernel adds delayed-allocation blocks, never any on a read-only
// image), st_blksize = max(page size, block size) (xfs_stat_blksize without
// the largeio mount option), atime/mtime/ctime to the nanosecond, st_rdev for
// device nodes.  st_dev is left 0: FUSE reports its own.
// Thread safety: pure functions.
#pragma once

#include <sys/stat.h>

#include <cstdint>

#include "fs/mount.h"

namespace xfsfuse::fuse {

/// Splits a device number as XFS stores it in a device inode's data fork (a
/// 32-bit big-endian value, already converted to host order): major = dev >>
/// 18, minor = dev & 0x3ffff (sysv_major / sysv_minor in the kernel's XFS).
/// Returns makedev(major, minor).
dev_t decode_rdev(uint32_t dev);

/// Fills *st for inode ip of a filesystem with superblock sb (see the file
/// comment for each field).
void fill_stat(const fs::Superblock& sb, const fs::CachedInode& ip, struct stat* st);

}  // namespace xfsfuse::fuse
