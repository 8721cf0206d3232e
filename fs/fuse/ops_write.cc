// The operations of a read-write mount that change files: attributes and
// sizes, data, preallocation, new files, removed names, and syncs.  Each calls one fs/ops
// function (which runs the transactions) and answers with the inode's new
// attributes, read under its shared lock, so the kernel's caches hold what
// the image holds.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <shared_mutex>

#include "fs/fuse/fuse_fs.h"
#include "fs/fuse/ops.h"
#include "fs/fuse/stat.h"
#include "fs/fuse/tmpfile.h"
#include "fs/ops/create.h"
#include "fs/ops/file_write.h"
#include "fs/ops/remove.h"
#include "fs/ops/setattr.h"

namespace xfsfuse::fuse::ops {

namespace {

fs::TimeSet time_set(bool now, const timespec& ts) {
  return fs::TimeSet{now, fs::Timestamp{ts.tv_sec, static_cast<uint32_t>(ts.tv_nsec)}};
}

// Replies a new node (create, mknod, mkdir) and counts the kernel's lookup.
void reply_node(FuseFs& fs, fuse_req_t req, const fs::InodeRef& ip) {
  fuse_entry_param e;
  {
    std::shared_lock<std::shared_mutex> l(ip->lock);
    fs.fill_entry(*ip, &e);
  }
  fs.nodes().lookup(ip);
  fuse_reply_entry(req, &e);
}

void make(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t rdev) {
  FuseFs& fs = fs_of(req);
  fs.counters().create++;
  fs::InodeRef dir, ip;
  int err = fs.iget(parent, &dir);
  if (err == 0) err = fs::make_node(fs.mount(), dir, name, cred_of(req), mode, rdev, &ip);
  if (err != 0) return fs.reply_error(req, err);
  reply_node(fs, req, ip);
}

}  // namespace

void setattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, fuse_file_info* fi) {
  FuseFs& fs = fs_of(req);
  fs.counters().setattr++;
  fs::InodeRef ip;
  int err = fs.iget(ino, &ip);
  const fs::Cred c = cred_of(req);
  if (err == 0 && (to_set & FUSE_SET_ATTR_SIZE)) {
    if (fi == nullptr) {  // truncate(2) by name: the caller needs write permission
      std::shared_lock<std::shared_mutex> l(ip->lock);
      err = fs::permission(c, ip->core, W_OK);
    }
    if (err == 0) err = fs::truncate_file(fs.mount(), ip, static_cast<uint64_t>(attr->st_size), &c);
  }
  fs::SetAttr a;
  if (to_set & FUSE_SET_ATTR_MODE) a.mode = static_cast<uint16_t>(attr->st_mode);
  if (to_set & FUSE_SET_ATTR_UID) a.uid = attr->st_uid;
  if (to_set & FUSE_SET_ATTR_GID) a.gid = attr->st_gid;
  if (to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_ATIME_NOW))
    a.atime = time_set(to_set & FUSE_SET_ATTR_ATIME_NOW, attr->st_atim);
  if (to_set & (FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_MTIME_NOW))
    a.mtime = time_set(to_set & FUSE_SET_ATTR_MTIME_NOW, attr->st_mtim);
  if (to_set & FUSE_SET_ATTR_CTIME) a.ctime = time_set(false, attr->st_ctim);
  // With the writeback cache the kernel keeps a written file's times and
  // hands them back through its open handle (fuse_flush_times): that is
  // the write's own time update, not a utimensat() by the caller.
  a.from_write = fi != nullptr && !(to_set & ~(FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_CTIME | FUSE_SET_ATTR_ATIME));
  const bool attrs = to_set & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID | FUSE_SET_ATTR_ATIME |
                               FUSE_SET_ATTR_ATIME_NOW | FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_MTIME_NOW |
                               FUSE_SET_ATTR_CTIME);
  if (err == 0 && attrs) err = fs::setattr(fs.mount(), ip, c, a);
  if (err != 0) return fs.reply_error(req, err);
  struct stat st;
  {
    std::shared_lock<std::shared_mutex> l(ip->lock);
    fill_stat(fs.mount().sb(), *ip, &st);
  }
  fuse_reply_attr(req, &st, kCacheTimeout);
}

