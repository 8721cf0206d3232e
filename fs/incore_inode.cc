// The in-core inode's fork bytes and its encoding back to the on-disk inode.
#include "fs/incore_inode.h"

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>

#include "buffer_cache/buf_ops.h"
#include "fs/corrupt.h"
#include "fs/format/inode.h"

namespace xfsfuse::fs {

namespace {

size_t fork_start(const Inode& n, bool attr_fork) { return kInodeCoreSize + (attr_fork ? fork_size(n, false) : 0); }

ForkFormat format_of(const Inode& n, bool attr_fork) {
  return attr_fork ? static_cast<ForkFormat>(n.aformat) : n.format;
}

// Writes one fork's contents into the literal area of out: the extent
// records, or the fork's bytes.  Bytes of the fork past what it uses keep
// what they held (the kernel leaves them too: mkfs.xfs -p leaves old
// short-form entries behind the extents of a converted directory).
// Returns 0 or EUCLEAN with *why.
int encode_fork(const CachedInode& ip, bool attr_fork, std::span<std::byte> out, std::string* why) {
  const Inode& n = ip.core;
  const InodeFork& f = ip.fork(attr_fork);
  const size_t start = fork_start(n, attr_fork), size = fork_size(n, attr_fork);
  const char* name = attr_fork ? "attr" : "data";
  if (start + size > out.size()) return corrupt(why, std::string(name) + " fork past the inode");
  std::span<std::byte> dst = out.subspan(start, size);
  if (format_of(n, attr_fork) != f.format)
    return corrupt(why, std::string(name) + " fork format differs from the core's");
  if (f.format == ForkFormat::kExtents) {
    const uint64_t want = attr_fork ? n.anextents : n.nextents;
    if (f.extents.size() != want)
      return corrupt(why, std::string(name) + " fork holds " + std::to_string(f.extents.size()) +
                              " extents, the core counts " + std::to_string(want));
    if (f.extents.size() * sizeof(xd_bmbt_rec) > size)
      return corrupt(why, std::to_string(f.extents.size()) + " extents do not fit the " + name + " fork");
    for (size_t i = 0; i < f.extents.size(); i++) {
      const xd_bmbt_rec r = encode_bmbt_rec(f.extents[i]);
      std::memcpy(dst.data() + i * sizeof r, &r, sizeof r);
    }
    return 0;
  }
  if (f.bytes.size() > size)
    return corrupt(why, std::string(name) + " fork holds " + std::to_string(f.bytes.size()) + " bytes, room for " +
                            std::to_string(size));
  std::copy(f.bytes.begin(), f.bytes.end(), dst.begin());
  return 0;
}

}  // namespace

void load_fork_bytes(CachedInode* ip) {
  for (bool attr_fork : {false, true}) {
    InodeFork& f = ip->fork(attr_fork);
    f.format = format_of(ip->core, attr_fork);
    f.bytes.clear();
    if (attr_fork && !ip->has_attr_fork()) continue;
    if (f.format == ForkFormat::kExtents) continue;
    const size_t start = fork_start(ip->core, attr_fork);
    const size_t size = std::min<size_t>(fork_size(ip->core, attr_fork), ip->raw.size() - std::min(start, ip->raw.size()));
    f.bytes.assign(ip->raw.begin() + static_cast<ptrdiff_t>(start), ip->raw.begin() + static_cast<ptrdiff_t>(start + size));
  }
}

int encode_inode(CachedInode* ip, std::span<std::byte> out, std::string* why) {
  if (out.size() != ip->raw.size()) return corrupt(why, "inode of " + std::to_string(out.size()) + " bytes");
  std::vector<std::byte> next(ip->raw);
  if (int e = encode_fork(*ip, false, next, why)) return e;
  if (ip->has_attr_fork())
    if (int e = encode_fork(*ip, true, next, why)) return e;
  // di_next_unlinked belongs to the unlinked-list code, which changes it in
  // the cluster buffer only (fs/alloc/iunlink.h): the value there wins.
  ip->core.next_unlinked = static_cast<uint32_t>(bc::load_be(out.data() + offsetof(xd_dinode, di_next_unlinked), 4));
  encode_inode_core(ip->core, next);
  std::copy(next.begin(), next.end(), out.begin());
  ip->raw = std::move(next);
  ip->dirty.store(0, std::memory_order_relaxed);
  return 0;
}

}  // namespace xfsfuse::fs
