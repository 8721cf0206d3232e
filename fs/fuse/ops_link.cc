// The namespace operations of a read-write mount that add names without
// making a regular file: hard links and symlinks.  Each calls one fs/ops
// function and answers with the inode's attributes, read under its shared
// lock, counting the kernel's new lookup of it.
//
// A link of an O_TMPFILE inode (linkat of /proc/self/fd/N or AT_EMPTY_PATH)
// comes here too: fs::link takes it off its unlinked list.  Its creation is
// ops::create's (fs/fuse/tmpfile.h).
#include <shared_mutex>

#include "fs/fuse/fuse_fs.h"
#include "fs/fuse/ops.h"
#include "fs/ops/create.h"
#include "fs/ops/link.h"

namespace xfsfuse::fuse::ops {

namespace {

void reply_entry(FuseFs& fs, fuse_req_t req, const fs::InodeRef& ip) {
  fuse_entry_param e;
  {
    std::shared_lock<std::shared_mutex> l(ip->lock);
    fs.fill_entry(*ip, &e);
  }
  fs.nodes().lookup(ip);
  fuse_reply_entry(req, &e);
}

}  // namespace

void link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char* newname) {
  FuseFs& fs = fs_of(req);
  fs.counters().link++;
  fs::InodeRef ip, dir;
  int err = fs.iget(ino, &ip);
  if (err == 0) err = fs.iget(newparent, &dir);
  if (err == 0) err = fs::link(fs.mount(), ip, dir, newname, cred_of(req));
  if (err != 0) return fs.reply_error(req, err);
  reply_entry(fs, req, ip);
}

void symlink(fuse_req_t req, const char* target, fuse_ino_t parent, const char* name) {
  FuseFs& fs = fs_of(req);
  fs.counters().symlink++;
  fs::InodeRef dir, ip;
  int err = fs.iget(parent, &dir);
  if (err == 0) err = fs::make_symlink(fs.mount(), dir, name, target, cred_of(req), &ip);
  if (err != 0) return fs.reply_error(req, err);
  reply_entry(fs, req, ip);
}

}  // namespace xfsfuse::fuse::ops
