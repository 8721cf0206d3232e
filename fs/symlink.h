// fs/symlink.h — symlink targets: inline in the data fork (local format) or
// in remote blocks, each contiguous run of them with a v5 header (magic
// "XSLM", CRC, offset, bytes, uuid, owner, blkno).  Format: the XFS
// Algorithms & Data Structures document, "Symbolic Links", and the kernel
// image's remote symlinks (images/README.md).  A remote block without the
// header, as mkfs.xfs -p 6.1 writes it, is corrupt here as in the kernel.
// Thread safety: any thread; the in-core inode is immutable.
#pragma once

#include <string>

#include "fs/mount.h"

namespace xfsfuse::fs {

/// Reads the target of symlink ip (di_size bytes, 1..1024, no NUL) into
/// *target.  Returns 0, EINVAL (not a symlink), EUCLEAN (one log line: a
/// size out of range or larger than the inline fork, a hole or unwritten
/// extent under the target, a header that fails its checks or whose offset
/// and bytes do not match di_size, a NUL in the target), EIO, ENOMEM.
int read_symlink(Mount& m, const CachedInode& ip, std::string* target);

}  // namespace xfsfuse::fs
