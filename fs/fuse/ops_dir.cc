// Directory handles and listings.  FUSE offsets are fs::dir_iterate()
// cookies: an entry's offset resumes right after it, so a directory read in
// many requests (and across evictions of its blocks) never skips or repeats.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <string>
#include <shared_mutex>
#include <string_view>
#include <vector>

#include "fs/dir.h"
#include "fs/fuse/fuse_fs.h"
#include "fs/fuse/ops.h"

namespace xfsfuse::fuse::ops {

namespace {

// S_IF* type bits for a directory entry's ftype (0 when unknown).
mode_t ftype_mode(uint8_t ftype) {
  switch (ftype) {
    case fs::kFtReg: return S_IFREG;
    case fs::kFtDir: return S_IFDIR;
    case fs::kFtChrdev: return S_IFCHR;
    case fs::kFtBlkdev: return S_IFBLK;
    case fs::kFtFifo: return S_IFIFO;
    case fs::kFtSock: return S_IFSOCK;
    case fs::kFtSymlink: return S_IFLNK;
    default: return 0;
  }
}

bool is_dot_or_dotdot(std::string_view name) { return name == "." || name == ".."; }

const fs::InodeRef& handle_inode(const fuse_file_info* fi) { return *reinterpret_cast<const fs::InodeRef*>(fi->fh); }

// Adds one readdirplus entry at buf (room bytes left); returns its size as
// fuse_add_direntry_plus() does (more than room: it did not fit, nothing
// was added).  "." and ".." carry no attributes (node id 0: the kernel takes
// no reference), nor does an entry whose inode cannot be read: the kernel
// then looks it up by name and that lookup reports the error.
size_t add_plus(fuse_req_t req, FuseFs& fs, char* buf, size_t room, const std::string& name, const fs::DirEntry& d) {
  fuse_entry_param e{};
  fs::InodeRef ip;
  if (!is_dot_or_dotdot(name) && fs.mount().iget(d.ino, &ip) == 0) {
    std::shared_lock<std::shared_mutex> l(ip->lock);
    fs.fill_entry(*ip, &e);
  } else {
    ip.reset();
    e.attr.st_ino = d.ino;
    e.attr.st_mode = ftype_mode(d.ftype);
  }
  const size_t need = fuse_add_direntry_plus(req, buf, room, name.c_str(), &e, static_cast<off_t>(d.next));
  // An entry with attributes is a lookup the kernel will FORGET; one that
  // did not fit never reached it.
  if (ip && need <= room) fs.nodes().lookup(ip);
  return need;
}

// One entry read from a directory, kept for readdirplus.
struct PlusEntry {
  std::string name;
  fs::DirEntry d;
};

// readdir and readdirplus: fills up to size bytes of entries from cookie off
// on.  An error after some entries were added replies with those entries;
// the next request starts at the failing entry and reports the error.
// readdirplus reads the entries under the directory's lock and only then, with
// it released, each child's attributes (one inode lock at a time, never two:
// a child may have a lower inode number than its directory).
void list(fuse_req_t req, size_t size, off_t off, fuse_file_info* fi, bool plus) {
  FuseFs& fs = fs_of(req);
  auto buf = std::make_unique_for_overwrite<char[]>(size);
  size_t pos = 0;
  uint64_t added = 0;
  std::string name;
  std::vector<PlusEntry> entries;
  const fs::CachedInode& dir = *handle_inode(fi);
  std::shared_lock<std::shared_mutex> dir_lock(dir.lock);
  const int err = fs::dir_iterate(fs.mount(), dir, static_cast<uint64_t>(off), [&](const fs::DirEntry& d) {
    name.assign(d.name);
    size_t need;
    if (plus) {
      // The size an entry with attributes takes (nothing is written).
      need = fuse_add_direntry_plus(req, nullptr, 0, name.c_str(), nullptr, static_cast<off_t>(d.next));
    } else {
      struct stat st{};
      st.st_ino = d.ino;
      st.st_mode = ftype_mode(d.ftype);
      need = fuse_add_direntry(req, buf.get() + pos, size - pos, name.c_str(), &st, static_cast<off_t>(d.next));
    }
    if (need > size - pos) return false;
    pos += need;
    added++;
    if (plus) entries.push_back({name, d});
    return true;
  });
  dir_lock.unlock();
  if (plus) {
    pos = 0;
    for (PlusEntry& p : entries) {
      p.d.name = p.name;
      pos += add_plus(req, fs, buf.get() + pos, size - pos, p.name, p.d);
    }
  }
  (plus ? fs.counters().readdirplus_entries : fs.counters().readdir_entries) += added;
  if (err != 0 && pos == 0) return fs.reply_error(req, err);
  fuse_reply_buf(req, buf.get(), pos);
}

}  // namespace

void opendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  FuseFs& fs = fs_of(req);
  fs.counters().opendir++;
  fs::InodeRef ip;
  int err = fs.iget(ino, &ip);
  if (err == 0) {
    std::shared_lock<std::shared_mutex> l(ip->lock);
    if (!S_ISDIR(ip->core.mode)) err = ENOTDIR;
    if (err == 0) err = check_access(req, ip->core, R_OK);
  }
  if (err != 0) return fs.reply_error(req, err);
  fs.nodes().open(ip);
  fi->fh = reinterpret_cast<uint64_t>(new fs::InodeRef(std::move(ip)));
  fi->keep_cache = 1;
  fi->cache_readdir = 1;
  if (fuse_reply_open(req, fi) != 0) {
    fs.nodes().release(fs.ino_of(ino));
    delete reinterpret_cast<fs::InodeRef*>(fi->fh);
  }
}

void readdir(fuse_req_t req, fuse_ino_t, size_t size, off_t off, fuse_file_info* fi) {
  fs_of(req).counters().readdir++;
  list(req, size, off, fi, false);
}

void readdirplus(fuse_req_t req, fuse_ino_t, size_t size, off_t off, fuse_file_info* fi) {
  fs_of(req).counters().readdirplus++;
  list(req, size, off, fi, true);
}

void releasedir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  FuseFs& fs = fs_of(req);
  fs.nodes().release(fs.ino_of(ino));
  delete reinterpret_cast<fs::InodeRef*>(fi->fh);
  fuse_reply_err(req, 0);
}

}  // namespace xfsfuse::fuse::ops
