// Remote attr values: a value too big for its leaf lives in attr fork blocks
// from the entry's valueblk on.  On v5 every fsblock starts with its own
// 56-byte xd_attr3_rmt_hdr ("XARM", offset and bytes of the value it holds,
// CRC over that fsblock, uuid, owner inode, blkno = its daddr, lsn) and
// carries up to blocksize - 56 value bytes, so a value takes
// ceil(valuelen / (blocksize - 56)) fsblocks, which may sit in several extents.
// Checked against the kernel image: a 65,536-byte value in 4 KiB blocks is 17
// fsblocks of 4,040 bytes, the last one 896.
#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>

#include "fs/attr_internal.h"
#include "fs/buf_ops.h"
#include "fs/format/attr.h"
#include "fs/format/endian.h"

namespace xfsfuse::fs::attr {

namespace {

constexpr size_t kHdrSize = sizeof(xd_attr3_rmt_hdr);

}  // namespace

int remote_read(Mount& m, const CachedInode& ip, uint32_t valueblk, uint32_t valuelen, std::vector<std::byte>* out) {
  const std::string who = "inode " + std::to_string(ip.core.ino) + ": ";
  if (valueblk == 0 || valuelen == 0 || valuelen > kValueMax)
    return m.report_corruption("attr remote value", ip.daddr,
                               who + "remote value of " + std::to_string(valuelen) + " bytes at attr block " +
                                   std::to_string(valueblk));
  const uint32_t bs = m.sb().blocksize, per_block = bs - kHdrSize;
  const uint32_t nblocks = (valuelen + per_block - 1) / per_block;
  std::vector<bc::DiskRange> maps;
  int err = m.map_blocks(ip, true, valueblk, nblocks, &maps);
  if (err == ENOENT)
    return m.report_corruption("attr remote value", ip.daddr,
                               who + "attr blocks [" + std::to_string(valueblk) + ", +" + std::to_string(nblocks) +
                                   ") of a remote value hold a hole");
  if (err) return err;
  out->resize(valuelen);
  const uint32_t sectors = bs >> bc::kSectorShift;
  uint32_t off = 0;
  for (const bc::DiskRange& r : maps) {
    for (uint32_t s = 0; s < r.len; s += sectors) {
      const bc::DiskRange one{r.daddr + s, sectors};
      bc::BufHandle h;
      if ((err = m.cache().get({&one, 1}, &attr3_remote_ops(), ip.core.ino, bc::kGetShared, &h))) return err;
      xd_attr3_rmt_hdr hdr;
      std::memcpy(&hdr, h.data(), sizeof hdr);
      const uint32_t want = std::min(per_block, valuelen - off);
      if (be32(hdr.rm_offset) != off || be32(hdr.rm_bytes) != want)
        return m.report_corruption("attr remote value", one.daddr,
                                   who + "block holds value bytes [" + std::to_string(be32(hdr.rm_offset)) + ", +" +
                                       std::to_string(be32(hdr.rm_bytes)) + "), expected [" + std::to_string(off) +
                                       ", +" + std::to_string(want) + ")");
      std::memcpy(out->data() + off, h.data() + kHdrSize, want);
      off += want;
    }
  }
  return 0;
}

}  // namespace xfsfuse::fs::attr
