// The caller of a request as an fs::Cred, and permission checks against
// di_mode / di_uid / di_gid with the kernel's rules (fs/ops/cred.h).
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include "fs/fuse/fuse_fs.h"
#include "fs/fuse/ops.h"

namespace xfsfuse::fuse::ops {

namespace {

// The caller's supplementary groups (libfuse reads /proc/PID/task/TID/status).
std::vector<gid_t> groups_of(fuse_req_t req) {
  std::vector<gid_t> groups(32);
  int n = fuse_req_getgroups(req, static_cast<int>(groups.size()), groups.data());
  if (n > static_cast<int>(groups.size())) {
    groups.resize(n);
    n = fuse_req_getgroups(req, n, groups.data());
  }
  groups.resize(n < 0 ? 0 : std::min<size_t>(n, groups.size()));
  return groups;
}

}  // namespace

fs::Cred cred_of(fuse_req_t req) {
  const fuse_ctx* ctx = fuse_req_ctx(req);
  fs::Cred c{ctx->uid, ctx->gid, {}, [req] { return groups_of(req); }};
  c.umask = ctx->umask;  // CREATE, MKNOD, MKDIR carry it; 0 otherwise
  c.vfs_checked = fs_of(req).kernel_checks();
  c.xattr_ns_checked = true;  // xattr_permission() and the LSM run for FUSE too
  return c;
}

int check_access(fuse_req_t req, const fs::Inode& c, int mask) {
  if ((mask & W_OK) && !fs_of(req).mount().writable()) return EROFS;
  return fs::permission(cred_of(req), c, mask);
}

}  // namespace xfsfuse::fuse::ops