void write(fuse_req_t req, fuse_ino_t, const char* buf, size_t size, off_t off, fuse_file_info* fi) {
  FuseFs& fs = fs_of(req);
  fs.counters().write++;
  if (off < 0) return fs.reply_error(req, EINVAL);
  const fs::InodeRef& ip = *reinterpret_cast<const fs::InodeRef*>(fi->fh);
  const fs::Cred c = cred_of(req);
  if (int err = fs::write_file(fs.mount(), ip, static_cast<uint64_t>(off), reinterpret_cast<const std::byte*>(buf), size, &c))
    return fs.reply_error(req, err);
  fs.counters().write_bytes += size;
  fuse_reply_write(req, size);
}

void fallocate(fuse_req_t req, fuse_ino_t, int mode, off_t off, off_t len, fuse_file_info* fi) {
  FuseFs& fs = fs_of(req);
  fs.counters().fallocate++;
  if (off < 0 || len <= 0) return fs.reply_error(req, EINVAL);
  const fs::InodeRef& ip = *reinterpret_cast<const fs::InodeRef*>(fi->fh);
  const fs::Cred c = cred_of(req);
  fs.reply_error_or_ok(req, fs::fallocate_file(fs.mount(), ip, mode, static_cast<uint64_t>(off), static_cast<uint64_t>(len), &c));
}

// Also O_TMPFILE: a create named kTmpfileName is the kernel's FUSE_TMPFILE
// (fs/fuse/tmpfile.h); without O_EXCL the inode may get a name later.
void create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, fuse_file_info* fi) {
  FuseFs& fs = fs_of(req);
  const bool tmpfile = std::strcmp(name, kTmpfileName) == 0;
  (tmpfile ? fs.counters().tmpfile : fs.counters().create)++;
  fs::InodeRef dir, ip;
  int err = fs.iget(parent, &dir);
  if (err == 0 && tmpfile)
    err = fs::make_tmpfile(fs.mount(), dir, cred_of(req), S_IFREG | (mode & 07777), (fi->flags & O_EXCL) == 0, &ip);
  else if (err == 0)
    err = fs::make_node(fs.mount(), dir, name, cred_of(req), S_IFREG | (mode & 07777), 0, &ip);
  if (err != 0) return fs.reply_error(req, err);
  fuse_entry_param e;
  {
    std::shared_lock<std::shared_mutex> l(ip->lock);
    fs.fill_entry(*ip, &e);
  }
  fs.nodes().lookup(ip);
  fs.nodes().open(ip);
  fi->fh = reinterpret_cast<uint64_t>(new fs::InodeRef(ip));
  fi->keep_cache = 1;
  fi->noflush = 1;  // as open does: FLUSH has nothing to do here, and close(2) would wait for it
  if (fuse_reply_create(req, &e, fi) != 0) {
    fs.nodes().release(ip->core.ino);
    fs.nodes().forget(ip->core.ino, 1);
    delete reinterpret_cast<fs::InodeRef*>(fi->fh);
  }
}

void mknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t rdev) {
  const mode_t type = mode & S_IFMT;
  if (type != S_IFREG && type != S_IFCHR && type != S_IFBLK && type != S_IFIFO && type != S_IFSOCK)
    return fs_of(req).reply_error(req, EINVAL);
  make(req, parent, name, mode, rdev);
}

void mkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
  make(req, parent, name, S_IFDIR | (mode & 07777), 0);
}

void unlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
  FuseFs& fs = fs_of(req);
  fs.counters().remove++;
  fs::InodeRef dir;
  int err = fs.iget(parent, &dir);
  if (err == 0) err = fs::unlink(fs.mount(), dir, name, cred_of(req));
  fs.reply_error_or_ok(req, err);
}

void rmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
  FuseFs& fs = fs_of(req);
  fs.counters().remove++;
  fs::InodeRef dir;
  int err = fs.iget(parent, &dir);
  if (err == 0) err = fs::rmdir(fs.mount(), dir, name, cred_of(req));
  fs.reply_error_or_ok(req, err);
}

void fsync(fuse_req_t req, fuse_ino_t ino, int datasync, fuse_file_info*) {
  FuseFs& fs = fs_of(req);
  fs.counters().fsync++;
  fs::InodeRef ip;
  int err = fs.iget(ino, &ip);
  if (err == 0) err = fs.mount().fsync(*ip, datasync != 0);
  fs.reply_error_or_ok(req, err);
}

}  // namespace xfsfuse::fuse::ops
