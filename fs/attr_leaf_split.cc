// Attr leaves split and joined under a da btree (fs/attr_node_internal.h),
// as the kernel's xfs_attr3_leaf_split / _rebalance / _figure_balance /
// _moveents / _toosmall / _unbalance make them, so the bytes match:
// - split: a new empty leaf at the first unmapped block; walking the old
//   leaf's entries (the pending one counted at its index) while the lower
//   part's bytes (entries 8 each plus records) get closer to half of all,
//   plus the pending entry's, the rest moves to the new leaf (records
//   packed from its end); the old leaf keeps its freemap and firstused and
//   is marked as having holes; the new leaf is linked after it; the
//   pending entry goes to the old leaf if it was counted there, else to
//   the new one.  If it fits neither (compaction tried), the leaf that was
//   to take it splits again and the node above takes both new leaves.
// - join, tried after every removal from a node-form fork: a leaf over half
//   full stays; an empty one is dropped if it has a sibling (the right one
//   if any); else it merges with the lower-numbered sibling whose entries
//   fit with a quarter of a block to spare (else the other one), the
//   lower-numbered of the two kept; the dropped leaf's entries go before or
//   after the kept one's by hash order, appended in place when the kept
//   leaf has no holes, else both rebuilt packed in a fresh block.
#include <cstdlib>
#include <cstring>
#include <vector>

#include "fs/attr_internal.h"
#include "fs/attr_node_internal.h"
#include "fs/format/attr.h"

