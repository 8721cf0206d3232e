// The leaf space of a node-form directory as a da btree (fs/da_write.h):
// its LEAFN leaves split, merged and ordered as the kernel's
// xfs_dir2_leafn_split / _rebalance / _toosmall / _unbalance do (XFS
// Algorithms & Data Structures, "Node Directories"; docs/format.md
// "Directory node form with more than one leaf").
//
// Split (a full leaf, the add pending): a new LEAFN at the first unmapped
// leaf-space block; of the old count + 0 entries, mid = count / 2; with an
// odd count the new entry goes left when its hash <= the middle entry's;
// count - mid entries (one more when it goes right) move from the top of
// the old leaf to the new one, stale ones included; the new leaf is linked
// after the old; the pending entry goes to the leaf with fewer entries (on
// a tie: the old one if its index is within it).
// Join (after a removal, the leaf's live entries taking under 37% of the
// block): a leaf at most half full merges into the lower-numbered sibling
// when the live entries of both fill at most 3/4 of a block (else into the
// other sibling, if it fits); the lower-numbered of the two is kept; stale
// entries are squeezed out of both first, then the dropped leaf's entries
// go before or after the kept one's by hash order.  A leaf whose every
// entry is stale stays as it is while it has a sibling (the kernel's
// choice).
#include <cerrno>
#include <cstring>

#include "fs/dir_write_internal.h"
#include "fs/format/dir.h"
#include "fs/format/endian.h"
#include "fs/mount.h"

