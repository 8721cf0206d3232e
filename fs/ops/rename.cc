#include "fs/ops/rename.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <vector>

#include "fs/alloc/agi_tx.h"
#include "fs/alloc/ialloc.h"
#include "fs/alloc/iunlink.h"
#include "fs/dir.h"
#include "fs/dir_write.h"
#include "fs/format/geometry.h"
#include "fs/mount.h"
#include "fs/ops/create.h"
#include "fs/ops/inactivate.h"
#include "fs/ops/setattr.h"
#include "fs/trans/trans.h"

namespace xfsfuse::fs {

namespace {

// di_flags bits (XFS Algorithms & Data Structures, "On-disk Inode").
constexpr uint16_t kDiflagImmutable = 0x8, kDiflagAppend = 0x10, kDiflagProjinherit = 0x200;
// More ".." steps than any real tree has: a longer chain loops (corruption).
constexpr size_t kMaxDepth = 1u << 16;

bool dot_name(std::string_view n) { return n == "." || n == ".."; }
bool no_change(const Inode& n) { return n.flags & (kDiflagImmutable | kDiflagAppend); }

// inode_permission() for a change: an immutable inode refuses any write
// with EPERM before the mode bits are asked.
int change_permission(const Cred& c, const Inode& n, int mask) {
  if (n.flags & kDiflagImmutable) return EPERM;
  return permission(c, n, mask);
}

// The sticky-bit rule of a directory for removing (or replacing) victim.
bool sticky_denies(const Cred& c, const Inode& dir, const Inode& victim) {
  return (dir.mode & S_ISVTX) && !c.root() && c.uid != victim.uid && c.uid != dir.uid;
}

// may_delete() for a name of dir pointing at victim, but its type checks.
int may_delete(const Cred& c, const Inode& dir, const Inode& victim) {
  if (int e = change_permission(c, dir, W_OK | X_OK)) return e;
  if (dir.flags & kDiflagAppend) return EPERM;
  if (sticky_denies(c, dir, victim) || no_change(victim)) return EPERM;
  return 0;
}

// The path walk's part for a parent directory: a directory the caller may
// search.  *ino = its number.
int search_dir(const InodeRef& dp, const Cred& c, uint64_t* ino) {
  std::shared_lock<std::shared_mutex> l(dp->lock);
  *ino = dp->core.ino;
  if (!S_ISDIR(dp->core.mode)) return ENOTDIR;
  return permission(c, dp->core, X_OK);
}

// Looks name up in dp under its shared lock and gets its inode (a name
// holds a link: its inode cannot be free while dp's lock is held).
int lookup_child(Mount& m, const InodeRef& dp, std::string_view name, uint64_t* ino, InodeRef* out) {
  std::shared_lock<std::shared_mutex> l(dp->lock);
  if (int e = dir_lookup(m, *dp, name, ino)) return e;
  int e = m.iget(*ino, out);
  if (e == ENOENT)
    return m.report_corruption("directory", dp->daddr,
                               "entry of inode " + std::to_string(dp->core.ino) + " points at free inode " +
                                   std::to_string(*ino));
  return e;
}

// Whether ino is dir or one of its ancestors (the ".." chain up to the
// root).  REQUIRES: the rename lock held, so no directory changes parent.
int is_ancestor(Mount& m, const InodeRef& dir, uint64_t ino, bool* out) {
  *out = false;
  InodeRef cur = dir;
  for (size_t depth = 0;; depth++) {
    uint64_t self, parent;
    {
      std::shared_lock<std::shared_mutex> l(cur->lock);
      self = cur->core.ino;
      if (self == ino) return *out = true, 0;
      if (self == m.sb().rootino) return 0;
      int e = dir_lookup(m, *cur, "..", &parent);
      if (e == ENOENT) return 0;  // a removed directory: its chain ended
      if (e) return e;
      if (depth >= kMaxDepth || parent == self)
        return m.report_corruption("directory", cur->daddr,
                                   "'..' chain of inode " + std::to_string(self) + " does not reach the root");
    }
    int e = m.iget(parent, &cur);
    if (e == ENOENT) return 0;  // a removed directory's old parent, freed since
    if (e) return e;
  }
}

// Makes the whiteout of a rename into directory parent (a copy of its core)
// as the kernel's xfs_rename_alloc_whiteout: a character device 0:0 of mode
// 0, made as an O_TMPFILE file is (link count 0, on its AG's unlinked list),
// in a transaction of its own.
int make_whiteout(Mount& m, const Inode& parent, const Cred& c, InodeRef* out) {
  std::unique_ptr<Transaction> tp;
  if (int e = Transaction::begin(m, &tp)) return e;
  if (int e = tp->reserve_blocks(ialloc_reservation(m.sb()))) return e;
  InodeRef ip;
  if (int e = init_new_inode(*tp, parent, c, S_IFCHR, 0, /*init_xattrs=*/false, &ip)) return e;
  ip->core.nlink = 0;
  if (int e = iunlink(*tp, ip.get())) return e;
  if (int e = tp->commit()) return e;
  *out = std::move(ip);
  return 0;
}

// What one attempt found and holds.
struct Rename {
  Mount& m;
  const InodeRef &sdp, &tdp;
  std::string_view sname, tname;
  const Cred& c;
  unsigned flags;
  InodeRef* wip;  // the whiteout, once made (kept across attempts)
  uint64_t sdp_ino = 0, tdp_ino = 0, src_ino = 0, tgt_ino = 0;  // tgt_ino 0: no target
  InodeRef src{}, tgt{};

