// fs/attr.h — extended attributes: short form (in the inode's attr fork),
// leaf, node (da btree) and remote values.
//
// Names cross this API in the kernel's VFS form, prefix included:
// "user.NAME" (no namespace flag), "trusted.NAME" (XFS_ATTR_ROOT),
// "security.NAME" (XFS_ATTR_SECURE).  Entries marked INCOMPLETE are skipped,
// as the kernel skips them.  Format facts: the XFS Algorithms & Data
// Structures document, "Extended Attributes", and shared/xfs-format-notes.md.
// Errors: ENODATA (no such attribute), EOPNOTSUPP (a prefix XFS does not
// store), EUCLEAN (one log line), EIO, ENOMEM.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

#include "fs/mount.h"

namespace xfsfuse::fs {

/// Calls fn with every attribute's full name ("user.foo"), in on-disk order.
/// Returns 0 or an errno.
int attr_list(Mount& m, const CachedInode& ip, const std::function<void(std::string_view name)>& fn);

/// Reads the value of the attribute with full name `name` into *value.
/// Returns 0, ENODATA, EOPNOTSUPP, or an errno.
int attr_get(Mount& m, const CachedInode& ip, std::string_view name, std::vector<std::byte>* value);

}  // namespace xfsfuse::fs
