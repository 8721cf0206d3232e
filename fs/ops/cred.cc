#include "fs/ops/cred.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace xfsfuse::fs {

bool Cred::in_group(gid_t g) const {
  if (gid == g) return true;
  if (load_groups && !groups_loaded) {
    groups = load_groups();
    groups_loaded = true;
  }
  return std::find(groups.begin(), groups.end(), g) != groups.end();
}

int permission(const Cred& c, const Inode& n, int mask) {
  if (c.vfs_checked) return 0;
  if (c.root()) {
    if ((mask & X_OK) && !S_ISDIR(n.mode) && (n.mode & (S_IXUSR | S_IXGRP | S_IXOTH)) == 0) return EACCES;
    return 0;
  }
  unsigned bits = n.mode & 07;
  if (c.uid == n.uid)
    bits = (n.mode >> 6) & 07;
  else if (c.in_group(n.gid))
    bits = (n.mode >> 3) & 07;
  const unsigned want = ((mask & R_OK) ? 4 : 0) | ((mask & W_OK) ? 2 : 0) | ((mask & X_OK) ? 1 : 0);
  return (bits & want) == want ? 0 : EACCES;
}

}  // namespace xfsfuse::fs
