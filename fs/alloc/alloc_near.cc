// pick_near (fs/alloc/alloc_near.h): the kernel's NEAR_BNO search, in the
// order it looks at records, so that the same free space gives the same
// choice (docs/format.md "Free space and the AGFL").
#include "fs/alloc/alloc_near.h"

#include <algorithm>

#include "fs/alloc/alloc_host.h"
#include "fs/format/records.h"

namespace xfsfuse::fs {

namespace {

using btree::BtreeCursor;
using btree::LookupMode;

// A cursor over the bnobt or the cntbt, active while its direction may still
// hold something better.
struct Walker {
  BtreeCursor c;
  bool bnobt;
  bool active = false;
};

class NearSearch {
 public:
  explicit NearSearch(const NearArgs& a) : a_(a) {}

  // Judges the record under w against the best so far; true when it became
  // the best.  Deactivates w when its direction cannot do better: a cntbt
  // record below minlen, a bnobt record farther than the best, or a perfect
  // choice (at the target, maxlen long).
  bool check(Walker& w) {
    const AllocRec r = decode_alloc_rec(w.c.record().data());
    bool deactivate = false, better = false;
    if (r.blockcount < a_.minlen) {
      deactivate = !w.bnobt;
    } else if (const uint32_t len = std::min(r.blockcount, a_.maxlen); len >= pick_.alen) {
      uint32_t bno;
      const uint32_t diff = placement(len, r, &bno);
      if (diff > diff_) {
        deactivate = w.bnobt;
      } else {
        pick_ = {r.startblock, r.blockcount, bno, len};
        diff_ = diff;
        better = true;
        deactivate = diff == 0 && len == a_.maxlen;
      }
    }
    if (deactivate) w.active = false;
    return better;
  }

  // Checks records moving up (down) from w's, at most count of them (-1: no
  // limit); with find_one, stops at the first that becomes the best.
  int walk(Walker& w, bool up, bool find_one, int count, bool* better) {
    *better = false;
    while (w.active && count != 0) {
      if (check(w)) {
        *better = true;
        if (find_one) break;
      }
      if (!w.active) break;
      bool found = false;
      if (int e = up ? w.c.increment(&found) : w.c.decrement(&found)) return e;
      if (!found) w.active = false;
      if (count > 0) count--;
    }
    return 0;
  }

  // One step of the cntbt side: the record of at least *key_len blocks
  // nearest the target by the cntbt's (length, start) order, and the one
  // before it when of the same length; then the next length to look for
  // (one more than found while nothing was chosen or the found length
  // doubled the key; else the key doubled).
  int cntbt_step(Walker& cnt, uint32_t* key_len) {
    if (!cnt.active) return 0;
    const uint32_t key = *key_len;
    bool found = false;
    if (int e = cnt.c.lookup(btree::cntbt_key(key, a_.target), LookupMode::kGe, &found)) return e;
    cnt.active = found;
    if (!found) return 0;
    const AllocRec r = decode_alloc_rec(cnt.c.record().data());
    check(cnt);
    *key_len = r.blockcount;
    if (r.startblock > a_.target) {
      if (int e = cnt.c.decrement(&found)) return e;
      if (found && decode_alloc_rec(cnt.c.record().data()).blockcount == *key_len) check(cnt);
    }
    const uint64_t doubled = uint64_t{key} << 1;
    if (pick_.alen == 0 || *key_len >= doubled) (*key_len)++;
    else *key_len = static_cast<uint32_t>(std::min<uint64_t>(doubled, UINT32_MAX));
    return 0;
  }

  const NearPick& pick() const { return pick_; }

 private:
  // Where len blocks of free extent r go for this target, and their distance
  // from it: the extent's start when it begins at or after the target (and,
  // for file data, when it ends before the target's run would), the target
  // itself when the run fits there, else the extent's last len blocks.
  uint32_t placement(uint32_t len, const AllocRec& r, uint32_t* bno) const {
    const uint64_t free_end = uint64_t{r.startblock} + r.blockcount, want_end = uint64_t{a_.target} + len;
    if (r.startblock >= a_.target || (a_.userdata && free_end < want_end)) *bno = r.startblock;
    else if (free_end >= want_end) *bno = a_.target;
    else *bno = static_cast<uint32_t>(free_end - len);
    return *bno > a_.target ? *bno - a_.target : a_.target - *bno;
  }

  const NearArgs a_;
  NearPick pick_;
  uint32_t diff_ = UINT32_MAX;
};

}  // namespace

int pick_near(AgfTx& agf, const NearArgs& a, NearPick* out) {
  *out = {};
  AllocHost bh(&agf, btree::BtreeKind::kBnobt), ch(&agf, btree::BtreeKind::kCntbt);
  NearSearch s(a);
  Walker cnt{ch.cursor(), false};
  bool found = false, better = false;
  // First: is there an extent of maxlen blocks?  When the lookup lands in
  // the cntbt's last leaf (few extents that long), every record from there
  // on is judged and the best taken.
  if (int e = cnt.c.lookup(btree::cntbt_key(a.maxlen, 0), LookupMode::kGe, &found)) return e;
  cnt.active = found;
  if (found && cnt.c.in_last_leaf()) {
    if (int e = s.walk(cnt, /*up=*/true, /*find_one=*/false, -1, &better)) return e;
    if (s.pick().alen) {
      *out = s.pick();
      return 0;
    }
  }
  // Else both trees in parallel: one bnobt record to each side of the
  // target per round, then the cntbt's nearest record of the current length
  // key.  A bnobt hit ends the rounds; the other side is then followed as
  // long as it may still do better.
  uint32_t key_len = a.maxlen;
  if (int e = cnt.c.lookup(btree::cntbt_key(key_len, a.target), LookupMode::kGe, &found)) return e;
  cnt.active = found;
  Walker lt{bh.cursor(), true}, gt{bh.cursor(), true};
  if (int e = lt.c.lookup(btree::bnobt_key(a.target), LookupMode::kLe, &found)) return e;
  lt.active = found;
  if (int e = gt.c.lookup(btree::bnobt_key(a.target), LookupMode::kGe, &found)) return e;
  gt.active = found;
  Walker* follow = nullptr;
  bool follow_up = false;
  while (lt.active || gt.active || cnt.active) {
    if (int e = s.walk(lt, false, true, 1, &better)) return e;
    if (better) {
      follow = &gt, follow_up = true;
      break;
    }
    if (int e = s.walk(gt, true, true, 1, &better)) return e;
    if (better) {
      follow = &lt, follow_up = false;
      break;
    }
    if (int e = s.cntbt_step(cnt, &key_len)) return e;
    if (!cnt.active) break;
  }
  // Nothing near: the longest extents, from the cntbt's end down, the first
  // that holds minlen.
  if (!cnt.active && s.pick().alen == 0) {
    if (int e = cnt.c.decrement(&found)) return e;
    if (found) {
      cnt.active = true;
      follow = &cnt, follow_up = false;
    }
  }
  if (follow)
    if (int e = s.walk(*follow, follow_up, true, -1, &better)) return e;
  *out = s.pick();
  return 0;
}

}  // namespace xfsfuse::fs
