#include "fs/ops/inactivate.h"

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <shared_mutex>

#include "fs/ag.h"
#include "fs/alloc/ialloc.h"
#include "fs/alloc/iunlink.h"
#include "fs/bmap_write.h"
#include "fs/format/geometry.h"
#include "fs/mount.h"
#include "fs/trans/trans.h"

namespace xfsfuse::fs {

namespace {

// Extents freed per transaction (as fs/ops/file_write.cc's truncate loop).
constexpr uint32_t kUnmapPerTrans = 2;

// Whether ip still waits to be freed (read under its lock).
bool to_free(const CachedInode& ip) { return ip.core.nlink == 0 && !ip.is_free.load(std::memory_order_acquire); }

bool fork_has_blocks(const InodeFork& f) {
  return f.format == ForkFormat::kBtree || (f.format == ForkFormat::kExtents && !f.extents.empty());
}

// One transaction of the truncate loop: size 0, a few extents unmapped.
int truncate_step(Mount& m, const InodeRef& ip, bool* more, bool* gone) {
  std::unique_ptr<Transaction> tp;
  if (int e = Transaction::begin(m, &tp)) return e;
  if (int e = tp->reserve_blocks(bmap_unmap_reservation(m.sb()))) return e;
  tp->join_inode(ip);
  *gone = !to_free(*ip);
  if (*gone) return 0;
  if (ip->core.size != 0) {
    ip->core.size = 0;
    tp->log_inode(ip.get(), kDirtyCore);
  }
  // The data fork's blocks first, then the attr fork's (leaves and remote
  // values: the kernel's xfs_attr_inactive also just unmaps them all).
  *more = false;
  if (fork_has_blocks(ip->df)) {
    if (int e = bmap_unmap(*tp, ip.get(), 0, kBmbtMaxStartoff + 1, kUnmapPerTrans, more)) return e;
  } else if (ip->has_attr_fork() && fork_has_blocks(ip->af)) {
    if (int e = bmap_unmap(*tp, ip.get(), 0, kBmbtMaxStartoff + 1, kUnmapPerTrans, more, kBmapAttrFork)) return e;
  }
  *more = *more || fork_has_blocks(ip->df) || (ip->has_attr_fork() && fork_has_blocks(ip->af));
  return tp->commit();
}

// Clears the core of ip as the kernel frees an inode.
void clear_core(const Superblock& sb, CachedInode* ip) {
  Inode& n = ip->core;
  n.mode = 0;
  n.format = ForkFormat::kExtents;
  n.aformat = static_cast<int8_t>(ForkFormat::kExtents);
  n.forkoff = 0;
  n.size = n.nblocks = n.nextents = 0;
  n.anextents = 0;
  n.flags = 0;
  n.flags2 = 0;
  if (sb.features_incompat & kIncompatBigtime) n.flags2 |= kDiflag2Bigtime;
  if (sb.features_incompat & kIncompatNrext64) n.flags2 |= kDiflag2Nrext64;
  n.gen++;
  n.changecount++;
  ip->df = InodeFork{};
  ip->af = InodeFork{};
}

int free_once(Mount& m, const InodeRef& ip) {
  std::unique_ptr<Transaction> tp;
  if (int e = Transaction::begin(m, &tp)) return e;
  if (int e = tp->reserve_blocks(ifree_reservation(m.sb()))) return e;
  tp->join_inode(ip);
  if (!to_free(*ip)) return 0;
  // Mapped again meanwhile: truncate again.
  if (fork_has_blocks(ip->df) || (ip->has_attr_fork() && fork_has_blocks(ip->af))) return EAGAIN;
  // The kernel's order: the inode number first (AGI, inobt, finobt, the
  // AGF of a freed chunk), then the list (cluster buffers after the AGF).
  if (int e = ifree(*tp, ip->core.ino)) return e;
  if (int e = iunlink_remove(*tp, ip.get())) return e;
  clear_core(m.sb(), ip.get());
  tp->log_inode(ip.get(), kDirtyCore | kDirtyData | kDirtyAttr);
  tp->on_commit([ip] { ip->is_free.store(true, std::memory_order_release); });
  return tp->commit();
}

}  // namespace

int inactivate(Mount& m, const InodeRef& ip) {
  {
    std::shared_lock<std::shared_mutex> l(ip->lock);
    if (!to_free(*ip)) return 0;
  }
  for (;;) {
    for (bool more = true, gone = false; more;) {
      if (int e = retry_on_eagain([&] { return truncate_step(m, ip, &more, &gone); })) return e;
      if (gone) return 0;
    }
    const int e = free_once(m, ip);
    if (e != EAGAIN) return e;
  }
}

int inactivate_unlinked(Mount& m, uint64_t* freed) {
  const Superblock& sb = m.sb();
  uint64_t n = 0;
  int first_err = 0;
  for (uint32_t agno = 0; agno < sb.agcount; agno++) {
    std::array<uint32_t, 64> heads;
    if (int e = iunlink_heads(m, agno, &heads)) return e;
    for (unsigned b = 0; b < heads.size(); b++) {
      // Each inactivate() takes the head off, so the bucket's next inode
      // becomes the head.
      for (uint32_t head = heads[b]; head != kNullAgblock;) {
        const uint64_t ino = agino_to_ino(sb, agno, head);
        InodeRef ip;
        int e = m.iget(ino, &ip);
        bool linked = false;
        if (e == 0) {
          std::shared_lock<std::shared_mutex> l(ip->lock);
          linked = ip->core.nlink != 0;
        }
        if (linked)
          e = m.report_corruption("AGI unlinked list", ag_header_daddr(sb, agno, 2),
                                  "inode " + std::to_string(ino) + " has links");
        if (e == 0) e = inactivate(m, ip);
        std::array<uint32_t, 64> now;
        if (e == 0) e = iunlink_heads(m, agno, &now);
        if (e == 0 && now[b] == head) e = EUCLEAN;  // not taken off: stop, do not loop
        if (e != 0) {
          std::fprintf(stderr, "xfsfuse: freeing unlinked inode %llu: %s\n", static_cast<unsigned long long>(ino),
                       std::strerror(e));
          if (first_err == 0) first_err = e;
          break;
        }
        n++;
        head = now[b];
      }
    }
  }
  if (freed != nullptr) *freed = n;
  return first_err;
}

}  // namespace xfsfuse::fs
