#include "fs/ops/setattr.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>

#include "fs/mount.h"
#include "fs/ops/acl.h"
#include "fs/trans/trans.h"

namespace xfsfuse::fs {

namespace {

constexpr uint16_t kPermBits = 07777;

// Whether a only takes set-id bits away: the mode change the kernel makes
// for a write (file_remove_privs()), sent as the writer.
bool kill_only(const Inode& n, const SetAttr& a) {
  constexpr uint16_t kSetId = S_ISUID | S_ISGID;
  const uint16_t now = n.mode & kPermBits, want = *a.mode & kPermBits;
  return !a.uid && !a.gid && (want & ~now) == 0 && (want & ~kSetId) == (now & ~kSetId);
}

// The kernel's checks (setattr_prepare) on the inode as it is now; none
// when the kernel made them (Cred::vfs_checked).  Without them a mode
// change that only takes set-id bits away passes for a caller who may
// write the file: it cannot be told from the kernel's own for a write by
// that caller (which it sends without checks, as ATTR_FORCE), and writing
// would take the bits anyway.
int check(const Inode& n, const Cred& c, const SetAttr& a) {
  if (c.vfs_checked) return 0;
  if (a.uid && *a.uid != n.uid && !c.root()) return EPERM;
  if (a.gid && *a.gid != n.gid && !c.root() && !(c.uid == n.uid && c.in_group(*a.gid))) return EPERM;
  if (a.mode && !c.owner_or_capable(n) && !(kill_only(n, a) && permission(c, n, W_OK) == 0)) return EPERM;
  if (a.from_write) return 0;
  const bool explicit_time = (a.atime && !a.atime->now) || (a.mtime && !a.mtime->now);
  if (explicit_time && !c.owner_or_capable(n)) return EPERM;
  if ((a.atime || a.mtime) && !explicit_time && !c.owner_or_capable(n) && permission(c, n, W_OK) != 0) return EACCES;
  return 0;
}

}  // namespace

Timestamp current_time() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return Timestamp{ts.tv_sec, static_cast<uint32_t>(ts.tv_nsec)};
}

int setattr(Mount& m, const InodeRef& ip, const Cred& c, const SetAttr& a) {
  std::unique_ptr<Transaction> tp;
  if (int e = Transaction::begin(m, &tp)) return e;
  tp->join_inode(ip);
  Inode& n = ip->core;
  if (int e = check(n, c, a)) return e;  // the transaction cancels: nothing changed
  const Timestamp now = current_time();
  if (a.mode) {
    uint16_t mode = *a.mode & kPermBits;
    const gid_t group = a.gid ? *a.gid : n.gid;
    if (!c.vfs_checked && !c.root() && !c.in_group(group)) mode &= ~S_ISGID;
    n.mode = (n.mode & S_IFMT) | mode;
  }
  if (a.uid) n.uid = *a.uid;
  if (a.gid) n.gid = *a.gid;
  // Any chown of a non-directory, even to the same owner (chown_common).
  if ((a.uid || a.gid) && !S_ISDIR(n.mode)) {
    n.mode &= ~S_ISUID;
    if ((n.mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP)) n.mode &= ~S_ISGID;
  }
  if (a.atime) n.atime = a.atime->now ? now : a.atime->value;
  if (a.mtime) n.mtime = a.mtime->now ? now : a.mtime->value;
  n.ctime = a.ctime && !a.ctime->now ? a.ctime->value : now;
  n.changecount++;
  tp->log_inode(ip.get(), kDirtyCore);
  if (int e = tp->commit()) return e;
  // As the kernel's xfs_setattr_nonsize(): a stored access ACL follows the
  // new mode (posix_acl_chmod()), in a transaction of its own.
  return a.mode ? acl_chmod(m, ip, c) : 0;
}

}  // namespace xfsfuse::fs