namespace xfsfuse::fs::attr {

namespace {

constexpr size_t kHdr = sizeof(xd_attr3_leaf_hdr), kEntry = sizeof(xd_attr_leaf_entry);

std::span<std::byte> whole(bc::BufHandle* h) { return {h->data(), h->size()}; }
std::byte* entry_at(std::span<std::byte> b, size_t i) { return b.data() + kHdr + i * kEntry; }

// xfs_attr3_leaf_figure_balance with an empty second leaf: *count entries
// stay in l1 (holding *usedbytes bytes of records); returns whether the
// pending entry (at index) goes to l1.
bool figure_balance(std::span<const std::byte> l1, const LeafHdr& h1, size_t index, const NewAttr& a, size_t* count,
                    size_t* usedbytes) {
  bool local;
  const long newsize = static_cast<long>(leaf_newentsize(l1.size(), a, &local));
  const long max = static_cast<long>(h1.count);
  const long half = ((max + 1) * static_cast<long>(kEntry) + static_cast<long>(h1.usedbytes) + newsize) / 2;
  long lastdelta = static_cast<long>(l1.size()), totallen = 0, n = 0;
  bool foundit = false;
  for (; n < max; n++) {
    if (n == static_cast<long>(index)) {
      const long tmp = totallen + static_cast<long>(kEntry) + newsize;
      if (std::labs(half - tmp) > lastdelta) break;
      lastdelta = std::labs(half - tmp);
      totallen = tmp;
      foundit = true;
    }
    const long tmp = totallen + static_cast<long>(kEntry + leaf_entsize(l1, static_cast<size_t>(n)));
    if (std::labs(half - tmp) > lastdelta) break;
    lastdelta = std::labs(half - tmp);
    totallen = tmp;
  }
  totallen -= n * static_cast<long>(kEntry);
  if (foundit) totallen -= static_cast<long>(kEntry) + newsize;
  *count = static_cast<size_t>(n);
  *usedbytes = static_cast<size_t>(totallen);
  return foundit;
}

}  // namespace

void leaf_moveents(std::span<std::byte> s, LeafHdr* hs, size_t start_s, std::span<std::byte> d, LeafHdr* hd,
                   size_t start_d, size_t count) {
  if (count == 0) return;
  if (start_d < hd->count)
    std::memmove(entry_at(d, start_d + count), entry_at(d, start_d), (hd->count - start_d) * kEntry);
  for (size_t i = 0; i < count; i++) {
    const size_t from = start_s + i, size = leaf_entsize(s, from);
    const size_t idx = bc::load_be(entry_at(s, from) + 4, 2);
    hd->firstused -= size;
    std::memcpy(entry_at(d, start_d + i), entry_at(s, from), kEntry);
    store_be(entry_at(d, start_d + i) + 4, 2, hd->firstused);
    std::memcpy(d.data() + hd->firstused, s.data() + idx, size);
    std::memset(s.data() + idx, 0, size);
    hs->usedbytes -= size;
    hd->usedbytes += size;
    hd->count++;
  }
  const size_t rest = hs->count - start_s - count;
  std::memmove(entry_at(s, start_s), entry_at(s, start_s + count), rest * kEntry);
  hs->count -= count;
  std::memset(entry_at(s, hs->count), 0, count * kEntry);
  hd->map[0].base = kHdr + hd->count * kEntry;
  hd->map[0].size = hd->firstused - hd->map[0].base;
  hd->map[1] = hd->map[2] = {};
  hs->holes = 1;
}

// xfs_attr3_leaf_rebalance, b2 new and empty (so never swapped): sets
// tree.inleaf and, when the pending entry goes to b2, b2's index.
void ForkTree::rebalance(da::Tree& t, da::PathBlk* b1, da::PathBlk* b2) {
  const std::span<std::byte> l1 = whole(b1->h), l2 = whole(b2->h);
  LeafHdr h1 = leaf_hdr(l1), h2 = leaf_hdr(l2);
  size_t count = 0, usedbytes = 0;
  t.inleaf = figure_balance(l1, h1, static_cast<size_t>(b1->index), pending, &count, &usedbytes);
  if (count < h1.count) {
    const size_t moved = h1.count - count;
    const size_t space = h1.usedbytes - usedbytes + moved * kEntry;
    if (space > h2.firstused - kHdr - h2.count * kEntry) leaf_compact(l2, &h2);
    leaf_moveents(l1, &h1, h1.count - moved, l2, &h2, 0, moved);
  }
  put_leaf_hdr(l1, h1);
  put_leaf_hdr(l2, h2);
  tp_.log_buf(b1->h, 0, b1->h->size());
  tp_.log_buf(b2->h, 0, b2->h->size());
  int n;
  b1->hashval = leaf_lasthash(b1->h, &n);
  b2->hashval = leaf_lasthash(b2->h, &n);
  const auto c1 = static_cast<int>(h1.count);
  if (b1->index > c1 || (b1->index == c1 && !t.inleaf)) b2->index = b1->index - c1;
}

// xfs_attr3_leaf_split: *fitted false when the pending entry fit in
// neither leaf.
int ForkTree::split_one(da::Tree& t, da::PathBlk* old, da::PathBlk* added, bool* fitted) {
  uint32_t dablk;
  bc::BufHandle* h;
  if (int e = grow(&dablk, &h)) return e;
  leaf_init(tp_, *ip_, h);
  *added = da::PathBlk{h, dablk, 0, 0, false};
  rebalance(t, old, added);
  if (int e = t.link(old, added)) return e;
  bool remote = false;
  da::PathBlk* into = t.inleaf ? old : added;
  *fitted = leaf_add(tp_, into->h, static_cast<size_t>(into->index), pending, &remote);
  int n;
  old->hashval = leaf_lasthash(old->h, &n);
  added->hashval = leaf_lasthash(added->h, &n);
  return 0;
}

int ForkTree::leaf_split(da::Tree& t, da::PathBlk* old, da::PathBlk* added) {
  bool fitted = false;
  if (int e = split_one(t, old, added, &fitted)) return e;
  if (fitted) return 0;
  // xfs_da3_split's double split: the leaf meant to take the entry splits
  // again; the extra leaf lies before the first new one (inleaf) or after.
  const bool inleaf = t.inleaf;
  t.extravalid = true;
  t.extraafter = !inleaf;
  t.extrablk = {};
  if (int e = split_one(t, inleaf ? old : added, &t.extrablk, &fitted)) return e;
  return fitted ? 0 : ENOSPC;
}

int ForkTree::leaf_toosmall(da::Tree& t, int* action) {
  *action = 0;
  da::PathBlk& b = t.path.leaf();
  const LeafHdr h = leaf_hdr(whole(b.h));
  const size_t bsize = b.h->size();
  if (kHdr + h.count * kEntry + h.usedbytes > bsize / 2) return 0;
  if (h.count == 0) {
    bool moved = false;
    t.altpath = t.path;
    if (int e = t.path_shift(&t.altpath, t.get(b.h, da::kForwOff, 4) != 0, &moved)) return e;
    *action = moved ? 2 : 0;
    return 0;
  }
  bool merge = false;
  if (int e = t.pick_merge(
          [&](bc::BufHandle* sh) {
            const LeafHdr s = leaf_hdr(whole(sh));
            return static_cast<long>(bsize - bsize / 4) - static_cast<long>(h.usedbytes + s.usedbytes) -
                       static_cast<long>((h.count + s.count) * kEntry + kHdr) >=
                   0;
          },
          &merge))
    return e;
  *action = merge ? 1 : 0;
  return 0;
}

void ForkTree::leaf_unbalance(da::Tree&, da::PathBlk* drop, da::PathBlk* save) {
  const std::span<std::byte> dl = whole(drop->h), sl = whole(save->h);
  LeafHdr dh = leaf_hdr(dl), sh = leaf_hdr(sl);
  int n;
  drop->hashval = leaf_lasthash(drop->h, &n);
  const bool drop_first = leaf_order(save->h, drop->h);
  if (sh.holes == 0) {
    leaf_moveents(dl, &dh, 0, sl, &sh, drop_first ? 0 : sh.count, dh.count);
  } else {
    // Both rebuilt, packed, in a fresh block with save's header bytes.
    std::vector<std::byte> tmp(sl.size());
    std::memcpy(tmp.data(), sl.data(), kHdr);
    LeafHdr th;
    th.firstused = sl.size();
    put_leaf_hdr(tmp, th);
    if (drop_first) {
      leaf_moveents(dl, &dh, 0, tmp, &th, 0, dh.count);
      leaf_moveents(sl, &sh, 0, tmp, &th, th.count, sh.count);
    } else {
      leaf_moveents(sl, &sh, 0, tmp, &th, 0, sh.count);
      leaf_moveents(dl, &dh, 0, tmp, &th, th.count, dh.count);
    }
    std::memcpy(sl.data(), tmp.data(), sl.size());
    sh = th;
  }
  put_leaf_hdr(sl, sh);
  tp_.log_buf(save->h, 0, save->h->size());
  save->hashval = leaf_lasthash(save->h, &n);
}

}  // namespace xfsfuse::fs::attr
