// fs/symlink.h — symlink targets: inline in the data fork (local format) or
// in remote blocks, each with a v5 header (magic "XSLM", CRC, offset, bytes,
// uuid, owner, blkno).  Format: the XFS Algorithms & Data Structures
// document, "Symbolic Links".
#pragma once

#include <string>

#include "fs/mount.h"

namespace xfsfuse::fs {

/// Reads the target of symlink ip.  Returns 0, EINVAL (not a symlink),
/// EUCLEAN (one log line), EIO, ENOMEM.
int read_symlink(Mount& m, const CachedInode& ip, std::string* target);

}  // namespace xfsfuse::fs
