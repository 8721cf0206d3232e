// fs/ops/acl.h — POSIX ACLs through the "system.posix_acl_access" and
// "system.posix_acl_default" extended attributes, as far as this driver
// keeps them: an access ACL that the mode bits can say exactly (only the
// owner, group and other entries) is stored as the mode, as the kernel's
// XFS does (posix_acl_update_mode(), then xfs_set_acl() drops the ACL and
// sets the mode); removing either ACL removes what XFS stores for it
// (trusted.SGI_ACL_FILE / trusted.SGI_ACL_DEFAULT, see fs/attr.h) and
// succeeds when there is none.  Stored ACLs (an image the kernel wrote)
// read back in the xattr form and list under their system.posix_acl_*
// names.  Setting anything else — an access ACL with named users, groups or
// a mask, any default ACL — is EOPNOTSUPP: storing ACLs is not written yet;
// nor are permission checks by a stored ACL (fs/ops/cred.h checks the mode,
// whose group bits are the ACL's mask) or default-ACL inheritance on create.
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
#include <vector>

#include "fs/incore_inode.h"
#include "fs/ops/cred.h"

namespace xfsfuse::fs {

class Mount;

/// Whether name is one of the two POSIX ACL attribute names.
bool is_posix_acl_name(std::string_view name);

/// getxattr(2) of a POSIX ACL attribute `name`: the stored ACL in the
/// xattr form into *value (version 2, {le16 tag, le16 perm, le32 id}
/// entries, the id 0xffffffff for entries other than named users and
/// groups, as the kernel's XFS gives it).  ENODATA when none is stored (the
/// mode says it all); EUCLEAN (one log line) for a stored value that is not
/// an ACL; or attr_get()'s errors.  REQUIRES: ip.lock held shared.
int acl_get(Mount& m, const CachedInode& ip, std::string_view name, std::vector<std::byte>* value);

/// The name listxattr(2) shows for an attribute with full name `stored`
/// when it holds a POSIX ACL ("trusted.SGI_ACL_FILE" →
/// "system.posix_acl_access", "trusted.SGI_ACL_DEFAULT" →
/// "system.posix_acl_default"), to every caller and just before the stored
/// name, as the kernel's XFS lists them; empty for any other name.
std::string_view acl_name_of_stored(std::string_view stored);

/// setxattr(2) of a POSIX ACL attribute `name` (is_posix_acl_name) of ip
/// to value.  Returns 0 or an errno (above).
int acl_set(Mount& m, const InodeRef& ip, const Cred& c, std::string_view name, std::span<const std::byte> value);

/// removexattr(2) of a POSIX ACL attribute `name`: 0 whether or not one was
/// stored, or an errno (above).
int acl_remove(Mount& m, const InodeRef& ip, const Cred& c, std::string_view name);

}  // namespace xfsfuse::fs
