// Leaf-form directories changed as the kernel changes them: data blocks
// (XDD3) from data-space block 0, and one LEAF1 block at the start of the
// leaf space holding every leaf entry in hash order and, at its end, the
// bests table (each data block's longest free region; 0xffff for a data
// block that is not there) and bestcount.
//
// Adding (XFS Algorithms & Data Structures, "Leaf Directories", and the
// kernel's xfs_dir2_leaf_addname, whose choices decide the bytes):
//  - the data block: first, among the leaf entries of the name's hash (from
//    the first one, stale ones skipped), the block of the first one whose
//    best holds the entry; else the first block in bests order whose best
//    holds it, except that a missing block seen before it is taken instead
//    when a second missing block comes first; a missing block chosen, or
//    none found, means a new data block at the lowest unmapped data-space
//    block (bests grow by one slot when it is past the table's end, the
//    table moving down 2 bytes; di_size grows to its end);
//  - the insertion index: the first leaf entry of a hash >= the name's,
//    moved past the same-hash entries looked at above (so past all of them
//    unless one's block was chosen: then that entry's index);
//  - room in the LEAF1 block: 8 bytes for a new leaf entry when none is
//    stale, 2 for a new best when no block was found; if the gap between the
//    entries and bests is too small, and more than one entry is stale, the
//    stale entries but the one nearest the insertion point (the lower on a
//    tie) are squeezed out; too small with at most one stale entry: the
//    directory becomes node form (leaf_to_node) and the add is node_add's
//    (dir_node_convert.cc, dir_node_write.cc);
//  - the entry goes at the start of the data block's longest free region;
//    its best is updated;
//  - the leaf entry: without stale entries, inserted at the index (those
//    after it move up); otherwise the nearer stale entry below or from the
//    index is reused (below on a tie, measured as index - low - 1 against
//    high - index), the entries in between shifting toward it.
// Removing marks the leaf entry stale and frees the entry's region; a data
// block left empty (it can only be one other than block 0) is freed: its
// best becomes 0xffff, or, if it was the last, the table loses it and every
// missing block before it down to the last present one.  Then leaf_to_block
// (dir_leaf_convert.cc).  Bytes between the entries and bests keep what they
// held (the kernel moves tables with memmove and clears nothing), so they
// are kept the same way here.
#include <algorithm>
#include <cerrno>
#include <cstring>

#include "fs/dir_write_internal.h"
#include "fs/format/dir.h"
#include "fs/format/endian.h"

