// fs/ops/cred.h — who asks for an operation, and the kernel's permission
// rules on an inode's mode, uid and gid (generic_permission() without ACLs,
// inode_owner_or_capable(), in_group_p()).  Root (uid 0) has every
// capability the kernel's root has (CAP_DAC_OVERRIDE, CAP_FOWNER,
// CAP_CHOWN, CAP_FSETID).
// Thread safety: permission() is pure; a Cred belongs to one request on one
// thread (in_group() may load its supplementary groups, a write to it).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include "fs/inode.h"

namespace xfsfuse::fs {

/// The caller of an operation.
struct Cred {
  Cred() = default;
  Cred(uid_t u, gid_t g, std::vector<gid_t> supplementary = {}, std::function<std::vector<gid_t>()> load = {})
      : uid(u), gid(g), groups(std::move(supplementary)), load_groups(std::move(load)) {}

  uid_t uid = 0;
  gid_t gid = 0;
  mutable std::vector<gid_t> groups;  ///< supplementary groups (all of them unless load_groups is set)
  /// If set, returns the supplementary groups; in_group() calls it once, the
  /// first time the answer is not the primary gid (under FUSE the groups
  /// cost a read of /proc/PID/task/TID/status, so only when they matter).
  std::function<std::vector<gid_t>()> load_groups;
  mutable bool groups_loaded = false;  ///< load_groups has filled groups
  /// The caller's umask (permission bits): what a create takes off the new
  /// inode's mode when its directory has no default ACL (fs/ops/create.h);
  /// 0 for callers that pass a mode already masked.
  uint32_t umask = 0;
  /// The kernel's VFS has checked this caller's access already, ACLs
  /// included (a FUSE mount with default_permissions): permission() passes,
  /// and setattr leaves chmod's, chown's and utimensat's rules to the
  /// kernel's setattr_prepare(), which ran with the caller's capabilities
  /// (fs/ops/setattr.h).  Sticky-bit rules (EPERM) are still checked here.
  bool vfs_checked = false;
  /// The kernel has checked what an extended attribute's namespace demands
  /// (xattr_permission() and the capability LSM: CAP_SYS_ADMIN for
  /// "trusted." and "security." names, CAP_SETFCAP for
  /// "security.capability"), which it does for every filesystem, FUSE
  /// included; its own kill-priv path removes security.capability as the
  /// writer, unchecked, on purpose.  Set for every FUSE request (FUSE passes
  /// no capabilities, so uid 0 is the driver's only stand-in for them).
  bool xattr_ns_checked = false;
  bool root() const { return uid == 0; }
  /// Whether the caller is in group g (primary or supplementary).
  bool in_group(gid_t g) const;
  /// Whether the caller owns n or may act as its owner (root).
  bool owner_or_capable(const Inode& n) const { return root() || uid == n.uid; }
};

/// The kernel's access check of mask (R_OK | W_OK | X_OK bits) on n, by
/// the mode bits (not by an ACL: a caller whose access the VFS checked with
/// ACLs comes with vfs_checked, and passes).  Returns 0 or EACCES.  Root
/// passes everything but X_OK on a non-directory with no execute bit at
/// all.
int permission(const Cred& c, const Inode& n, int mask);

}  // namespace xfsfuse::fs
