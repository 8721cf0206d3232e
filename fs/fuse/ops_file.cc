// Regular file handles and reads.  The data never changes under a mount, so
// the kernel keeps its page cache across opens (FOPEN_KEEP_CACHE).  open
// checks read permission itself: without -o default_permissions the kernel
// leaves that to the filesystem.
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstddef>
#include <memory>
#include <shared_mutex>

#include "fs/fuse/fuse_fs.h"
#include "fs/fuse/ops.h"

namespace xfsfuse::fuse::ops {

void open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  FuseFs& fs = fs_of(req);
  fs.counters().open++;
  if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC)) return fs.reply_error(req, EROFS);
  fs::InodeRef ip;
  int err = fs.iget(ino, &ip);
  if (err == 0) {
    std::shared_lock<std::shared_mutex> l(ip->lock);
    if (S_ISDIR(ip->core.mode)) err = EISDIR;
    if (err == 0) err = check_access(req, ip->core, R_OK);
  }
  if (err != 0) return fs.reply_error(req, err);
  fs.nodes().open(ip);
  fi->fh = reinterpret_cast<uint64_t>(new fs::InodeRef(std::move(ip)));
  fi->keep_cache = 1;
  fi->noflush = 1;
  if (fuse_reply_open(req, fi) != 0) {
    fs.nodes().release(fs.ino_of(ino));
    delete reinterpret_cast<fs::InodeRef*>(fi->fh);
  }
}

void read(fuse_req_t req, fuse_ino_t, size_t size, off_t off, fuse_file_info* fi) {
  FuseFs& fs = fs_of(req);
  fs.counters().read++;
  if (off < 0) return fs.reply_error(req, EINVAL);
  const fs::CachedInode& ip = **reinterpret_cast<const fs::InodeRef*>(fi->fh);
  auto buf = std::make_unique_for_overwrite<std::byte[]>(size);
  size_t got = 0;
  std::shared_lock<std::shared_mutex> l(ip.lock);
  if (int err = fs.mount().read_data(ip, static_cast<uint64_t>(off), size, buf.get(), &got))
    return fs.reply_error(req, err);
  l.unlock();
  fs.counters().read_bytes += got;
  fuse_reply_buf(req, reinterpret_cast<const char*>(buf.get()), got);
}

void release(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  FuseFs& fs = fs_of(req);
  fs.nodes().release(fs.ino_of(ino));
  delete reinterpret_cast<fs::InodeRef*>(fi->fh);
  fuse_reply_err(req, 0);
}

}  // namespace xfsfuse::fuse::ops
