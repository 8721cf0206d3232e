// bmap_set_forkoff (fs/bmap_write.h): the data fork fitted to a moved
// di_forkoff.
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "btree/layout.h"
#include "fs/bmap_fork.h"
#include "fs/bmap_write.h"

namespace xfsfuse::fs {

namespace {

// The bmdr root in `from` (its own size) laid out for a fork of `size`
// bytes: header, numrecs keys, then pointers after room for maxrecs keys.
// Returns false if numrecs does not fit.
bool relayout_bmdr(const std::vector<std::byte>& from, size_t size, std::vector<std::byte>* to) {
  const auto& l = btree::kBmdrLayout;
  if (from.size() < l.hdr) return false;
  const uint32_t numrecs = static_cast<uint32_t>(bc::load_be(from.data() + 2, 2));
  const uint32_t old_max = l.maxrecs(from.size(), 1), new_max = l.maxrecs(size, 1);
  if (numrecs > new_max || numrecs > old_max) return false;
  to->assign(size, std::byte{0});
  std::memcpy(to->data(), from.data(), l.hdr + size_t{numrecs} * l.key);
  std::memcpy(to->data() + l.ptr_off(new_max, 0), from.data() + l.ptr_off(old_max, 0), size_t{numrecs} * l.ptr);
  return true;
}

int unsupported(const CachedInode& ip, const char* what) {
  std::fprintf(stderr, "xfsfuse: inode %llu: %s does not fit the data fork's new size; not supported yet\n",
               static_cast<unsigned long long>(ip.core.ino), what);
  return EOPNOTSUPP;
}

}  // namespace

int bmap_set_forkoff(Transaction& tp, CachedInode* ip, uint8_t forkoff) {
  Inode probe = ip->core;
  probe.forkoff = forkoff;
  const size_t dsize = fork_size(probe, false);
  InodeFork& df = ip->df;
  std::vector<std::byte> root;
  switch (df.format) {
    case ForkFormat::kLocal:
      if (ip->core.size > dsize) return unsupported(*ip, "a local data fork");
      break;
    case ForkFormat::kDev:
      if (dsize < 4) return unsupported(*ip, "a device number");
      break;
    case ForkFormat::kBtree:
      if (!relayout_bmdr(df.bytes, dsize, &root)) return unsupported(*ip, "the bmbt root");
      break;
    default:
      break;
  }
  ip->core.forkoff = forkoff;
  // Local and device forks hold their whole literal area.
  if (df.format == ForkFormat::kLocal || df.format == ForkFormat::kDev) df.bytes.resize(dsize);
  if (df.format == ForkFormat::kBtree) df.bytes = std::move(root);
  tp.log_inode(ip, kDirtyCore | kDirtyData | kDirtyAttr);
  if (df.format != ForkFormat::kExtents) return 0;
  ForkEditor fe(tp, ip, false);
  if (int e = fe.refit()) return e;
  return fe.finish();
}

}  // namespace xfsfuse::fs
