// Permission checks against di_mode / di_uid / di_gid for the caller of a
// request, as the kernel's generic_permission() makes them without ACLs.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "fs/fuse/ops.h"

namespace xfsfuse::fuse::ops {

namespace {

// Whether the caller of req is in group gid, as its primary or a
// supplementary group.
bool in_group(fuse_req_t req, const fuse_ctx* ctx, gid_t gid) {
  if (ctx->gid == gid) return true;
  std::vector<gid_t> groups(32);
  int n = fuse_req_getgroups(req, static_cast<int>(groups.size()), groups.data());
  if (n > static_cast<int>(groups.size())) {
    groups.resize(n);
    n = fuse_req_getgroups(req, n, groups.data());
  }
  for (int i = 0; i < n && i < static_cast<int>(groups.size()); i++)
    if (groups[i] == gid) return true;
  return false;
}

}  // namespace

int check_access(fuse_req_t req, const fs::Inode& c, int mask) {
  if (mask & W_OK) return EROFS;
  const fuse_ctx* ctx = fuse_req_ctx(req);
  if (ctx->uid == 0) {
    if ((mask & X_OK) && !S_ISDIR(c.mode) && (c.mode & (S_IXUSR | S_IXGRP | S_IXOTH)) == 0) return EACCES;
    return 0;
  }
  unsigned bits = c.mode & 07;
  if (ctx->uid == c.uid) {
    bits = (c.mode >> 6) & 07;
  } else if (in_group(req, ctx, c.gid)) {
    bits = (c.mode >> 3) & 07;
  }
  const unsigned want = ((mask & R_OK) ? 4 : 0) | ((mask & X_OK) ? 1 : 0);
  return (bits & want) == want ? 0 : EACCES;
}

}  // namespace xfsfuse::fuse::ops
