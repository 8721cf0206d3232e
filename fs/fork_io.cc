// Mount's reads through inode forks: file data, fork block maps, directory
// and attr blocks.
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "fs/corrupt.h"
#include "fs/log/log.h"
#include "fs/atomic_max.h"
#include "fs/mount.h"

namespace xfsfuse::fs {

namespace {

// The extent holding file block fsb, or the first one after it (end() if none).
std::vector<Extent>::const_iterator find_extent(const std::vector<Extent>& ext, uint64_t fsb) {
  auto it = std::upper_bound(ext.begin(), ext.end(), fsb,
                             [](uint64_t b, const Extent& e) { return b < e.startoff; });
  if (it != ext.begin() && fsb < std::prev(it)->startoff + std::prev(it)->blockcount) return std::prev(it);
  return it;
}

}  // namespace

int Mount::read_data(const CachedInode& ip, uint64_t off, size_t len, std::byte* dst, size_t* got) {
  *got = 0;
  const uint64_t size = ip.core.size;
  if (off >= size || len == 0) return 0;
  len = static_cast<size_t>(std::min<uint64_t>(len, size - off));
  if (ip.core.format == ForkFormat::kLocal) {
    const auto bytes = ip.fork_bytes(false);
    if (size > bytes.size())
      return report_corruption("inode", ip.daddr, "inode " + std::to_string(ip.core.ino) + ": local data larger than its fork");
    std::memcpy(dst, bytes.data() + off, len);
    *got = len;
    return 0;
  }
  if (ip.core.format != ForkFormat::kExtents && ip.core.format != ForkFormat::kBtree) return EINVAL;
  const unsigned bl = sb_.blocklog;
  uint64_t pos = off;
  const uint64_t end = off + len;
  while (pos < end) {
    const uint64_t fsb = pos >> bl;
    auto it = find_extent(ip.df.extents, fsb);
    uint64_t run_end;  // byte offset where this piece stops
    if (it == ip.df.extents.end() || it->startoff > fsb) {
      // A hole up to the next extent (or to the end).
      run_end = it == ip.df.extents.end() ? end : std::min(end, it->startoff << bl);
      std::memset(dst + (pos - off), 0, run_end - pos);
    } else {
      run_end = std::min(end, (it->startoff + it->blockcount) << bl);
      if (it->unwritten) {
        std::memset(dst + (pos - off), 0, run_end - pos);
      } else {
        const uint64_t disk = daddr_to_bytes(fsblock_to_daddr(sb_, it->startblock + (fsb - it->startoff))) +
                              (pos & (sb_.blocksize - 1));
        iovec iov{dst + (pos - off), static_cast<size_t>(run_end - pos)};
        if (int err = dev_->preadv(&iov, 1, disk)) return err;
      }
    }
    pos = run_end;
  }
  *got = len;
  return 0;
}

int Mount::write_data_blocks(const CachedInode& ip, uint64_t fsblock, uint32_t off_in_block, const iovec* iov,
                             int iovcnt) {
  const uint64_t disk = daddr_to_bytes(fsblock_to_daddr(sb_, fsblock)) + off_in_block;
  if (log_) {  // blocks a queued transaction freed: their old owner must not come back over this data
    size_t bytes = 0;
    for (int i = 0; i < iovcnt; i++) bytes += iov[i].iov_len;
    const uint64_t first = disk >> bc::kSectorShift, end = (disk + bytes + 511) >> bc::kSectorShift;
    if (end > first && log_->wait_busy({first, static_cast<uint32_t>(end - first)}) != 0) return EIO;
  }
  if (dev_->pwritev(iov, iovcnt, disk) != 0) return EIO;
  // After the write: a sync that reads data_gen_ from here on covers it.
  const uint64_t gen = data_gen_.fetch_add(1, std::memory_order_acq_rel) + 1;
  raise_to(ip.data_gen, gen);
  return 0;
}

int Mount::map_blocks(const CachedInode& ip, bool attr_fork, uint64_t fsb, uint32_t count,
                      std::vector<bc::DiskRange>* maps) {
  maps->clear();
  const std::vector<Extent>& ext = attr_fork ? ip.af.extents : ip.df.extents;
  const uint64_t end = fsb + count;
  const uint32_t sects_per_block = static_cast<uint32_t>(fsblocks_to_sectors(sb_, 1));
  for (auto it = find_extent(ext, fsb); fsb < end; ++it) {
    if (it == ext.end() || it->startoff > fsb) return ENOENT;
    if (it->unwritten)
      return report_corruption("inode", ip.daddr,
                               "inode " + std::to_string(ip.core.ino) + ": unwritten extent under " +
                                   (attr_fork ? "attr fork" : "data fork") + " metadata at file block " +
                                   std::to_string(fsb));
    const uint64_t n = std::min(end, it->startoff + it->blockcount) - fsb;
    const bc::DiskRange r{fsblock_to_daddr(sb_, it->startblock + (fsb - it->startoff)),
                          static_cast<uint32_t>(n * sects_per_block)};
    if (!maps->empty() && maps->back().daddr + maps->back().len == r.daddr)
      maps->back().len += r.len;
    else
      maps->push_back(r);
    fsb += n;
  }
  return 0;
}

int Mount::read_dablk(const CachedInode& ip, bool attr_fork, uint64_t dablk, const bc::BufOps* ops,
                      bc::BufHandle* out) {
  std::vector<bc::DiskRange> maps;
  const uint32_t count = attr_fork ? 1 : 1u << sb_.dirblklog;
  if (int err = map_blocks(ip, attr_fork, dablk, count, &maps)) return err;
  return cache_->get(maps, ops, ip.core.ino, bc::kGetShared, out);
}

}  // namespace xfsfuse::fs
