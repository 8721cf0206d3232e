#include "fs/symlink_write.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "fs/bmap.h"
#include "fs/bmap_write.h"
#include "fs/buf_ops.h"
#include "fs/format/endian.h"
#include "fs/format/inode.h"
#include "fs/format/magic.h"
#include "fs/mount.h"

namespace xfsfuse::fs {

namespace {

constexpr size_t kHdrSize = sizeof(xd_dsymlink_hdr);

bool fits_inline(const CachedInode& ip, size_t len) { return len <= fork_size(ip.core, false); }

int write_remote(Transaction& tp, CachedInode* ip, std::string_view target);

}  // namespace

uint32_t symlink_blocks(const Superblock& sb, size_t len) {
  const size_t space = sb.blocksize - kHdrSize;
  return static_cast<uint32_t>((len + space - 1) / space);
}

uint64_t symlink_target_reservation(const Superblock& sb, size_t len) {
  return bmap_write_reservation(sb, symlink_blocks(sb, len));
}

int symlink_write_target(Transaction& tp, CachedInode* ip, std::string_view target) {
  Inode& n = ip->core;
  if (fits_inline(*ip, target.size())) {
    n.format = ForkFormat::kLocal;
    ip->df.format = ForkFormat::kLocal;
    ip->df.extents.clear();
    ip->df.bytes.assign(reinterpret_cast<const std::byte*>(target.data()),
                        reinterpret_cast<const std::byte*>(target.data()) + target.size());
    n.size = target.size();
    tp.log_inode(ip, kDirtyCore | kDirtyData);
    return 0;
  }
  return write_remote(tp, ip, target);
}

int symlink_local_to_remote(Transaction& tp, CachedInode* ip) {
  const std::string target(reinterpret_cast<const char*>(ip->df.bytes.data()),
                           std::min<size_t>(ip->core.size, ip->df.bytes.size()));
  ip->core.format = ip->df.format = ForkFormat::kExtents;
  ip->df.bytes.clear();
  ip->df.extents.clear();
  ip->core.nextents = 0;
  tp.log_inode(ip, kDirtyCore | kDirtyData);
  return write_remote(tp, ip, target);
}

namespace {

int write_remote(Transaction& tp, CachedInode* ip, std::string_view target) {
  Mount& m = tp.mount();
  Inode& n = ip->core;
  const uint32_t nblocks = symlink_blocks(m.sb(), target.size());
  std::vector<Extent> map;
  if (int e = bmap_write(tp, ip, 0, nblocks, 0, &map)) return e;
  n.size = target.size();
  tp.log_inode(ip, kDirtyCore);
  // One buffer per contiguous extent, as the kernel's xfs_symlink writes.
  std::vector<bc::DiskRange> ranges;
  if (int e = m.map_blocks(*ip, false, 0, nblocks, &ranges)) return e;
  size_t offset = 0;
  for (const bc::DiskRange& r : ranges) {
    bc::BufHandle* h;
    if (int e = tp.get_new_buf({&r, 1}, &symlink_ops(), &h)) return e;
    const size_t bytes = std::min(h->size() - kHdrSize, target.size() - offset);
    std::byte* p = h->data();
    store_be(p + offsetof(xd_dsymlink_hdr, sl_magic), 4, kSymlinkMagic);
    store_be(p + offsetof(xd_dsymlink_hdr, sl_offset), 4, offset);
    store_be(p + offsetof(xd_dsymlink_hdr, sl_bytes), 4, bytes);
    std::memcpy(p + offsetof(xd_dsymlink_hdr, sl_uuid), m.sb().meta_uuid.data(), 16);
    store_be(p + offsetof(xd_dsymlink_hdr, sl_owner), 8, n.ino);
    store_be(p + offsetof(xd_dsymlink_hdr, sl_blkno), 8, r.daddr);
    std::memcpy(p + kHdrSize, target.data() + offset, bytes);
    tp.log_buf(h, 0, kHdrSize + bytes);
    offset += bytes;
  }
  if (offset != target.size())  // an invariant: the extents cover nblocks blocks
    return m.report_corruption("symlink", ip->daddr, "inode " + std::to_string(n.ino) + ": target blocks hold " +
                                                         std::to_string(offset) + " of " +
                                                         std::to_string(target.size()) + " bytes");
  return 0;
}

}  // namespace

}  // namespace xfsfuse::fs
