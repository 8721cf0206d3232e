// Block form <-> leaf form, and data blocks leaving a leaf-form directory,
// as the kernel does them (XFS Algorithms & Data Structures, "Leaf
// Directories"; docs/format.md "Directories (64 KiB blocks)").
//
// Block -> leaf (an add that does not fit the block): a LEAF1 block is
// mapped at the start of the leaf space; it takes the block's leaf entries
// as they are (stale ones too, count and stale with them) and bestcount 1.
// The block's leaf and tail become free space (merged with a free region
// before them), the block becomes data block 0 (XDD3), and bests[0] is its
// longest free region.  di_size stays one directory block (leaf blocks do
// not count).
//
// Leaf -> block (after every leaf-form removal): trailing empty data blocks
// are freed first; then, if data block 0 is the only one and its last
// region is free and at least 8 bytes per live leaf entry plus the 8-byte
// tail long, the tail end of that region takes the tail and the live leaf
// entries in order, the block becomes XDB3 and the LEAF1 block is freed; the
// block then goes on to short form when that fits the data fork.
#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>

#include "fs/dir_write_internal.h"
#include "fs/format/dir.h"
#include "fs/format/endian.h"

namespace xfsfuse::fs::dir {

size_t LeafEdit::lower_bound(uint32_t hash) const {
  size_t lo = 0, hi = count();
  while (lo < hi) {
    const size_t mid = lo + (hi - lo) / 2;
    if (this->hash(mid) < hash)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

void LeafEdit::move(size_t to, size_t from, size_t n) {
  if (n == 0) return;
  std::memmove(h_->data() + to, h_->data() + from, n);
  tp_.log_buf(h_, to, n);
}

void LeafEdit::put(size_t off, unsigned n, uint64_t v) {
  store_be(h_->data() + off, n, v);
  tp_.log_buf(h_, off, n);
}

int free_data_block(Transaction& tp, CachedInode* dp, uint64_t db, bc::BufHandle* h) {
  const Geometry g = geometry(tp.mount().sb());
  const uint64_t dablk = db * g.blkfsbs;
  if (int err = dir_free_block(tp, dp, dablk, h)) return err;
  if (dp->core.size > (db + 1) * g.blksize) return 0;
  // The highest data block: di_size ends at the highest fsblock still mapped
  // below it.
  uint64_t end = 0;
  for (const Extent& e : dp->df.extents)
    if (e.startoff < dablk) end = std::max(end, std::min(e.startoff + e.blockcount, dablk));
  dp->core.size = end * tp.mount().sb().blocksize;
  tp.log_inode(dp, kDirtyCore);
  return 0;
}

int block_to_leaf(Transaction& tp, CachedInode* dp, bc::BufHandle* blk) {
  Mount& m = tp.mount();
  const Geometry g = geometry(m.sb());
  std::vector<bc::DiskRange> maps;
  if (int err = dir_alloc_block(tp, dp, g.leaf_dablk, &maps)) return err;
  bc::BufHandle* lh;
  if (int err = tp.get_new_buf(maps, &dir3_leaf_ops(), &lh)) return err;
  LeafEdit l(tp, lh);
  l.put(offsetof(xd_da_blkinfo, magic), 2, kDir3Leaf1Magic);
  l.put(offsetof(xd_da3_blkinfo, blkno), 8, maps[0].daddr);
  std::memcpy(lh->data() + offsetof(xd_da3_blkinfo, uuid), m.sb().meta_uuid.data(), 16);
  l.put(offsetof(xd_da3_blkinfo, owner), 8, dp->core.ino);
  tp.log_buf(lh, 0, kLeafHdrSize);

  DataBlockEdit e(tp, blk, dp->core.ino);
  const uint32_t count = e.count(), stale = e.stale();
  const size_t leaf_off = e.leaf_off();
  l.set_count(count);
  l.set_stale(stale);
  std::memcpy(lh->data() + LeafEdit::ent_off(0), blk->data() + leaf_off, size_t{count} * 8);
  tp.log_buf(lh, LeafEdit::ent_off(0), size_t{count} * 8);
  // The leaf and tail become free space of what is now data block 0.
  if (int err = e.make_free(leaf_off, e.size() - leaf_off)) return err;
  e.set_magic(kDir3DataMagic);
  e.scan_if_needed();
  l.put(l.size() - 4, 4, 1);
  l.set_best(0, e.best_len(0));
  return 0;
}

int leaf_to_block(Transaction& tp, CachedInode* dp, bc::BufHandle* leaf) {
  const Geometry g = geometry(tp.mount().sb());
  LeafEdit l(tp, leaf);
  const uint16_t empty = static_cast<uint16_t>(g.blksize - kDataHdrSize);
  while (dp->core.size > g.blksize) {
    const uint32_t last = l.bestcount() - 1;
    if (l.bestcount() == 0 || l.best(last) != empty) return 0;
    bc::BufHandle* h;
    if (int err = read_dir_block(tp, dp, uint64_t{last} * g.blkfsbs, &dir3_data_ops(), &h)) return err;
    if (int err = free_data_block(tp, dp, last, h)) return err;
    l.move(l.bests_off() + 2, l.bests_off(), 2 * size_t{last});
    l.put(l.size() - 4, 4, last);
  }
  bc::BufHandle* h;
  if (int err = read_dir_block(tp, dp, 0, &dir3_data_ops(), &h)) return err;
  DataBlockEdit e(tp, h, dp->core.ino);
  const uint32_t live = l.count() - l.stale();
  const size_t need = 8 + 8 * size_t{live};
  const size_t last = e.u16(e.size() - 2);  // the tag of the block's last region
  if (last < kDataHdrSize || last >= e.size() || !e.is_free(last) || e.free_len(last) < need) return 0;
  e.set_magic(kDir3BlockMagic);
  if (int err = e.use_free(last, e.size() - need, need)) return err;
  e.put(e.size() - 8, 4, live);
  e.put(e.size() - 4, 4, 0);
  size_t to = e.size() - need;
  for (uint32_t i = 0; i < l.count(); i++) {
    if (l.addr(i) == 0) continue;
    std::memcpy(e.data() + to, leaf->data() + LeafEdit::ent_off(i), 8);
    to += 8;
  }
  e.log(e.size() - need, need - 8);
  e.scan_if_needed();
  if (int err = dir_free_block(tp, dp, g.leaf_dablk, leaf)) return err;
  return block_maybe_to_sf(tp, dp, e, h);
}

}  // namespace xfsfuse::fs::dir
