// Node-form directories changed as the kernel changes them: data blocks
// (XDD3) from data-space block 0, the leaf space a da btree of LEAFN leaves
// holding every leaf entry in hash order (dir_node_tree.cc, fs/da_write.h),
// and free-index blocks (XDF3) from the start of the
// free space, each holding the bests of (blksize - 64) / 2 data blocks
// (XFS Algorithms & Data Structures, "Node Directories"; docs/format.md
// "Node form as the kernel writes it").
//
// Conversions to and from leaf form and the free-index block helpers are in
// dir_node_convert.cc.
//
// Adding (xfs_dir2_node_addname, whose choices decide the bytes):
//  - the leaf: the first whose hash range can hold the name's hash, and on
//    through its right siblings while a leaf's last hash is the name's;
//  - among the leaf entries of the name's hash in the last leaf reached
//    (stale ones skipped), each
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
//    first; then inserted as in leaf form (dir_leaf_write.cc); a full LEAFN
//    without stale entries is split (dir_node_tree.cc), and the nodes above
//    it as needed (fs/da_write.h).
// Removing (xfs_dir2_node_removename): the leaf entry goes stale, the entry's
// region is freed; only if the block's longest free region grew is its best
// updated; a data block left empty is freed: nused - 1 and its best 0xffff,
// or, if it was the last valid best, nvalid trimmed past it and the 0xffff
// bests below it (their bytes kept); a free-index block left without used
// bests is freed.  A leaf whose live entries take under 37% of the block
// may join a sibling (fs/da_write.h).  Then, when the path is one block,
// node_to_leaf.  Replacing rewrites the data entry.
#include <algorithm>
#include <cerrno>
#include <cstring>

#include "fs/dir_write_internal.h"
#include "fs/format/dir.h"
#include "fs/format/endian.h"

