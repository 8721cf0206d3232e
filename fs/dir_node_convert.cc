// Leaf form <-> node form, and the free-index blocks (XDF3) of node form, as
// the kernel does them (XFS Algorithms & Data Structures, "Node
// Directories"; docs/format.md "Node form as the kernel writes it").
//
// Leaf -> node (a leaf-form add whose leaf entry does not fit the LEAF1
// block, with at most one stale entry; xfs_dir2_leaf_to_node): a free-index
// block is mapped at the first free-space block; its header gets firstdb 0,
// nvalid = the LEAF1's bestcount, nused = the bests that are not 0xffff, and
// the bests are copied after it.  The LEAF1 block becomes a LEAFN by its
// magic alone: its bests and bestcount stay where they were, as bytes the
// leaf entries may grow over.  di_size does not change.
//
// Node -> leaf (after every node-form removal; xfs_dir2_node_to_leaf): with
// more than one free-index block, trailing ones without a used best are
// freed first (a used one or a hole stops it all); then, if the leaf space
// holds just the one LEAFN and 64 + 8 x live entries + 2 x nvalid + 4 bytes
// fit a block, the stale entries are squeezed out (bytes past the new count
// kept), the bests of free-index block 0 and bestcount = nvalid go to the
// block's end, the magic becomes LEAF1, the free-index block is freed, and
// leaf_to_block goes on from there.
#include <algorithm>
#include <cerrno>
#include <cstring>

#include "fs/dir_write_internal.h"
#include "fs/format/dir.h"
#include "fs/format/endian.h"

