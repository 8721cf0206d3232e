// Block-form directories changed as the kernel changes them: the single
// XDB3 block holds the entries, then `count` leaf entries (hashval,
// address) in hash order, then the tail (count, stale).
//
// Adding (docs/format.md "bestfree, leaves and bests", and the kernel's
// behaviour):
//  - without stale leaf entries the leaf grows down into the free region
//    just before it, which must be free; the entry goes into the longest
//    free region, or the second longest when the longest is that region and
//    cannot hold both the entry and the new leaf entry; the leaf entry goes
//    right before the first one of a hash >= its own;
//  - with stale leaf entries the entry goes into the longest free region if
//    it fits; else the stale leaf entries but the highest are squeezed out
//    (the leaf moves up, the room freed) and the entry goes into the free
//    space just before the leaf; the nearest stale leaf entry to the
//    insertion point is reused (the lower one on a tie) and those in between
//    shift toward it.
// When the entry fits nowhere (no compaction is tried first), the directory
// becomes leaf form (dir_leaf_convert.cc) and the add goes there.
// Removing frees the entry's region and marks its leaf entry stale (address
// 0); the directory goes back to short form when that fits the data fork.
#include <algorithm>
#include <cerrno>
#include <cstring>

#include "fs/dir_write_internal.h"
#include "fs/format/dir.h"
#include "fs/format/endian.h"

