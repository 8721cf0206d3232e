// btree/cursor_delete.cc — remove: a block below minrecs merges with a
// sibling under the same parent, or takes entries from it; roots collapse.
#include <cerrno>

#include "btree/cursor.h"
#include "fs/format/endian.h"

namespace xfsfuse::btree {

int BtreeCursor::remove(bool* found) {
  *found = false;
  if (record().empty()) return EINVAL;
  Blk leaf = at(0);
  const uint32_t i = static_cast<uint32_t>(path_[0].idx);
  const BtreeKey k = key_at(leaf, i);
  const bool was_last = ops_.lastrec && i + 1 == numrecs(leaf) && sib(leaf, true) == kNullPtr;
  int err = remove_at(0, i);
  if (err == 0) err = collapse_root();
  if (err == 0) err = lookup(k, LookupMode::kGe, found);
  if (err == 0 && was_last) err = report_lastrec();
  if (err) release();
  return err;
}

int BtreeCursor::remove_at(unsigned level, uint32_t idx) {
  Blk b = at(level);
  const uint32_t n = numrecs(b);
  copy_entries(b, idx, b, idx + 1, n - idx - 1);
  set_numrecs(b, n - 1);
  if (idx == 0) fix_keys(level);
  return rebalance(level);
}

// The block at level (held in the path) lost an entry; below minrecs it
// merges with, or takes entries from, the sibling beside it under the same
// parent (the left one if there is one).  A block that is its parent's only
// child (the inode root's sole child) is left as it is.
int BtreeCursor::rebalance(unsigned level) {
  if (level + 1 == levels_) return 0;
  Blk b = at(level), parent = at(level + 1);
  const uint32_t n = numrecs(b);
  if (n >= minrecs(level) || numrecs(parent) < 2) return 0;
  const uint32_t pi = static_cast<uint32_t>(path_[level + 1].idx);
  const bool right = pi == 0;
  const uint64_t bptr = path_[level].ptr, sptr = ptr_at(parent, right ? pi + 1 : pi - 1);
  if (sib(b, right) != sptr) return corrupt(b.h->daddr(), "sibling pointer disagrees with the parent's pointers");
  bc::BufHandle sh;
  if (int err = read(sptr, level, &sh)) return err;
  Blk s = wrap(sh, level);
  const uint32_t sn = numrecs(s);
  if (sib(s, !right) != bptr) return corrupt(sh.daddr(), "sibling pointer does not point back");
  if (sn + n > maxrecs(b)) {
    // Take entries from the sibling so both end with about half.
    const uint32_t cnt = (sn - n) / 2;
    if (right) {
      copy_entries(b, n, s, 0, cnt);
      copy_entries(s, 0, s, cnt, sn - cnt);
      set_numrecs(b, n + cnt);
      set_numrecs(s, sn - cnt);
      set_key(parent, pi + 1, s);
      if (n == 0) fix_keys(level);
    } else {
      copy_entries(b, cnt, b, 0, n);
      copy_entries(b, 0, s, sn - cnt, cnt);
      set_numrecs(b, n + cnt);
      set_numrecs(s, sn - cnt);
      fix_keys(level);
    }
    return 0;
  }
  // Merge the right block of the two into the left one and free it.
  Blk l = right ? b : s, r = right ? s : b;
  const uint64_t lptr = right ? bptr : sptr, rptr = right ? sptr : bptr;
  const uint32_t ln = numrecs(l), rn = numrecs(r);
  copy_entries(l, ln, r, 0, rn);
  set_numrecs(l, ln + rn);
  const uint64_t next = sib(r, true);
  set_sib(l, true, next);
  if (next != kNullPtr) {
    if (next == lptr || next == rptr) return corrupt(r.h->daddr(), "right sibling points at itself or back");
    bc::BufHandle nh;
    if (int err = read(next, level, &nh)) return err;
    Blk nb = wrap(nh, level);
    set_sib(nb, false, lptr);
  }
  if (ln == 0) fix_keys(level);  // the left block (the path's) had no first key
  if (!right) {
    // The path's block went into its left sibling: the path follows it.
    path_[level].h = std::move(sh);
    path_[level].ptr = lptr;
    path_[level + 1].idx = static_cast<int>(pi) - 1;
  } else {
    sh.release();
  }
  if (int err = host_->free_block(rptr)) return err;
  return remove_at(level + 1, right ? pi + 1 : pi);
}

// An AG root node with one child: the child becomes the root.  An inode root
// with one child node whose entries fit in the root takes them over.
int BtreeCursor::collapse_root() {
  while (levels_ > 1) {
    const unsigned top = levels_ - 1;
    Blk r = at(top);
    if (numrecs(r) != 1) return 0;
    const uint64_t cptr = ptr_at(r, 0);
    if (!iroot_.empty() && top < 2) return 0;  // a level-1 inode root over one leaf: the bmap's to convert
    if (int err = load(top - 1, cptr)) return err;
    if (iroot_.empty()) {
      const uint64_t old = root_;
      path_[top].h.release();
      path_.pop_back();
      root_ = cptr;
      levels_--;
      host_->set_root(root_, levels_);
      if (int err = host_->free_block(old)) return err;
      continue;
    }
    Blk c = at(top - 1);
    const uint32_t cn = numrecs(c);
    if (cn > maxrecs(r)) return 0;
    copy_entries(r, 0, c, 0, cn);
    set_numrecs(r, cn);
    fs::store_be(iroot_.data(), 2, top - 1);
    host_->log_iroot(0, 2);
    path_[top - 1] = Level{};
    path_.pop_back();
    levels_--;
    if (int err = host_->free_block(cptr)) return err;
  }
  return 0;
}

}  // namespace xfsfuse::btree
