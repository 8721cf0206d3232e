// Regular file handles and reads.  The data changes only through this
// mount, whose writes the kernel's page cache holds, so the kernel keeps
// that cache across opens (FOPEN_KEEP_CACHE).  open checks permission
// itself: without -o default_permissions the kernel leaves that to the
// filesystem.  O_TRUNC comes as a separate SETATTR (no atomic_o_trunc).
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>

#include <algorithm>
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
  const int acc = fi->flags & O_ACCMODE;
  const bool writes = acc != O_RDONLY || (fi->flags & O_TRUNC);
  if (writes && !fs.mount().writable()) return fs.reply_error(req, EROFS);
  const int mask = (acc == O_RDONLY ? R_OK : 0) | (acc == O_WRONLY ? W_OK : 0) | (acc == O_RDWR ? R_OK | W_OK : 0) |
                   ((fi->flags & O_TRUNC) ? W_OK : 0);
  fs::InodeRef ip;
  int err = fs.iget(ino, &ip);
  if (err == 0) {
    std::shared_lock<std::shared_mutex> l(ip->lock);
    if (S_ISDIR(ip->core.mode)) err = EISDIR;
    if (err == 0) err = check_access(req, ip->core, mask);
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


void lseek(fuse_req_t req, fuse_ino_t, off_t off, int whence, fuse_file_info* fi) {
  FuseFs& fs = fs_of(req);
  if (off < 0) return fs.reply_error(req, EINVAL);
  if (whence != SEEK_DATA && whence != SEEK_HOLE) return fs.reply_error(req, EINVAL);
  const fs::CachedInode& ip = **reinterpret_cast<const fs::InodeRef*>(fi->fh);
  const unsigned bl = fs.mount().sb().blocklog;
  std::shared_lock<std::shared_mutex> l(ip.lock);
  const uint64_t size = ip.core.size;
  uint64_t pos = static_cast<uint64_t>(off);
  if (pos >= size) return fs.reply_error(req, ENXIO);
  // Data is what written extents map; holes and unwritten extents (never
  // written: they read as zeros) are holes, as XFS reports them when no
  // page cache covers them.
  for (const fs::Extent& e : ip.df.extents) {
    const uint64_t start = e.startoff << bl, end = (e.startoff + e.blockcount) << bl;
    if (e.unwritten || end <= pos) continue;
    if (whence == SEEK_DATA) {
      pos = std::max(pos, start);
      return pos < size ? static_cast<void>(fuse_reply_lseek(req, static_cast<off_t>(pos)))
                        : fs.reply_error(req, ENXIO);
    }
    if (start > pos) break;  // pos is in a hole
    pos = end;
  }
  if (whence == SEEK_DATA) return fs.reply_error(req, ENXIO);
  fuse_reply_lseek(req, static_cast<off_t>(std::min(pos, size)));
}

}  // namespace xfsfuse::fuse::ops
