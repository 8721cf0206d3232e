// Directory handles and listings.  FUSE offsets are fs::dir_iterate()
// cookies: an entry's offset resumes right after it, so a directory read in
// many requests (and across evictions of its blocks) never skips or repeats.
//
// readdirplus=adaptive: a READDIRPLUS entry sent with node id 0 carries no
// attributes, and the kernel then instantiates nothing for it (it only
// emits the name; fs/fuse/readdir.c, fuse_direntplus_link).  Such an entry
// costs no inode read here and no FUSE inode there, which is what `find`
// wants; a later stat() of the name costs a LOOKUP, which is what `ls -l`
// must not pay 100,000 times.  So a handle starts bare, with a first reply
// of at most kProbeEntries entries; once the kernel has looked up a name in
// that directory (LOOKUPs carry the parent: NodeTable::child_lookups) the
// handle sends attributes with every entry until it is released.  And when
// most names listed bare lately were looked up anyway (rm -r, ls -lR, du:
// NodeTable::attrs_first, the listing verdict), a handle starts with
// attributes: those readers list a whole directory before they stat any of
// it, so the per-handle switch never fires for them.  A
// GETATTR says nothing here: the kernel sends one only for an inode it
// already has, which a bare entry never gave it.  The kernel caches
// listings (FOPEN_CACHE_DIR), bare ones too, and serves them with no
// READDIRPLUS: when NodeTable::kStaleListingLookups LOOKUPs follow a bare
// listing of a directory, LOOKUP asks the kernel to drop it
// (FuseFs::drop_cached_listing), so that a reader of the cache (ls -l after
// find) comes back here for the rest, with attributes.
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
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

// readdirplus=adaptive: the most entries the first bare reply of a handle
// holds ("." and ".." included), so that a stat-heavy reader (`ls -l` stats
// each entry as it reads them) makes at most this many LOOKUPs before the
// handle switches to attributes.
constexpr uint64_t kProbeEntries = 8;

// What fuse_file_info::fh of a directory points to.  The kernel sends one
// READDIR(PLUS) of a handle at a time (it holds the file's readdir lock), but
// on any worker thread: the state is atomic so that no ordering through the
// kernel need be assumed.
struct DirHandle {
  fs::InodeRef ip;
  uint64_t lookups_at_open = 0;          // NodeTable::child_lookups() of the directory at opendir
  std::atomic<bool> attrs{false};         // entries carry attributes from now on
  std::atomic<uint64_t> replies{0};       // READDIRPLUS replies sent
};

DirHandle& handle_of(const fuse_file_info* fi) { return *reinterpret_cast<DirHandle*>(fi->fh); }

// Whether the next READDIRPLUS reply of h carries attributes; the entry
// limit of that reply goes to *limit (UINT64_MAX: as many as fit).
bool plus_attrs(FuseFs& fs, DirHandle& h, uint64_t* limit) {
  *limit = UINT64_MAX;
  switch (fs.readdirplus()) {
    case ReaddirplusMode::kAlways:
    case ReaddirplusMode::kAuto: return true;
    case ReaddirplusMode::kAdaptive: break;
  }
  if (h.attrs.load(std::memory_order_relaxed)) return true;
  if (fs.nodes().child_lookups(h.ip->core.ino) != h.lookups_at_open) {
    h.attrs.store(true, std::memory_order_relaxed);
    fs.counters().readdirplus_switches++;
    return true;
  }
  if (h.replies.load(std::memory_order_relaxed) == 0) *limit = kProbeEntries;
  return false;
}

// Adds one readdirplus entry at buf (room bytes left); returns its size as
// fuse_add_direntry_plus() does (more than room: it did not fit, nothing
// was added).  "." and ".." carry no attributes (node id 0: the kernel takes
// no reference), nor does an entry whose inode cannot be read (the kernel
// then looks it up by name and that lookup reports the error), nor any
// entry when attrs is false.
size_t add_plus(fuse_req_t req, FuseFs& fs, char* buf, size_t room, const std::string& name, const fs::DirEntry& d,
                bool attrs) {
  fuse_entry_param e{};
  fs::InodeRef ip;
  if (attrs && !is_dot_or_dotdot(name) && fs.mount().iget(d.ino, &ip) == 0) {
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
  DirHandle& h = handle_of(fi);
  uint64_t limit = UINT64_MAX;
  const bool attrs = plus && plus_attrs(fs, h, &limit);
  const fs::CachedInode& dir = *h.ip;
  std::shared_lock<std::shared_mutex> dir_lock(dir.lock);
  const int err = fs::dir_iterate(fs.mount(), dir, static_cast<uint64_t>(off), [&](const fs::DirEntry& d) {
    if (added == limit) return false;
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
      pos += add_plus(req, fs, buf.get() + pos, size - pos, p.name, p.d, attrs);
    }
    h.replies.fetch_add(1, std::memory_order_relaxed);
    if (!attrs && added != 0) {
      fs.counters().readdirplus_bare += added;
      uint64_t names = 0;
      for (const PlusEntry& p : entries) names += !is_dot_or_dotdot(p.name);
      fs.nodes().listed_bare(dir.core.ino, off == 0, names);
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
  auto* h = new DirHandle;
  h->lookups_at_open = fs.nodes().child_lookups(ip->core.ino);
  if (fs.readdirplus() == ReaddirplusMode::kAdaptive && fs.nodes().attrs_first()) {
    h->attrs.store(true, std::memory_order_relaxed);
    fs.counters().readdirplus_attrs_first++;
  }
  h->ip = std::move(ip);
  fi->fh = reinterpret_cast<uint64_t>(h);
  fi->keep_cache = 1;
  fi->cache_readdir = 1;
  if (fuse_reply_open(req, fi) != 0) {
    fs.nodes().release(fs.ino_of(ino));
    delete h;
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
  delete &handle_of(fi);
  fuse_reply_err(req, 0);
}

}  // namespace xfsfuse::fuse::ops
