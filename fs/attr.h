// fs/attr.h — extended attributes: short form (in the inode's attr fork),
// leaf, node (da btree, btree/da_btree.h) and remote values.
//
// Names cross this API in the kernel's VFS form, prefix included:
// "user.NAME" (no namespace flag), "trusted.NAME" (XFS_ATTR_ROOT),
// "security.NAME" (XFS_ATTR_SECURE).  Entries marked INCOMPLETE are skipped,
// as the kernel skips them.  XFS stores POSIX ACLs as trusted.SGI_ACL_FILE /
// trusted.SGI_ACL_DEFAULT; they list and read under those names here (the
// "system.posix_acl_*" names and the xattr form are fs/ops/acl.h's).
// Format facts: the XFS Algorithms & Data Structures document, "Extended
// Attributes", docs/format.md, and the kernel image
// (images/README.md), whose attrs of every format the tests read back.
// Errors: ENODATA (no such attribute), EOPNOTSUPP (a prefix XFS does not
// store), EUCLEAN (the structure failed a check: one log line, by
// Mount::report_corruption or the buffer cache), EIO, ENOMEM.
// Writes are fs/attr_write.h's.
// Thread safety: any thread; REQUIRES the inode's lock held shared (a
// writer changes the forks under it exclusively); buffers are held shared.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

#include "fs/mount.h"

namespace xfsfuse::fs {

/// Calls fn with every attribute's full name ("user.foo"), in on-disk order
/// (entry order in short form, hash order through the leaves otherwise).
/// The view is valid only during the call.  Returns 0 or an errno (EUCLEAN,
/// EIO, ENOMEM); in node form, names of leaves already walked stay passed.
int attr_list(Mount& m, const CachedInode& ip, const std::function<void(std::string_view name)>& fn);

/// Reads the value (0..65536 bytes) of the attribute with full name `name`
/// into *value.  Returns 0, ENODATA (none; also for an inode with no attr
/// fork), EOPNOTSUPP (a prefix other than user., trusted., security.),
/// ERANGE (name longer than 255 bytes, prefix included, as the VFS limits
/// it), EINVAL (nothing after the prefix), EUCLEAN, EIO, ENOMEM.
int attr_get(Mount& m, const CachedInode& ip, std::string_view name, std::vector<std::byte>* value);

}  // namespace xfsfuse::fs
