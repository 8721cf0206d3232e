// rename(2) and renameat2(2) on a read-write mount: one fs::rename call.
// The kernel's FUSE module moves its own dentries on success and drops the
// cached attributes of the inodes a rename changes (the source's ctime, both
// directories, the target it unlinks or exchanges), so the reply carries
// nothing but the result.
#include <cerrno>

#include "fs/fuse/fuse_fs.h"
#include "fs/fuse/ops.h"
#include "fs/ops/rename.h"

namespace xfsfuse::fuse::ops {

void rename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t newparent, const char* newname,
            unsigned int flags) {
  FuseFs& fs = fs_of(req);
  fs.counters().rename++;
  fs::InodeRef sdp, tdp;
  int err = fs.iget(parent, &sdp);
  if (err == 0) err = fs.iget(newparent, &tdp);
  if (err == 0) err = fs::rename(fs.mount(), sdp, name, tdp, newname, cred_of(req), flags);
  fs.reply_error_or_ok(req, err);
}

}  // namespace xfsfuse::fuse::ops
