#include "fs/ops/link.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <shared_mutex>

#include "fs/alloc/agi_tx.h"
#include "fs/alloc/iunlink.h"
#include "fs/dir.h"
#include "fs/dir_write.h"
#include "fs/format/geometry.h"
#include "fs/mount.h"
#include "fs/ops/create.h"
#include "fs/ops/setattr.h"
#include "fs/trans/trans.h"

namespace xfsfuse::fs {

namespace {

// di_flags bits (XFS Algorithms & Data Structures, "On-disk Inode").
constexpr uint16_t kDiflagImmutable = 0x8, kDiflagAppend = 0x10, kDiflagProjinherit = 0x200;

uint64_t ino_of(const CachedInode& ip) {
  std::shared_lock<std::shared_mutex> l(ip.lock);
  return ip.core.ino;
}

bool special_file(uint32_t mode) { return S_ISCHR(mode) || S_ISBLK(mode) || S_ISFIFO(mode) || S_ISSOCK(mode); }

// The checks of vfs_link and xfs_link, in their order.  REQUIRES: both joined.
int check(Mount& m, const CachedInode& ip, const CachedInode& dp, std::string_view name, const Cred& c) {
  const Inode& pc = dp.core;
  const Inode& ic = ip.core;
  if (!S_ISDIR(pc.mode)) return ENOTDIR;
  if (int e = permission(c, pc, X_OK)) return e;
  uint64_t existing;
  const int e = dir_lookup(m, dp, name, &existing);
  if (e == 0) return EEXIST;
  if (e != ENOENT) return e;
  if (pc.nlink == 0) return ENOENT;
  if (int e2 = permission(c, pc, W_OK | X_OK)) return e2;
  if (ic.flags & (kDiflagImmutable | kDiflagAppend)) return EPERM;
  if (S_ISDIR(ic.mode)) return EPERM;
  if (ip.is_free.load(std::memory_order_acquire) || (ic.nlink == 0 && !ip.linkable)) return ENOENT;
  if (ic.nlink >= kMaxLink) return EMLINK;
  if ((pc.flags & kDiflagProjinherit) && pc.projid != ic.projid && !(special_file(ic.mode) && ic.projid == 0))
    return EXDEV;
  return 0;
}

int link_once(Mount& m, const InodeRef& ip, const InodeRef& dp, std::string_view name, const Cred& c) {
  const uint64_t ino = ino_of(*ip), dp_ino = ino_of(*dp);
  std::unique_ptr<Transaction> tp;
  if (int e = Transaction::begin(m, &tp)) return e;
  // Short of space, go on with no reservation, as the kernel's xfs_link: a
  // name that fits where the directory has room needs no block (dir_add
  // fails ENOSPC, changing nothing, when it would).
  if (int e = tp->reserve_blocks(dir_add_reservation(m.sb())); e && e != ENOSPC) return e;
  if (dp_ino < ino) {
    tp->join_inode(dp);
    tp->join_inode(ip);
  } else {
    // ip first; dp only tried (see fs/ops/remove.cc: a creation in dp holds
    // dp and then takes its new inode, which ip may have become if freed).
    tp->join_inode(ip);
    if (ip.get() != dp.get() && !tp->try_join_inode(dp)) {
      tp->cancel();
      std::shared_lock<std::shared_mutex> wait(dp->lock);  // until dp is free, holding nothing
      return EAGAIN;
    }
  }
  if (int e = check(m, *ip, *dp, name, c)) return e;
  Inode& ic = ip->core;
  Inode& pc = dp->core;
  const bool unlinked = ic.nlink == 0;
  // The AGI before the AGF a growing directory may allocate from, ip's
  // cluster buffer (iunlink_remove) after both: docs/locking.md.
  AgiTx agi;
  if (unlinked)
    if (int e = AgiTx::get(*tp, ino_to_agno(m.sb(), ino), &agi)) return e;
  if (int e = dir_add(*tp, dp.get(), name, ino, dir_ftype(ic.mode))) return e;
  if (unlinked)
    if (int e = iunlink_remove(*tp, ip.get())) return e;
  const Timestamp now = current_time();
  ic.nlink++;
  ic.ctime = now;
  ic.changecount++;
  tp->log_inode(ip.get(), kDirtyCore);
  pc.mtime = pc.ctime = now;
  pc.changecount++;
  tp->log_inode(dp.get(), kDirtyCore);
  tp->on_commit([ip] { ip->linkable = false; });
  return tp->commit();
}

}  // namespace

int link(Mount& m, const InodeRef& ip, const InodeRef& dp, std::string_view name, const Cred& c) {
  if (name.size() > 255) return ENAMETOOLONG;
  return retry_change(m, [&] { return link_once(m, ip, dp, name, c); });
}

}  // namespace xfsfuse::fs