namespace xfsfuse::fs::dir {

namespace {

constexpr size_t kLeafMagicOff = 8;  // xd_da3_blkinfo.magic

// The first fork block at or after from starting n unmapped fork blocks (the
// kernel's xfs_bmap_first_unused from there).
uint64_t first_unmapped_from(const CachedInode& dp, uint64_t from, uint64_t n) {
  uint64_t at = from;
  for (const Extent& e : dp.df.extents) {
    if (e.startoff + e.blockcount <= at) continue;
    if (e.startoff >= at + n) break;
    at = e.startoff + e.blockcount;
  }
  return at;
}

int convert_corrupt(Transaction& tp, CachedInode* dp, uint64_t daddr, const char* what, const std::string& why) {
  return tp.mount().report_corruption(what, daddr, "directory " + std::to_string(dp->core.ino) + ": " + why);
}

}  // namespace

void FreeEdit::put(size_t off, uint32_t v) {
  store_be(h->data() + off, 4, v);
  tp.log_buf(h, off, 4);
}

void FreeEdit::set_best(size_t i, uint16_t v) {
  store_be(h->data() + kHdrSize + 2 * i, 2, v);
  tp.log_buf(h, kHdrSize + 2 * i, 2);
}

bool dablk_mapped(const CachedInode& dp, uint64_t dablk) {
  for (const Extent& e : dp.df.extents)
    if (dablk >= e.startoff && dablk < e.startoff + e.blockcount) return true;
  return false;
}

int read_free_block(Transaction& tp, CachedInode* dp, uint64_t fdb, FreeEdit* f) {
  const Geometry g = geometry(tp.mount().sb());
  if (int err = read_dir_block(tp, dp, g.free_dablk + fdb * g.blkfsbs, &dir3_free_ops(), &f->h)) return err;
  if (f->firstdb() != fdb * free_max_bests(g) || f->nvalid() > free_max_bests(g) || f->nused() > f->nvalid())
    return convert_corrupt(tp, dp, f->h->daddr(), "dir3 free", "free-index header does not fit its block");
  return 0;
}

int new_free_block(Transaction& tp, CachedInode* dp, uint64_t fdb, FreeEdit* f) {
  Mount& m = tp.mount();
  const Geometry g = geometry(m.sb());
  const uint64_t dablk = first_unmapped_from(*dp, g.free_dablk, g.blkfsbs);
  if (dablk != g.free_dablk + fdb * g.blkfsbs)
    return convert_corrupt(tp, dp, dp->daddr, "dir3 free",
                           "free-index block " + std::to_string(fdb) + " would be mapped at fork block " +
                               std::to_string(dablk));
  std::vector<bc::DiskRange> maps;
  if (int err = dir_alloc_block(tp, dp, dablk, &maps)) return err;
  if (int err = tp.get_new_buf(maps, &dir3_free_ops(), &f->h)) return err;
  std::byte* p = f->h->data();
  store_be(p + offsetof(xd_dir3_blk_hdr, magic), 4, kDir3FreeMagic);
  store_be(p + offsetof(xd_dir3_blk_hdr, blkno), 8, maps[0].daddr);
  std::memcpy(p + offsetof(xd_dir3_blk_hdr, uuid), m.sb().meta_uuid.data(), 16);
  store_be(p + offsetof(xd_dir3_blk_hdr, owner), 8, dp->core.ino);
  store_be(p + FreeEdit::kFirstdbOff, 4, fdb * free_max_bests(g));
  tp.log_buf(f->h, 0, FreeEdit::kHdrSize);
  return 0;
}

int leaf_to_node(Transaction& tp, CachedInode* dp, bc::BufHandle* leaf) {
  const Geometry g = geometry(tp.mount().sb());
  LeafEdit l(tp, leaf);
  const uint32_t bestcount = l.bestcount();
  if (bestcount > dp->core.size / g.blksize || bestcount > free_max_bests(g))
    return convert_corrupt(tp, dp, leaf->daddr(), "dir3 leaf1",
                           "bestcount " + std::to_string(bestcount) + " past di_size");
  FreeEdit f{tp};
  if (int err = new_free_block(tp, dp, 0, &f)) return err;
  uint32_t used = 0;
  for (uint32_t i = 0; i < bestcount; i++) {
    const uint16_t b = l.best(i);
    used += b != LeafEdit::kNoBlock;
    f.set_best(i, b);
  }
  f.put(FreeEdit::kNvalidOff, bestcount);
  f.put(FreeEdit::kNusedOff, used);
  l.put(kLeafMagicOff, 2, kDir3LeafnMagic);
  tp.retype_buf(leaf, &dir3_leaf_ops());
  return 0;
}

int node_to_leaf(Transaction& tp, CachedInode* dp, bc::BufHandle* leaf) {
  const Geometry g = geometry(tp.mount().sb());
  auto last_mapped_end = [&](uint64_t below) {  // xfs_bmap_last_before / last_offset
    uint64_t end = 0;
    for (const Extent& e : dp->df.extents)
      if (e.startoff < below) end = std::max(end, std::min(e.startoff + e.blockcount, below));
    return end;
  };
  for (uint64_t fo = last_mapped_end(UINT64_MAX) - g.blkfsbs; fo > g.free_dablk; fo -= g.blkfsbs) {
    if (!dablk_mapped(*dp, fo)) return 0;
    FreeEdit f{tp};
    if (int err = read_free_block(tp, dp, (fo - g.free_dablk) / g.blkfsbs, &f)) return err;
    if (f.nused() > 0) return 0;
    if (int err = dir_free_block(tp, dp, fo, f.h)) return err;
  }
  if (last_mapped_end(g.free_dablk) > g.leaf_dablk + g.blkfsbs) return 0;
  FreeEdit f{tp};
  if (int err = read_free_block(tp, dp, 0, &f)) return err;
  LeafEdit l(tp, leaf);
  const size_t nvalid = f.nvalid();
  if (kLeafHdrSize + 8 * size_t{l.count() - l.stale()} + 2 * nvalid + 4 > g.blksize) return 0;
  if (l.stale() != 0) compact_all(l);
  l.put(kLeafMagicOff, 2, kDir3Leaf1Magic);
  l.put(l.size() - 4, 4, nvalid);
  std::memcpy(leaf->data() + l.bests_off(), f.h->data() + FreeEdit::kHdrSize, 2 * nvalid);
  tp.log_buf(leaf, l.bests_off(), 2 * nvalid);
  tp.retype_buf(leaf, &dir3_leaf_ops());
  if (int err = dir_free_block(tp, dp, g.free_dablk, f.h)) return err;
  return leaf_to_block(tp, dp, leaf);
}

}  // namespace xfsfuse::fs::dir
