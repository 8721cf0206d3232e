// fs/attr_write.h — setting and removing extended attributes inside a
// transaction, in short form (the inode's attr fork) and leaf form (one
// attr leaf block at attr fork block 0, magic 0x3bee), values over 3/4 of a
// block in remote blocks ("XARM" headers), converting between the forms and
// creating and dropping the attr fork, and node form over several leaves,
// as the kernel's XFS does (its
// xfs_attr_set / xfs_attr_remove over xfs_attr_leaf.c; checked byte for
// byte against kernel-made images, tests/fs/attr_write_test.cc and
// tests/fs/attr_node_kernel_test.cc):
//  - an inode without an attr fork gets one with di_forkoff from
//    xfs_attr_shortform_bytesfit for the first list (or the default offset:
//    196 bytes of data fork on 512-byte inodes, 8 after a device number),
//    and an extents data fork that no longer fits becomes a btree;
//  - short form takes names and values under 255 bytes while the list fits
//    the literal area (di_forkoff moves down as it grows); the first that
//    does not fit converts the list to a leaf block;
//  - a replace adds the new entry before the old one goes; after a removal
//    (or replace) from a leaf whose remaining entries all fit short form,
//    the leaf converts back; removing the last short-form entry drops the
//    fork (di_forkoff 0) unless the data fork is a btree;
//  - a set that does not fit the one leaf turns the fork into node form
//    (a da btree over leaves, root node at attr fork block 0), where
//    leaves and nodes split and join as the kernel's do; when removals
//    leave one leaf (the root joined) whose entries fit short form, the
//    fork goes back to short form (fs/attr_write_internal.h, node form).
//
// Names are full names ("user.x", "trusted.x", "security.x"); values are
// 0..65536 bytes.  Permission checks are fs/ops/xattr.h's.
// Errors (positive errno): EEXIST (kXattrCreate, exists), ENODATA (absent;
// kXattrReplace or removal), ERANGE (name over 255 bytes), EINVAL (nothing
// after the prefix), E2BIG (value over 65536 bytes), EOPNOTSUPP (unknown
// prefix; a data fork the new di_forkoff would force into
// another format not written here), ENOSPC, EUCLEAN (one log line), EIO,
// EAGAIN (cancel and retry, as fs/bmap_write.h).  After any error the
// transaction must be cancelled.
// REQUIRES: ip joined to tp.  Thread safety: as the transaction.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "fs/incore_inode.h"
#include "fs/superblock.h"
#include "fs/trans/trans.h"

namespace xfsfuse::fs {

/// attr_set flags: Linux's XATTR_CREATE and XATTR_REPLACE values.
enum AttrSetFlags : unsigned {
  kXattrCreate = 1,   ///< fail with EEXIST if the attribute exists
  kXattrReplace = 2,  ///< fail with ENODATA if it does not
};

/// Blocks to reserve before attr_set() of a valuelen-byte value: a leaf,
/// the remote blocks, a block for a local data fork the new attr fork
/// pushes out, bmbt splits of both forks, AGFL refills.
uint64_t attr_set_reservation(const Superblock& sb, size_t valuelen);
/// Blocks to reserve before attr_remove().
uint64_t attr_remove_reservation(const Superblock& sb);

/// Sets attribute `name` of ip to value (flags: AttrSetFlags).  Timestamps
/// are the caller's (fs/ops/xattr.h sets ctime).  Errors: above.
int attr_set(Transaction& tp, CachedInode* ip, std::string_view name, std::span<const std::byte> value,
             unsigned flags);

/// Removes attribute `name` of ip.  Errors: above.
int attr_remove(Transaction& tp, CachedInode* ip, std::string_view name);

/// Gives a new inode (core and forks just set up, not yet logged) an empty
/// extents-format attr fork at the default offset, as the kernel's
/// xfs_init_new_inode does when its create may set security or ACL
/// attributes (XFS_ICREATE_INIT_XATTRS: on every kernel built with
/// CONFIG_SECURITY) for files, directories and device nodes (not symlinks,
/// O_TMPFILE files or whiteouts): di_forkoff 24 on 512-byte inodes (a
/// 192-byte data fork), 1 for device inodes (docs/format.md "Inodes").
void attr_fork_at_create(CachedInode* ip);

}  // namespace xfsfuse::fs
