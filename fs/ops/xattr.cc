#include "fs/ops/xattr.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <memory>

#include "fs/attr_write.h"
#include "fs/mount.h"
#include "fs/ops/acl.h"
#include "fs/ops/setattr.h"
#include "fs/trans/trans.h"

namespace xfsfuse::fs {

namespace {

// di_flags (XFS Algorithms & Data Structures, "On-disk Inode").
constexpr uint16_t kDiflagImmutable = 0x8, kDiflagAppend = 0x10;
constexpr size_t kNameMax = 255, kValueMax = 65536;

// The VFS's and the capability LSM's checks for writing attribute name.
int may_write(const Inode& n, const Cred& c, std::string_view name) {
  if (n.flags & (kDiflagImmutable | kDiflagAppend)) return EPERM;
  if (name.starts_with("security.") || name.starts_with("trusted.")) return c.root() || c.xattr_ns_checked ? 0 : EPERM;
  if (name.starts_with("user.")) {
    if (!S_ISREG(n.mode) && !S_ISDIR(n.mode)) return EPERM;
    if (S_ISDIR(n.mode) && (n.mode & S_ISVTX) && !c.owner_or_capable(n)) return EPERM;
  }
  return permission(c, n, W_OK);
}

int check_name(std::string_view name) { return name.empty() || name.size() > kNameMax ? ERANGE : 0; }

// One attempt: a transaction of its own, committed or cancelled.
template <class Change>
int change_once(Mount& m, const InodeRef& ip, const Cred& c, std::string_view name, uint64_t blocks, Change fn) {
  std::unique_ptr<Transaction> tp;
  if (int e = Transaction::begin(m, &tp)) return e;
  if (int e = tp->reserve_blocks(blocks)) return e;
  tp->join_inode(ip);
  if (int e = may_write(ip->core, c, name)) return e;
  if (int e = fn(*tp)) return e;
  ip->core.ctime = current_time();
  ip->core.changecount++;
  tp->log_inode(ip.get(), kDirtyCore);
  return tp->commit();
}

}  // namespace

int xattr_set(Mount& m, const InodeRef& ip, const Cred& c, std::string_view name, std::span<const std::byte> value,
              unsigned flags) {
  if (int e = check_name(name)) return e;
  if (value.size() > kValueMax) return E2BIG;
  if (flags & ~unsigned{kXattrCreate | kXattrReplace}) return EINVAL;
  if (is_posix_acl_name(name)) return acl_set(m, ip, c, name, value);  // the VFS ignores the flags for ACLs
  const uint64_t blocks = attr_set_reservation(m.sb(), value.size());
  return retry_change(m, [&] {
    return change_once(m, ip, c, name, blocks, [&](Transaction& tp) { return attr_set(tp, ip.get(), name, value, flags); });
  });
}

int xattr_remove(Mount& m, const InodeRef& ip, const Cred& c, std::string_view name) {
  if (int e = check_name(name)) return e;
  if (is_posix_acl_name(name)) return acl_remove(m, ip, c, name);
  const uint64_t blocks = attr_remove_reservation(m.sb());
  return retry_change(m, [&] {
    return change_once(m, ip, c, name, blocks, [&](Transaction& tp) { return attr_remove(tp, ip.get(), name); });
  });
}

}  // namespace xfsfuse::fs
