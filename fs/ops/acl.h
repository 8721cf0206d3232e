// fs/ops/acl.h — POSIX ACLs through the "system.posix_acl_access" and
// "system.posix_acl_default" extended attributes, stored as the kernel's
// XFS stores them: trusted.SGI_ACL_FILE / trusted.SGI_ACL_DEFAULT in XFS's
// own big-endian form (docs/format.md "POSIX ACLs"; fs/attr.h lists and
// reads them under those names).  An access ACL that the mode bits can say
// exactly (only the owner, group and other entries) is not stored: it sets
// the mode and removes any stored one, as the kernel's XFS does
// (posix_acl_update_mode(), then xfs_set_acl()); any other access ACL is
// stored and sets the mode too (the group bits from its mask).  A default
// ACL is stored on a directory as given.  Removing either succeeds when
// there is none.  A directory's default ACL goes to what is created in it
// (acl_inherit(), through fs/ops/create.h); a chmod rewrites a stored
// access ACL (acl_chmod(), through fs/ops/setattr.h).  Not done here: permission
// checks by a stored ACL (fs/ops/cred.h checks the mode, whose group bits
// are the ACL's mask; under FUSE the kernel checks ACLs itself,
// fs/fuse/fuse_fs.cc).
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
//    stored ACL, even the same one again, and a removed one (the kernel
//    runs one transaction for each); setting the mode the inode already
//    has, with no stored ACL, changes nothing.
// Errors also: EINVAL (a malformed value, or an ACL posix_acl_valid() refuses:
// entries out of order, a base entry missing or repeated, named entries
// without a mask), E2BIG (more than the 5,461 entries a v5 XFS value holds),
// EACCES (a default ACL on anything but a directory), EROFS, EIO, ENOSPC,
// EUCLEAN.
// Thread safety: any thread; takes the inode's lock exclusively through its
// transaction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fs/incore_inode.h"
#include "fs/ops/cred.h"

namespace xfsfuse::fs {

class Mount;

/// One ACL entry: tag (the VFS's values: 0x01 owner, 0x02 named user, 0x04
/// owning group, 0x08 named group, 0x10 mask, 0x20 other), permission bits
/// (0..7), and the uid or gid of a named entry (0xffffffff for the others).
struct AclEntry {
  uint16_t tag;
  uint16_t perm;
  uint32_t id;
};

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

/// What a new inode gets from its directory (posix_acl_create() over XFS):
/// its mode, and the ACLs to store on it in XFS's form (empty: none).
struct InheritedAcl {
  uint32_t mode = 0;
  std::vector<std::byte> access, dflt;
};

/// The mode and ACLs of a new inode of `mode` (file type and permission
/// bits as asked, not masked) in directory dp for a caller with umask
/// `umask`: with no default ACL on dp, mode less the umask and no ACLs;
/// else the umask does not apply: the default ACL's owner, group (its mask
/// when it has one) and other entries are cut to mode's bits and mode's bits
/// to theirs; that ACL is the new inode's access ACL unless the mode says it
/// exactly, and a directory also gets the default ACL itself.  Symlinks get
/// neither (mode as given).  Returns 0, EUCLEAN (a stored default ACL that
/// is not an ACL), EIO, ENOMEM.  REQUIRES: dp.lock held.
int acl_inherit(Mount& m, const CachedInode& dp, uint32_t mode, uint32_t umask, InheritedAcl* out);

/// Stores what acl_inherit() gave on the new inode ip: the default ACL,
/// then the access ACL, a transaction each as the kernel's
/// xfs_generic_create() runs them (timestamps kept: the inode was made in
/// the same instant).  Returns 0, ENOSPC, EIO, EUCLEAN.
int acl_store_inherited(Mount& m, const InodeRef& ip, const InheritedAcl& in);

/// The two attributes XFS keeps ACLs in, by full name ("trusted.SGI_ACL_FILE",
/// "trusted.SGI_ACL_DEFAULT"), for a checker that reads them.
inline constexpr std::string_view kAclStoredNames[2] = {"trusted.SGI_ACL_FILE", "trusted.SGI_ACL_DEFAULT"};

/// Judges a stored ACL value (XFS's form) as xfs_repair 6.1 judges one: at
/// most 5,461 entries, each with permission bits within rwx and a tag an
/// ACL has; one owner, one owning group, one other entry, at most one mask
/// and one when there are named entries; no named user or group twice.
/// (xfs_repair does not look at the order, nor at the value's length.)
/// Returns "" for a valid value, else one sentence why; *repair_silent is
/// set when only the length is wrong (4 + 12 × count bytes, which the
/// kernel's reader insists on and xfs_repair does not check).
std::string acl_stored_fault(std::span<const std::byte> disk, bool* repair_silent);

/// After a mode change of ip by caller c (fs/ops/setattr.h): a stored
/// access ACL takes the new owner, group class (its mask, else the owning
/// group) and other bits, its named entries kept (posix_acl_chmod()), and is
/// stored again.  Returns 0 (also with no stored ACL), EUCLEAN, ENOSPC, EIO.
int acl_chmod(Mount& m, const InodeRef& ip, const Cred& c);

/// removexattr(2) of a POSIX ACL attribute `name`: 0 whether or not one was
/// stored, or an errno (above).
int acl_remove(Mount& m, const InodeRef& ip, const Cred& c, std::string_view name);

}  // namespace xfsfuse::fs
