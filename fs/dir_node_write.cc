// Node-form directories changed as the kernel changes them, so far with a
// single LEAFN block at the start of the leaf space (no da node above it):
// data blocks (XDD3) from data-space block 0, the LEAFN holding every leaf
// entry in hash order, and free-index blocks (XDF3) from the start of the
// free space, each holding the bests of (blksize - 64) / 2 data blocks
// (XFS Algorithms & Data Structures, "Node Directories"; docs/format.md
// "Node form as the kernel writes it").
//
// Leaf -> node (a leaf-form add whose leaf entry does not fit the LEAF1
// block, with at most one stale entry; the kernel's xfs_dir2_leaf_to_node):
// a free-index block is mapped at the first free-space block; its header
// gets firstdb 0, nvalid = the LEAF1's bestcount, nused = the bests that are
// not 0xffff, and the bests are copied after it.  The LEAF1 block becomes a
// LEAFN by its magic alone: its bests and bestcount stay where they were,
// as bytes the leaf entries may grow over.  di_size does not change.
//
// Adding (xfs_dir2_node_addname, whose choices decide the bytes):
//  - among the leaf entries of the name's hash (stale ones skipped), each
//    data block is looked at when it differs from the previous entry's: the
//    first whose best holds the entry is used, the insertion index staying
//    at that leaf entry (else past all of them);
//  - otherwise the free-index blocks are scanned from the last one down,
//    skipping the one that held the last block looked at above, each from
//    its highest best down: the first best (not 0xffff) that holds the entry
//    names the data block;
//  - none: a new data block at the lowest unmapped data-space block; its
//    free-index block (mapped at the first unmapped free-space block if not
//    there yet, firstdb set) grows nvalid to cover it (slots skipped keep
//    their bytes), nused counts it;
//  - the entry goes at the start of the data block's longest free region
//    and its best is updated;
//  - the leaf entry: when the LEAFN holds (blksize - 64) / 8 entries with
//    more than one stale, the stale entries but the nearest are squeezed out
//    first; then inserted as in leaf form (dir_leaf_write.cc).  A full LEAFN
//    without stale entries is split by the kernel (xfs_da3_split): not
//    written yet, ENOSPC before anything changes.
#include <algorithm>
#include <cerrno>
#include <cstring>

#include "fs/dir_write_internal.h"
#include "fs/format/dir.h"
#include "fs/format/endian.h"

