// The caller of a request as an fs::Cred, and permission checks against
// di_mode / di_uid / di_gid with the kernel's rules (fs/ops/cred.h).
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include "fs/fuse/fuse_fs.h"
#include "fs/fuse/ops.h"

namespace xfsfuse::fuse::ops {

fs::Cred cred_of(fuse_req_t req) {
  const fuse_ctx* ctx = fuse_req_ctx(req);
  fs::Cred c{ctx->uid, ctx->gid, std::vector<gid_t>(32)};
  int n = fuse_req_getgroups(req, static_cast<int>(c.groups.size()), c.groups.data());
  if (n > static_cast<int>(c.groups.size())) {
    c.groups.resize(n);
    n = fuse_req_getgroups(req, n, c.groups.data());
  }
  c.groups.resize(n < 0 ? 0 : std::min<size_t>(n, c.groups.size()));
  return c;
}

int check_access(fuse_req_t req, const fs::Inode& c, int mask) {
  if ((mask & W_OK) && !fs_of(req).mount().writable()) return EROFS;
  const fuse_ctx* ctx = fuse_req_ctx(req);
  // Supplementary groups cost a read of /proc/PID/status: only when they matter.
  if (ctx->uid == 0 || ctx->uid == c.uid || ctx->gid == c.gid)
    return fs::permission(fs::Cred{ctx->uid, ctx->gid, {}}, c, mask);
  return fs::permission(cred_of(req), c, mask);
}

}  // namespace xfsfuse::fuse::ops