namespace xfsfuse::fs::dir {

namespace {

int leaf_corrupt(Transaction& tp, CachedInode* dp, LeafEdit& l, const std::string& why) {
  return tp.mount().report_corruption("dir3 leaf1", l.buf()->daddr(),
                                      "directory " + std::to_string(dp->core.ino) + ": " + why);
}

// The kernel's stale-entry search around insertion index `index`: *low the
// last stale entry below it (-1: none); *high the first stale entry from it
// on, the search stopping early (at a live entry) once low is at least as
// near.
void find_stale(LeafEdit& l, ptrdiff_t index, ptrdiff_t* low, ptrdiff_t* high) {
  const ptrdiff_t count = l.count();
  for (*low = index - 1; *low >= 0 && l.addr(static_cast<size_t>(*low)) != 0; --*low) {
  }
  for (*high = index; *high < count; ++*high) {
    if (l.addr(static_cast<size_t>(*high)) == 0) break;
    if (*low >= 0 && index - *low <= *high - index) break;
  }
}

}  // namespace

// Squeezes out every stale entry but the one nearest index (the lower on a
// tie); index, low and high follow the entries (low or high names the kept
// stale entry, on its side of the index; the other is -1 or count).  Entries
// past the new count keep their bytes.
void compact_leaf(LeafEdit& l, ptrdiff_t* index, ptrdiff_t* low, ptrdiff_t* high) {
  const ptrdiff_t count = l.count();
  find_stale(l, *index, low, high);
  const ptrdiff_t keep = *low >= 0 && (*high == count || *index - *low <= *high - *index) ? *low : *high;
  ptrdiff_t to = 0, newindex = 0;
  for (ptrdiff_t from = 0; from < count; from++) {
    if (from == *index) newindex = to;
    if (from != keep && l.addr(static_cast<size_t>(from)) == 0) continue;
    if (from == keep) *low = *high = to;
    if (from > to) l.move(LeafEdit::ent_off(static_cast<size_t>(to)), LeafEdit::ent_off(static_cast<size_t>(from)), 8);
    to++;
  }
  if (*index == count) newindex = to;
  *index = newindex;
  l.set_count(static_cast<uint32_t>(to));
  l.set_stale(1);
  if (*low >= newindex)
    *low = -1;
  else
    *high = to;
}

int find_leaf_entry(Transaction& tp, CachedInode* dp, LeafEdit& l, std::string_view name, uint64_t max_db,
                    const char* structure, FoundEntry* f) {
  const Geometry g = geometry(tp.mount().sb());
  const uint32_t hash = da_hashname(name);
  auto corrupt = [&](const std::string& why) {
    return tp.mount().report_corruption(structure, l.buf()->daddr(),
                                        "directory " + std::to_string(dp->core.ino) + ": " + why);
  };
  for (size_t i = l.lower_bound(hash); i < l.count() && l.hash(i) == hash; i++) {
    const uint64_t addr = l.addr(i), off = addr * 8;
    if (addr == 0) continue;
    const uint64_t db = off / g.blksize;
    if (off >= kLeafSpaceBytes || db >= max_db)
      return corrupt("leaf address " + std::to_string(addr) + " is past the data blocks");
    bc::BufHandle* h;
    if (int err = read_dir_block(tp, dp, db * g.blkfsbs, &dir3_data_ops(), &h)) return err;
    DataEntry de;
    if (!entry_at({h->data(), h->size()}, h->size(), off % g.blksize, &de))
      return corrupt("leaf address " + std::to_string(addr) + " names no entry");
    if (de.name != name) continue;
    *f = FoundEntry{i, db, h, de};
    return 0;
  }
  return ENOENT;
}

void compact_all(LeafEdit& l) {
  uint32_t to = 0;
  for (uint32_t from = 0; from < l.count(); from++) {
    if (l.addr(from) == 0) continue;
    if (from > to) l.move(LeafEdit::ent_off(to), LeafEdit::ent_off(from), 8);
    to++;
  }
  l.set_count(to);
  l.set_stale(0);
}

// Where the kernel maps a new data block (xfs_bmap_first_unused from fork
// block 0): at the end of the extents below the first gap of at least one
// directory block; extents are sorted by fork offset.
uint64_t first_unmapped_db(const CachedInode& dp, const Geometry& g) {
  uint64_t end = 0;
  for (const Extent& e : dp.df.extents) {
    if (e.startoff >= end + g.blkfsbs) break;
    end = std::max(end, e.startoff + e.blockcount);
  }
  return (end + g.blkfsbs - 1) / g.blkfsbs;
}

// Maps and initializes a new data block db of dp (one free region after the
// header) and grows di_size to its end.
int new_data_block(Transaction& tp, CachedInode* dp, uint64_t db, bc::BufHandle** h) {
  Mount& m = tp.mount();
  const Geometry g = geometry(m.sb());
  std::vector<bc::DiskRange> maps;
  if (int err = dir_alloc_block(tp, dp, db * g.blkfsbs, &maps)) return err;
  if (int err = tp.get_new_buf(maps, &dir3_data_ops(), h)) return err;
  std::byte* p = (*h)->data();
  store_be(p + offsetof(xd_dir3_blk_hdr, magic), 4, kDir3DataMagic);
  store_be(p + offsetof(xd_dir3_blk_hdr, blkno), 8, maps[0].daddr);
  std::memcpy(p + offsetof(xd_dir3_blk_hdr, uuid), m.sb().meta_uuid.data(), 16);
  store_be(p + offsetof(xd_dir3_blk_hdr, owner), 8, dp->core.ino);
  tp.log_buf(*h, 0, kDataHdrSize);
  DataBlockEdit e(tp, *h, dp->core.ino);
  e.add_hole(kDataHdrSize, g.blksize - kDataHdrSize);
  if ((db + 1) * g.blksize > dp->core.size) {
    dp->core.size = (db + 1) * g.blksize;
    tp.log_inode(dp, kDirtyCore);
  }
  return 0;
}

// Inserts leaf entry (hash, addr) at index as the kernel's
// xfs_dir3_leaf_find_entry does (see the file comment).
void insert_leaf_entry(LeafEdit& l, ptrdiff_t index, bool compacted, ptrdiff_t low, ptrdiff_t high, uint32_t hash,
                       uint32_t addr) {
  size_t slot;
  if (l.stale() == 0) {
    const size_t at = static_cast<size_t>(index);
    l.move(LeafEdit::ent_off(at + 1), LeafEdit::ent_off(at), 8 * (l.count() - at));
    l.set_count(l.count() + 1);
    slot = at;
  } else {
    if (!compacted) find_stale(l, index, &low, &high);
    if (low >= 0 && (high == static_cast<ptrdiff_t>(l.count()) || index - low - 1 < high - index)) {
      l.move(LeafEdit::ent_off(static_cast<size_t>(low)), LeafEdit::ent_off(static_cast<size_t>(low + 1)),
             8 * static_cast<size_t>(index - low - 1));
      slot = static_cast<size_t>(index - 1);
    } else {
      l.move(LeafEdit::ent_off(static_cast<size_t>(index + 1)), LeafEdit::ent_off(static_cast<size_t>(index)),
             8 * static_cast<size_t>(high - index));
      slot = static_cast<size_t>(index);
    }
    l.set_stale(l.stale() - 1);
  }
  l.put(LeafEdit::ent_off(slot), 4, hash);
  l.put(LeafEdit::ent_off(slot) + 4, 4, addr);
}
namespace {

// The LEAF1 block of leaf-form dp.
int read_leaf(Transaction& tp, CachedInode* dp, bc::BufHandle** h) {
  if (int err = read_dir_block(tp, dp, geometry(tp.mount().sb()).leaf_dablk, &dir3_leaf_ops(), h)) return err;
  if (bc::load_be((*h)->data() + offsetof(xd_da_blkinfo, magic), 2) == kDir3Leaf1Magic) return 0;
  return tp.mount().report_corruption("dir3 leaf1", (*h)->daddr(),
                                      "directory " + std::to_string(dp->core.ino) + ": leaf form without a LEAF1 block");
}

}  // namespace

int leaf_add(Transaction& tp, CachedInode* dp, std::string_view name, uint64_t ino, uint8_t ftype) {
  const Geometry g = geometry(tp.mount().sb());
  bc::BufHandle* lh;
  if (int err = read_leaf(tp, dp, &lh)) return err;
  LeafEdit l(tp, lh);
  const uint32_t hash = da_hashname(name), len = entsize(name.size());
  const uint32_t bestcount = l.bestcount();
  ptrdiff_t index = static_cast<ptrdiff_t>(l.lower_bound(hash));
  int64_t use = -1;
  for (; index < static_cast<ptrdiff_t>(l.count()) && l.hash(static_cast<size_t>(index)) == hash; index++) {
    const uint64_t addr = l.addr(static_cast<size_t>(index));
    if (addr == 0) continue;
    const uint64_t db = addr * 8 / g.blksize;
    if (db >= bestcount || l.best(db) == LeafEdit::kNoBlock)
      return leaf_corrupt(tp, dp, l, "leaf address " + std::to_string(addr) + " names a missing data block");
    if (l.best(db) >= len) {
      use = static_cast<int64_t>(db);
      break;
    }
  }
  if (use < 0)
    for (uint32_t i = 0; i < bestcount; i++) {
      if (l.best(i) == LeafEdit::kNoBlock && use < 0) {
        use = i;
      } else if (l.best(i) >= len) {  // 0xffff passes too: a second missing block ends the search
        use = i;
        break;
      }
    }
  const size_t needbytes = (l.stale() ? 0 : 8) + (use < 0 ? 2 : 0);
  if (use >= 0 && l.best(static_cast<size_t>(use)) == LeafEdit::kNoBlock) use = -1;
  const size_t ents_end = LeafEdit::ent_off(l.count());
  if (ents_end > l.bests_off()) return leaf_corrupt(tp, dp, l, "leaf entries run into bests");
  ptrdiff_t low = -1, high = -1;
  const bool compact = l.bests_off() - ents_end < needbytes;
  if (compact && l.stale() <= 1) {
    if (int err = leaf_to_node(tp, dp, lh)) return err;
    return node_add(tp, dp, name, ino, ftype);
  }
  if (compact) compact_leaf(l, &index, &low, &high);

  bc::BufHandle* dh;
  uint64_t db;
  if (use < 0) {
    db = first_unmapped_db(*dp, g);
    if (db > l.bestcount())
      return leaf_corrupt(tp, dp, l, "data block " + std::to_string(db) + " would be past bests' end");
    if (int err = new_data_block(tp, dp, db, &dh)) return err;
    if (db >= l.bestcount()) {
      const uint32_t bc = l.bestcount();
      l.move(l.bests_off() - 2, l.bests_off(), 2 * size_t{bc});
      l.put(l.size() - 4, 4, bc + 1);
    }
  } else {
    db = static_cast<uint64_t>(use);
    if (int err = read_dir_block(tp, dp, db * g.blkfsbs, &dir3_data_ops(), &dh)) return err;
  }
  DataBlockEdit e(tp, dh, dp->core.ino);
  const size_t off = e.best_off(0);
  if (off == 0 || e.best_len(0) < len) return e.corrupt("bests promise room the block does not have");
  if (int err = e.use_free(off, off, len)) return err;
  e.write_entry(off, ino, name, ftype);
  e.scan_if_needed();
  l.set_best(db, e.best_len(0));

  insert_leaf_entry(l, index, compact, low, high, hash, static_cast<uint32_t>((db * g.blksize + off) / 8));
  return 0;
}

int leaf_remove(Transaction& tp, CachedInode* dp, std::string_view name) {
  const Geometry g = geometry(tp.mount().sb());
  bc::BufHandle* lh;
  if (int err = read_leaf(tp, dp, &lh)) return err;
  LeafEdit l(tp, lh);
  FoundEntry f;
  if (int err = find_leaf_entry(tp, dp, l, name, l.bestcount(), "dir3 leaf1", &f)) return err;
  DataBlockEdit e(tp, f.data, dp->core.ino);
  if (l.best(f.db) != e.best_len(0))
    return leaf_corrupt(tp, dp, l, "bests[" + std::to_string(f.db) + "] is not the data block's longest free region");
  if (int err = e.make_free(f.de.off, entsize(f.de.name.size()))) return err;
  l.set_stale(l.stale() + 1);
  l.put(LeafEdit::ent_off(f.index) + 4, 4, 0);
  e.scan_if_needed();
  l.set_best(f.db, e.best_len(0));
  if (e.best_len(0) == g.blksize - kDataHdrSize) {
    if (f.db == 0) return e.corrupt("data block 0 holds no \".\"");
    if (int err = free_data_block(tp, dp, f.db, f.data)) return err;
    const size_t bc = l.bestcount();
    if (f.db == bc - 1) {
      size_t i = f.db - 1;
      while (i > 0 && l.best(i) == LeafEdit::kNoBlock) i--;
      const size_t gone = f.db - i;
      l.move(l.bests_off() + 2 * gone, l.bests_off(), 2 * (bc - gone));
      l.put(l.size() - 4, 4, bc - gone);
    } else {
      l.set_best(f.db, LeafEdit::kNoBlock);
    }
  }
  return leaf_to_block(tp, dp, lh);
}

int leaf_replace(Transaction& tp, CachedInode* dp, std::string_view name, uint64_t ino, uint8_t ftype) {
  bc::BufHandle* lh;
  if (int err = read_leaf(tp, dp, &lh)) return err;
  LeafEdit l(tp, lh);
  FoundEntry f;
  if (int err = find_leaf_entry(tp, dp, l, name, l.bestcount(), "dir3 leaf1", &f)) return err;
  DataBlockEdit e(tp, f.data, dp->core.ino);
  e.write_entry(f.de.off, ino, name, ftype);
  return 0;
}

}  // namespace xfsfuse::fs::dir
