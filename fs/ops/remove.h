// fs/ops/remove.h — removing names: unlink(2) and rmdir(2), one transaction
// each, as the kernel's xfs_remove does them.
//
// The victim is looked up under the parent's shared lock, then the parent
// and the victim are joined in ascending inode-number order and the name is
// looked up again (a change in between retries the whole call).  Checks, in
// the kernel's order (may_delete() and xfs_remove()): ENAMETOOLONG; ENOTDIR
// (dp not a directory); EACCES (search on dp), ENOENT; EACCES (write and
// search on dp); EPERM (dp append-only or immutable; the sticky bit on dp
// and the caller owning neither the victim nor dp, and not root; the victim
// append-only or immutable); ENOTDIR (rmdir of a non-directory), EISDIR
// (unlink of a directory); ENOTEMPTY (rmdir of a directory holding more
// than "." and "..").  "." and "..": EINVAL and ENOTEMPTY for rmdir,
// EISDIR for unlink.
// Changes: the entry goes (fs/dir_write.h dir_remove); the victim's link
// count drops by one (rmdir: to 0, and dp's by one for the victim's "..");
// the victim's ctime, dp's mtime and ctime are now, both change counts
// grow; a victim whose link count reaches 0 goes on its AG's unlinked list
// in the same transaction (fs/alloc/iunlink.h; its AGI joined before the
// entry is removed: the AGI before any AGF a directory shrink frees into).
// Its blocks and its inode are freed later by inactivate()
// (fs/ops/inactivate.h), once nothing holds it.
//
// Errors: above, and ENOSPC, EROFS, EIO (shut down), EOPNOTSUPP (leaf or
// node directories), EUCLEAN.
// Thread safety: any thread; locks dp and the victim (ascending), then the
// AGI and AGF (docs/locking.md).
#pragma once

#include <string_view>

#include "fs/incore_inode.h"
#include "fs/ops/cred.h"

namespace xfsfuse::fs {

class Mount;

/// Removes the non-directory name from directory dp for caller c.
/// *victim (if non-null) = the inode whose link went, on success: the one a
/// caller holding its last reference frees (fs/ops/inactivate.h) — not
/// whatever it looked the name up as before, which may have been renamed
/// away, freed and its number given to another inode meanwhile.
int unlink(Mount& m, const InodeRef& dp, std::string_view name, const Cred& c, InodeRef* victim = nullptr);

/// Removes the empty directory name from directory dp for caller c;
/// *victim as for unlink().
int rmdir(Mount& m, const InodeRef& dp, std::string_view name, const Cred& c, InodeRef* victim = nullptr);

}  // namespace xfsfuse::fs
