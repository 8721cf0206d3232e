// fs/ops/xattr.h — setxattr(2) and removexattr(2), one transaction each,
// with the kernel's checks in its order (setxattr_copy, xattr_permission,
// the capability LSM's inode_setxattr / inode_removexattr, XFS's handlers):
//  - ERANGE: an empty name or one over 255 bytes; E2BIG: a value over
//    65536 bytes; EINVAL: flags other than kXattrCreate / kXattrReplace;
//  - EPERM: an immutable or append-only inode; "trusted." or "security."
//    names for a caller other than root (uid 0 stands for CAP_SYS_ADMIN;
//    under FUSE, Cred::xattr_ns_checked: the kernel checked the caller's
//    capabilities, or is removing security.capability for a write);
//    "user." names on anything but a regular
//    file or directory, or on a sticky directory the caller neither owns
//    nor is root for;
//  - EACCES: "user." names (and unknown prefixes) without write permission;
//  - then fs/attr_write.h's errors (EOPNOTSUPP for an unknown prefix,
//    EEXIST, ENODATA, ENOSPC, ...).
// The two POSIX ACL names ("system.posix_acl_access", "..._default") go
// to fs/ops/acl.h, with its rules.
// A change sets ctime to now and counts in di_changecount, as the kernel's
// xfs_trans_ichgtime(XFS_ICHGTIME_CHG); a failed one changes nothing.
// Errors also: EROFS (read-only mount), EIO (shut down).
// Thread safety: any thread; takes the inode's lock exclusively (through
// its transaction), then AG headers as block allocation needs them.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

#include "fs/incore_inode.h"
#include "fs/ops/cred.h"

namespace xfsfuse::fs {

class Mount;

/// Sets extended attribute `name` (full name, "user.x") of ip to value;
/// flags: kXattrCreate, kXattrReplace (fs/attr_write.h).  Errors: above.
int xattr_set(Mount& m, const InodeRef& ip, const Cred& c, std::string_view name, std::span<const std::byte> value,
              unsigned flags);

/// Removes extended attribute `name` of ip.  Errors: above.
int xattr_remove(Mount& m, const InodeRef& ip, const Cred& c, std::string_view name);

}  // namespace xfsfuse::fs
