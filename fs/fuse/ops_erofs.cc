// Every operation that would change the image answers EROFS.  The kernel
// already refuses most of them on a read-only mount; these replies cover
// the rest (and a mount made without MS_RDONLY by some other path).
#include <cerrno>

#include "fs/fuse/fuse_fs.h"
#include "fs/fuse/ops.h"

namespace xfsfuse::fuse::ops {

namespace {

// One EROFS reply for any operation signature: the table's member type
// picks the instantiation.
template <class... Args>
void erofs(fuse_req_t req, Args...) {
  FuseFs& fs = fs_of(req);
  fs.counters().erofs++;
  fs.reply_error(req, EROFS);
}

}  // namespace

void set_erofs_ops(fuse_lowlevel_ops* o) {
  o->setattr = erofs;
  o->mknod = erofs;
  o->mkdir = erofs;
  o->unlink = erofs;
  o->rmdir = erofs;
  o->symlink = erofs;
  o->rename = erofs;
  o->link = erofs;
  o->write = erofs;
  o->create = erofs;
  o->setxattr = erofs;
  o->removexattr = erofs;
  o->fallocate = erofs;
  o->copy_file_range = erofs;
}

}  // namespace xfsfuse::fuse::ops
