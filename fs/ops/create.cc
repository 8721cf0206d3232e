#include "fs/ops/create.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <memory>
#include <random>

#include "fs/alloc/ialloc.h"
#include "fs/alloc/iunlink.h"
#include "fs/attr_write.h"
#include "fs/dir.h"
#include "fs/dir_write.h"
#include "fs/format/endian.h"
#include "fs/format/inode.h"
#include "fs/mount.h"
#include "fs/ops/acl.h"
#include "fs/ops/remove.h"
#include "fs/ops/setattr.h"
#include "fs/symlink_write.h"
#include "fs/trans/trans.h"

namespace xfsfuse::fs {

namespace {

// di_flags bits (XFS Algorithms & Data Structures, "On-disk Inode").
constexpr uint16_t kDiflagSync = 0x20, kDiflagNoatime = 0x40, kDiflagNodump = 0x80, kDiflagRtinherit = 0x100,
                   kDiflagProjinherit = 0x200, kDiflagNosymlinks = 0x400, kDiflagExtsize = 0x800,
                   kDiflagExtszinherit = 0x1000, kDiflagNodefrag = 0x2000;
constexpr uint64_t kDiflag2Dax = 1u << 0;

uint32_t random_generation() {
  thread_local std::mt19937 rng{std::random_device{}()};
  return static_cast<uint32_t>(rng());
}

// Clears every byte of a free inode but what identifies it (magic, version,
// di_ino, di_uuid, di_next_unlinked): fields Inode does not model (di_lsn,
// di_cowextsize, ...) and stale fork bytes of an earlier life start at 0.
void clear_free_dinode(std::vector<std::byte>& raw) {
  xd_dinode keep;
  std::memcpy(&keep, raw.data(), sizeof keep);
  std::memset(raw.data(), 0, raw.size());
  xd_dinode d{};
  d.di_magic = keep.di_magic;
  d.di_version = keep.di_version;
  d.di_ino = keep.di_ino;
  d.di_uuid = keep.di_uuid;
  d.di_next_unlinked = keep.di_next_unlinked;
  std::memcpy(raw.data(), &d, sizeof d);
}

// The flags a new inode takes from its parent directory (the kernel's
// xfs_inode_inherit_flags / flags2).
void inherit_flags(const Inode& parent, bool is_dir, bool is_reg, Inode* n) {
  const uint16_t pf = parent.flags;
  if (is_dir) {
    n->flags |= pf & (kDiflagRtinherit | kDiflagExtszinherit | kDiflagProjinherit | kDiflagNosymlinks);
    if (pf & kDiflagExtszinherit) n->extsize = parent.extsize;
  } else if (is_reg && (pf & kDiflagExtszinherit) && parent.extsize != 0) {
    n->flags |= kDiflagExtsize;
    n->extsize = parent.extsize;
  }
  n->flags |= pf & (kDiflagSync | kDiflagNoatime | kDiflagNodump | kDiflagNodefrag);
  if (pf & kDiflagProjinherit) n->projid = parent.projid;
  n->flags2 |= parent.flags2 & kDiflag2Dax;
}

// Fills the core of the free inode ip (joined, lock held) as a new file.
void init_core(const Superblock& sb, const Inode& parent, const Cred& c, uint32_t mode, uint64_t rdev,
               CachedInode* ip) {
  clear_free_dinode(ip->raw);
  Inode n;
  n.ino = ip->core.ino;
  n.literal_size = ip->core.literal_size;
  n.mode = static_cast<uint16_t>(mode);
  n.uid = c.uid;
  const bool is_dir = S_ISDIR(mode), is_reg = S_ISREG(mode);
  if (parent.mode & S_ISGID) {
    n.gid = parent.gid;
    if (is_dir) n.mode |= S_ISGID;
  } else {
    n.gid = c.gid;
  }
  // inode_init_owner(): set-group-ID on a group-executable file the caller
  // could not have set it for.
  if (!is_dir && (n.mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP) && !c.in_group(n.gid) && !c.root())
    n.mode &= ~S_ISGID;
  n.nlink = is_dir ? 2 : 1;
  n.aformat = static_cast<int8_t>(ForkFormat::kExtents);
  n.gen = random_generation();
  n.next_unlinked = ip->core.next_unlinked;
  n.changecount = 1;
  if (sb.features_incompat & kIncompatBigtime) n.flags2 |= kDiflag2Bigtime;
  if (sb.features_incompat & kIncompatNrext64) n.flags2 |= kDiflag2Nrext64;
  inherit_flags(parent, is_dir, is_reg, &n);
  n.atime = n.mtime = n.ctime = n.crtime = current_time();

  InodeFork& df = ip->df;
  df.extents.clear();
  df.bytes.clear();
  ip->af = InodeFork{};
  if (S_ISCHR(mode) || S_ISBLK(mode) || S_ISFIFO(mode) || S_ISSOCK(mode)) {
    n.format = ForkFormat::kDev;
    // xfs_dev_t: major << 18 | minor (docs/format.md "Inodes").
    const uint32_t dev = (S_ISCHR(mode) || S_ISBLK(mode)) ? (major(rdev) << 18) | (minor(rdev) & 0x3ffff) : 0;
    df.bytes.resize(4);
    store_be(df.bytes.data(), 4, dev);
  } else {
    n.format = ForkFormat::kExtents;  // a directory: dir_init() makes it short form
  }
  df.format = n.format;
  ip->core = n;
}

// The checks of the VFS (lookup, may_create) in its order; REQUIRES dp
// joined.
int check_parent(Mount& m, const CachedInode& dp, std::string_view name, const Cred& c) {
  const Inode& pc = dp.core;
  if (!S_ISDIR(pc.mode)) return ENOTDIR;
  if (int e = permission(c, pc, X_OK)) return e;
  uint64_t existing;
  const int e = dir_lookup(m, dp, name, &existing);
  if (e == 0) return EEXIST;
  if (e != ENOENT) return e;
  if (pc.nlink == 0) return ENOENT;
  return permission(c, pc, W_OK | X_OK);
}

// Allocates an inode near the directory parent_ino and loads it, free, into
// *out (joined).
int alloc_inode(Transaction& tp, uint64_t parent_ino, InodeRef* out) {
  Mount& m = tp.mount();
  uint64_t ino;
  if (int e = ialloc(tp, parent_ino, &ino)) return e;
  // The inode's bytes: from the cluster buffer this transaction holds if
  // ialloc() just made its chunk (so the read cannot wait on itself), else
  // read shared and let go.  Not joined here: a symlink's blocks or a
  // directory block still to be allocated take an AGF, which must come
  // before any other buffer (docs/locking.md); commit joins the cluster.
  bc::DiskRange map;
  size_t at = 0;
  if (int e = m.inode_buf_map(ino, &map, &at)) return e;
  if (bc::BufHandle* joined = tp.joined_buf(map.daddr)) {
    if (int e = m.iget_new(ino, {joined->data() + at, m.sb().inodesize}, out)) return e;
  } else {
    bc::BufHandle cluster;
    if (int e = m.cache().get({&map, 1}, &m.buf_ops().inode_cluster(), bc::kAnyOwner, bc::kGetShared, &cluster))
      return e;
    if (int e = m.iget_new(ino, {cluster.data() + at, m.sb().inodesize}, out)) return e;
  }
  // A free inode, which no other transaction can reach: lock order does not
  // matter, so it is only tried (waiting would order it after the parent,
  // against ascending inode numbers, in TSan's eyes).  A reader still
  // looking at its old in-core self may hold it a moment: start over.
  if (!tp.try_join_inode(*out)) return EAGAIN;
  return 0;
}

// Marks ip allocated at commit (Mount::iget finds it from then on).
void publish_at_commit(Transaction& tp, const InodeRef& ip, bool linkable) {
  tp.on_commit([ip, linkable] {
    ip->linkable = linkable;
    ip->is_free.store(false, std::memory_order_release);
  });
}

int make_node_once(Mount& m, const InodeRef& dp, std::string_view name, const Cred& c, uint32_t mode, uint64_t rdev,
                   std::string_view target, InheritedAcl* acls, InodeRef* out) {
  const bool is_dir = S_ISDIR(mode), is_lnk = S_ISLNK(mode);
  std::unique_ptr<Transaction> tp;
  if (int e = Transaction::begin(m, &tp)) return e;
  uint64_t resv = ialloc_reservation(m.sb()) + dir_add_reservation(m.sb());
  if (is_lnk && target.size() <= kSymlinkTargetMax) resv += symlink_target_reservation(m.sb(), target.size());
  if (int e = tp->reserve_blocks(resv)) return e;
  tp->join_inode(dp);
  Inode& pc = dp->core;
  if (int e = check_parent(m, *dp, name, c)) return e;
  if (is_dir && pc.nlink >= kMaxLink) return EMLINK;
  if (is_lnk && target.size() > kSymlinkTargetMax) return ENAMETOOLONG;
  if (is_lnk && (pc.flags & kDiflagNosymlinks)) return EPERM;

  if (int e = acl_inherit(m, *dp, mode, c.umask, acls)) return e;
  InodeRef ip;
  // As the kernel: files, directories and device nodes get the preset attr
  // fork, symlinks none (docs/format.md "Inodes").
  if (int e = init_new_inode(*tp, pc, c, acls->mode, rdev, m.options().init_xattrs && !is_lnk, &ip)) return e;
  if (is_lnk)
    if (int e = symlink_write_target(*tp, ip.get(), target)) return e;
  if (int e = dir_add(*tp, dp.get(), name, ip->core.ino, dir_ftype(mode))) return e;
  if (is_dir) pc.nlink++;
  pc.mtime = pc.ctime = ip->core.ctime;
  pc.changecount++;
  tp->log_inode(dp.get(), kDirtyCore);
  if (int e = tp->commit()) return e;
  *out = std::move(ip);
  return 0;
}

int make_tmpfile_once(Mount& m, const InodeRef& dp, const Cred& c, uint32_t mode, bool linkable, InheritedAcl* acls,
                      InodeRef* out) {
  std::unique_ptr<Transaction> tp;
  if (int e = Transaction::begin(m, &tp)) return e;
  if (int e = tp->reserve_blocks(ialloc_reservation(m.sb()))) return e;
  tp->join_inode(dp);
  if (!S_ISDIR(dp->core.mode)) return ENOTDIR;
  if (int e = permission(c, dp->core, W_OK | X_OK)) return e;
  if (int e = acl_inherit(m, *dp, mode, c.umask, acls)) return e;
  InodeRef ip;
  // ialloc() holds the new inode's AGI from here on: iunlink() below takes
  // no other AG header.
  if (int e = alloc_inode(*tp, dp->core.ino, &ip)) return e;
  init_core(m.sb(), dp->core, c, acls->mode, 0, ip.get());  // no preset attr fork, as the kernel's O_TMPFILE
  ip->core.nlink = 0;
  tp->log_inode(ip.get(), kDirtyCore | kDirtyData);
  if (int e = iunlink(*tp, ip.get())) return e;
  publish_at_commit(*tp, ip, linkable);
  if (int e = tp->commit()) return e;
  *out = std::move(ip);
  return 0;
}

}  // namespace

uint8_t dir_ftype(uint32_t mode) {
  switch (mode & S_IFMT) {
    case S_IFREG: return kFtReg;
    case S_IFDIR: return kFtDir;
    case S_IFCHR: return kFtChrdev;
    case S_IFBLK: return kFtBlkdev;
    case S_IFIFO: return kFtFifo;
    case S_IFSOCK: return kFtSock;
    case S_IFLNK: return kFtSymlink;
    default: return kFtUnknown;
  }
}

int init_new_inode(Transaction& tp, const Inode& parent, const Cred& c, uint32_t mode, uint64_t rdev, bool init_xattrs,
                   InodeRef* out) {
  InodeRef ip;
  if (int e = alloc_inode(tp, parent.ino, &ip)) return e;
  init_core(tp.mount().sb(), parent, c, mode, rdev, ip.get());
  if (init_xattrs) attr_fork_at_create(ip.get());
  if (S_ISDIR(mode)) dir_init(tp, ip.get(), parent.ino);
  tp.log_inode(ip.get(), kDirtyCore | kDirtyData);
  publish_at_commit(tp, ip, false);
  *out = std::move(ip);
  return 0;
}

int make_node(Mount& m, const InodeRef& dp, std::string_view name, const Cred& c, uint32_t mode, uint64_t rdev,
              InodeRef* out) {
  if (name.size() > 255) return ENAMETOOLONG;
  InheritedAcl acls;
  if (int e = retry_change(m, [&] { return make_node_once(m, dp, name, c, mode, rdev, {}, &acls, out); })) return e;
  if (int e = acl_store_inherited(m, *out, acls)) {
    // As the kernel's xfs_generic_create(): a new inode whose ACLs could
    // not be stored loses its name again.
    (void)(S_ISDIR(mode) ? rmdir(m, dp, name, c) : unlink(m, dp, name, c));
    out->reset();
    return e;
  }
  return 0;
}

int make_symlink(Mount& m, const InodeRef& dp, std::string_view name, std::string_view target, const Cred& c,
                 InodeRef* out) {
  if (target.empty()) return ENOENT;
  if (target.find('\0') != std::string_view::npos) return EINVAL;
  if (name.size() > 255) return ENAMETOOLONG;
  InheritedAcl acls;  // a symlink inherits no ACL
  return retry_change(m, [&] { return make_node_once(m, dp, name, c, S_IFLNK | 0777, 0, target, &acls, out); });
}

int make_tmpfile(Mount& m, const InodeRef& dp, const Cred& c, uint32_t mode, bool linkable, InodeRef* out) {
  if (!S_ISREG(mode)) return EINVAL;
  InheritedAcl acls;
  if (int e = retry_change(m, [&] { return make_tmpfile_once(m, dp, c, mode, linkable, &acls, out); })) return e;
  if (int e = acl_store_inherited(m, *out, acls)) {
    out->reset();  // on the unlinked list: freed once dropped
    return e;
  }
  return 0;
}

}  // namespace xfsfuse::fs
