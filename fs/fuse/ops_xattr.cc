// Extended attributes.  Names cross FUSE in the VFS form the fs/ layer uses
// ("user.x", "trusted.x", "security.x").  setxattr and removexattr (read-write
// mounts only) run fs/ops/xattr.h with the caller's credentials.  The VFS itself keeps trusted.*
// values from callers without CAP_SYS_ADMIN; the kernel's XFS also leaves
// trusted.* names out of their listxattr, which here means callers other
// than uid 0 (FUSE does not pass capabilities).  The POSIX ACL names take
// the ACLs the mode can say (fs/ops/acl.h).
#include <cerrno>
#include <cstddef>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "fs/attr.h"
#include "fs/ops/acl.h"
#include "fs/ops/xattr.h"
#include "fs/fuse/fuse_fs.h"
#include "fs/fuse/ops.h"

namespace xfsfuse::fuse::ops {

namespace {

// Replies with a value of len bytes at data: its size for a size query
// (size 0), ERANGE when it does not fit in size bytes, else the value.
void reply_value(fuse_req_t req, FuseFs& fs, const void* data, size_t len, size_t size) {
  if (size == 0) {
    fuse_reply_xattr(req, len);
  } else if (size < len) {
    fs.reply_error(req, ERANGE);
  } else {
    fuse_reply_buf(req, static_cast<const char*>(data), len);
  }
}

// Whether a successful change of xattr name must drop the kernel's cached
// attributes and ACLs (FuseFs::drop_cached_attrs).  An access ACL may set the
// mode, and the kernel forgets its cached ACL only for a change by the
// system.posix_acl_* names:
// - by the trusted.SGI_ACL_* names XFS stores ACLs under (root may write
//   them), the kernel sees a plain xattr: always drop, as the kernel's XFS
//   forgets its own;
// - by the system.posix_acl_* names with FUSE_POSIX_ACL on (kernel_checks),
//   the kernel's set_acl path drops both itself after the reply: no
//   notification, which would cost a write to /dev/fuse per ACL set (one
//   per file `cp -a` copies);
// - by those names without it (-o noacl), the kernel passes a plain xattr
//   and marks only the ctime stale: drop, or an exec would be judged by the
//   old mode.
// tests/fuse `acl` checks all three (acl_mode_steps and the
// trusted.SGI_ACL_FILE removal).
bool drops_cached_attrs(const FuseFs& fs, const char* name) {
  if (!fs::acl_name_of_stored(name).empty()) return true;
  return fs::is_posix_acl_name(name) && !fs.kernel_checks();
}

}  // namespace

void getxattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
  FuseFs& fs = fs_of(req);
  fs.counters().getxattr++;
  fs::InodeRef ip;
  std::vector<std::byte> value;
  int err = fs.iget(ino, &ip);
  if (err == 0) {
    std::shared_lock<std::shared_mutex> l(ip->lock);
    err = fs::is_posix_acl_name(name) ? fs::acl_get(fs.mount(), *ip, name, &value)
                                       : fs::attr_get(fs.mount(), *ip, name, &value);
  }
  if (err != 0) return fs.reply_error(req, err);
  reply_value(req, fs, value.data(), value.size(), size);
}

void listxattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  FuseFs& fs = fs_of(req);
  fs.counters().listxattr++;
  fs::InodeRef ip;
  if (int err = fs.iget(ino, &ip)) return fs.reply_error(req, err);
  const bool show_trusted = fuse_req_ctx(req)->uid == 0;
  std::string names;  // each name followed by a NUL, as listxattr(2) returns them
  std::shared_lock<std::shared_mutex> l(ip->lock);
  const int err = fs::attr_list(fs.mount(), *ip, [&](std::string_view name) {
    if (const std::string_view acl = fs::acl_name_of_stored(name); !acl.empty()) {
      names.append(acl);
      names.push_back('\0');
    }
    if (!show_trusted && name.starts_with("trusted.")) return;
    names.append(name);
    names.push_back('\0');
  });
  l.unlock();
  if (err != 0) return fs.reply_error(req, err);
  reply_value(req, fs, names.data(), names.size(), size);
}

void setxattr(fuse_req_t req, fuse_ino_t ino, const char* name, const char* value, size_t size, int flags) {
  FuseFs& fs = fs_of(req);
  fs.counters().setxattr++;
  fs::InodeRef ip;
  int err = fs.iget(ino, &ip);
  if (err == 0)
    err = fs::xattr_set(fs.mount(), ip, cred_of(req), name, {reinterpret_cast<const std::byte*>(value), size},
                        static_cast<unsigned>(flags));
  if (err == 0 && drops_cached_attrs(fs, name)) fs.drop_cached_attrs(fs.ino_of(ino));
  fs.reply_error_or_ok(req, err);
}

void removexattr(fuse_req_t req, fuse_ino_t ino, const char* name) {
  FuseFs& fs = fs_of(req);
  fs.counters().removexattr++;
  fs::InodeRef ip;
  int err = fs.iget(ino, &ip);
  if (err == 0) err = fs::xattr_remove(fs.mount(), ip, cred_of(req), name);
  if (err == 0 && drops_cached_attrs(fs, name)) fs.drop_cached_attrs(fs.ino_of(ino));
  fs.reply_error_or_ok(req, err);
}

}  // namespace xfsfuse::fuse::ops
