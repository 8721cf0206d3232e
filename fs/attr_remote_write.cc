// Remote attr values written: blocks mapped at the first hole of the attr
// fork long enough for the whole value (the kernel's xfs_bmap_first_unused,
// searched from block 0), each fsblock with its own 56-byte "XARM" header
// (offset and bytes of the value it holds, owner, blkno = its daddr, uuid,
// rm_lsn all ones as the kernel writes it for these unlogged blocks), the
// value bytes, and zeros after the last byte.  Removal unmaps the range.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "fs/attr_write_internal.h"
#include "fs/bmap_write.h"
#include "fs/buf_ops.h"
#include "fs/format/attr.h"
#include "fs/format/endian.h"
#include "fs/format/magic.h"
#include "fs/mount.h"

namespace xfsfuse::fs::attr {

namespace {

constexpr size_t kHdr = sizeof(xd_attr3_rmt_hdr);

}  // namespace

uint64_t first_unused(const std::vector<Extent>& ext, uint64_t len) {
  uint64_t max = 0;
  for (const Extent& e : ext) {
    if (e.startoff >= len && e.startoff - max >= len) return max;
    max = std::max(max, e.startoff + e.blockcount);
  }
  return max;
}

uint32_t remote_blocks(const Superblock& sb, uint32_t valuelen) {
  const uint32_t per = sb.blocksize - kHdr;
  return (valuelen + per - 1) / per;
}

int remote_set(Transaction& tp, CachedInode* ip, std::span<const std::byte> value, uint32_t* valueblk) {
  Mount& m = tp.mount();
  const Superblock& sb = m.sb();
  const uint32_t count = remote_blocks(sb, static_cast<uint32_t>(value.size()));
  const uint64_t start = first_unused(ip->af.extents, count);
  if (start + count > UINT32_MAX) return EFBIG;
  std::vector<Extent> map;
  if (int e = bmap_write(tp, ip, start, count, kBmapAttrFork, &map)) return e;
  std::vector<bc::DiskRange> ranges;
  if (int e = m.map_blocks(*ip, true, start, count, &ranges)) return e;
  const uint32_t sectors = sb.blocksize >> bc::kSectorShift, per = sb.blocksize - kHdr;
  uint32_t off = 0;
  for (const bc::DiskRange& r : ranges) {
    for (uint32_t s = 0; s < r.len; s += sectors) {
      const bc::DiskRange one{r.daddr + s, sectors};
      bc::BufHandle* h;
      if (int e = tp.get_new_buf({&one, 1}, &attr3_remote_ops(), &h)) return e;
      std::byte* b = h->data();
      const uint32_t bytes = std::min<uint32_t>(per, static_cast<uint32_t>(value.size()) - off);
      std::memset(b, 0, h->size());
      store_be(b + offsetof(xd_attr3_rmt_hdr, rm_magic), 4, kAttr3RemoteMagic);
      store_be(b + offsetof(xd_attr3_rmt_hdr, rm_offset), 4, off);
      store_be(b + offsetof(xd_attr3_rmt_hdr, rm_bytes), 4, bytes);
      std::memcpy(b + offsetof(xd_attr3_rmt_hdr, rm_uuid), sb.meta_uuid.data(), 16);
      store_be(b + offsetof(xd_attr3_rmt_hdr, rm_owner), 8, ip->core.ino);
      store_be(b + offsetof(xd_attr3_rmt_hdr, rm_blkno), 8, one.daddr);
      store_be(b + offsetof(xd_attr3_rmt_hdr, rm_lsn), 8, UINT64_MAX);
      std::memcpy(b + kHdr, value.data() + off, bytes);
      tp.log_buf(h, 0, h->size());
      off += bytes;
    }
  }
  *valueblk = static_cast<uint32_t>(start);
  return 0;
}

int remote_remove(Transaction& tp, CachedInode* ip, uint32_t valueblk, uint32_t valuelen) {
  const uint32_t count = remote_blocks(tp.mount().sb(), valuelen);
  bool more = false;
  if (int e = bmap_unmap(tp, ip, valueblk, count, count, &more, kBmapAttrFork)) return e;
  return more ? EIO : 0;  // count blocks hold at most count extents: one call frees them all
}

}  // namespace xfsfuse::fs::attr
