// check_directories (context.h): every allocated directory, listed with the
// driver's own block readers (fs::dir_check_walk), breadth first from the root; then
// every allocated inode the root does not reach, in inode order, each
// reported as disconnected and walked from as if moved to lost+found (as
// xfs_repair -n counts it: the subtree below it is not reported again, and
// it gains the lost+found entry's link).
//
// The superblock's metadata inodes (realtime bitmap and summary, quota) are
// reached from the superblock, with one link each.
// Per entry: the inode number is covered by the inobt, allocated (inobt bit
// and di_mode), not an inode the inode phase found bad; ftype matches the
// target's di_mode; "." first (data-space offset 64) naming the directory,
// ".." second (offset 80) naming an allocated directory (the root's: the
// root).  Entries come from fs::dir_check_walk, which lists the directory
// with the driver's block readers and runs fs/dir_check.h's deep checks in
// the same pass (each block read once: a 1,000,000-entry directory may be
// gigabytes).  What fs/ checks when it reads a block (names, tags,
// bestfree, short-form layout) comes back as EUCLEAN (short and block form:
// the listing stops) or as a fault naming the block (leaf and node form:
// the listing goes on past it); faults xfs_repair -n does not report
// (repair_silent: directory di_size) are warnings.  Links: every entry but
// "." and ".." adds one to its target's links_seen, and one to its
// directory's subdirs if the target is a directory; ".." is recorded as the
// directory's parent and compared afterwards with the directory holding its
// entry.  Targets are looked up in the inode table only (never iget: it
// decodes the whole inode); each directory is walked once (it is queued when
// first reached), so the queue is bounded by the table's size.
#include <sys/stat.h>

#include <cstring>
#include <deque>
#include <utility>
#include <vector>

#include "fs/dir.h"
#include "fs/dir_check.h"
#include "fs/inode.h"
#include "tools/fsck/context.h"
#include "tools/fsck/dir_check_internal.h"

namespace xfsfuse::fsck {

namespace {

constexpr uint64_t kDotNext = 10, kDotdotNext = 12;  // cookies after "." (offset 64) and ".." (offset 80)

bool allocated(const std::optional<InodeRec>& r) { return r && !r->inobt_free && r->in_use; }

class DirWalk {
 public:
  explicit DirWalk(Context& cx) : cx_(cx) {}

  void run() {
    cx_.inodes.for_each([&](uint64_t, const InodeRec& r) { dirs_total_ += r.in_use && S_ISDIR(r.mode); });
    const uint64_t root = cx_.sb.rootino;
    // The superblock's metadata inodes: reached from it, with one link.
    for (uint64_t ino : {cx_.sb.rbmino, cx_.sb.rsumino, cx_.sb.uquotino, cx_.sb.gquotino, cx_.sb.pquotino})
      if (ino != 0 && ino != UINT64_MAX && ino != root)
        cx_.inodes.update(ino, [](InodeRec& r) {
          if (!r.reachable) r.links_seen++;
          r.reachable = true;
        });
    const std::optional<InodeRec> rec = cx_.inodes.get(root);
    if (!allocated(rec) || rec->bad || !S_ISDIR(rec->mode)) {
      report(root, inode_daddr(cx_.sb, root), "root inode " + std::to_string(root) + " is not an allocated directory");
    } else {
      cx_.inodes.update(root, [](InodeRec& r) { r.reachable = true; });
      queue_.push_back(root);
      drain();
    }
    std::vector<uint64_t> unreached;
    cx_.inodes.for_each([&](uint64_t ino, const InodeRec& r) {
      if (!r.inobt_free && r.in_use && !r.bad && !r.reachable && !cx_.unlinked.count(ino)) unreached.push_back(ino);
    });
    for (uint64_t ino : unreached) {
      bool is_dir = false, newly = false;
      cx_.inodes.update(ino, [&](InodeRec& r) {
        if (r.reachable) return;
        r.reachable = newly = true;
        r.links_seen++;  // the lost+found entry repair would make
        is_dir = S_ISDIR(r.mode);
      });
      if (!newly) continue;  // reached from a disconnected directory walked before
      report(ino, inode_daddr(cx_.sb, ino),
             std::string(is_dir ? "disconnected directory inode " : "disconnected inode ") + std::to_string(ino) +
                 ": no entry reaches it from the root (repair would move it to lost+found)");
      if (is_dir) {
        queue_.push_back(ino);
        drain();
      }
    }
    // ".." against the directory holding the entry: the first holder is in
    // the table (its size is the filesystem's, under --scratch on disk); the
    // others of a directory with entries in several are few, and kept here.
    auto check_parent = [&](uint64_t sub, uint64_t parent, uint64_t holder) {
      if (parent != 0 && parent != holder)
        report(sub, inode_daddr(cx_.sb, sub),
               "\"..\" names " + std::to_string(parent) + " but directory " + std::to_string(holder) +
                   " holds an entry for it");
    };
    cx_.inodes.for_each([&](uint64_t ino, const InodeRec& r) {
      if (r.holder != 0) check_parent(ino, r.parent, r.holder);
    });
    for (const auto& [sub, holder] : more_holders_)
      if (const std::optional<InodeRec> r = cx_.inodes.get(sub)) check_parent(sub, r->parent, holder);
    progress();
  }