  bool cross() const { return sdp != tdp; }
  bool exchange() const { return flags & kRenameExchange; }
  int once();
  int lookups();
  int join(Transaction& tp);
  int locked_checks();
  int apply_plain(Transaction& tp, Timestamp now);
  int apply_exchange(Transaction& tp, Timestamp now);
};

// Everything the kernel checks before it takes the inodes' locks: the path
// walks, the names, the lookups and the subtree rule.  1 (not an errno):
// source and target are one inode, nothing to do.
int Rename::lookups() {
  src.reset();
  tgt.reset();
  tgt_ino = 0;
  if (int e = search_dir(sdp, c, &sdp_ino)) return e;
  if (int e = search_dir(tdp, c, &tdp_ino)) return e;
  if (dot_name(sname)) return EBUSY;
  if (dot_name(tname)) return (flags & kRenameNoreplace) ? EEXIST : EBUSY;
  if (int e = lookup_child(m, sdp, sname, &src_ino, &src)) return e;
  int e = lookup_child(m, tdp, tname, &tgt_ino, &tgt);
  if (e == ENOENT) tgt_ino = 0;
  else if (e) return e;
  if ((flags & kRenameNoreplace) && tgt) return EEXIST;
  if (exchange() && !tgt) return ENOENT;
  if (cross()) {
    bool hit;
    if ((e = is_ancestor(m, tdp, src_ino, &hit))) return e;
    if (hit) return EINVAL;
    if (tgt) {
      if ((e = is_ancestor(m, sdp, tgt_ino, &hit))) return e;
      if (hit) return exchange() ? EINVAL : ENOTEMPTY;
    }
  }
  return tgt_ino == src_ino ? 1 : 0;
}

// Joins every inode in ascending number (xfs_lock_inodes).  Once a child
// (source, target, whiteout) is held the others are only tried: a child's
// in-core inode may have been freed and handed to a creation that holds
// its parent and then takes the new inode (fs/ops/remove.cc).
int Rename::join(Transaction& tp) {
  struct Member {
    uint64_t ino;
    const InodeRef* ip;
    bool child;
  };
  std::vector<Member> v{{sdp_ino, &sdp, false}, {src_ino, &src, true}};
  if (cross()) v.push_back({tdp_ino, &tdp, false});
  if (tgt) v.push_back({tgt_ino, &tgt, true});
  if (*wip) v.push_back({(*wip)->core.ino, wip, true});
  std::sort(v.begin(), v.end(), [](const Member& a, const Member& b) { return a.ino < b.ino; });
  bool holding_child = false;
  for (const Member& mb : v) {
    if (!holding_child) {
      tp.join_inode(*mb.ip);
    } else if (!tp.try_join_inode(*mb.ip)) {
      tp.cancel();
      std::shared_lock<std::shared_mutex> wait((*mb.ip)->lock);  // until it is free, holding nothing
      return EAGAIN;
    }
    holding_child |= mb.child;
  }
  return 0;
}

// vfs_rename()'s and xfs_rename()'s checks, under every inode's lock.
int Rename::locked_checks() {
  const Inode &sp = sdp->core, &tpc = tdp->core, &sc = src->core;
  const bool src_dir = S_ISDIR(sc.mode), tgt_dir = tgt && S_ISDIR(tgt->core.mode);
  if (int e = may_delete(c, sp, sc)) return e;
  if (!tgt) {
    if (tpc.nlink == 0) return ENOENT;
    if (int e = change_permission(c, tpc, W_OK | X_OK)) return e;
  } else {
    if (int e = may_delete(c, tpc, tgt->core)) return e;
    if (!exchange() && src_dir && !tgt_dir) return ENOTDIR;
    if (!exchange() && !src_dir && tgt_dir) return EISDIR;
  }
  if (cross()) {
    if (src_dir)
      if (int e = permission(c, sc, W_OK)) return e;
    if (exchange() && tgt_dir)
      if (int e = permission(c, tgt->core, W_OK)) return e;
    if (src_dir && !tgt_dir && tpc.nlink >= kMaxLink) return EMLINK;
    if (exchange() && !src_dir && tgt_dir && sp.nlink >= kMaxLink) return EMLINK;
  }
  if ((tpc.flags & kDiflagProjinherit) && tpc.projid != sc.projid) return EXDEV;
  if (!exchange() && tgt_dir) {
    bool empty = false;
    if (int e = dir_is_empty(m, *tgt, &empty)) return e;
    if (!empty || tgt->core.nlink > 2) return EEXIST;
  }
  return 0;
}

// Drops one link of ip (xfs_droplink: its ctime too).
int droplink(Mount& m, CachedInode* ip, Timestamp now) {
  if (ip->core.nlink == 0)
    return m.report_corruption("inode", ip->daddr, "inode " + std::to_string(ip->core.ino) + " has a name but no links");
  ip->core.nlink--;
  ip->core.ctime = now;
  return 0;
}

void bumplink(CachedInode* ip, Timestamp now) {
  ip->core.nlink++;
  ip->core.ctime = now;
}

// Marks ip's times now (ctime; mtime too if mod) and logs its core.
void touch(Transaction& tp, CachedInode* ip, Timestamp now, bool mod) {
  if (mod) ip->core.mtime = now;
  ip->core.ctime = now;
  ip->core.changecount++;
  tp.log_inode(ip, kDirtyCore);
}

int Rename::apply_plain(Transaction& tp, Timestamp now) {
  CachedInode *sd = sdp.get(), *td = tdp.get(), *s = src.get(), *t = tgt.get(), *w = wip->get();
  const bool src_dir = S_ISDIR(s->core.mode);
  const uint8_t ftype = dir_ftype(s->core.mode);
  if (!t) {
    if (int e = dir_add(tp, td, tname, src_ino, ftype)) return e;
    if (cross() && src_dir) bumplink(td, now);
  } else {
    if (int e = dir_replace(tp, td, tname, src_ino, ftype)) return e;
    if (int e = droplink(m, t, now)) return e;
    if (src_dir)
      if (int e = droplink(m, t, now)) return e;
    t->core.changecount++;
    tp.log_inode(t, kDirtyCore);
  }
  touch(tp, td, now, true);
  if (cross() && src_dir)
    if (int e = dir_replace(tp, s, "..", tdp_ino, kFtDir)) return e;
  touch(tp, s, now, false);
  if (src_dir && (cross() || t))
    if (int e = droplink(m, sd, now)) return e;
  if (int e = w ? dir_replace(tp, sd, sname, w->core.ino, kFtChrdev) : dir_remove(tp, sd, sname)) return e;
  touch(tp, sd, now, true);
  // The unlinked lists last: the cluster buffers after any AGF a directory
  // change took (docs/locking.md).
  if (w) {
    if (int e = iunlink_remove(tp, w)) return e;
    bumplink(w, now);
    w->core.changecount++;
    tp.log_inode(w, kDirtyCore);
  }
  if (t && t->core.nlink == 0)
    if (int e = iunlink(tp, t)) return e;
  return 0;
}

int Rename::apply_exchange(Transaction& tp, Timestamp now) {
  CachedInode *sd = sdp.get(), *td = tdp.get(), *s = src.get(), *t = tgt.get();
  const bool src_dir = S_ISDIR(s->core.mode), tgt_dir = S_ISDIR(t->core.mode);
  if (int e = dir_replace(tp, sd, sname, tgt_ino, dir_ftype(t->core.mode))) return e;
  if (int e = dir_replace(tp, td, tname, src_ino, dir_ftype(s->core.mode))) return e;
  if (cross()) {
    // Each exchanged directory's ".." follows it; a directory swapped with
    // a non-directory takes one parent link along.  The inodes' times as
    // xfs_cross_rename sets them.
    bool s_mod = false, s_chg = false, t_mod = false, t_chg = false;
    if (tgt_dir) {
      if (int e = dir_replace(tp, t, "..", sdp_ino, kFtDir)) return e;
      if (!src_dir) {
        if (int e = droplink(m, td, now)) return e;
        bumplink(sd, now);
      }
      s_chg = t_mod = t_chg = true;
    }
    if (src_dir) {
      if (int e = dir_replace(tp, s, "..", tdp_ino, kFtDir)) return e;
      if (!tgt_dir) {
        if (int e = droplink(m, sd, now)) return e;
        bumplink(td, now);
      }
      s_mod = s_chg = t_chg = true;
    }
    if (s_chg) touch(tp, s, now, s_mod);
    if (t_chg) touch(tp, t, now, t_mod);
    touch(tp, td, now, true);
  }
  touch(tp, sd, now, true);
  return 0;
}

int Rename::once() {
  std::unique_lock<std::mutex> rename_lock;
  if (cross()) rename_lock = std::unique_lock<std::mutex>(m.rename_lock());
  if (int e = lookups()) return e == 1 ? 0 : e;
  std::unique_ptr<Transaction> tp;
  if (int e = Transaction::begin(m, &tp)) return e;
  if (int e = join(*tp)) return e;
  // Looked up again under the locks: anything changed since, and the whole
  // attempt starts over.
  uint64_t again;
  int e = dir_lookup(m, *sdp, sname, &again);
  if (e == ENOENT || (e == 0 && again != src_ino)) return EAGAIN;
  if (e) return e;
  e = dir_lookup(m, *tdp, tname, &again);
  if (e == ENOENT) again = 0;
  else if (e) return e;
  if (again != tgt_ino) return EAGAIN;
  if (src->is_free.load(std::memory_order_acquire) || (tgt && tgt->is_free.load(std::memory_order_acquire)))
    return EAGAIN;
  if ((e = locked_checks())) return e;
  // One name's worth, as the kernel's XFS_RENAME_SPACE_RES; short of space,
  // none (xfs_rename goes on without: names that fit need no block, and
  // one that does not fails ENOSPC, changing nothing).
  if ((e = tp->reserve_blocks(dir_add_reservation(m.sb()))) && e != ENOSPC) return e;
  if ((flags & kRenameWhiteout) && !*wip) {
    // Every check passed: make the whiteout (its own transaction, as the
    // kernel's) and start over with it.
    const Inode parent = tdp->core;
    tp->cancel();
    if ((e = make_whiteout(m, parent, c, wip))) return e;
    return EAGAIN;
  }
  // The AGIs of the inodes whose unlinked state changes, ascending, before
  // any AGF a directory change may take (xfs_rename).
  std::vector<uint32_t> agnos;
  if (*wip) agnos.push_back(ino_to_agno(m.sb(), (*wip)->core.ino));
  if (tgt && !exchange() && (tgt->core.nlink == 1 || S_ISDIR(src->core.mode))) agnos.push_back(ino_to_agno(m.sb(), tgt_ino));
  std::sort(agnos.begin(), agnos.end());
  for (uint32_t agno : agnos) {
    AgiTx agi;
    if ((e = AgiTx::get(*tp, agno, &agi))) return e;
  }
  const Timestamp now = current_time();
  if ((e = exchange() ? apply_exchange(*tp, now) : apply_plain(*tp, now))) return e;
  return tp->commit();
}

}  // namespace

int rename(Mount& m, const InodeRef& sdp, std::string_view sname, const InodeRef& tdp, std::string_view tname,
           const Cred& c, unsigned flags) {
  if (flags & ~(kRenameNoreplace | kRenameExchange | kRenameWhiteout)) return EINVAL;
  if ((flags & kRenameExchange) && (flags & (kRenameNoreplace | kRenameWhiteout))) return EINVAL;
  InodeRef wip;
  Rename r{m, sdp, tdp, sname, tname, c, flags, &wip};
  const int e = retry_change(m, [&] { return r.once(); });
  bool unused = false;
  uint64_t wino = 0;
  if (wip) {
    std::shared_lock<std::shared_mutex> l(wip->lock);
    unused = wip->core.nlink == 0;
    wino = wip->core.ino;
  }
  if (unused) {
    // Made for a rename that then failed (or found nothing to do): freed
    // as the kernel frees it.
    if (int fe = inactivate(m, wip))
      std::fprintf(stderr, "xfsfuse: freeing the whiteout inode %llu of a failed rename: %s\n",
                   static_cast<unsigned long long>(wino), std::strerror(fe));
  }
  return e;
}

}  // namespace xfsfuse::fs
