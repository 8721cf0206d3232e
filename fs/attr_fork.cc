// The attr fork itself: where di_forkoff goes (the kernel's
// xfs_attr_shortform_bytesfit and xfs_bmap_add_attrfork), creating an empty
// fork, dropping it again (xfs_attr_fork_remove).
//
// Sizes: the literal area after the inode core (336 bytes in 512-byte
// inodes) holds both forks; di_forkoff counts 8-byte units.  A data fork
// btree root needs room for at least 3 keys and pointers (52 bytes), an
// attr fork's at least 2 (36 bytes), so di_forkoff stays within
// [roundup(max(data bytes, 52), 8) / 8, (literal - 36) / 8].  A new fork on
// an inode whose list will not fit takes the default offset: 196 bytes of
// data fork on inodes over 256 bytes (room for 12 root pointers), literal -
// 36 on 256-byte ones, 8 bytes after a device number.
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>

#include "fs/attr_write.h"
#include "fs/attr_write_internal.h"
#include "fs/bmap_fork.h"
#include "fs/bmap_write.h"
#include "fs/dir_write.h"
#include "fs/mount.h"
#include "fs/symlink_write.h"

namespace xfsfuse::fs::attr {

namespace {

constexpr size_t kBmdrHdr = 4, kBmdrPair = 16;
constexpr size_t bmdr_space(size_t recs) { return kBmdrHdr + recs * kBmdrPair; }
constexpr size_t kMinDataPtrs = 3, kMinAttrPtrs = 2;

size_t round8(size_t n) { return (n + 7) & ~size_t{7}; }

// The kernel's xfs_default_attroffset, bytes.
size_t default_attroffset(const CachedInode& ip) {
  if (ip.df.format == ForkFormat::kDev) return 8;
  if (ip.core.literal_size + kInodeCoreSize <= 256) return ip.core.literal_size - bmdr_space(kMinAttrPtrs);
  return bmdr_space(6 * kMinAttrPtrs);
}

// Bytes the data fork holds now (the kernel's if_bytes; a btree root
// counted as its on-disk size for its records).
size_t data_bytes(const CachedInode& ip) {
  switch (ip.df.format) {
    case ForkFormat::kLocal: return ip.core.size;
    case ForkFormat::kExtents: return ip.df.extents.size() * kBmbtRecSize;
    case ForkFormat::kBtree:
      return ip.df.bytes.size() >= 4 ? bmdr_space(bc::load_be(ip.df.bytes.data() + 2, 2)) : bmdr_space(0);
    default: return ip.df.bytes.size();
  }
}

}  // namespace

int bytesfit(const CachedInode& ip, size_t bytes) {
  const size_t lit = ip.core.literal_size;
  if (bytes > lit) return 0;
  const size_t offset = (lit - bytes) >> 3;
  if (ip.df.format == ForkFormat::kDev) {
    const size_t min = round8(4) >> 3;
    return offset >= min ? static_cast<int>(min) : 0;
  }
  const size_t forkoff = ip.core.forkoff;
  if (forkoff != 0 && bytes <= lit - forkoff * 8) return static_cast<int>(forkoff);
  size_t dsize = data_bytes(ip);
  if (ip.df.format == ForkFormat::kExtents) {
    // A data fork that a default-sized attr fork would push into btree
    // format needs only the root's room.
    if (forkoff == 0 && dsize > default_attroffset(ip)) dsize = bmdr_space(kMinDataPtrs);
  } else if (ip.df.format == ForkFormat::kBtree && forkoff != 0) {
    return offset < forkoff ? 0 : static_cast<int>(forkoff);
  }
  const size_t minforkoff = round8(std::max(dsize, bmdr_space(kMinDataPtrs))) >> 3;
  const size_t maxforkoff = (lit - bmdr_space(kMinAttrPtrs)) >> 3;
  if (offset >= maxforkoff) return static_cast<int>(maxforkoff);
  if (offset >= minforkoff) return static_cast<int>(offset);
  return 0;
}

int add_fork(Transaction& tp, CachedInode* ip, size_t sf_size) {
  int forkoff = ip->df.format == ForkFormat::kDev ? 0 : bytesfit(*ip, sf_size);
  if (forkoff == 0) forkoff = static_cast<int>(default_attroffset(*ip) >> 3);
  ip->af = InodeFork{};
  ip->core.aformat = static_cast<int8_t>(ForkFormat::kExtents);
  ip->core.anextents = 0;
  // A local data fork that no longer fits goes to a block first
  // (xfs_bmap_add_attrfork_local): a directory becomes block form, a
  // symlink's target moves to a remote block.
  Inode probe = ip->core;
  probe.forkoff = static_cast<uint8_t>(forkoff);
  if (ip->df.format == ForkFormat::kLocal && ip->core.size > fork_size(probe, false)) {
    const uint32_t type = ip->core.mode & S_IFMT;
    int e = type == S_IFDIR ? dir_sf_to_block(tp, ip) : type == S_IFLNK ? symlink_local_to_remote(tp, ip) : EUCLEAN;
    if (e) return e;
  }
  return bmap_set_forkoff(tp, ip, static_cast<uint8_t>(forkoff));
}

int reset_forkoff(Transaction& tp, CachedInode* ip) {
  if (ip->df.format == ForkFormat::kDev || ip->df.format == ForkFormat::kBtree) return 0;
  const size_t dfl = default_attroffset(*ip) >> 3;
  if (dfl <= ip->core.forkoff) return 0;
  return bmap_set_forkoff(tp, ip, static_cast<uint8_t>(dfl));
}

int remove_fork(Transaction& tp, CachedInode* ip) {
  ip->af = InodeFork{};
  ip->core.aformat = static_cast<int8_t>(ForkFormat::kExtents);
  ip->core.anextents = 0;
  return bmap_set_forkoff(tp, ip, 0);
}

}  // namespace xfsfuse::fs::attr

namespace xfsfuse::fs {

void attr_fork_at_create(CachedInode* ip) {
  ip->core.forkoff = static_cast<uint8_t>(attr::default_attroffset(*ip) >> 3);
  ip->core.aformat = static_cast<int8_t>(ForkFormat::kExtents);
  ip->core.anextents = 0;
  ip->af = InodeFork{};
  ip->af.format = ForkFormat::kExtents;
}

}  // namespace xfsfuse::fs