 private:
  void report(uint64_t ino, uint64_t daddr, std::string what) {
    cx_.rep.report("directory", ino_agno(cx_.sb, ino), ino, daddr, std::move(what));
  }

  void progress() {
    if (cx_.progress) cx_.progress("directories", dirs_total_ ? static_cast<double>(dirs_done_) / dirs_total_ : 1.0);
  }

  void drain() {
    while (!queue_.empty()) {
      const uint64_t dir = queue_.front();
      queue_.pop_front();
      visit(dir);
      if (++dirs_done_ % 1024 == 0) progress();
    }
  }

  // Walks one directory: its entries and the deep checks, each block read once.
  void visit(uint64_t dir) {
    fs::InodeRef ip;
    if (int err = cx_.m.iget(dir, &ip)) {
      report(dir, inode_daddr(cx_.sb, dir), "directory inode cannot be read: " + std::string(std::strerror(err)));
      return;
    }
    size_t index = 0;
    uint64_t parent = 0;
    uint32_t subdirs = 0;
    std::vector<fs::DirFault> faults;
    const int err = fs::dir_check_walk(
        cx_.m, *ip, [&](const fs::DirEntry& e) { entry(*ip, e, index++, &parent, &subdirs); }, &faults);
    if (err)
      report(dir, ip->daddr,
             "listing stopped after " + std::to_string(index) + " entries: " + std::string(std::strerror(err)));
    else if (index < 2)
      report(dir, ip->daddr, "no \".\" and \"..\" entries");
    cx_.inodes.update(dir, [&](InodeRec& r) {
      r.subdirs += subdirs;
      r.parent = parent;
    });
    for (fs::DirFault& f : faults) {
      if (f.repair_silent)
        cx_.rep.warn(Problem{"directory", ino_agno(cx_.sb, dir), dir, f.daddr, std::move(f.why)});
      else
        report(dir, f.daddr, std::move(f.why));
    }
  }

