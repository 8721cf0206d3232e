// Short-form attr writes: the list in the attr fork (xd_attr_sf_hdr, then
// entries of namelen, valuelen, flags, name, value) as the kernel changes
// it: new entries appended at the end, a removed one closed up, di_forkoff
// moved to what xfs_attr_shortform_bytesfit gives for the new size (it only
// moves when the list outgrows the fork).  The in-core fork holds exactly
// the list's totsize bytes; the rest of the fork area keeps what it held,
// as in the kernel.
#include <cerrno>
#include <cstring>
#include <vector>

#include "fs/attr_internal.h"
#include "fs/attr_write_internal.h"
#include "fs/bmap_write.h"
#include "fs/dir.h"
#include "fs/format/attr.h"
#include "fs/format/endian.h"
#include "fs/mount.h"

namespace xfsfuse::fs::attr {

namespace {

constexpr size_t kHdr = sizeof(xd_attr_sf_hdr), kEntryHead = 3;
// The largest name or value short form takes is 254 bytes (the kernel's
// XFS_ATTR_SF_ENTSIZE_MAX is 255, and a name or value of that size goes
// to a leaf).
constexpr size_t kSfFieldMax = 255;

size_t totsize(const CachedInode& ip) {
  const auto& b = ip.af.bytes;
  return b.size() >= kHdr ? bc::load_be(b.data(), 2) : 0;
}

void set_hdr(std::vector<std::byte>& b, size_t tot, unsigned count) {
  store_be(b.data(), 2, tot);
  b[2] = static_cast<std::byte>(count);
}

}  // namespace

void sf_create(Transaction& tp, CachedInode* ip) {
  ip->af.format = ForkFormat::kLocal;
  ip->core.aformat = static_cast<int8_t>(ForkFormat::kLocal);
  ip->af.bytes.assign(kHdr, std::byte{0});
  set_hdr(ip->af.bytes, kHdr, 0);
  tp.log_inode(ip, kDirtyCore | kDirtyAttr);
}

bool sf_find(const CachedInode& ip, uint8_t ns, std::string_view name, size_t* off, size_t* size) {
  const auto& b = ip.af.bytes;
  const unsigned count = static_cast<unsigned>(b[2]);
  size_t at = kHdr;
  for (unsigned i = 0; i < count; i++) {
    const auto* p = reinterpret_cast<const uint8_t*>(b.data() + at);
    const size_t len = kEntryHead + p[0] + p[1];
    if ((p[2] & kNamespaceMask) == ns && std::string_view(reinterpret_cast<const char*>(p + kEntryHead), p[0]) == name) {
      *off = at;
      *size = len;
      return true;
    }
    at += len;
  }
  return false;
}

int sf_add(Transaction& tp, CachedInode* ip, const NewAttr& a) {
  if (a.name.size() >= kSfFieldMax || a.value.size() >= kSfFieldMax) return ENOSPC;
  const size_t tot = totsize(*ip), len = kEntryHead + a.name.size() + a.value.size();
  const int forkoff = bytesfit(*ip, tot + len);
  if (forkoff == 0) return ENOSPC;
  if (forkoff != ip->core.forkoff)
    if (int e = bmap_set_forkoff(tp, ip, static_cast<uint8_t>(forkoff))) return e;
  auto& b = ip->af.bytes;
  b.resize(tot);
  b.push_back(static_cast<std::byte>(a.name.size()));
  b.push_back(static_cast<std::byte>(a.value.size()));
  b.push_back(static_cast<std::byte>(a.ns));
  const auto* n = reinterpret_cast<const std::byte*>(a.name.data());
  b.insert(b.end(), n, n + a.name.size());
  b.insert(b.end(), a.value.begin(), a.value.end());
  set_hdr(b, tot + len, static_cast<unsigned>(b[2]) + 1);
  tp.log_inode(ip, kDirtyCore | kDirtyAttr);
  return 0;
}

int sf_remove(Transaction& tp, CachedInode* ip, size_t off, size_t size, bool keep_fork) {
  auto& b = ip->af.bytes;
  const size_t tot = totsize(*ip) - size;
  const unsigned count = static_cast<unsigned>(b[2]) - 1;
  b.erase(b.begin() + static_cast<ptrdiff_t>(off), b.begin() + static_cast<ptrdiff_t>(off + size));
  b.resize(tot);
  set_hdr(b, tot, count);
  tp.log_inode(ip, kDirtyCore | kDirtyAttr);
  if (tot == kHdr && !keep_fork && ip->df.format != ForkFormat::kBtree) return remove_fork(tp, ip);
  const int forkoff = bytesfit(*ip, tot);
  if (forkoff == 0 || forkoff == ip->core.forkoff) return 0;
  return bmap_set_forkoff(tp, ip, static_cast<uint8_t>(forkoff));
}

int sf_to_leaf(Transaction& tp, CachedInode* ip, bc::BufHandle** leaf) {
  // The entries, copied before the fork becomes an empty extents fork.
  std::vector<std::byte> list = ip->af.bytes;
  ip->af = InodeFork{};
  ip->core.aformat = static_cast<int8_t>(ForkFormat::kExtents);
  ip->core.anextents = 0;
  tp.log_inode(ip, kDirtyCore | kDirtyAttr);
  if (int e = reset_forkoff(tp, ip)) return e;
  std::vector<Extent> map;
  if (int e = bmap_write(tp, ip, 0, 1, kBmapAttrFork, &map)) return e;
  if (int e = leaf_create(tp, ip, leaf)) return e;
  const unsigned count = list.size() >= kHdr ? static_cast<unsigned>(list[2]) : 0;
  size_t at = kHdr;
  for (unsigned i = 0; i < count; i++) {
    const auto* p = reinterpret_cast<const uint8_t*>(list.data() + at);
    NewAttr a;
    a.ns = p[2] & kNamespaceMask;
    a.name = {reinterpret_cast<const char*>(p + kEntryHead), p[0]};
    a.value = std::span<const std::byte>(list).subspan(at + kEntryHead + p[0], p[1]);
    a.hash = da_hashname(a.name);
    const LeafPos pos = leaf_lookup({(*leaf)->data(), (*leaf)->size()}, a);
    bool remote = false;
    if (!leaf_add(tp, *leaf, pos.index, a, &remote) || remote)
      return tp.mount().report_corruption("attr short form", ip->daddr,
                                          "inode " + std::to_string(ip->core.ino) +
                                              ": its entries do not fit one leaf block");
    at += kEntryHead + p[0] + p[1];
  }
  return 0;
}

}  // namespace xfsfuse::fs::attr