namespace xfsfuse::fs::dir {

int read_dir_block(Transaction& tp, CachedInode* dp, uint64_t dablk, const bc::BufOps* ops, bc::BufHandle** h) {
  Mount& m = tp.mount();
  const char* structure = ops == &dir3_block_ops()  ? "dir3 block"
                          : ops == &dir3_data_ops() ? "dir3 data"
                          : ops == &dir3_free_ops() ? "dir3 free"
                                                    : "dir3 leaf";
  auto dir = [&] { return "directory " + std::to_string(dp->core.ino) + " block " + std::to_string(dablk); };
  std::vector<bc::DiskRange> maps;
  int err = m.map_blocks(*dp, false, dablk, 1u << m.sb().dirblklog, &maps);
  if (err == ENOENT) return m.report_corruption(structure, dp->daddr, dir() + " is a hole");
  if (err) return err;
  if ((err = tp.read_buf(maps, ops, dp->core.ino, h))) return err;
  // The cache verifies a buffer with its first reader's ops only: check the
  // magic this caller expects (entries_end() checks the whole shape).
  const std::span<const std::byte> b((*h)->data(), (*h)->size());
  bool ok;
  if (ops == &dir3_block_ops())
    ok = entries_end(b, kDir3BlockMagic) != 0;
  else if (ops == &dir3_data_ops())
    ok = entries_end(b, kDir3DataMagic) != 0;
  else if (ops == &dir3_free_ops())
    ok = b.size() > kDataHdrSize && bc::load_be(b.data(), 4) == kDir3FreeMagic;
  else if (b.size() <= kLeafHdrSize + 4)
    ok = false;
  else
    switch (bc::load_be(b.data() + offsetof(xd_da_blkinfo, magic), 2)) {
      case kDir3Leaf1Magic:
      case kDir3LeafnMagic:
      case kDa3NodeMagic: ok = true; break;
      default: ok = false;
    }
  if (!ok) return m.report_corruption(structure, (*h)->daddr(), dir() + " is not a " + structure + " block");
  return 0;
}

namespace {

uint32_t leaf_hash(DataBlockEdit& e, size_t i) { return e.u32(e.leaf_off() + 8 * i); }
uint32_t leaf_addr(DataBlockEdit& e, size_t i) { return e.u32(e.leaf_off() + 8 * i + 4); }

// Moves n leaf entries (8 bytes each) from byte from to byte to of the
// block and logs the bytes they now take.
void move_leaf(DataBlockEdit& e, size_t to, size_t from, size_t n) {
  if (n == 0) return;
  std::memmove(e.data() + to, e.data() + from, n * 8);
  e.log(to, n * 8);
}

// The first leaf index whose hash is >= hash.
size_t leaf_lower_bound(DataBlockEdit& e, uint32_t hash) {
  size_t lo = 0, hi = e.count();
  while (lo < hi) {
    const size_t mid = lo + (hi - lo) / 2;
    if (leaf_hash(e, mid) < hash)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

// The leaf index and entry of name.  Returns 0 or ENOENT.
int find_entry(DataBlockEdit& e, std::string_view name, size_t* idx, DataEntry* de) {
  const uint32_t hash = da_hashname(name);
  const std::span<const std::byte> blk(e.data(), e.size());
  for (size_t i = leaf_lower_bound(e, hash); i < e.count() && leaf_hash(e, i) == hash; i++) {
    const uint32_t addr = leaf_addr(e, i);
    if (addr != 0 && entry_at(blk, e.end(), size_t{addr} * 8, de) && de->name == name) {
      *idx = i;
      return 0;
    }
  }
  return ENOENT;
}

// Squeezes out every stale leaf entry but the highest one; the room they
// took becomes free space before the leaf.
int compact_leaf(DataBlockEdit& e) {
  const size_t count = e.count(), stale = e.stale(), old_leaf = e.leaf_off();
  std::vector<std::pair<uint32_t, uint32_t>> kept;
  bool kept_stale = false;
  for (size_t i = count; i-- > 0;) {
    const uint32_t addr = leaf_addr(e, i);
    if (addr == 0 && kept_stale) continue;
    kept_stale = kept_stale || addr == 0;
    kept.emplace_back(leaf_hash(e, i), addr);
  }
  std::reverse(kept.begin(), kept.end());
  const size_t gone = stale - 1;
  e.put(e.size() - 8, 4, count - gone);
  for (size_t i = 0; i < kept.size(); i++) {
    store_be(e.data() + e.leaf_off() + 8 * i, 4, kept[i].first);
    store_be(e.data() + e.leaf_off() + 8 * i + 4, 4, kept[i].second);
  }
  e.log(e.leaf_off(), kept.size() * 8);
  if (int err = e.make_free(old_leaf, gone * 8)) return err;
  e.put(e.size() - 4, 4, 1);
  e.scan_if_needed();
  return 0;
}

}  // namespace

int block_maybe_to_sf(Transaction& tp, CachedInode* dp, DataBlockEdit& e, bc::BufHandle* h) {
  SfDir d;
  const std::span<const std::byte> blk(e.data(), e.size());
  bool stopped = false;
  const bool ok = walk_entries(blk, e.end(), kDataHdrSize, [&](const DataEntry& de) {
    if (de.name == "..")
      d.parent = de.ino;
    else if (de.name != ".")
      d.ents.push_back(SfDir::Ent{de.off, std::string(de.name), de.ino, de.ftype});
    return true;
  }, &stopped);
  if (!ok) return e.corrupt("entries do not tile the block");
  if (d.size() > fork_size(dp->core, false)) return 0;
  if (int err = dir_free_block(tp, dp, 0, h)) return err;
  sf_encode(tp, dp, d);
  return 0;
}

int block_add(Transaction& tp, CachedInode* dp, std::string_view name, uint64_t ino, uint8_t ftype) {
  bc::BufHandle* h;
  if (int err = read_dir_block(tp, dp, 0, &dir3_block_ops(), &h)) return err;
  DataBlockEdit e(tp, h, dp->core.ino);
  const size_t len = entsize(name.size()), stale = e.stale();
  const size_t before_leaf = e.u16(e.leaf_off() - 2);  // the region just before the leaf (its tag)
  // The longest free region (bestfree[0]) and the second longest.
  const size_t best0 = e.best_off(0), best1 = e.best_off(1), best1_len = e.best_len(1);
  const size_t best0_len = best0 ? e.free_len(best0) : 0;
  size_t dup = 0;  // where the entry goes; 0: no room
  bool compact = false;
  if (stale) {
    if (best0_len >= len) {
      dup = best0;
    } else {
      compact = true;
      const size_t room = (stale - 1) * 8;
      if (e.is_free(before_leaf))
        dup = e.free_len(before_leaf) + room >= len ? before_leaf : 0;
      else
        dup = room >= len ? e.leaf_off() : 0;
    }
  } else if (e.is_free(before_leaf)) {
    if (best0 != before_leaf)
      dup = best0_len >= len ? best0 : 0;
    else if (best0_len >= len + 8)
      dup = best0;
    else
      dup = best1_len >= len ? best1 : 0;
  }
  if (dup == 0) {  // no room: leaf form, and the add goes there
    if (int err = block_to_leaf(tp, dp, h)) return err;
    return leaf_add(tp, dp, name, ino, ftype);
  }
  if (compact)
    if (int err = compact_leaf(e)) return err;
  const uint32_t hash = da_hashname(name);
  // mid: the last leaf index with a hash below the new one, or -1.
  ptrdiff_t mid = static_cast<ptrdiff_t>(leaf_lower_bound(e, hash)) - 1;
  size_t slot;
  if (e.stale() == 0) {
    const size_t old_leaf = e.leaf_off();
    if (int err = e.use_free(before_leaf, old_leaf - 8, 8)) return err;
    e.put(e.size() - 8, 4, e.count() + 1);
    e.scan_if_needed();
    // Entries [0, mid] move down one slot; the new one goes after them.
    move_leaf(e, e.leaf_off(), old_leaf, static_cast<size_t>(mid + 1));
    slot = static_cast<size_t>(mid + 1);
  } else {
    const ptrdiff_t count = e.count();
    ptrdiff_t low = mid;
    while (low >= 0 && leaf_addr(e, low) != 0) low--;
    ptrdiff_t high = mid + 1;
    while (high < count && leaf_addr(e, high) != 0 && (low < 0 || mid - low > high - mid)) high++;
    const size_t leaf = e.leaf_off();
    if (low >= 0 && (high == count || mid - low <= high - mid)) {
      // Entries (low, mid] move down into the stale slot at low.
      move_leaf(e, leaf + 8 * low, leaf + 8 * (low + 1), static_cast<size_t>(mid - low));
      slot = static_cast<size_t>(mid);
    } else {
      // Entries [mid + 1, high) move up into the stale slot at high.
      move_leaf(e, leaf + 8 * (mid + 2), leaf + 8 * (mid + 1), static_cast<size_t>(high - mid - 1));
      slot = static_cast<size_t>(mid + 1);
    }
    e.put(e.size() - 4, 4, e.stale() - 1);
  }
  e.put(e.leaf_off() + 8 * slot, 4, hash);
  e.put(e.leaf_off() + 8 * slot + 4, 4, dup / 8);
  if (int err = e.use_free(dup, dup, len)) return err;
  e.write_entry(dup, ino, name, ftype);
  e.scan_if_needed();
  return 0;
}

int block_remove(Transaction& tp, CachedInode* dp, std::string_view name) {
  bc::BufHandle* h;
  if (int err = read_dir_block(tp, dp, 0, &dir3_block_ops(), &h)) return err;
  DataBlockEdit e(tp, h, dp->core.ino);
  size_t idx;
  DataEntry de;
  if (int err = find_entry(e, name, &idx, &de)) return err;
  if (int err = e.make_free(de.off, entsize(de.name.size()))) return err;
  e.put(e.size() - 4, 4, e.stale() + 1);
  e.put(e.leaf_off() + 8 * idx + 4, 4, 0);
  e.scan_if_needed();
  return block_maybe_to_sf(tp, dp, e, h);
}

int block_replace(Transaction& tp, CachedInode* dp, std::string_view name, uint64_t ino, uint8_t ftype) {
  bc::BufHandle* h;
  if (int err = read_dir_block(tp, dp, 0, &dir3_block_ops(), &h)) return err;
  DataBlockEdit e(tp, h, dp->core.ino);
  size_t idx;
  DataEntry de;
  if (int err = find_entry(e, name, &idx, &de)) return err;
  e.write_entry(de.off, ino, name, ftype);
  return 0;
}

}  // namespace xfsfuse::fs::dir
