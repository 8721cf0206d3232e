// btree/cursor_insert.cc — insert: a full block shifts one entry to a
// sibling with room, or splits in two halves; a new root above a full AG
// root, a new child below a full inode root.
#include <cerrno>

#include "btree/bmbt.h"
#include "btree/cursor.h"
#include "btree/sbtree.h"
#include "fs/format/endian.h"

namespace xfsfuse::btree {

int BtreeCursor::insert(std::span<const std::byte> rec) {
  if (rec.size() != ops_.layout.rec) return EINVAL;
  const BtreeKey k = ops_.rec_key(rec.data());
  bool found = false;
  if (int err = lookup(k, LookupMode::kEq, &found)) return err;
  if (found) return EEXIST;
  split_ = false;
  if (int err = insert_at(0, static_cast<uint32_t>(path_[0].idx), rec.data(), 0)) {
    release();
    return err;
  }
  // A split may have moved the record to the new block: find it again.
  if (split_) {
    if (int err = lookup(k, LookupMode::kEq, &found)) return err;
    if (!found) return corrupt(host_->daddr_of(path_[0].ptr), "inserted record not found again");
  }
  Blk b = at(0);
  if (ops_.lastrec && path_[0].idx + 1 == static_cast<int>(numrecs(b)) && sib(b, true) == kNullPtr)
    host_->lastrec_changed(rec.data());
  return 0;
}

void BtreeCursor::insert_into(Blk& b, uint32_t idx, const std::byte* entry, uint64_t ptr) {
  const uint32_t n = numrecs(b);
  copy_entries(b, idx + 1, b, idx, n - idx);
  put_entry(b, idx, entry, ptr);
  set_numrecs(b, n + 1);
}

int BtreeCursor::insert_at(unsigned level, uint32_t idx, const std::byte* entry, uint64_t ptr) {
  Blk b = at(level);
  if (numrecs(b) < maxrecs(b)) {
    insert_into(b, idx, entry, ptr);
    if (idx == 0) fix_keys(level);
    return 0;
  }
  if (inode_root(level)) {
    if (int err = new_iroot()) return err;
    return insert_at(level, idx, entry, ptr);  // now into the root's new child
  }
  if (level + 1 == levels_) {
    if (int err = new_root()) return err;
  } else {
    bool moved = false;
    if (int err = shift(level, &idx, &moved)) return err;
    if (moved) {
      if (level == 0) path_[0].idx = static_cast<int>(idx);  // the cursor stays on the new record
      insert_into(b, idx, entry, ptr);
      if (idx == 0) fix_keys(level);
      return 0;
    }
  }
  return split_insert(level, idx, entry, ptr);
}

int BtreeCursor::shift(unsigned level, uint32_t* idx, bool* moved) {
  *moved = false;
  Blk b = at(level), parent = at(level + 1);
  const uint32_t n = numrecs(b), pn = numrecs(parent), pi = static_cast<uint32_t>(path_[level + 1].idx);
  for (const bool right : {false, true}) {
    // Not the entry about to go in at the edge: that would only move it across.
    if (right ? (pi + 1 >= pn || *idx >= n) : (pi == 0 || *idx == 0)) continue;
    const uint64_t sptr = ptr_at(parent, right ? pi + 1 : pi - 1);
    if (sib(b, right) != sptr) return corrupt(b.h->daddr(), "sibling pointer disagrees with the parent's pointers");
    bc::BufHandle sh;
    if (int err = read(sptr, level, &sh)) return err;
    Blk s = wrap(sh, level);
    const uint32_t sn = numrecs(s);
    if (sn >= maxrecs(s)) continue;
    if (right) {
      copy_entries(s, 1, s, 0, sn);
      copy_entries(s, 0, b, n - 1, 1);
      set_numrecs(s, sn + 1);
      set_numrecs(b, n - 1);
      set_key(parent, pi + 1, s);
    } else {
      copy_entries(s, sn, b, 0, 1);
      copy_entries(b, 0, b, 1, n - 1);
      set_numrecs(s, sn + 1);
      set_numrecs(b, n - 1);
      fix_keys(level);
      (*idx)--;
    }
    *moved = true;
    return 0;
  }
  return 0;
}

int BtreeCursor::alloc(uint64_t near, unsigned level, uint64_t* ptr, bc::BufHandle* h) {
  if (int err = host_->alloc_block(near, ptr)) return err;
  for (const Level& l : path_)
    if (l.h && l.ptr == *ptr) return corrupt(host_->daddr_of(*ptr), "allocator returned a block of the tree");
  return init_block(*host_, *ptr, level, h);
}

// Moves the upper entries of the full block at level into a new right
// sibling so that the left one ends with ceil((n + 1) / 2) entries counting
// the new one, inserts the entry into its half, then the new block's key and
// pointer into the parent.
int BtreeCursor::split_insert(unsigned level, uint32_t idx, const std::byte* entry, uint64_t ptr) {
  const uint64_t lptr = path_[level].ptr;
  split_ = true;
  uint64_t rptr = 0;
  bc::BufHandle rh;
  if (int err = alloc(lptr, level, &rptr, &rh)) return err;
  Blk l = at(level), r = wrap(rh, level);
  const uint32_t n = numrecs(l);
  const uint32_t left = (n + 2) / 2;
  const bool go_right = idx >= left;
  const uint32_t keep = go_right ? left : left - 1;
  copy_entries(r, 0, l, keep, n - keep);
  set_numrecs(r, n - keep);
  set_numrecs(l, keep);
  const uint64_t next = sib(l, true);
  set_sib(r, false, lptr);
  set_sib(r, true, next);
  if (next != kNullPtr) {
    if (next == rptr) return corrupt(rh.daddr(), "allocator returned the right sibling of the block it splits");
    bc::BufHandle nh;
    if (int err = read(next, level, &nh)) return err;
    Blk nb = wrap(nh, level);
    set_sib(nb, false, rptr);
  }
  set_sib(l, true, rptr);
  if (go_right) {
    insert_into(r, idx - keep, entry, ptr);
  } else {
    insert_into(l, idx, entry, ptr);
    if (idx == 0) fix_keys(level);
  }
  std::byte k[8];
  first_key(r, k);
  rh.release();
  return insert_at(level + 1, static_cast<uint32_t>(path_[level + 1].idx) + 1, k, rptr);
}

// A new AG root one level up holding the old root as its only entry; the
// split that follows gives it the second.
int BtreeCursor::new_root() {
  if (levels_ >= kSbtreeMaxLevels) return EFBIG;
  uint64_t nptr = 0;
  bc::BufHandle h;
  if (int err = alloc(root_, levels_, &nptr, &h)) return err;
  Blk nb = wrap(h, levels_);
  std::byte k[8];
  first_key(at(levels_ - 1), k);
  put_entry(nb, 0, k, root_);
  set_numrecs(nb, 1);
  path_.push_back(Level{std::move(h), nptr, 0});
  root_ = nptr;
  levels_++;
  host_->set_root(root_, levels_);
  return 0;
}

// The inode root is full: its entries move into a new block at its level,
// and the root, one level higher, holds one key / pointer to that block.
int BtreeCursor::new_iroot() {
  if (levels_ >= kBmbtMaxLevels) return EFBIG;
  const unsigned top = levels_ - 1;
  uint64_t cptr = 0;
  bc::BufHandle h;
  if (int err = alloc(path_[top - 1].ptr, top, &cptr, &h)) return err;
  Blk r = at(top), c = wrap(h, top);
  const uint32_t n = numrecs(r);
  copy_entries(c, 0, r, 0, n);
  set_numrecs(c, n);
  std::byte k[8];
  first_key(c, k);
  fs::store_be(iroot_.data(), 2, top + 1);
  host_->log_iroot(0, 2);
  Blk nr{iroot_.data(), iroot_.size(), top + 1, nullptr};
  put_entry(nr, 0, k, cptr);
  set_numrecs(nr, 1);
  const int idx = path_[top].idx;
  path_[top] = Level{std::move(h), cptr, idx};
  path_.push_back(Level{});
  levels_++;
  return 0;
}

}  // namespace xfsfuse::btree
