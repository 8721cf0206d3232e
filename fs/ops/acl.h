// fs/ops/acl.h — POSIX ACLs through the "system.posix_acl_access" and
// "system.posix_acl_default" extended attributes, as far as this driver
// keeps them: an access ACL that the mode bits can say exactly (only the
// owner, group and other entries) is stored as the mode, as the kernel's
// XFS does (posix_acl_update_mode(), then xfs_set_acl() drops the ACL and
// sets the mode); removing either ACL removes what XFS stores for it
// (trusted.SGI_ACL_FILE / trusted.SGI_ACL_DEFAULT, see fs/attr.h) and
// succeeds when there is none.  Everything else — an access ACL with named
// users, groups or a mask, any default ACL — is EOPNOTSUPP: storing ACLs
// (XFS's own on-disk ACL format) is not written yet.
//
// `cp -a` and `cp --preserve=mode` set the source's access ACL on each copy
// (the mode, as an ACL, when the source has none) and fall back to chmod(2)
// only when that fails; so a mount that takes the exact ACL saves that
// chmod, one FUSE round trip per file.
//
// The value is the kernel's xattr form of an ACL (include/uapi/linux/
// posix_acl_xattr.h): a little-endian 32-bit version, 2, then 8-byte
// entries {16-bit tag, 16-bit permission bits, 32-bit id}; the kernel
// checks it before passing it on.
//
// Rules (Linux 6.x set_posix_acl(), posix_acl_update_mode(), over XFS):
//  - EPERM: an immutable or append-only inode, or a caller who neither owns
//    the inode nor is root;
//  - the new mode keeps the file type and S_ISUID / S_ISGID / S_ISVTX and
//    takes the ACL's rwx bits; S_ISGID goes when the caller is neither root
//    nor in the file's group;
//  - a change of mode sets ctime and counts in di_changecount; so does a
//    removed stored ACL (the kernel runs one transaction for each); setting
//    the mode the inode already has, with no stored ACL, changes nothing.
// Errors also: EINVAL (a malformed value), EROFS, EIO, ENOSPC, EUCLEAN.
// Thread safety: any thread; takes the inode's lock exclusively through its
// transaction.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

#include "fs/incore_inode.h"
#include "fs/ops/cred.h"

namespace xfsfuse::fs {

class Mount;

/// Whether name is one of the two POSIX ACL attribute names.
bool is_posix_acl_name(std::string_view name);

/// getxattr(2) of a POSIX ACL attribute `name`: ENODATA when none is
/// stored (the mode says it all), EOPNOTSUPP when one is (reading XFS's ACL
/// format is not written yet), or attr_get()'s errors.  REQUIRES: ip.lock
/// held shared.
int acl_get(Mount& m, const CachedInode& ip, std::string_view name);

/// setxattr(2) of a POSIX ACL attribute `name` (is_posix_acl_name) of ip
/// to value.  Returns 0 or an errno (above).
int acl_set(Mount& m, const InodeRef& ip, const Cred& c, std::string_view name, std::span<const std::byte> value);

/// removexattr(2) of a POSIX ACL attribute `name`: 0 whether or not one was
/// stored, or an errno (above).
int acl_remove(Mount& m, const InodeRef& ip, const Cred& c, std::string_view name);

}  // namespace xfsfuse::fs
