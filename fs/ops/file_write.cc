#include "fs/ops/file_write.h"

#include <sys/stat.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <memory>
#include <mutex>
#include <vector>

#include "fs/bmap_write.h"
#include "fs/mount.h"
#include "fs/ops/setattr.h"
#include "fs/trans/trans.h"

namespace xfsfuse::fs {

namespace {

constexpr uint16_t kDiflagPrealloc = 0x2;      // di_flags: has preallocated (fallocate) space
constexpr uint64_t kDiflag2Reflink = 1u << 1;  // di_flags2: extents may be shared
// Extents freed per transaction by truncate and punch (the kernel's
// truncate loop frees a couple per transaction roll).
constexpr uint32_t kUnmapPerTrans = 2;
// Blocks preallocated per transaction by fallocate: the longest extent, as
// the kernel's xfs_alloc_file_space reserves (so a request far beyond the
// free space fails with ENOSPC before anything is allocated, as there).
constexpr uint64_t kPreallocPerTrans = kBmbtMaxBlockcount;

alignas(64) const std::byte kZeros[65536] = {};  // the largest XFS block

// Whether file block fsb is mapped to written blocks; *fsblock = where.
bool written_block(const CachedInode& ip, uint64_t fsb, uint64_t* fsblock) {
  const auto& ext = ip.df.extents;
  auto it = std::upper_bound(ext.begin(), ext.end(), fsb, [](uint64_t b, const Extent& e) { return b < e.startoff; });
  if (it == ext.begin()) return false;
  --it;
  if (fsb >= it->startoff + it->blockcount || it->unwritten) return false;
  *fsblock = it->startblock + (fsb - it->startoff);
  return true;
}

int check_file(const CachedInode& ip) {
  if (S_ISDIR(ip.core.mode)) return EISDIR;
  if (!S_ISREG(ip.core.mode)) return EINVAL;
  if (ip.core.flags2 & kDiflag2Reflink) {
    std::fprintf(stderr, "xfsfuse: inode %llu may share extents (reflink): changing it needs copy-on-write, "
                         "which xfsfuse does not do yet\n", static_cast<unsigned long long>(ip.core.ino));
    return EOPNOTSUPP;
  }
  return 0;
}

// Starts a transaction on ip with `blocks` reserved and checks the file.
int begin(Mount& m, const InodeRef& ip, uint64_t blocks, std::unique_ptr<Transaction>* tp) {
  if (int e = Transaction::begin(m, tp)) return e;
  if (int e = (*tp)->reserve_blocks(blocks)) return e;
  (*tp)->join_inode(ip);
  return check_file(*ip);
}

// Writes zeros over bytes [from, to) of the file, all inside one block, if
// that block holds written data (holes and unwritten blocks read as zeros).
int zero_in_block(Mount& m, const CachedInode& ip, uint64_t from, uint64_t to) {
  if (from >= to) return 0;
  const unsigned bl = m.sb().blocklog;
  uint64_t fsblock;
  if (!written_block(ip, from >> bl, &fsblock)) return 0;
  iovec iov{const_cast<std::byte*>(kZeros), static_cast<size_t>(to - from)};
  return m.write_data_blocks(ip, fsblock, static_cast<uint32_t>(from & (m.sb().blocksize - 1)), &iov, 1);
}

// Zeroes the old last block past old_size up to new_size (a size that grows).
int zero_eof(Mount& m, const CachedInode& ip, uint64_t old_size, uint64_t new_size) {
  const uint64_t bs = m.sb().blocksize;
  return zero_in_block(m, ip, old_size, std::min(new_size, (old_size + bs - 1) / bs * bs));
}

// Sets mtime and ctime, and takes set-group-ID without group execute from
// a writer outside the file's group (fs/ops/file_write.h).
void touch(Transaction& tp, CachedInode* ip, const Cred* writer) {
  Inode& n = ip->core;
  if (writer && (n.mode & (S_ISGID | S_IXGRP)) == S_ISGID && !writer->root() && !writer->in_group(n.gid))
    n.mode &= static_cast<uint16_t>(~S_ISGID);
  ip->core.mtime = ip->core.ctime = current_time();
  ip->core.changecount++;
  tp.log_inode(ip, kDirtyCore);
}

// Unmaps file blocks [first, end) (end 0: to the largest offset) in
// transactions of a few extents each.
int unmap_range(Mount& m, const InodeRef& ip, uint64_t first, uint64_t end) {
  const uint64_t stop = end ? end : kBmbtMaxStartoff + 1;
  if (first >= stop) return 0;
  for (bool more = true; more;) {
    int e = retry_change(m, [&] {
      std::unique_ptr<Transaction> tp;
      if (int e2 = begin(m, ip, bmap_unmap_reservation(m.sb()), &tp)) return e2;
      if (int e2 = bmap_unmap(*tp, ip.get(), first, stop - first, kUnmapPerTrans, &more)) return e2;
      return tp->commit();
    });
    if (e) return e;
  }
  return 0;
}

// One try of write_file: one transaction.
int write_once(Mount& m, const InodeRef& ip, uint64_t off, const std::byte* data, size_t len, const Cred* writer) {
  const unsigned bl = m.sb().blocklog;
  const uint64_t bs = m.sb().blocksize, end = off + len;
  const uint64_t first = off >> bl, last_end = (end + bs - 1) >> bl;
  std::unique_ptr<Transaction> tp;
  // Blocks for the mapping, and for converting unwritten blocks under it.
  const uint64_t blocks = bmap_write_reservation(m.sb(), last_end - first) + bmap_unmap_reservation(m.sb());
  if (int e = begin(m, ip, blocks, &tp)) return e;
  CachedInode& n = *ip;
  const uint64_t old_size = n.core.size;
  if (off > old_size)
    if (int e = zero_eof(m, n, old_size, off)) return e;
  // The edge blocks are written whole unless they already hold data.
  uint64_t unused;
  const bool pad_head = (off & (bs - 1)) != 0 && !written_block(n, first, &unused);
  const bool pad_tail = (end & (bs - 1)) != 0 && !written_block(n, last_end - 1, &unused);
  std::vector<Extent> map;
  if (int e = bmap_write(*tp, &n, first, last_end - first, 0, &map)) return e;
  if (std::any_of(map.begin(), map.end(), [](const Extent& x) { return x.unwritten; }))
    if (int e = bmap_convert_written(*tp, &n, first, last_end - first)) return e;
  for (const Extent& x : map) {
    const uint64_t xs = x.startoff << bl, xe = (x.startoff + x.blockcount) << bl;
    uint64_t from = std::max(xs, off), to = std::min(xe, end);
    iovec iov[3];
    int cnt = 0;
    if (pad_head && xs <= (off & ~(bs - 1)) && (off & ~(bs - 1)) < xe) {
      iov[cnt++] = {const_cast<std::byte*>(kZeros), static_cast<size_t>(off & (bs - 1))};
      from = off & ~(bs - 1);
    }
    iov[cnt++] = {const_cast<std::byte*>(data + (std::max(xs, off) - off)), static_cast<size_t>(to - std::max(xs, off))};
    if (pad_tail && xs < end && end < xe) {
      const uint64_t tail_end = (end + bs - 1) & ~(bs - 1);
      iov[cnt++] = {const_cast<std::byte*>(kZeros), static_cast<size_t>(tail_end - end)};
    }
    const uint64_t fsblock = x.startblock + ((from >> bl) - x.startoff);
    if (int e = m.write_data_blocks(*ip, fsblock, static_cast<uint32_t>(from & (bs - 1)), iov, cnt)) return e;
  }
  if (end > old_size) n.core.size = end;
  touch(*tp, &n, writer);
  return tp->commit();
}

}  // namespace

int write_file(Mount& m, const InodeRef& ip, uint64_t off, const std::byte* data, size_t len, const Cred* writer) {
  if (len == 0) return 0;
  if (off > kMaxFileSize || len > kMaxFileSize - off) return EFBIG;
  std::lock_guard<std::mutex> io(ip->iolock);
  return retry_change(m, [&] { return write_once(m, ip, off, data, len, writer); });
}

int truncate_file(Mount& m, const InodeRef& ip, uint64_t size, const Cred* writer) {
  if (size > kMaxFileSize) return EFBIG;
  const uint64_t bs = m.sb().blocksize;
  std::lock_guard<std::mutex> io(ip->iolock);
  std::unique_ptr<Transaction> tp;
  if (int e = begin(m, ip, 0, &tp)) return e;
  CachedInode& n = *ip;
  const uint64_t old_size = n.core.size;
  int e = size > old_size ? zero_eof(m, n, old_size, size) : zero_in_block(m, n, size, (size + bs - 1) / bs * bs);
  if (e) return e;
  n.core.size = size;
  touch(*tp, &n, writer);
  if ((e = tp->commit())) return e;
  if (size > old_size) return 0;
  // Every block past the new last one goes, preallocation past EOF too (as
  // the kernel's xfs_setattr_size, also for an unchanged size).
  return unmap_range(m, ip, (size + bs - 1) >> m.sb().blocklog, 0);
}

int fallocate_file(Mount& m, const InodeRef& ip, int mode, uint64_t off, uint64_t len, const Cred* writer) {
  const bool keep = mode & kFallocKeepSize, punch = mode & kFallocPunchHole, zero = mode & kFallocZeroRange;
  if (mode & ~(kFallocKeepSize | kFallocPunchHole | kFallocZeroRange)) return EOPNOTSUPP;
  if ((punch && !keep) || (punch && zero)) return EOPNOTSUPP;
  if (len == 0) return EINVAL;
  if (off > kMaxFileSize || len > kMaxFileSize - off) return EFBIG;
  const unsigned bl = m.sb().blocklog;
  const uint64_t bs = m.sb().blocksize, end = off + len;
  std::lock_guard<std::mutex> io(ip->iolock);
  if (punch || zero) {
    // The partial blocks at the edges get zeros, the whole ones go.
    std::unique_ptr<Transaction> tp;
    if (int e = begin(m, ip, 0, &tp)) return e;
    const uint64_t head_end = std::min(end, (off + bs - 1) & ~(bs - 1));
    if (int e = zero_in_block(m, *ip, off, head_end)) return e;
    if (int e = zero_in_block(m, *ip, std::max(head_end, end & ~(bs - 1)), end)) return e;
    tp->cancel();  // nothing in the inode changed
    const uint64_t first = (off + bs - 1) >> bl, stop = end >> bl;
    if (first < stop)
      if (int e = unmap_range(m, ip, first, stop)) return e;
  }
  if (!punch) {
    for (uint64_t fsb = off >> bl, stop = (end + bs - 1) >> bl; fsb < stop;) {
      const uint64_t n = std::min(stop - fsb, kPreallocPerTrans);
      int e = retry_change(m, [&] {
        std::unique_ptr<Transaction> tp;
        if (int e2 = begin(m, ip, bmap_write_reservation(m.sb(), n), &tp)) return e2;
        std::vector<Extent> map;
        if (int e2 = bmap_write(*tp, ip.get(), fsb, n, kBmapUnwritten, &map)) return e2;
        return tp->commit();
      });
      if (e) return e;
      fsb += n;
    }
  }
  std::unique_ptr<Transaction> tp;
  if (int e = begin(m, ip, 0, &tp)) return e;
  if (!keep && end > ip->core.size) ip->core.size = end;
  if (!punch) ip->core.flags |= kDiflagPrealloc;
  touch(*tp, ip.get(), writer);
  return tp->commit();
}

}  // namespace xfsfuse::fs
