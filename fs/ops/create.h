// fs/ops/create.h — making new files: regular files, directories, device,
// fifo and socket nodes and symlinks (creat, mknod, mkdir, symlink), and
// unnamed regular files (O_TMPFILE), one transaction each.
//
// make_node() checks what the kernel checks, in the kernel's order (the
// VFS's lookup and may_create(), then XFS's): a directory parent (ENOTDIR),
// search permission on it (EACCES), a name of at most 255 bytes
// (ENAMETOOLONG) that is not there yet (EEXIST), a parent still linked
// (ENOENT), write and search permission (EACCES), the parent's link count
// for mkdir (EMLINK).  It reserves every block it may need first (an inode
// chunk and btree splits, a directory block, a symlink's remote blocks),
// then allocates an inode (fs/alloc/ialloc.h), initialises it as the
// kernel's xfs_init_new_inode does and adds the name (fs/dir_write.h).  New
// inodes (docs/format.md "Inodes"): v3, mode as given, uid the caller's, gid
// the caller's or the parent's when the parent is set-group-ID (directories
// then inherit S_ISGID, and a caller outside the group loses S_ISGID on
// other files as inode_init_owner() decides), link count 1 (directories 2,
// the parent gains one for ".."), every timestamp now, a random generation,
// change count 1, no attr fork, BIGTIME and NREXT64 as the filesystem has
// them, the parent's inheritable flags (docs/format.md "Inodes").
//
// Errors: ENOTDIR, ENOENT (a parent already unlinked), EACCES, EEXIST,
// ENAMETOOLONG, EMLINK, ENOSPC, EROFS, EIO (shut down), EUCLEAN.
// Thread safety: any thread; locks the parent, then the new inode (which no
// one else can reach before the commit: docs/locking.md).
#pragma once

#include <cstdint>
#include <string_view>

#include "fs/incore_inode.h"
#include "fs/ops/cred.h"
#include "fs/trans/trans.h"

namespace xfsfuse::fs {

class Mount;

/// Largest link count of a directory (the kernel's XFS_MAXLINK).
inline constexpr uint32_t kMaxLink = 0x7fffffff;

/// Creates name in directory dp as a new inode of mode (file type and
/// permission bits as asked) for caller c; rdev is the device number of a
/// character or block device (major, minor as makedev()).  The mode loses
/// c.umask, or, when dp has a default ACL, takes that ACL's place: the new
/// inode gets its ACLs as the kernel's xfs_generic_create() gives them
/// (fs/ops/acl.h acl_inherit(), stored after the create; if that fails the
/// name goes again and the error is returned).  Returns 0 with *out, or the
/// errors above.
int make_node(Mount& m, const InodeRef& dp, std::string_view name, const Cred& c, uint32_t mode, uint64_t rdev,
              InodeRef* out);

/// The lower half of make_node(), for operations that make an inode no
/// name points to yet (a rename's whiteout, O_TMPFILE): allocates an inode
/// near parent (fs/alloc/ialloc.h), joins it to tp and initialises it as a
/// new file of mode and rdev for caller c, as make_node() describes (link
/// count 1, directories 2 with an empty short-form directory whose ".." is
/// parent), logged; it is marked in use when tp commits.  The caller links
/// it (or sets its link count to 0 and puts it on the unlinked list) and
/// changes the parent itself.  Returns 0 with *out, ENOSPC, EIO, EUCLEAN.
/// init_xattrs: with an empty attr fork (attr_fork_at_create, fs/attr_write.h),
/// as the kernel makes inodes that may get security attributes.
/// REQUIRES: tp reserved ialloc_reservation() blocks for it; parent's lock
/// held (shared is enough) while this reads it.
int init_new_inode(Transaction& tp, const Inode& parent, const Cred& c, uint32_t mode, uint64_t rdev, bool init_xattrs,
                   InodeRef* out);

/// The directory-entry file type (a DirFtype, fs/dir.h) of a file of mode.
uint8_t dir_ftype(uint32_t mode);
/// Creates name in directory dp as a symlink to target for caller c, as
/// the kernel's xfs_symlink: mode S_IFLNK | 0777, the target inline or in
/// remote blocks (fs/symlink_write.h).  Errors: make_node()'s checks,
/// then ENAMETOOLONG (a target longer than kSymlinkTargetMax), then EPERM
/// (dp has XFS_DIFLAG_NOSYMLINKS); ENOENT for an empty target (before
/// anything else, as symlink(2)), EINVAL for a target holding a NUL.
int make_symlink(Mount& m, const InodeRef& dp, std::string_view name, std::string_view target, const Cred& c,
                 InodeRef* out);

/// Creates an unnamed regular file of mode (S_IFREG and permission bits,
/// umask and default ACL as for make_node()) for caller c, as the kernel's
/// xfs_create_tmpfile (O_TMPFILE): a new inode
/// initialised as make_node() does from dp, but with link count 0 and put on
/// its AG's unlinked list (fs/alloc/iunlink.h) in the same transaction; dp
/// does not change.  linkable: link() may give it a name (O_TMPFILE without
/// O_EXCL).  Freed by inactivate() (fs/ops/inactivate.h) once dropped
/// unless linked meanwhile.  Errors: ENOTDIR, EACCES (write and search on
/// dp), EINVAL (mode not regular), ENOSPC, EROFS, EIO, EUCLEAN.
int make_tmpfile(Mount& m, const InodeRef& dp, const Cred& c, uint32_t mode, bool linkable, InodeRef* out);

}  // namespace xfsfuse::fs
