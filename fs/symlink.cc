// Symlink targets.  di_size bytes, 1..1024 (XFS_SYMLINK_MAXLEN), with no NUL.
// Local format: the target is the first di_size bytes of the data fork.
// Extents format: the target sits in data fork blocks from 0 on, one
// xd_dsymlink_hdr ("XSLM", offset and bytes of the target it holds, CRC,
// uuid, owner, blkno = its daddr, lsn: 56 bytes) at the start of each
// contiguous disk range, the CRC covering that whole range; the file has
// ceil(di_size / (blocksize - 56)) blocks.  With blocks of 4 KiB or more that
// is one block.  This is what the kernel writes and reads; the kernel image's
// remote symlinks (images/README.md) check it.
//
// mkfs.xfs -p (6.1) writes remote symlink blocks as bare target bytes with no
// header; the kernel refuses those with EUCLEAN ("Structure needs cleaning")
// and so does this code: the header check fails in the buffer cache, which
// logs it.
#include "fs/symlink.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>

#include "fs/buf_ops.h"
#include "fs/format/endian.h"
#include "fs/format/inode.h"

namespace xfsfuse::fs {

namespace {

constexpr size_t kHdrSize = sizeof(xd_dsymlink_hdr);
constexpr uint64_t kTargetMax = 1024;

// Reads the remote target of ip (di_size bytes) into *target.
int read_remote(Mount& m, const CachedInode& ip, std::string* target) {
  const std::string who = "inode " + std::to_string(ip.core.ino) + ": ";
  const uint64_t size = ip.core.size;
  const uint32_t bs = m.sb().blocksize;
  const uint32_t nblocks = static_cast<uint32_t>((size + bs - kHdrSize - 1) / (bs - kHdrSize));
  for (const Extent& e : ip.df.extents)
    if (e.unwritten && e.startoff < nblocks)
      return m.report_corruption("symlink", ip.daddr, who + "an unwritten extent holds the target");
  std::vector<bc::DiskRange> maps;
  int err = m.map_blocks(ip, false, 0, nblocks, &maps);
  if (err == ENOENT)
    return m.report_corruption("symlink", ip.daddr,
                               who + "blocks [0, " + std::to_string(nblocks) + ") of the target hold a hole");
  if (err) return err;
  target->clear();
  for (const bc::DiskRange& r : maps) {
    bc::BufHandle h;
    if ((err = m.cache().get({&r, 1}, &symlink_ops(), ip.core.ino, bc::kGetShared, &h))) return err;
    xd_dsymlink_hdr hdr;
    std::memcpy(&hdr, h.data(), sizeof hdr);
    const uint64_t want = std::min<uint64_t>(h.size() - kHdrSize, size - target->size());
    if (be32(hdr.sl_offset) != target->size() || be32(hdr.sl_bytes) != want)
      return m.report_corruption("symlink", r.daddr,
                                 who + "block holds target bytes [" + std::to_string(be32(hdr.sl_offset)) + ", +" +
                                     std::to_string(be32(hdr.sl_bytes)) + "), expected [" +
                                     std::to_string(target->size()) + ", +" + std::to_string(want) + ")");
    target->append(reinterpret_cast<const char*>(h.data() + kHdrSize), want);
  }
  return 0;
}

}  // namespace

int read_symlink(Mount& m, const CachedInode& ip, std::string* target) {
  if (!S_ISLNK(ip.core.mode)) return EINVAL;
  const std::string who = "inode " + std::to_string(ip.core.ino) + ": ";
  const uint64_t size = ip.core.size;
  if (size == 0 || size > kTargetMax)
    return m.report_corruption("symlink", ip.daddr, who + "target of " + std::to_string(size) + " bytes");
  if (ip.core.format == ForkFormat::kLocal) {
    const auto fork = ip.fork_bytes(false);
    if (size > fork.size())
      return m.report_corruption("symlink", ip.daddr,
                                 who + "inline target of " + std::to_string(size) + " bytes in a " +
                                     std::to_string(fork.size()) + "-byte fork");
    target->assign(reinterpret_cast<const char*>(fork.data()), size);
  } else if (ip.core.format == ForkFormat::kExtents || ip.core.format == ForkFormat::kBtree) {
    if (int err = read_remote(m, ip, target)) return err;
  } else {
    return m.report_corruption("symlink", ip.daddr,
                               who + "data fork format " + std::to_string(static_cast<int>(ip.core.format)));
  }
  if (target->find('\0') != std::string::npos)
    return m.report_corruption("symlink", ip.daddr, who + "target holds a NUL byte");
  return 0;
}

}  // namespace xfsfuse::fs
