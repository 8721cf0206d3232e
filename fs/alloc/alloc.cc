#include "fs/alloc/alloc.h"

#include <algorithm>
#include <cerrno>

#include "fs/alloc/alloc_host.h"
#include "fs/alloc/alloc_near.h"
#include "fs/format/records.h"
#include "fs/mount.h"

namespace xfsfuse::fs {

namespace {

using btree::BtreeCursor;
using btree::LookupMode;

int corrupt(AgfTx& agf, const std::string& why) {
  Mount& m = agf.trans().mount();
  return m.report_corruption("free-space btrees", ag_header_daddr(m.sb(), agf.agno(), 1),
                             "AG " + std::to_string(agf.agno()) + ": " + why);
}

std::string describe(uint32_t bno, uint32_t len) {
  return "[" + std::to_string(bno) + ", +" + std::to_string(len) + ")";
}

int insert_rec(BtreeCursor& c, uint32_t bno, uint32_t len) {
  std::byte rec[kAllocRecSize];
  encode_alloc_rec({bno, len}, rec);
  return c.insert(rec);
}

// Deletes the record (bno, len) from the cursor's tree (the bnobt or cntbt).
int delete_rec(AgfTx& agf, BtreeCursor& c, bool cnt, uint32_t bno, uint32_t len) {
  bool found = false;
  const btree::BtreeKey key = cnt ? btree::cntbt_key(len, bno) : btree::bnobt_key(bno);
  if (int e = c.lookup(key, LookupMode::kEq, &found)) return e;
  if (found && decode_alloc_rec(c.record().data()) != AllocRec{bno, len}) found = false;
  if (!found) return corrupt(agf, std::string(cnt ? "cntbt" : "bnobt") + " lacks free extent " + describe(bno, len));
  return c.remove(&found);
}

// Takes [abno, abno + alen) out of the free extent [fbno, fbno + flen) in
// both trees, keeping what is left on either side.
int carve(AgfTx& agf, uint32_t fbno, uint32_t flen, uint32_t abno, uint32_t alen) {
  AllocHost bh(&agf, btree::BtreeKind::kBnobt), ch(&agf, btree::BtreeKind::kCntbt);
  const uint32_t left = abno - fbno, right = fbno + flen - (abno + alen);
  {
    BtreeCursor cnt = ch.cursor();
    if (int e = delete_rec(agf, cnt, true, fbno, flen)) return e;
    if (left)
      if (int e = insert_rec(cnt, fbno, left)) return e;
    if (right)
      if (int e = insert_rec(cnt, abno + alen, right)) return e;
  }
  BtreeCursor bno = bh.cursor();
  bool found = false;
  if (int e = bno.lookup(btree::bnobt_key(fbno), LookupMode::kEq, &found)) return e;
  if (!found) return corrupt(agf, "bnobt lacks free extent " + describe(fbno, flen));
  std::byte rec[kAllocRecSize];
  if (left) {
    encode_alloc_rec({fbno, left}, rec);
    if (int e = bno.update(rec)) return e;
  } else if (int e = bno.remove(&found)) {
    return e;
  }
  if (right)
    if (int e = insert_rec(bno, abno + alen, right)) return e;
  agf.add(AgfField::kFreeblks, -int64_t{alen});
  return 0;
}

uint32_t round_up(uint32_t v, uint32_t align) { return (v + align - 1) / align * align; }

// The aligned start of a len-block run inside free extent r and within
// [lo, hi] closest to target; false when none fits.
bool aligned_in(const AllocRec& r, uint32_t target, uint32_t len, uint32_t align, uint32_t lo, uint32_t hi,
                uint32_t* out) {
  const uint64_t end = std::min<uint64_t>(uint64_t{r.startblock} + r.blockcount, uint64_t{hi} + 1);
  const uint64_t first = (uint64_t{std::max(r.startblock, lo)} + align - 1) / align * align;
  if (first + len > end) return false;
  const uint64_t last = (end - len) / align * align;
  const uint64_t below = std::clamp<uint64_t>(uint64_t{target} / align * align, first, last);
  const uint64_t above = std::clamp<uint64_t>(below + align, first, last);
  auto dist = [&](uint64_t b) { return b > target ? b - target : target - b; };
  *out = static_cast<uint32_t>(dist(above) < dist(below) ? above : below);
  return true;
}

// The aligned run of len blocks within [lo, hi] closest to target, from
// the bnobt searched both ways from the target, as the kernel's NEAR_BNO
// allocation chooses.  *flen stays 0 when none fits.
int pick_aligned_near(AgfTx& agf, uint32_t target, uint32_t len, uint32_t align, uint32_t lo, uint32_t hi,
                      uint32_t* fbno, uint32_t* flen, uint32_t* abno) {
  AllocHost bh(&agf, btree::BtreeKind::kBnobt);
  uint64_t best = UINT64_MAX;
  auto consider = [&](const AllocRec& r) {
    uint32_t s;
    if (!aligned_in(r, target, len, align, lo, hi, &s)) return;
    const uint64_t d = s > target ? s - target : target - s;
    if (d < best) {
      best = d;
      *fbno = r.startblock;
      *flen = r.blockcount;
      *abno = s;
    }
  };
  bool found = false;
  BtreeCursor left = bh.cursor();
  if (int e = left.lookup(btree::bnobt_key(target), LookupMode::kLe, &found)) return e;
  while (found) {  // extents starting at or before the target, downwards
    const AllocRec r = decode_alloc_rec(left.record().data());
    const uint64_t end = uint64_t{r.startblock} + r.blockcount;
    if (end <= target && target - end >= best) break;
    consider(r);
    if (int e = left.decrement(&found)) return e;
  }
  BtreeCursor right = bh.cursor();
  if (int e = right.lookup(btree::bnobt_key(target + 1), LookupMode::kGe, &found)) return e;
  while (found) {  // extents starting after it, upwards
    const AllocRec r = decode_alloc_rec(right.record().data());
    if (r.startblock - target >= best) break;
    consider(r);
    if (int e = right.increment(&found)) return e;
  }
  return 0;
}

// Picks and takes an extent from the trees (no AGFL fix-up).  align > 1:
// an aligned start and exactly maxlen blocks within [lo, hi]; near: the
// one closest to target, else the first in (length, start) order.  align 1
// and near: the kernel's NEAR_BNO choice (alloc_near.h).
int alloc_trees(AgfTx& agf, uint32_t target, uint32_t minlen, uint32_t maxlen, uint32_t align, uint32_t lo,
                uint32_t hi, bool near, bool userdata, uint32_t* abno, uint32_t* alen) {
  uint32_t fbno = 0, flen = 0;
  bool found = false;
  if (align == 1 && near) {
    NearPick p;
    if (int e = pick_near(agf, {target, minlen, maxlen, userdata}, &p)) return e;
    if (p.flen == 0) return ENOSPC;
    fbno = p.fbno;
    flen = p.flen;
    *abno = p.abno;
    *alen = p.alen;
  } else if (align > 1 && near) {
    if (int e = pick_aligned_near(agf, target, maxlen, align, lo, hi, &fbno, &flen, abno)) return e;
    if (flen == 0) return ENOSPC;
    *alen = maxlen;
  } else if (align > 1) {
    // The first extent (by length, then start) that holds an aligned run of maxlen.
    target = round_up(target, align);
    AllocHost ch(&agf, btree::BtreeKind::kCntbt);
    BtreeCursor cnt = ch.cursor();
    if (int e = cnt.lookup(btree::cntbt_key(maxlen, 0), LookupMode::kGe, &found)) return e;
    while (found) {
      const AllocRec r = decode_alloc_rec(cnt.record().data());
      const uint64_t start = round_up(std::max(r.startblock, lo), align);
      if (start + maxlen <= uint64_t{r.startblock} + r.blockcount && start + maxlen - 1 <= hi) {
        fbno = r.startblock;
        flen = r.blockcount;
        *abno = static_cast<uint32_t>(start);
        *alen = maxlen;
        break;
      }
      if (int e = cnt.increment(&found)) return e;
    }
    if (flen == 0) return ENOSPC;
  }
  if (flen == 0) {
    // Exactly at the target?
    AllocHost bh(&agf, btree::BtreeKind::kBnobt);
    BtreeCursor bno = bh.cursor();
    if (int e = bno.lookup(btree::bnobt_key(target), LookupMode::kLe, &found)) return e;
    if (found) {
      const AllocRec r = decode_alloc_rec(bno.record().data());
      if (r.startblock <= target && uint64_t{r.startblock} + r.blockcount >= uint64_t{target} + maxlen) {
        fbno = r.startblock;
        flen = r.blockcount;
        *abno = target;
        *alen = maxlen;
      }
    }
  }
  if (flen == 0) {
    AllocHost ch(&agf, btree::BtreeKind::kCntbt);
    BtreeCursor cnt = ch.cursor();
    if (int e = cnt.lookup(btree::cntbt_key(maxlen, target), LookupMode::kGe, &found)) return e;
    if (!found)
      if (int e = cnt.lookup(btree::cntbt_key(maxlen, 0), LookupMode::kGe, &found)) return e;
    if (!found) {  // nothing of maxlen: the longest, if it holds minlen
      if (int e = cnt.lookup(btree::cntbt_key(UINT32_MAX, UINT32_MAX), LookupMode::kLe, &found)) return e;
      if (!found) return ENOSPC;
    }
    const AllocRec r = decode_alloc_rec(cnt.record().data());
    if (r.blockcount < minlen) return ENOSPC;
    fbno = r.startblock;
    flen = r.blockcount;
    *abno = r.startblock;
    *alen = std::min(maxlen, r.blockcount);
  }
  if (fbno + flen > agf.length() || fbno < 4) return corrupt(agf, "free extent " + describe(fbno, flen) + " outside the AG");
  return carve(agf, fbno, flen, *abno, *alen);
}

// Puts [fbno, fbno + len) back into the trees, merged with free neighbours.
int free_trees(AgfTx& agf, uint32_t fbno, uint32_t len) {
  if (len == 0 || uint64_t{fbno} + len > agf.length() || fbno < 4)
    return corrupt(agf, "freeing " + describe(fbno, len) + ", outside the AG's free blocks");
  AllocHost bh(&agf, btree::BtreeKind::kBnobt), ch(&agf, btree::BtreeKind::kCntbt);
  AllocRec left{}, right{};
  bool have_left = false, have_right = false;
  BtreeCursor bno = bh.cursor();
  bool found = false;
  if (int e = bno.lookup(btree::bnobt_key(fbno), LookupMode::kLe, &found)) return e;
  if (found) {
    left = decode_alloc_rec(bno.record().data());
    if (uint64_t{left.startblock} + left.blockcount > fbno)
      return corrupt(agf, "freeing " + describe(fbno, len) + ", which overlaps free extent " +
                              describe(left.startblock, left.blockcount));
    have_left = left.startblock + left.blockcount == fbno;
    if (int e = bno.increment(&found)) return e;
  } else if (int e = bno.lookup(btree::bnobt_key(fbno), LookupMode::kGe, &found)) {
    return e;
  }
  if (found) {
    right = decode_alloc_rec(bno.record().data());
    if (right.startblock < uint64_t{fbno} + len)
      return corrupt(agf, "freeing " + describe(fbno, len) + ", which overlaps free extent " +
                              describe(right.startblock, right.blockcount));
    have_right = right.startblock == fbno + len;
  }
  const uint32_t nbno = have_left ? left.startblock : fbno;
  const uint32_t nlen = len + (have_left ? left.blockcount : 0) + (have_right ? right.blockcount : 0);
  bno.release();
  {
    BtreeCursor cnt = ch.cursor();
    if (have_left)
      if (int e = delete_rec(agf, cnt, true, left.startblock, left.blockcount)) return e;
    if (have_right)
      if (int e = delete_rec(agf, cnt, true, right.startblock, right.blockcount)) return e;
    if (int e = insert_rec(cnt, nbno, nlen)) return e;
  }
  std::byte rec[kAllocRecSize];
  encode_alloc_rec({nbno, nlen}, rec);
  if (have_right)
    if (int e = delete_rec(agf, bno, false, right.startblock, right.blockcount)) return e;
  if (have_left) {
    if (int e = bno.lookup(btree::bnobt_key(nbno), LookupMode::kEq, &found)) return e;
    if (!found) return corrupt(agf, "bnobt lacks free extent " + describe(left.startblock, left.blockcount));
    if (int e = bno.update(rec)) return e;
  } else if (int e = bno.insert(rec)) {
    return e;
  }
  agf.add(AgfField::kFreeblks, len);
  return 0;
}

// Brings the AGFL to the length the free-space btrees may need.
int fix_freelist(AgfTx& agf) {
  const uint32_t need = agfl_min_free(agf, alloc_maxlevels(agf.trans().mount().sb()));
  while (agf.get(AgfField::kFlcount) > need) {
    uint32_t bno;
    if (int e = agfl_get(agf, /*for_btree=*/false, &bno)) return e;
    if (int e = free_trees(agf, bno, 1)) return e;
  }
  while (agf.get(AgfField::kFlcount) < need) {
    uint32_t bno, len;
    const uint32_t want = need - agf.get(AgfField::kFlcount);
    if (int e = alloc_trees(agf, 0, 1, want, 1, 0, UINT32_MAX, false, false, &bno, &len)) return e;
    for (uint32_t i = 0; i < len; i++)
      if (int e = agfl_put(agf, /*from_btree=*/false, bno + i)) return e;
  }
  return 0;
}

}  // namespace

int alloc_extent(Transaction& tp, const AllocRequest& r, uint32_t* agbno, uint32_t* len) {
  if (r.minlen == 0 || r.minlen > r.maxlen || r.alignment == 0 || (r.alignment > 1 && r.minlen != r.maxlen))
    return EINVAL;
  AgfTx agf;
  if (int e = AgfTx::get(tp, r.agno, &agf, r.trylock)) return e;
  const uint32_t need = agfl_min_free(agf, alloc_maxlevels(tp.mount().sb()));
  // Space for minlen blocks after the AGFL's minimum (the kernel's
  // xfs_alloc_space_available), and one free extent long enough.
  const int64_t avail = int64_t{agf.get(AgfField::kFreeblks)} + agf.get(AgfField::kFlcount) - need;
  if (avail < int64_t{r.minlen} || agf.get(AgfField::kLongest) < r.minlen) return ENOSPC;
  if (int e = fix_freelist(agf)) return e;
  const uint32_t maxlen = std::min<uint32_t>(r.maxlen, static_cast<uint32_t>(std::min<uint64_t>(tp.reserved(), UINT32_MAX)));
  if (maxlen < r.minlen) return ENOSPC;
  if (r.alignment > 1 && maxlen < r.maxlen) return ENOSPC;
  if (int e = alloc_trees(agf, std::min(r.target, agf.length() - 1), r.minlen, maxlen, r.alignment, r.min_agbno,
                         r.max_agbno, r.near, r.userdata, agbno, len))
    return e;
  tp.use_blocks(*len);
  return 0;
}

int free_extent(Transaction& tp, uint32_t agno, uint32_t agbno, uint32_t len) {
  AgfTx agf;
  if (int e = AgfTx::get(tp, agno, &agf)) return e;
  if (int e = fix_freelist(agf)) return e;
  if (int e = free_trees(agf, agbno, len)) return e;
  const Superblock& sb = tp.mount().sb();
  tp.invalidate_range({fsblock_to_daddr(sb, (uint64_t{agno} << sb.agblklog) | agbno), len << (sb.blocklog - 9)});
  tp.free_blocks(len);
  return 0;
}

}  // namespace xfsfuse::fs
