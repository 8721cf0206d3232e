// Block-form directories: one directory block at data block 0 (XDB3) holding
// the entries, then `count` leaf entries (hashval, address) sorted by hash,
// then the tail (be32 count, be32 stale).  dir3_block_ops() checks all of it when
// the buffer cache reads the block (dir_data.cc); the lookup below searches
// the leaf entries by hash.
#include <cerrno>

#include "fs/dir_internal.h"

namespace xfsfuse::fs::dir {

int block_lookup(Mount& m, const CachedInode& ip, std::string_view name, uint64_t* ino, uint8_t* ftype) {
  bc::BufHandle h;
  if (int err = m.read_dablk(ip, false, 0, &dir3_block_ops(), &h))
    return err == ENOENT
               ? m.report_corruption("dir3 block", ip.daddr,
                                     "block-form directory " + std::to_string(ip.core.ino) + " has a hole at block 0")
               : err;
  std::span<const std::byte> blk(h.data(), h.size());
  const size_t end = entries_end(blk, kDir3BlockMagic);
  if (end == 0)
    return m.report_corruption("dir3 block", h.daddr(),
                               "directory " + std::to_string(ip.core.ino) + " block 0 is not a dir3 block");
  const size_t count = (blk.size() - 8 - end) / 8;
  auto hash_at = [&](size_t i) { return static_cast<uint32_t>(bc::load_be(blk.data() + end + i * 8, 4)); };
  const uint32_t hash = da_hashname(name);
  size_t lo = 0, hi = count;
  while (lo < hi) {
    const size_t mid = lo + (hi - lo) / 2;
    if (hash_at(mid) < hash)
      lo = mid + 1;
    else
      hi = mid;
  }
  for (; lo < count && hash_at(lo) == hash; lo++) {
    const uint64_t addr = bc::load_be(blk.data() + end + lo * 8 + 4, 4);
    DataEntry e;
    if (addr == 0 || !entry_at(blk, end, addr * 8, &e) || e.name != name) continue;
    if (int err = check_ino(m, "dir3 block", h.daddr(), e.ino, e.name)) return err;
    *ino = e.ino;
    if (ftype) *ftype = e.ftype;
    return 0;
  }
  return ENOENT;
}

}  // namespace xfsfuse::fs::dir