namespace xfsfuse::fs::dir {

namespace {

constexpr size_t kFreeHdrSize = 64;  // xd_dir3_free_hdr: bests follow
constexpr size_t kFirstdbOff = 48, kNvalidOff = 52, kNusedOff = 56;
constexpr size_t kLeafMagicOff = 8;  // xd_da3_blkinfo.magic

uint32_t free_max_bests(const Geometry& g) { return (g.blksize - kFreeHdrSize) / 2; }

bool dablk_mapped(const CachedInode& dp, uint64_t dablk) {
  for (const Extent& e : dp.df.extents)
    if (dablk >= e.startoff && dablk < e.startoff + e.blockcount) return true;
  return false;
}

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

// A free-index block being read or changed in tp.
struct FreeBlock {
  Transaction& tp;
  bc::BufHandle* h;
  uint32_t get(size_t off) const { return static_cast<uint32_t>(bc::load_be(h->data() + off, 4)); }
  void put(size_t off, uint32_t v) {
    store_be(h->data() + off, 4, v);
    tp.log_buf(h, off, 4);
  }
  uint32_t firstdb() const { return get(kFirstdbOff); }
  uint32_t nvalid() const { return get(kNvalidOff); }
  uint32_t nused() const { return get(kNusedOff); }
  uint16_t best(size_t i) const { return static_cast<uint16_t>(bc::load_be(h->data() + kFreeHdrSize + 2 * i, 2)); }
  void set_best(size_t i, uint16_t v) {
    store_be(h->data() + kFreeHdrSize + 2 * i, 2, v);
    tp.log_buf(h, kFreeHdrSize + 2 * i, 2);
  }
};

int node_corrupt(Transaction& tp, CachedInode* dp, bc::BufHandle* h, const char* what, const std::string& why) {
  return tp.mount().report_corruption(what, h->daddr(), "directory " + std::to_string(dp->core.ino) + ": " + why);
}

// Reads free-index block fdb (counted from the start of the free space),
// its header checked against where it is.
int read_free(Transaction& tp, CachedInode* dp, uint64_t fdb, FreeBlock* f) {
  const Geometry g = geometry(tp.mount().sb());
  if (int err = read_dir_block(tp, dp, g.free_dablk + fdb * g.blkfsbs, &dir3_free_ops(), &f->h)) return err;
  if (f->firstdb() != fdb * free_max_bests(g) || f->nvalid() > free_max_bests(g) || f->nused() > f->nvalid())
    return node_corrupt(tp, dp, f->h, "dir3 free", "free-index header does not fit its block");
  return 0;
}

// Maps free-index block fdb where the kernel's xfs_dir2_grow_inode puts it
// (the first unmapped free-space block: it must be fdb's place) and writes
// its header with firstdb; nvalid and nused 0.
int new_free_block(Transaction& tp, CachedInode* dp, uint64_t fdb, FreeBlock* f) {
  Mount& m = tp.mount();
  const Geometry g = geometry(m.sb());
  const uint64_t dablk = first_unmapped_from(*dp, g.free_dablk, g.blkfsbs);
  if (dablk != g.free_dablk + fdb * g.blkfsbs)
    return m.report_corruption("dir3 free", 0,
                               "directory " + std::to_string(dp->core.ino) + ": free-index block " +
                                   std::to_string(fdb) + " would be mapped at fork block " + std::to_string(dablk));
  std::vector<bc::DiskRange> maps;
  if (int err = dir_alloc_block(tp, dp, dablk, &maps)) return err;
  if (int err = tp.get_new_buf(maps, &dir3_free_ops(), &f->h)) return err;
  std::byte* p = f->h->data();
  store_be(p + offsetof(xd_dir3_blk_hdr, magic), 4, kDir3FreeMagic);
  store_be(p + offsetof(xd_dir3_blk_hdr, blkno), 8, maps[0].daddr);
  std::memcpy(p + offsetof(xd_dir3_blk_hdr, uuid), m.sb().meta_uuid.data(), 16);
  store_be(p + offsetof(xd_dir3_blk_hdr, owner), 8, dp->core.ino);
  store_be(p + kFirstdbOff, 4, fdb * free_max_bests(g));
  tp.log_buf(f->h, 0, kFreeHdrSize);
  return 0;
}

// The data block for an entry of len bytes found through the free-index
// blocks (xfs_dir2_node_find_freeblk): -1 if none holds it.  skip: the
// free-index block already looked at (-1: none).
int scan_free(Transaction& tp, CachedInode* dp, uint32_t len, int64_t skip, int64_t* dbno, FreeBlock* f) {
  const Geometry g = geometry(tp.mount().sb());
  uint64_t last = 0;  // xfs_bmap_last_offset
  for (const Extent& e : dp->df.extents) last = std::max(last, e.startoff + e.blockcount);
  *dbno = -1;
  const int64_t first = static_cast<int64_t>(g.free_dablk / g.blkfsbs);
  for (int64_t fbno = static_cast<int64_t>(last / g.blkfsbs) - 1; fbno >= first; fbno--) {
    if (fbno == first + skip || !dablk_mapped(*dp, static_cast<uint64_t>(fbno) * g.blkfsbs)) continue;
    if (int err = read_free(tp, dp, static_cast<uint64_t>(fbno - first), f)) return err;
    for (int64_t i = static_cast<int64_t>(f->nvalid()) - 1; i >= 0; i--) {
      const uint16_t b = f->best(static_cast<size_t>(i));
      if (b != LeafEdit::kNoBlock && b >= len) {
        *dbno = f->firstdb() + i;
        return 0;
      }
    }
  }
  return 0;
}

}  // namespace

int leaf_to_node(Transaction& tp, CachedInode* dp, bc::BufHandle* leaf) {
  const Geometry g = geometry(tp.mount().sb());
  LeafEdit l(tp, leaf);
  const uint32_t bestcount = l.bestcount();
  if (bestcount > dp->core.size / g.blksize || bestcount > free_max_bests(g))
    return node_corrupt(tp, dp, leaf, "dir3 leaf1", "bestcount " + std::to_string(bestcount) + " past di_size");
  FreeBlock f{tp, nullptr};
  if (int err = new_free_block(tp, dp, 0, &f)) return err;
  uint32_t used = 0;
  for (uint32_t i = 0; i < bestcount; i++) {
    const uint16_t b = l.best(i);
    used += b != LeafEdit::kNoBlock;
    f.set_best(i, b);
  }
  f.put(kNvalidOff, bestcount);
  f.put(kNusedOff, used);
  l.put(kLeafMagicOff, 2, kDir3LeafnMagic);
  tp.retype_buf(leaf, &dir3_leaf_ops());
  return 0;
}

int node_add(Transaction& tp, CachedInode* dp, std::string_view name, uint64_t ino, uint8_t ftype) {
  const Geometry g = geometry(tp.mount().sb());
  const uint32_t max_bests = free_max_bests(g);
  const size_t max_ents = (g.blksize - kLeafHdrSize) / 8;
  bc::BufHandle* lh;
  if (int err = read_dir_block(tp, dp, g.leaf_dablk, &dir3_leaf_ops(), &lh)) return err;
  const uint64_t magic = bc::load_be(lh->data() + kLeafMagicOff, 2);
  if (magic == kDa3NodeMagic) return EOPNOTSUPP;  // more than one leaf: not written yet
  LeafEdit l(tp, lh);
  if (magic != kDir3LeafnMagic || l.count() > max_ents || l.stale() > l.count())
    return node_corrupt(tp, dp, lh, "dir3 leafn", "not a LEAFN block at the start of the leaf space");
  if (l.count() == max_ents && l.stale() == 0) return ENOSPC;  // the kernel splits the leaf: not written yet
  const uint32_t hash = da_hashname(name), len = entsize(name.size());

  // The data blocks of the name's hash first (xfs_dir2_leafn_lookup_for_addname).
  ptrdiff_t index = static_cast<ptrdiff_t>(l.lower_bound(hash));
  int64_t curdb = -1, curfdb = -1, dbno = -1;
  FreeBlock f{tp, nullptr};
  for (; index < static_cast<ptrdiff_t>(l.count()) && l.hash(static_cast<size_t>(index)) == hash; index++) {
    const uint64_t addr = l.addr(static_cast<size_t>(index));
    if (addr == 0) continue;
    const int64_t db = static_cast<int64_t>(addr * 8 / g.blksize);
    if (db == curdb) continue;
    curdb = db;
    const int64_t fdb = db / max_bests;
    if (fdb != curfdb)
      if (int err = read_free(tp, dp, static_cast<uint64_t>(fdb), &f)) return err;
    curfdb = fdb;
    const size_t fi = static_cast<size_t>(db % max_bests);
    if (fi >= f.nvalid() || f.best(fi) == LeafEdit::kNoBlock)
      return node_corrupt(tp, dp, lh, "dir3 leafn", "leaf address " + std::to_string(addr) + " names a missing data block");
    if (f.best(fi) >= len) {
      dbno = db;
      break;
    }
  }
  if (dbno < 0)
    if (int err = scan_free(tp, dp, len, curfdb, &dbno, &f)) return err;

  bc::BufHandle* dh;
  size_t findex;
  if (dbno < 0) {
    const uint64_t db = first_unmapped_db(*dp, g);
    if (int err = new_data_block(tp, dp, db, &dh)) return err;
    const uint64_t fdb = db / max_bests;
    if (dablk_mapped(*dp, g.free_dablk + fdb * g.blkfsbs)) {
      if (int err = read_free(tp, dp, fdb, &f)) return err;
    } else if (int err = new_free_block(tp, dp, fdb, &f)) {
      return err;
    }
    findex = db % max_bests;
    if (findex >= f.nvalid()) {
      f.put(kNvalidOff, static_cast<uint32_t>(findex + 1));
      f.set_best(findex, LeafEdit::kNoBlock);
    }
    if (f.best(findex) == LeafEdit::kNoBlock) f.put(kNusedOff, f.nused() + 1);
    dbno = static_cast<int64_t>(db);
  } else {
    findex = static_cast<size_t>(dbno % max_bests);
    if (int err = read_dir_block(tp, dp, static_cast<uint64_t>(dbno) * g.blkfsbs, &dir3_data_ops(), &dh)) return err;
  }
  DataBlockEdit e(tp, dh, dp->core.ino);
  const size_t off = e.best_off(0);
  if (off == 0 || e.best_len(0) < len) return e.corrupt("free index promises room the block does not have");
  if (int err = e.use_free(off, off, len)) return err;
  e.write_entry(off, ino, name, ftype);
  e.scan_if_needed();
  f.set_best(findex, e.best_len(0));

  // The leaf entry (xfs_dir2_leafn_add).
  ptrdiff_t low = -1, high = -1;
  const bool compact = l.count() == max_ents && l.stale() > 1;
  if (compact) compact_leaf(l, &index, &low, &high);
  insert_leaf_entry(l, index, compact, low, high, hash,
                    static_cast<uint32_t>((static_cast<uint64_t>(dbno) * g.blksize + off) / 8));
  return 0;
}

}  // namespace xfsfuse::fs::dir