  // Checks and counts one entry of directory ip; index: its place in the listing.
  void entry(const fs::CachedInode& ip, const fs::DirEntry& e, size_t index, uint64_t* parent, uint32_t* subdirs) {
    const uint64_t dir = ip.core.ino;
    auto bad = [&](const std::string& what) {
      report(dir, ip.daddr, "entry \"" + std::string(e.name) + "\" " + what);
    };
    const bool dot = e.name == ".", dotdot = e.name == "..";
    if (e.name.empty() || e.name.find_first_of(std::string_view("/\0", 2)) != std::string_view::npos)
      return bad("has an empty name or one with '/' or NUL");
    if (index == 0 && !(dot && e.next == kDotNext)) bad("comes first, where \".\" must be");
    if (index == 1 && !(dotdot && e.next == kDotdotNext)) bad("comes second, where \"..\" must be");
    if ((dot || dotdot) && index > 1) return bad("at position " + std::to_string(index) + ": a second one");
    if (dot && e.ino != dir) return bad("names inode " + std::to_string(e.ino) + ", not its own directory");
    if (dotdot) *parent = e.ino;
    if (dotdot && dir == cx_.sb.rootino && e.ino != dir) return bad("of the root names " + std::to_string(e.ino));
    // One table access per entry: look and count at once (a target that
    // cannot be linked to is not counted).  One captured pointer keeps the
    // std::function from allocating.
    struct Look {
      std::optional<InodeRec> t;
      bool newly = false, another_holder = false;
      uint64_t dir = 0;  // the directory holding the entry
    } lk;
    lk.dir = dir;
    if (dot || dotdot) {
      lk.t = cx_.inodes.get(e.ino);
    } else {
      cx_.inodes.update(e.ino, [p = &lk](InodeRec& r) {
        p->t = r;
        if (!allocated(p->t) || r.bad) return;
        r.links_seen++;
        if (!r.reachable) r.reachable = p->newly = true;
        if (!S_ISDIR(r.mode)) return;
        if (r.holder == 0)
          r.holder = p->dir;
        else
          p->another_holder = true;
      });
    }
    const std::optional<InodeRec>& t = lk.t;
    const bool newly = lk.newly;
    if (!t) return bad("names inode " + std::to_string(e.ino) + ", which no inobt record covers");
    if (!allocated(t)) return bad("names free inode " + std::to_string(e.ino));
    if (t->bad) return bad("names inode " + std::to_string(e.ino) + ", which is corrupt");
    const uint8_t want = ftype_of_mode(t->mode);
    if (e.ftype != want)
      bad("has ftype " + std::to_string(e.ftype) + " but inode " + std::to_string(e.ino) + " has ftype " +
          std::to_string(want) + " by its di_mode");
    const bool is_dir = S_ISDIR(t->mode);
    if (dotdot && !is_dir) return bad("names " + std::to_string(e.ino) + ", which is not a directory");
    if (dot || dotdot || !is_dir) return;
    ++*subdirs;
    if (lk.another_holder) more_holders_.emplace_back(e.ino, dir);
    if (newly) queue_.push_back(e.ino);
  }

  Context& cx_;
  std::deque<uint64_t> queue_;  // directories reached, not walked yet
  // (subdirectory, directory holding an entry for it) beyond InodeRec::holder
  std::vector<std::pair<uint64_t, uint64_t>> more_holders_;
  uint64_t dirs_total_ = 0, dirs_done_ = 0;
};

}  // namespace

uint8_t ftype_of_mode(uint16_t mode) {
  switch (mode & S_IFMT) {
    case S_IFREG: return fs::kFtReg;
    case S_IFDIR: return fs::kFtDir;
    case S_IFCHR: return fs::kFtChrdev;
    case S_IFBLK: return fs::kFtBlkdev;
    case S_IFIFO: return fs::kFtFifo;
    case S_IFSOCK: return fs::kFtSock;
    case S_IFLNK: return fs::kFtSymlink;
    default: return fs::kFtUnknown;
  }
}

uint64_t inode_daddr(const fs::Superblock& sb, uint64_t ino) {
  fs::InodeLocation loc;
  return fs::locate_inode(sb, ino, &loc) ? loc.daddr : kNoDaddr;
}

int64_t ino_agno(const fs::Superblock& sb, uint64_t ino) { return fs::ino_to_agno(sb, ino); }

void check_directories(Context& cx) { DirWalk(cx).run(); }

}  // namespace xfsfuse::fsck
