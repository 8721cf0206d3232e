// Names, attributes, symlink targets, permission checks and statfs.
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <shared_mutex>
#include <string>

#include "fs/dir.h"
#include "fs/fuse/fuse_fs.h"
#include "fs/fuse/ops.h"
#include "fs/fuse/stat.h"
#include "fs/symlink.h"

namespace xfsfuse::fuse::ops {

void lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  FuseFs& fs = fs_of(req);
  fs.counters().lookup++;
  fs::InodeRef dir;
  uint64_t ino = 0;
  int err = fs.iget(parent, &dir);
  if (err == 0) {
    std::shared_lock<std::shared_mutex> l(dir->lock);
    err = fs::dir_lookup(fs.mount(), *dir, name, &ino);
  }
  if (err == ENOENT) {
    // A negative entry: the kernel remembers the name is absent, as long as
    // it would remember a positive one.
    fs.counters().lookup_negative++;
    fuse_entry_param e{};
    e.entry_timeout = kCacheTimeout;
    fuse_reply_entry(req, &e);
    return;
  }
  fs::InodeRef ip;
  if (err == 0) err = fs.mount().iget(ino, &ip);
  if (err == ENOENT)  // the name exists, the inode it names is free
    err = fs.mount().report_corruption("directory entry", dir->daddr,
                                       "\"" + std::string(name) + "\" in directory inode " +
                                           std::to_string(dir->core.ino) + " names free inode " + std::to_string(ino));
  if (err != 0) return fs.reply_error(req, err);
  fuse_entry_param e;
  {
    std::shared_lock<std::shared_mutex> l(ip->lock);
    fs.fill_entry(*ip, &e);
  }
  fs.nodes().lookup(ip);
  // readdirplus=adaptive: names of this directory get stat()ed.  If the
  // kernel serves them from a listing it cached without attributes (find,
  // then ls -l), each costs a LOOKUP: drop that listing, so that the reader's
  // next getdents comes here and gets attributes (ops_dir.cc).
  const bool stale_listing = fs.nodes().child_lookup(dir->core.ino);
  fuse_reply_entry(req, &e);
  if (stale_listing) fs.drop_cached_listing(dir->core.ino);
}

void forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  FuseFs& fs = fs_of(req);
  fs.counters().forget += nlookup;
  fs.counters().forget_requests++;
  fs.nodes().forget(fs.ino_of(ino), nlookup);
  fuse_reply_none(req);
}

void forget_multi(fuse_req_t req, size_t count, fuse_forget_data* forgets) {
  FuseFs& fs = fs_of(req);
  uint64_t n = 0;
  for (size_t i = 0; i < count; i++) {
    n += forgets[i].nlookup;
    fs.nodes().forget(fs.ino_of(forgets[i].ino), forgets[i].nlookup);
  }
  fs.counters().forget += n;
  fs.counters().forget_requests++;
  fuse_reply_none(req);
}

void getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  FuseFs& fs = fs_of(req);
  fs.counters().getattr++;
  fs::InodeRef ip;
  if (int err = fs.iget(ino, &ip)) return fs.reply_error(req, err);
  struct stat st;
  {
    std::shared_lock<std::shared_mutex> l(ip->lock);
    fill_stat(fs.mount().sb(), *ip, &st);
  }
  fuse_reply_attr(req, &st, kCacheTimeout);
}

void readlink(fuse_req_t req, fuse_ino_t ino) {
  FuseFs& fs = fs_of(req);
  fs.counters().readlink++;
  fs::InodeRef ip;
  std::string target;
  int err = fs.iget(ino, &ip);
  if (err == 0) {
    std::shared_lock<std::shared_mutex> l(ip->lock);
    err = fs::read_symlink(fs.mount(), *ip, &target);
  }
  if (err != 0) return fs.reply_error(req, err);
  fuse_reply_readlink(req, target.c_str());
}

void access(fuse_req_t req, fuse_ino_t ino, int mask) {
  FuseFs& fs = fs_of(req);
  fs.counters().access++;
  fs::InodeRef ip;
  int err = fs.iget(ino, &ip);
  if (err == 0) {
    std::shared_lock<std::shared_mutex> l(ip->lock);
    err = check_access(req, ip->core, mask);
  }
  if (err != 0) return fs.reply_error(req, err);
  fuse_reply_err(req, 0);
}

void statfs(fuse_req_t req, fuse_ino_t) {
  FuseFs& fs = fs_of(req);
  fs.counters().statfs++;
  fs::StatFs s;
  if (int err = fs.mount().statfs(&s)) return fs.reply_error(req, err);
  struct statvfs v{};
  v.f_bsize = s.bsize;
  v.f_frsize = s.bsize;
  v.f_blocks = s.blocks;
  v.f_bfree = s.bfree;
  v.f_bavail = s.bavail;
  v.f_files = s.files;
  v.f_ffree = s.ffree;
  v.f_favail = s.ffree;
  v.f_fsid = s.fsid;
  v.f_namemax = s.namemax;
  fuse_reply_statfs(req, &v);
}

}  // namespace xfsfuse::fuse::ops
