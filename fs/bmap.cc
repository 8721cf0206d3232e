#include "fs/bmap.h"

#include <cerrno>
#include <cstring>

#include "fs/corrupt.h"
#include "fs/format/endian.h"

namespace xfsfuse::fs {

namespace {

std::string describe(const Extent& e) {
  return "extent [" + std::to_string(e.startoff) + ", +" + std::to_string(e.blockcount) + ") at fsblock " +
         std::to_string(e.startblock);
}

}  // namespace

int check_extent(const Superblock& sb, const Extent& e, std::string* why) {
  if (e.blockcount == 0) return corrupt(why, describe(e) + " is empty");
  if (!extent_in_ag(sb, fsblock_to_agno(sb, e.startblock), fsblock_to_agbno(sb, e.startblock), e.blockcount))
    return corrupt(why, describe(e) + " lies outside its AG or the filesystem");
  if (e.startoff + e.blockcount > kBmbtMaxStartoff) return corrupt(why, describe(e) + " ends past the largest file offset");
  return 0;
}

uint32_t fork_size(const Inode& n, bool attr_fork) {
  const uint32_t split = n.forkoff ? uint32_t{n.forkoff} * 8 : n.literal_size;
  return attr_fork ? n.literal_size - split : split;
}

int decode_extent_fork(const Superblock& sb, const Inode& n, std::span<const std::byte> raw, bool attr_fork,
                       std::vector<Extent>* out, std::string* why) {
  out->clear();
  const auto format = attr_fork ? static_cast<ForkFormat>(n.aformat) : n.format;
  if (format != ForkFormat::kExtents) return EINVAL;
  const uint64_t count = attr_fork ? n.anextents : n.nextents;
  const uint32_t size = fork_size(n, attr_fork);
  if (count * kBmbtRecSize > size)
    return corrupt(why, std::to_string(count) + " extents do not fit a " + std::to_string(size) + "-byte fork");
  const size_t start = kInodeCoreSize + (attr_fork ? fork_size(n, false) : 0);
  if (start + size > raw.size()) return corrupt(why, "fork runs past the inode");
  out->reserve(count);
  for (uint64_t i = 0; i < count; i++) {
    const Extent e = decode_bmbt_rec(raw.data() + start + i * kBmbtRecSize);
    if (int err = check_extent(sb, e, why)) return err;
    if (!out->empty() && e.startoff < out->back().startoff + out->back().blockcount)
      return corrupt(why, describe(e) + " overlaps or precedes the extent before it");
    out->push_back(e);
  }
  return 0;
}

}  // namespace xfsfuse::fs
