// fs/ops/rename.h — rename(2) and renameat2(2): moving a name, one
// transaction, as the kernel's VFS (do_renameat2, vfs_rename) and XFS
// (xfs_rename) do it.
//
// Checks, in the kernel's order: EINVAL (unknown flags; NOREPLACE or
// WHITEOUT with EXCHANGE); ENOTDIR and EACCES (search) on the source and
// then the target directory; EBUSY for "." or ".." as the source name, or as
// the target name (EEXIST with NOREPLACE); ENAMETOOLONG and ENOENT for the
// source name; ENAMETOOLONG for the target name; EEXIST (NOREPLACE and the
// target exists), ENOENT (EXCHANGE and it does not); between two
// directories, EINVAL when the source is the target directory or one of its
// ancestors, ENOTEMPTY (EINVAL with EXCHANGE) when the target is an
// ancestor of the source directory; then a source and target that are the
// same inode (two hard links) change nothing and return 0.  Then, as
// may_delete() for the source: EPERM (source directory immutable), EACCES
// (write and search on it), EPERM (append-only source directory; the sticky
// bit and a caller owning neither the file nor the directory; the file
// append-only or immutable); for an absent target as may_create(): ENOENT
// (target directory removed), EPERM (immutable), EACCES; for a present one
// as may_delete() again, then ENOTDIR (a directory over a non-directory) or
// EISDIR (the reverse); between two directories, EACCES without write
// permission on a moved directory (its ".." changes), EMLINK when the
// directory gaining a ".." link is full; XFS's EXDEV (a project-inheriting
// target directory of another project id) and EEXIST for a target
// directory that is not empty (XFS answers EEXIST, not ENOTEMPTY: checked
// on a kernel mount).
//
// Changes, as xfs_rename (checked on a kernel mount, Linux 6.18):
//  - plain: the target name points at the source (dir_add, or dir_replace
//    over an existing target, whose link count drops by one, or to 0 for a
//    directory, and whose ctime is now; at 0 it goes on its AG's unlinked
//    list as unlink does, freed later by inactivate()); the source name
//    goes (dir_remove); a directory moved between parents has its ".."
//    re-pointed (dir_replace) and the link counts of both parents follow;
//    both directories get mtime and ctime now, the source inode ctime
//    (not mtime, even for a moved directory).
//  - EXCHANGE: both names swap inodes (dir_replace twice); between two
//    directories, each exchanged directory's ".." follows and a directory
//    swapped with a non-directory moves one link between the parents; the
//    parents get mtime and ctime; an exchanged directory whose parent
//    changed gets mtime and ctime, the other inode ctime; in one directory
//    the two inodes keep their times.
//  - WHITEOUT: the source name is not removed but points at a new
//    character device 0:0 inode of mode 0 (S_IFCHR | 0000), owned as a
//    new file in the target directory (the kernel makes it there), link
//    count 1.  As the kernel does, it is first made as an unlinked inode
//    of its own transaction (on its AG's unlinked list, link count 0) and
//    the rename takes it off the list; if the rename then fails it is
//    freed (inactivate()).  It is made only once every check passed.
// Directory entries carry the ftype of the inode they now point at.
//
// Errors: above, and ENOSPC, EROFS, EIO (shut down), EOPNOTSUPP (a
// directory form dir_write.h does not change yet), EUCLEAN.
// Thread safety: any thread.  Lock order (docs/locking.md): between two
// directories the mount's rename lock first (Mount::rename_lock), then
// every inode (both directories, source, target, whiteout) in ascending
// inode number, then the AGIs of the whiteout and of a target losing its
// last link in ascending agno, then directory blocks and AGFs, the
// unlinked-list cluster buffers last.
#pragma once

#include <string_view>

#include "fs/incore_inode.h"
#include "fs/ops/cred.h"

namespace xfsfuse::fs {

class Mount;

/// renameat2(2) flags (the values of <linux/fs.h>).
inline constexpr unsigned kRenameNoreplace = 1u << 0, kRenameExchange = 1u << 1, kRenameWhiteout = 1u << 2;

/// Moves name sname of directory sdp to name tname of directory tdp (the
/// same directory or not) for caller c; flags: kRename* bits.
int rename(Mount& m, const InodeRef& sdp, std::string_view sname, const InodeRef& tdp, std::string_view tname,
           const Cred& c, unsigned flags);

}  // namespace xfsfuse::fs
