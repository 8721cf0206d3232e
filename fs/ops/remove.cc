#include "fs/ops/remove.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <mutex>
#include <shared_mutex>

#include "fs/alloc/agi_tx.h"
#include "fs/alloc/iunlink.h"
#include "fs/dir.h"
#include "fs/dir_write.h"
#include "fs/format/geometry.h"
#include "fs/mount.h"
#include "fs/ops/setattr.h"
#include "fs/trans/trans.h"

namespace xfsfuse::fs {

namespace {

// di_flags bits (XFS Algorithms & Data Structures, "On-disk Inode").
constexpr uint16_t kDiflagImmutable = 0x8, kDiflagAppend = 0x10;

bool no_change(const Inode& n) { return n.flags & (kDiflagImmutable | kDiflagAppend); }

// Looks name up in dp under its shared lock; *dp_ino = dp's number.
int lookup_shared(Mount& m, const InodeRef& dp, std::string_view name, const Cred& c, uint64_t* dp_ino,
                  uint64_t* ino) {
  std::shared_lock<std::shared_mutex> l(dp->lock);
  *dp_ino = dp->core.ino;
  if (!S_ISDIR(dp->core.mode)) return ENOTDIR;
  if (int e = permission(c, dp->core, X_OK)) return e;
  return dir_lookup(m, *dp, name, ino);
}

int remove_once(Mount& m, const InodeRef& dp, std::string_view name, const Cred& c, bool is_rmdir,
                InodeRef* victim) {
  uint64_t dp_ino, ino;
  if (int e = lookup_shared(m, dp, name, c, &dp_ino, &ino)) return e;
  InodeRef ip;
  if (int e = m.iget(ino, &ip)) return e;
  std::unique_ptr<Transaction> tp;
  if (int e = Transaction::begin(m, &tp)) return e;
  // Short of space, go on with no reservation, as the kernel's xfs_remove
  // (removing a name rarely needs a block: only a bmbt split when a
  // directory block in the middle of a btree-format fork goes).
  if (int e = tp->reserve_blocks(dir_remove_reservation(m.sb())); e && e != ENOSPC) return e;
  if (dp_ino < ino) {
    tp->join_inode(dp);
    tp->join_inode(ip);
  } else {
    // The victim first.  Its in-core inode may have been freed and its
    // number given to a file being created in dp since the lookup: that
    // creation holds dp and then takes the new inode (fs/ops/create.h), so
    // this must not wait for dp while holding the victim.
    tp->join_inode(ip);
    if (!tp->try_join_inode(dp)) {
      tp->cancel();
      std::shared_lock<std::shared_mutex> wait(dp->lock);  // until dp is free, holding nothing
      return EAGAIN;
    }
  }
  Inode& pc = dp->core;
  Inode& vc = ip->core;
  if (!S_ISDIR(pc.mode)) return ENOTDIR;
  if (int e = permission(c, pc, X_OK)) return e;
  uint64_t again;
  if (int e = dir_lookup(m, *dp, name, &again)) return e;
  if (again != ino || ip->is_free.load(std::memory_order_acquire)) return EAGAIN;  // changed meanwhile
  if (pc.nlink == 0) return ENOENT;
  if (int e = permission(c, pc, W_OK | X_OK)) return e;
  if (no_change(pc)) return EPERM;
  if ((pc.mode & S_ISVTX) && !c.root() && c.uid != vc.uid && c.uid != pc.uid) return EPERM;
  if (no_change(vc)) return EPERM;
  const bool victim_dir = S_ISDIR(vc.mode);
  if (is_rmdir && !victim_dir) return ENOTDIR;
  if (!is_rmdir && victim_dir) return EISDIR;
  if (is_rmdir) {
    bool empty = false;
    if (int e = dir_is_empty(m, *ip, &empty)) return e;
    if (!empty || vc.nlink != 2) return ENOTEMPTY;
  }
  if (vc.nlink == 0) return m.report_corruption("inode", ip->daddr, "inode " + std::to_string(ino) +
                                                                         " has a name but no links");
  const Timestamp now = current_time();
  vc.nlink = is_rmdir ? 0 : vc.nlink - 1;
  vc.ctime = now;
  vc.changecount++;
  tp->log_inode(ip.get(), kDirtyCore);
  // The AGI before the AGF a shrinking directory may free a block into, the
  // victim's cluster buffer (iunlink) after both: docs/locking.md.
  AgiTx agi;
  if (vc.nlink == 0)
    if (int e = AgiTx::get(*tp, ino_to_agno(m.sb(), ino), &agi)) return e;
  if (int e = dir_remove(*tp, dp.get(), name)) return e;
  if (vc.nlink == 0)
    if (int e = iunlink(*tp, ip.get())) return e;
  if (is_rmdir) pc.nlink--;
  pc.mtime = pc.ctime = now;
  pc.changecount++;
  tp->log_inode(dp.get(), kDirtyCore);
  if (int e = tp->commit()) return e;
  if (victim != nullptr) *victim = ip;
  return 0;
}

int remove(Mount& m, const InodeRef& dp, std::string_view name, const Cred& c, bool is_rmdir, InodeRef* victim) {
  if (name.size() > 255) return ENAMETOOLONG;
  if (name == "." || name == "..") {
    std::shared_lock<std::shared_mutex> l(dp->lock);
    if (!S_ISDIR(dp->core.mode)) return ENOTDIR;
    if (!is_rmdir) return EISDIR;
    return name == "." ? EINVAL : ENOTEMPTY;
  }
  return retry_change(m, [&] { return remove_once(m, dp, name, c, is_rmdir, victim); });
}

}  // namespace

int unlink(Mount& m, const InodeRef& dp, std::string_view name, const Cred& c, InodeRef* victim) {
  return remove(m, dp, name, c, /*is_rmdir=*/false, victim);
}

int rmdir(Mount& m, const InodeRef& dp, std::string_view name, const Cred& c, InodeRef* victim) {
  return remove(m, dp, name, c, /*is_rmdir=*/true, victim);
}

}  // namespace xfsfuse::fs