namespace xfsfuse::fs::dir {

namespace {

// Moves count entries of src from start_s to dst at start_d (dst's entries
// from start_d up making room, src's after the range moving down), with
// the counts and stale counts (xfs_dir3_leafn_moveents).
void move_ents(LeafEdit& src, size_t start_s, LeafEdit& dst, size_t start_d, size_t count) {
  if (count == 0) return;
  const size_t dcount = dst.count(), scount = src.count();
  if (start_d < dcount) dst.move(LeafEdit::ent_off(start_d + count), LeafEdit::ent_off(start_d), 8 * (dcount - start_d));
  size_t stale = 0;
  for (size_t i = start_s; i < start_s + count; i++) stale += src.addr(i) == 0;
  std::memcpy(dst.buf()->data() + LeafEdit::ent_off(start_d), src.buf()->data() + LeafEdit::ent_off(start_s), 8 * count);
  dst.log(LeafEdit::ent_off(start_d), 8 * count);
  if (start_s + count < scount)
    src.move(LeafEdit::ent_off(start_s), LeafEdit::ent_off(start_s + count), 8 * (scount - start_s - count));
  src.set_count(static_cast<uint32_t>(scount - count));
  src.set_stale(static_cast<uint32_t>(src.stale() - stale));
  dst.set_count(static_cast<uint32_t>(dcount + count));
  dst.set_stale(static_cast<uint32_t>(dst.stale() + stale));
}

}  // namespace

LeafSpace::LeafSpace(Transaction& tp, CachedInode* dp)
    : tree(tp, *this, dp->core.ino, tp.mount().sb().meta_uuid), tp_(tp), dp_(dp), g_(geometry(tp.mount().sb())) {}

int LeafSpace::corrupt(uint64_t daddr, const std::string& why) {
  return tp_.mount().report_corruption("dir3 leafn", daddr, "directory " + std::to_string(dp_->core.ino) + ": " + why);
}

int LeafSpace::read(uint32_t dablk, bc::BufHandle** h) {
  if (int err = read_dir_block(tp_, dp_, dablk, &dir3_leaf_ops(), h)) return err;
  const std::byte* p = (*h)->data();
  if (bc::load_be(p + da::kMagicOff, 2) == kDir3LeafnMagic &&
      (bc::load_be(p + 56, 2) > max_ents() || bc::load_be(p + 58, 2) > bc::load_be(p + 56, 2)))
    return corrupt((*h)->daddr(), "LEAFN count or stale beyond the block");
  return 0;
}

int LeafSpace::grow(uint32_t* dablk, bc::BufHandle** h) {
  uint64_t at = g_.leaf_dablk;  // xfs_bmap_first_unused from the leaf space on
  for (const Extent& e : dp_->df.extents) {
    if (e.startoff + e.blockcount <= at) continue;
    if (e.startoff >= at + g_.blkfsbs) break;
    at = e.startoff + e.blockcount;
  }
  if (at + g_.blkfsbs > g_.free_dablk) return corrupt(dp_->daddr, "the leaf space is full");
  std::vector<bc::DiskRange> maps;
  if (int err = dir_alloc_block(tp_, dp_, at, &maps)) return err;
  if (int err = tp_.get_new_buf(maps, &dir3_leaf_ops(), h)) return err;
  *dablk = static_cast<uint32_t>(at);
  return 0;
}

int LeafSpace::shrink(uint32_t dablk, bc::BufHandle* h) { return dir_free_block(tp_, dp_, dablk, h); }

uint32_t LeafSpace::leaf_lasthash(bc::BufHandle* h, int* count) const {
  const auto n = static_cast<uint32_t>(bc::load_be(h->data() + 56, 2));
  *count = static_cast<int>(n);
  return n ? static_cast<uint32_t>(bc::load_be(h->data() + LeafEdit::ent_off(n - 1), 4)) : 0;
}

size_t LeafSpace::leaf_used(bc::BufHandle* h) const { return LeafEdit::ent_off(bc::load_be(h->data() + 56, 2)); }

bool LeafSpace::leaf_order(bc::BufHandle* a, bc::BufHandle* b) const {
  const LeafEdit la(tp_, a), lb(tp_, b);
  return la.count() > 0 && lb.count() > 0 &&
         (lb.hash(0) < la.hash(0) || lb.hash(lb.count() - 1) < la.hash(la.count() - 1));
}

int LeafSpace::leaf_split(da::Tree& t, da::PathBlk* old, da::PathBlk* added) {
  uint32_t dablk;
  bc::BufHandle* h;
  if (int err = grow(&dablk, &h)) return err;
  t.init_header(h, kDir3LeafnMagic);
  *added = da::PathBlk{h, dablk, 0, 0, false};
  LeafEdit l1(tp_, old->h), l2(tp_, h);
  // xfs_dir2_leafn_rebalance, the new leaf empty (so never swapped).
  const size_t c1 = l1.count(), mid = c1 / 2;
  const bool isleft = c1 % 2 == 0 || pending_hash <= l1.hash(mid);
  const size_t moved = c1 - mid + (isleft ? 0 : 1);
  move_ents(l1, c1 - moved, l2, 0, moved);
  const size_t n1 = l1.count(), n2 = l2.count();
  t.inleaf = n1 > n2 || (n1 == n2 && static_cast<size_t>(old->index) <= n1);
  if (!t.inleaf) {
    added->index = old->index - static_cast<int>(n1);
    if (added->index < 0) {
      t.inleaf = true;
      added->index = 0;
    }
  }
  if (int err = t.link(old, added)) return err;
  LeafEdit& into = t.inleaf ? l1 : l2;
  const int err = leafn_add(into, max_ents(), t.inleaf ? old->index : added->index, pending_hash, pending_addr);
  int count;
  old->hashval = leaf_lasthash(old->h, &count);
  added->hashval = leaf_lasthash(h, &count);
  return err;
}

int LeafSpace::leaf_toosmall(da::Tree& t, int* action) {
  *action = 0;
  const LeafEdit l(tp_, t.path.leaf().h);
  const size_t live = l.count() - l.stale();
  // Over half full: left alone.  Every entry stale: the kernel drops such a
  // leaf only when it has no sibling (its `rval ? 2 : 0`), which a tree of
  // more than one level never lacks (its root keeps two children), so it
  // stays too.
  if (kLeafHdrSize + 8 * live > g_.blksize / 2 || live == 0) return 0;
  bool merge = false;
  if (int err = t.pick_merge(
          [&](bc::BufHandle* h) {
            const LeafEdit s(tp_, h);
            return static_cast<int64_t>(g_.blksize - g_.blksize / 4) -
                       static_cast<int64_t>(8 * (live + s.count() - s.stale())) >=
                   0;
          },
          &merge))
    return err;
  *action = merge ? 1 : 0;
  return 0;
}

void LeafSpace::leaf_unbalance(da::Tree&, da::PathBlk* drop, da::PathBlk* save) {
  LeafEdit d(tp_, drop->h), s(tp_, save->h);
  if (d.stale()) compact_all(d);
  if (s.stale()) compact_all(s);
  int count;
  drop->hashval = leaf_lasthash(drop->h, &count);
  move_ents(d, 0, s, leaf_order(save->h, drop->h) ? 0 : s.count(), d.count());
  save->hashval = leaf_lasthash(save->h, &count);
}

int leafn_add(LeafEdit& l, size_t max_ents, ptrdiff_t index, uint32_t hash, uint32_t addr) {
  if (l.count() == max_ents && l.stale() == 0) return ENOSPC;
  ptrdiff_t low = -1, high = -1;
  const bool compact = l.count() == max_ents && l.stale() > 1;
  if (compact) compact_leaf(l, &index, &low, &high);
  insert_leaf_entry(l, index, compact, low, high, hash, addr);
  return 0;
}

}  // namespace xfsfuse::fs::dir
