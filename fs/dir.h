// fs/dir.h — directories in every v5 format: short form (in the inode),
// block, leaf and node (da btree of any depth).
//
// Cookies: dir_iterate() hands every entry a `next` cookie, an opaque
// non-zero value that resumes iteration right after that entry (FUSE
// readdir offsets).  Cookies come from the entry's place in the directory's
// data space, so they stay valid across calls and across cache evictions:
// an entry at data-space byte offset D (data block number * dirblksize +
// offset in the block) of entsize bytes gets next = (D + entsize) >> 3, and
// iterating from cookie c yields exactly the entries with D >= c * 8.  D >> 3
// is the unit of the kernel's getdents offsets and of xfs_db's `ls`.
// Short-form entries carry the D they would have in a data block; "." and
// ".." are at D = 64 and 80 (cookies 10 and 12 resume after them).
// Cookie 0 starts at the beginning; "." and ".." come first in every format.
// Format facts: the XFS Algorithms & Data Structures document, chapters
// "Directories" and "Directory and Attribute Block Headers", and
// docs/format.md "Directories (64 KiB blocks)".
// Errors: EUCLEAN (one log line via Mount::report_corruption or the buffer
// cache), EIO, ENOMEM; ENOTDIR if the inode is not a directory.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

#include "fs/mount.h"

namespace xfsfuse::fs {

/// di_mode-style file types stored in ftype (XFS_DIR3_FT_*).
enum DirFtype : uint8_t {
  kFtUnknown = 0, kFtReg = 1, kFtDir = 2, kFtChrdev = 3, kFtBlkdev = 4, kFtFifo = 5, kFtSock = 6, kFtSymlink = 7,
};

struct DirEntry {
  std::string_view name;  ///< valid only during the callback
  uint64_t ino = 0;
  uint8_t ftype = kFtUnknown;
  uint64_t next = 0;      ///< cookie that resumes after this entry (never 0)
};

/// The XFS directory/attr name hash (da btree hashval).
uint32_t da_hashname(std::string_view name);

/// Calls fn for every entry from cookie on, in order, until fn returns false
/// or the directory ends.  The entry for which fn returns false counts as not
/// taken: resume from the `next` of the last entry fn accepted.  Returns 0 or
/// an errno (entries already passed to fn stay passed).
int dir_iterate(Mount& m, const CachedInode& dir, uint64_t cookie, const std::function<bool(const DirEntry&)>& fn);

/// Looks name up ("." and ".." included).  Returns 0 with *ino (and *ftype
/// if non-null), ENOENT, ENAMETOOLONG (> 255 bytes), or an errno.
int dir_lookup(Mount& m, const CachedInode& dir, std::string_view name, uint64_t* ino, uint8_t* ftype = nullptr);

}  // namespace xfsfuse::fs
