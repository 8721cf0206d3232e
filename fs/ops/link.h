// fs/ops/link.h — link(2): a new name for an existing inode, one
// transaction, as the kernel's vfs_link and xfs_link make it.
//
// The parent dp and the inode ip are joined in ascending inode-number order
// (as fs/ops/remove.cc does: when ip comes first, dp is only tried and the
// call retried, so a link never waits for a directory while holding an
// inode a creation under that directory may be initialising).  Checks, in
// the kernel's order: ENAMETOOLONG (a name over 255 bytes); ENOTDIR (dp not
// a directory); EACCES (no search permission on dp); EEXIST (the name is
// there); ENOENT (dp already removed); EACCES (no write and search
// permission on dp); EPERM (ip append-only or immutable); EPERM (ip a
// directory); ENOENT (ip has no links and is not a linkable O_TMPFILE
// inode, or was freed); EMLINK (ip has kMaxLink links); EXDEV (dp has
// PROJINHERIT and a project other than ip's, unless ip is a special file of
// project 0, as xfs_link allows).
// Changes: the entry (fs/dir_write.h dir_add, with ip's file type); ip's
// link count + 1 and ctime now; dp's mtime and ctime now; both change
// counts + 1.  An inode with no links (an O_TMPFILE inode, fs/ops/create.h
// make_tmpfile) comes off its AG's unlinked list in the same transaction
// (fs/alloc/iunlink.h; its AGI joined before the directory's blocks, its
// cluster buffer after them: docs/locking.md) and stops being linkable.
//
// Errors: above, and ENOSPC, EROFS, EIO (shut down), EOPNOTSUPP (leaf or
// node directories), EUCLEAN.
// Thread safety: any thread; locks dp and ip (ascending), then the AGI and
// AGF (docs/locking.md).
#pragma once

#include <string_view>

#include "fs/incore_inode.h"
#include "fs/ops/cred.h"

namespace xfsfuse::fs {

class Mount;

/// Adds name in directory dp for the inode ip, for caller c.
int link(Mount& m, const InodeRef& ip, const InodeRef& dp, std::string_view name, const Cred& c);

}  // namespace xfsfuse::fs