namespace xfsfuse::fs::dir {

namespace {

int node_corrupt(Transaction& tp, CachedInode* dp, bc::BufHandle* h, const char* what, const std::string& why) {
  return tp.mount().report_corruption(what, h->daddr(), "directory " + std::to_string(dp->core.ino) + ": " + why);
}

// Finds name through the tree: from the first leaf that can hold its hash
// on through the right siblings while a leaf ends with that hash
// (xfs_da3_node_lookup_int).  The path ends at the leaf holding it.
int find_name(Transaction& tp, CachedInode* dp, LeafSpace& ls, std::string_view name, FoundEntry* f) {
  const uint32_t hash = da_hashname(name);
  if (int err = ls.tree.lookup(hash)) return err;
  for (;;) {
    da::PathBlk& b = ls.tree.path.leaf();
    LeafEdit l(tp, b.h);
    const int err = find_leaf_entry(tp, dp, l, name, UINT64_MAX, "dir3 leafn", f);
    if (err != ENOENT || b.hashval != hash) return err;
    bool moved;
    if (int e = ls.tree.path_shift(&ls.tree.path, true, &moved)) return e;
    if (!moved) return ENOENT;
  }
}

// The data block for an entry of len bytes found through the free-index
// blocks (xfs_dir2_node_find_freeblk): -1 if none holds it.  skip: the
// free-index block already looked at (-1: none).
int scan_free(Transaction& tp, CachedInode* dp, uint32_t len, int64_t skip, int64_t* dbno, FreeEdit* f) {
  const Geometry g = geometry(tp.mount().sb());
  uint64_t last = 0;  // xfs_bmap_last_offset
  for (const Extent& e : dp->df.extents) last = std::max(last, e.startoff + e.blockcount);
  *dbno = -1;
  const int64_t first = static_cast<int64_t>(g.free_dablk / g.blkfsbs);
  for (int64_t fbno = static_cast<int64_t>(last / g.blkfsbs) - 1; fbno >= first; fbno--) {
    if (fbno == first + skip || !dablk_mapped(*dp, static_cast<uint64_t>(fbno) * g.blkfsbs)) continue;
    if (int err = read_free_block(tp, dp, static_cast<uint64_t>(fbno - first), f)) return err;
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

// Where the path's leaf takes the name's leaf entry, and a data block with
// room for its data entry among those of the same hash
// (xfs_dir2_leafn_lookup_for_addname, leaf after leaf as find_name goes):
// *dbno -1 if none; *curfdb the free-index block last read into f (-1:
// none).
int find_slot(Transaction& tp, CachedInode* dp, LeafSpace& ls, uint32_t hash, uint32_t len, int64_t* dbno,
              int64_t* curfdb, FreeEdit* f) {
  const Geometry g = geometry(tp.mount().sb());
  const uint32_t max_bests = free_max_bests(g);
  if (int err = ls.tree.lookup(hash)) return err;
  for (;;) {
    da::PathBlk& b = ls.tree.path.leaf();
    LeafEdit l(tp, b.h);
    ptrdiff_t index = static_cast<ptrdiff_t>(l.lower_bound(hash));
    int64_t curdb = -1;
    *dbno = -1;
    for (; index < static_cast<ptrdiff_t>(l.count()) && l.hash(static_cast<size_t>(index)) == hash; index++) {
      const uint64_t addr = l.addr(static_cast<size_t>(index));
      if (addr == 0) continue;
      const int64_t db = static_cast<int64_t>(addr * 8 / g.blksize);
      if (db == curdb) continue;
      curdb = db;
      const int64_t fdb = db / max_bests;
      if (fdb != *curfdb)
        if (int err = read_free_block(tp, dp, static_cast<uint64_t>(fdb), f)) return err;
      *curfdb = fdb;
      const size_t fi = static_cast<size_t>(db % max_bests);
      if (fi >= f->nvalid() || f->best(fi) == LeafEdit::kNoBlock)
        return node_corrupt(tp, dp, b.h, "dir3 leafn", "leaf address " + std::to_string(addr) + " names a missing data block");
      if (f->best(fi) >= len) {
        *dbno = db;
        break;
      }
    }
    b.index = static_cast<int>(index);
    if (b.hashval != hash) return 0;
    bool moved;
    if (int err = ls.tree.path_shift(&ls.tree.path, true, &moved)) return err;
    if (!moved) return 0;
  }
}

}  // namespace

int node_add(Transaction& tp, CachedInode* dp, std::string_view name, uint64_t ino, uint8_t ftype) {
  const Geometry g = geometry(tp.mount().sb());
  const uint32_t max_bests = free_max_bests(g);
  const uint32_t hash = da_hashname(name), len = entsize(name.size());
  LeafSpace ls(tp, dp);
  int64_t curfdb = -1, dbno = -1;
  FreeEdit f{tp};
  if (int err = find_slot(tp, dp, ls, hash, len, &dbno, &curfdb, &f)) return err;
  if (dbno < 0)
    if (int err = scan_free(tp, dp, len, curfdb, &dbno, &f)) return err;

  bc::BufHandle* dh;
  size_t findex;
  if (dbno < 0) {
    const uint64_t db = first_unmapped_db(*dp, g);
    if (int err = new_data_block(tp, dp, db, &dh)) return err;
    const uint64_t fdb = db / max_bests;
    if (dablk_mapped(*dp, g.free_dablk + fdb * g.blkfsbs)) {
      if (int err = read_free_block(tp, dp, fdb, &f)) return err;
    } else if (int err = new_free_block(tp, dp, fdb, &f)) {
      return err;
    }
    findex = db % max_bests;
    if (findex >= f.nvalid()) {
      f.put(FreeEdit::kNvalidOff, static_cast<uint32_t>(findex + 1));
      f.set_best(findex, LeafEdit::kNoBlock);
    }
    if (f.best(findex) == LeafEdit::kNoBlock) f.put(FreeEdit::kNusedOff, f.nused() + 1);
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

  // The leaf entry (xfs_dir2_leafn_add), splitting a full leaf.
  const auto addr = static_cast<uint32_t>((static_cast<uint64_t>(dbno) * g.blksize + off) / 8);
  da::PathBlk& b = ls.tree.path.leaf();
  LeafEdit l(tp, b.h);
  const int err = leafn_add(l, ls.max_ents(), b.index, hash, addr);
  if (err == 0) {
    ls.tree.fixhashpath(&ls.tree.path);
    return 0;
  }
  if (err != ENOSPC) return err;
  ls.pending_hash = hash;
  ls.pending_addr = addr;
  return ls.tree.split();
}

int node_remove(Transaction& tp, CachedInode* dp, std::string_view name) {
  const Geometry g = geometry(tp.mount().sb());
  LeafSpace ls(tp, dp);
  FoundEntry f;
  if (int err = find_name(tp, dp, ls, name, &f)) return err;
  bc::BufHandle* lh = ls.tree.path.leaf().h;
  LeafEdit l(tp, lh);
  l.set_stale(l.stale() + 1);
  l.put(LeafEdit::ent_off(f.index) + 4, 4, 0);
  DataBlockEdit e(tp, f.data, dp->core.ino);
  const uint16_t longest = e.best_len(0);
  if (int err = e.make_free(f.de.off, entsize(f.de.name.size()))) return err;
  e.scan_if_needed();
  if (e.best_len(0) > longest) {  // xfs_dir2_leafn_remove: the best follows only when it grew
    const uint32_t max_bests = free_max_bests(g);
    const uint64_t fdb = f.db / max_bests;
    const size_t findex = f.db % max_bests;
    FreeEdit fr{tp};
    if (int err = read_free_block(tp, dp, fdb, &fr)) return err;
    if (findex >= fr.nvalid() || fr.best(findex) == LeafEdit::kNoBlock)
      return node_corrupt(tp, dp, fr.h, "dir3 free", "no best for data block " + std::to_string(f.db));
    if (e.best_len(0) != g.blksize - kDataHdrSize) {
      fr.set_best(findex, e.best_len(0));
    } else {  // emptied: freed (xfs_dir3_data_block_free)
      if (f.db == 0) return e.corrupt("data block 0 holds no \".\"");
      if (int err = free_data_block(tp, dp, f.db, f.data)) return err;
      fr.put(FreeEdit::kNusedOff, fr.nused() - 1);
      if (findex == fr.nvalid() - 1) {  // the table trimmed, its last best's bytes kept
        size_t i = findex;
        while (i > 0 && fr.best(i - 1) == LeafEdit::kNoBlock) i--;
        fr.put(FreeEdit::kNvalidOff, static_cast<uint32_t>(i));
      } else {
        fr.set_best(findex, LeafEdit::kNoBlock);
      }
      if (fr.nused() == 0)
        if (int err = dir_free_block(tp, dp, g.free_dablk + fdb * g.blkfsbs, fr.h)) return err;
    }
  }
  // A leaf left under 37% full may join a sibling (xfs_dir2_leafn_remove's
  // verdict, then xfs_da3_join).
  const bool small = kLeafHdrSize + 8 * size_t{l.count() - l.stale()} < size_t{g.blksize} * 37 / 100;
  ls.tree.fixhashpath(&ls.tree.path);
  if (small && ls.tree.path.active > 1)
    if (int err = ls.tree.join()) return err;
  if (ls.tree.path.active > 1) return 0;
  return node_to_leaf(tp, dp, ls.tree.path.blk[0].h);
}

int node_replace(Transaction& tp, CachedInode* dp, std::string_view name, uint64_t ino, uint8_t ftype) {
  LeafSpace ls(tp, dp);
  FoundEntry f;
  if (int err = find_name(tp, dp, ls, name, &f)) return err;
  DataBlockEdit e(tp, f.data, dp->core.ino);
  e.write_entry(f.de.off, ino, name, ftype);
  return 0;
}

}  // namespace xfsfuse::fs::dir
