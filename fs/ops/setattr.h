// fs/ops/setattr.h — changing an inode's mode, owner and timestamps (chmod,
// chown, utimensat), one transaction each, with the kernel's rules
// (notify_change() and setattr_prepare() of Linux 6.x over XFS):
//  - chmod: the owner or root (else EPERM; one exception, below); a caller
//    who is not root and not in the file's group loses S_ISGID from the new
//    mode;
//  - chown: changing the uid needs root; changing the gid needs root, or the
//    owner giving a group he is in (else EPERM); on a non-directory any
//    chown, even to the same owner, drops S_ISUID, and S_ISGID when
//    group-execute is set (even for root);
//  - times: explicit values need the owner or root (EPERM); "now" also
//    write permission (EACCES);
//  - every change sets ctime to now (explicit or not; or the ctime given)
//    and counts the inode's change counter.
// With Cred::vfs_checked the first three rules are the kernel's: it ran
// setattr_prepare() with the caller's capabilities, or skipped it on
// purpose (ATTR_FORCE: the mode change by which a write takes set-id bits
// away, sent as the writer, who need not own the file), so the mode, owner
// and times come as they are to be stored.  Without it, a mode change
// that only takes set-id bits away is let through for a caller with write
// permission, EPERM as chmod(2) by a non-owner on the kernel's XFS: it is
// what the kernel sends, unchecked, when that caller writes the file.
// Size changes are truncate's (fs/ops/truncate.h), not setattr's.
// Thread safety: takes the inode's lock exclusively (through its transaction).
#pragma once

#include <cstdint>
#include <optional>

#include "fs/incore_inode.h"
#include "fs/ops/cred.h"

namespace xfsfuse::fs {

class Mount;

/// One timestamp to set: a value, or the current time.
struct TimeSet {
  bool now = false;
  Timestamp value;
};

/// What setattr changes; an empty field is left alone.
struct SetAttr {
  std::optional<uint16_t> mode = std::nullopt;  ///< permission bits and S_ISUID/S_ISGID/S_ISVTX (the type is kept)
  std::optional<uint32_t> uid = std::nullopt, gid = std::nullopt;
  std::optional<TimeSet> atime = std::nullopt, mtime = std::nullopt;
  /// ctime to store instead of the current time (the kernel's own copy,
  /// handed back with a written file's times).
  std::optional<TimeSet> ctime = std::nullopt;
  /// The times come from a write through an open file (the FUSE writeback
  /// cache hands them back): no owner check, as for the write itself.
  bool from_write = false;
};

/// Applies a to ip for caller c.  Returns 0, EPERM / EACCES (rules above),
/// EROFS (read-only mount), EIO (shut down), or a commit's errors.
int setattr(Mount& m, const InodeRef& ip, const Cred& c, const SetAttr& a);

/// The current time as an inode timestamp.
Timestamp current_time();

}  // namespace xfsfuse::fs
