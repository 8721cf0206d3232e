// btree/cursor.cc — the cursor's blocks and entries, lookup, moves, update.
// Insert is in cursor_insert.cc, remove in cursor_delete.cc.
#include "btree/cursor.h"

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "btree/bmbt.h"
#include "buffer_cache/corruption_log.h"
#include "btree/sbtree.h"
#include "fs/format/btree.h"
#include "fs/format/records.h"

namespace xfsfuse::btree {

namespace {

// Header fields: level and numrecs at 4 and 6 in a block, at 0 and 2 in the
// inode root; siblings at 8 and 12 (short form, 4 bytes) or 8 and 16 (long
// form, 8 bytes).  Offsets from fs/format/btree.h.
constexpr size_t kLevelOff = offsetof(xd_btree_sblock, bb_level);
constexpr size_t kNumrecsOff = offsetof(xd_btree_sblock, bb_numrecs);
static_assert(offsetof(xd_btree_lblock, bb_numrecs) == kNumrecsOff);
static_assert(offsetof(xd_bmdr_block, bb_numrecs) == 2);

unsigned max_levels(const TreeOps& ops) { return ops.long_form ? kBmbtMaxLevels : kSbtreeMaxLevels; }

}  // namespace

int BtreeHost::read_block(uint64_t ptr, bc::BufHandle* out) {
  const bc::DiskRange map{daddr_of(ptr), blocksize_ >> bc::kSectorShift};
  return cache_->get({&map, 1}, &tree_buf_ops(kind_), owner_, bc::kGetExclusive, out);
}

int BtreeHost::new_block(uint64_t ptr, bc::BufHandle* out) {
  const bc::DiskRange map{daddr_of(ptr), blocksize_ >> bc::kSectorShift};
  return cache_->get({&map, 1}, &tree_buf_ops(kind_), bc::kAnyOwner, bc::kGetExclusive | bc::kGetNoRead, out);
}

void BtreeHost::log(bc::BufHandle& h, size_t off, size_t len) { cache_->mark_dirty(h, off, len); }

int init_block(BtreeHost& host, uint64_t ptr, unsigned level, bc::BufHandle* out) {
  if (int err = host.new_block(ptr, out)) return err;
  const TreeOps& ops = tree_ops(host.kind());
  std::byte* p = out->data();
  std::memset(p, 0, host.blocksize());
  fs::store_be(p, 4, ops.magic);
  fs::store_be(p + kLevelOff, 2, level);
  if (ops.long_form) {
    fs::store_be(p + offsetof(xd_btree_lblock, bb_leftsib), 8, ~uint64_t{0});
    fs::store_be(p + offsetof(xd_btree_lblock, bb_rightsib), 8, ~uint64_t{0});
    fs::store_be(p + offsetof(xd_btree_lblock, bb_blkno), 8, host.daddr_of(ptr));
    std::memcpy(p + offsetof(xd_btree_lblock, bb_uuid), host.uuid().data(), 16);
    fs::store_be(p + offsetof(xd_btree_lblock, bb_owner), 8, host.owner());
  } else {
    fs::store_be(p + offsetof(xd_btree_sblock, bb_leftsib), 4, 0xffffffff);
    fs::store_be(p + offsetof(xd_btree_sblock, bb_rightsib), 4, 0xffffffff);
    fs::store_be(p + offsetof(xd_btree_sblock, bb_blkno), 8, host.daddr_of(ptr));
    std::memcpy(p + offsetof(xd_btree_sblock, bb_uuid), host.uuid().data(), 16);
    fs::store_be(p + offsetof(xd_btree_sblock, bb_owner), 4, host.owner());
  }
  host.log(*out, 0, ops.layout.hdr);
  return 0;
}

int bmbt_init_root(BtreeHost& host, std::span<std::byte> iroot, std::span<const std::byte> recs, uint64_t near) {
  const uint32_t n = static_cast<uint32_t>(recs.size() / fs::kBmbtRecSize);
  const uint32_t root_max = kBmdrLayout.maxrecs(iroot.size(), 1);
  if (host.kind() != BtreeKind::kBmbt || recs.size() % fs::kBmbtRecSize || root_max == 0 ||
      n > kBmbtBlockLayout.maxrecs(host.blocksize(), 0))
    return EINVAL;
  uint64_t ptr = 0;
  if (int err = host.alloc_block(near, &ptr)) return err;
  bc::BufHandle h;
  if (int err = init_block(host, ptr, 0, &h)) return err;
  if (n) {
    std::memcpy(h.data() + kBmbtBlockLayout.rec_off(0), recs.data(), recs.size());
    host.log(h, kBmbtBlockLayout.rec_off(0), recs.size());
  }
  fs::store_be(h.data() + kNumrecsOff, 2, n);
  host.log(h, kNumrecsOff, 2);
  std::memset(iroot.data(), 0, iroot.size());
  fs::store_be(iroot.data(), 2, 1);
  fs::store_be(iroot.data() + 2, 2, 1);
  fs::store_be(iroot.data() + kBmdrLayout.key_off(0), 8, n ? fs::decode_bmbt_rec(recs.data()).startoff : 0);
  fs::store_be(iroot.data() + kBmdrLayout.ptr_off(root_max, 0), 8, ptr);
  host.log_iroot(0, iroot.size());
  return 0;
}

BtreeCursor::BtreeCursor(BtreeHost* host, uint64_t root, unsigned levels)
    : ops_(tree_ops(host->kind())), host_(host), blocksize_(host->blocksize()), root_(root), levels_(levels) {
  path_.reserve(kSbtreeMaxLevels + 1);
  path_.resize(levels_);
}

BtreeCursor::BtreeCursor(BtreeHost* host, std::span<std::byte> iroot)
    : ops_(tree_ops(host->kind())), host_(host), blocksize_(host->blocksize()), iroot_(iroot) {
  levels_ = iroot_.size() >= kBmdrHeaderSize ? static_cast<unsigned>(bc::load_be(iroot_.data(), 2)) + 1 : 0;
  path_.reserve(kSbtreeMaxLevels + 1);
  path_.resize(levels_);
}

void BtreeCursor::release() {
  for (Level& l : path_) l.h.release();
  positioned_ = false;
}

// --- blocks and entries ---

BtreeCursor::Blk BtreeCursor::at(unsigned level) {
  if (inode_root(level)) return Blk{iroot_.data(), iroot_.size(), level, nullptr};
  return wrap(path_[level].h, level);
}

BtreeCursor::Blk BtreeCursor::wrap(bc::BufHandle& h, unsigned level) { return Blk{h.data(), blocksize_, level, &h}; }

const BlockLayout& BtreeCursor::layout(const Blk& b) const { return b.h ? ops_.layout : kBmdrLayout; }

uint32_t BtreeCursor::numrecs(const Blk& b) const {
  return static_cast<uint32_t>(bc::load_be(b.p + (b.h ? kNumrecsOff : 2), 2));
}

void BtreeCursor::set_numrecs(Blk& b, uint32_t n) {
  const size_t off = b.h ? kNumrecsOff : 2;
  fs::store_be(b.p + off, 2, n);
  log(b, off, 2);
}

uint32_t BtreeCursor::maxrecs(const Blk& b) const { return layout(b).maxrecs(b.size, b.level); }

uint32_t BtreeCursor::minrecs(unsigned level) const { return ops_.layout.maxrecs(blocksize_, level) / 2; }

uint64_t BtreeCursor::sib(const Blk& b, bool right) const {
  if (ops_.long_form) return bc::load_be(b.p + (right ? 16 : 8), 8);
  const uint64_t v = bc::load_be(b.p + (right ? 12 : 8), 4);
  return v == 0xffffffff ? kNullPtr : v;
}

void BtreeCursor::set_sib(Blk& b, bool right, uint64_t ptr) {
  const size_t n = ops_.long_form ? 8 : 4;
  const size_t off = right ? 8 + n : 8;
  fs::store_be(b.p + off, static_cast<unsigned>(n), ptr);
  log(b, off, n);
}

uint64_t BtreeCursor::ptr_at(const Blk& b, uint32_t i) const {
  const BlockLayout& l = layout(b);
  return bc::load_be(b.p + l.ptr_off(maxrecs(b), i), static_cast<unsigned>(l.ptr));
}

BtreeKey BtreeCursor::key_at(const Blk& b, uint32_t i) const {
  const BlockLayout& l = layout(b);
  return b.level ? ops_.key_of(b.p + l.key_off(i)) : ops_.rec_key(b.p + l.rec_off(i));
}

void BtreeCursor::first_key(const Blk& b, std::byte* out) const {
  const BlockLayout& l = layout(b);
  if (b.level)
    std::memcpy(out, b.p + l.key_off(0), l.key);
  else
    ops_.key_from_rec(b.p + l.rec_off(0), out);
}

void BtreeCursor::copy_entries(Blk& dst, uint32_t di, const Blk& src, uint32_t si, uint32_t cnt) {
  if (cnt == 0) return;
  const BlockLayout &dl = layout(dst), &sl = layout(src);
  if (dst.level == 0) {
    std::memmove(dst.p + dl.rec_off(di), src.p + sl.rec_off(si), size_t{cnt} * dl.rec);
    log(dst, dl.rec_off(di), size_t{cnt} * dl.rec);
    return;
  }
  std::memmove(dst.p + dl.key_off(di), src.p + sl.key_off(si), size_t{cnt} * dl.key);
  log(dst, dl.key_off(di), size_t{cnt} * dl.key);
  const size_t dp = dl.ptr_off(maxrecs(dst), di);
  std::memmove(dst.p + dp, src.p + sl.ptr_off(maxrecs(src), si), size_t{cnt} * dl.ptr);
  log(dst, dp, size_t{cnt} * dl.ptr);
}

void BtreeCursor::put_entry(Blk& b, uint32_t i, const std::byte* key_or_rec, uint64_t ptr) {
  const BlockLayout& l = layout(b);
  if (b.level == 0) {
    std::memcpy(b.p + l.rec_off(i), key_or_rec, l.rec);
    log(b, l.rec_off(i), l.rec);
    return;
  }
  std::memcpy(b.p + l.key_off(i), key_or_rec, l.key);
  log(b, l.key_off(i), l.key);
  const size_t po = l.ptr_off(maxrecs(b), i);
  fs::store_be(b.p + po, static_cast<unsigned>(l.ptr), ptr);
  log(b, po, l.ptr);
}

void BtreeCursor::log(const Blk& b, size_t off, size_t len) {
  if (b.h)
    host_->log(*b.h, off, len);
  else
    host_->log_iroot(off, len);
}

int BtreeCursor::corrupt(uint64_t daddr, const std::string& why) const {
  if (daddr == 0 && !iroot_.empty()) {
    bc::log_corruption(std::string(ops_.name) + " root in inode " + std::to_string(host_->owner()),
                       bc::kNoCorruptionDaddr, why);
    return EUCLEAN;
  }
  bc::log_corruption(std::string(ops_.name) + " block", daddr, why);
  return EUCLEAN;
}

int BtreeCursor::read(uint64_t ptr, unsigned level, bc::BufHandle* out) {
  for (const Level& l : path_)
    if (l.h && l.ptr == ptr) return corrupt(host_->daddr_of(ptr), "block reached twice (a cycle or a shared block)");
  if (int err = host_->read_block(ptr, out)) return err;
  if (out->size() < blocksize_) return corrupt(out->daddr(), "block shorter than a filesystem block");
  Blk b = wrap(*out, level);
  const unsigned got = static_cast<unsigned>(bc::load_be(out->data() + kLevelOff, 2));
  std::string why;
  if (got != level)
    why = "level " + std::to_string(got) + " where " + std::to_string(level) + " was expected";
  else if (numrecs(b) > maxrecs(b))
    why = "numrecs " + std::to_string(numrecs(b)) + " above maxrecs " + std::to_string(maxrecs(b));
  if (why.empty()) return 0;
  out->release();
  return corrupt(host_->daddr_of(ptr), why);
}

int BtreeCursor::load(unsigned level, uint64_t ptr) {
  Level& l = path_[level];
  if (l.h && l.ptr == ptr) return 0;
  l.h.release();
  l.ptr = ptr;
  return read(ptr, level, &l.h);
}

int BtreeCursor::descend_edge(unsigned level, bool last) {
  for (unsigned l = level; l > 0; l--) {
    Blk b = at(l);
    if (numrecs(b) == 0) return corrupt(path_[l].h ? path_[l].h.daddr() : 0, "node with no entries");
    if (int err = load(l - 1, ptr_at(b, path_[l].idx))) return err;
    path_[l - 1].idx = last ? static_cast<int>(numrecs(at(l - 1))) - 1 : 0;
  }
  return 0;
}

void BtreeCursor::fix_keys(unsigned level) {
  std::byte k[8];
  for (unsigned l = level; l + 1 < levels_; l++) {
    Blk child = at(l), parent = at(l + 1);
    if (numrecs(child) == 0) return;
    first_key(child, k);
    const uint32_t pi = static_cast<uint32_t>(path_[l + 1].idx);
    const BlockLayout& pl = layout(parent);
    std::byte* slot = parent.p + pl.key_off(pi);
    if (std::memcmp(slot, k, pl.key) == 0) return;
    std::memcpy(slot, k, pl.key);
    log(parent, pl.key_off(pi), pl.key);
    if (pi != 0) return;
  }
}

void BtreeCursor::set_key(Blk& parent, uint32_t i, const Blk& child) {
  const BlockLayout& pl = layout(parent);
  first_key(child, parent.p + pl.key_off(i));
  log(parent, pl.key_off(i), pl.key);
}

// --- lookup and moves ---

int BtreeCursor::lookup(const BtreeKey& key, LookupMode mode, bool* found) {
  *found = false;
  positioned_ = false;
  // An inode root holds keys only: its level is at least 1.
  if (levels_ < (iroot_.empty() ? 1u : 2u) || levels_ > max_levels(ops_))
    return corrupt(iroot_.empty() ? host_->daddr_of(root_) : 0, "tree height " + std::to_string(levels_));
  if (iroot_.empty()) {
    if (int err = load(levels_ - 1, root_)) return err;
  } else if (numrecs(at(levels_ - 1)) > maxrecs(at(levels_ - 1))) {
    return corrupt(0, "inode root numrecs above its maxrecs");
  }
  for (unsigned l = levels_ - 1; l > 0; l--) {
    Blk b = at(l);
    const uint32_t n = numrecs(b);
    if (n == 0) return corrupt(b.h ? b.h->daddr() : 0, "node with no entries");
    uint32_t lo = 0, hi = n;  // the first key above key
    while (lo < hi) {
      const uint32_t mid = (lo + hi) / 2;
      if (key_at(b, mid) <= key)
        lo = mid + 1;
      else
        hi = mid;
    }
    path_[l].idx = lo == 0 ? 0 : static_cast<int>(lo) - 1;
    if (int err = load(l - 1, ptr_at(b, path_[l].idx))) return err;
  }
  Blk leaf = at(0);
  const uint32_t n = numrecs(leaf);
  uint32_t lo = 0, hi = n;  // the first record not below key
  while (lo < hi) {
    const uint32_t mid = (lo + hi) / 2;
    if (key_at(leaf, mid) < key)
      lo = mid + 1;
    else
      hi = mid;
  }
  positioned_ = true;
  path_[0].idx = static_cast<int>(lo);
  const bool exact = lo < n && key_at(leaf, lo) == key;
  switch (mode) {
    case LookupMode::kEq: *found = exact; return 0;
    case LookupMode::kGe:
      if (lo < n) {
        *found = true;
        return 0;
      }
      path_[0].idx = static_cast<int>(lo) - 1;
      return increment(found);
    case LookupMode::kLe:
      if (exact) {
        *found = true;
        return 0;
      }
      return decrement(found);
  }
  return 0;
}

int BtreeCursor::increment(bool* found) {
  *found = false;
  if (!positioned_) return EINVAL;
  const uint32_t n = numrecs(at(0));
  if (path_[0].idx + 1 < static_cast<int>(n)) {
    path_[0].idx++;
    *found = true;
    return 0;
  }
  unsigned l = 1;
  while (l < levels_ && path_[l].idx + 1 >= static_cast<int>(numrecs(at(l)))) l++;
  if (l == levels_) {
    path_[0].idx = static_cast<int>(n);
    return 0;
  }
  path_[l].idx++;
  if (int err = descend_edge(l, false)) {
    positioned_ = false;
    return err;
  }
  *found = numrecs(at(0)) > 0;
  return 0;
}

bool BtreeCursor::in_last_leaf() {
  if (!positioned_) return false;
  return inode_root(0) || sib(at(0), true) == kNullPtr;
}

void BtreeCursor::to_leaf_start(bool* found) {
  *found = positioned_ && numrecs(at(0)) > 0;
  if (positioned_) path_[0].idx = 0;
}

int BtreeCursor::decrement(bool* found) {
  *found = false;
  if (!positioned_) return EINVAL;
  if (path_[0].idx > 0) {
    path_[0].idx--;
    *found = path_[0].idx < static_cast<int>(numrecs(at(0)));
    return 0;
  }
  unsigned l = 1;
  while (l < levels_ && path_[l].idx <= 0) l++;
  if (l == levels_) {
    path_[0].idx = -1;
    return 0;
  }
  path_[l].idx--;
  if (int err = descend_edge(l, true)) {
    positioned_ = false;
    return err;
  }
  *found = path_[0].idx >= 0;
  return 0;
}

std::span<const std::byte> BtreeCursor::record() const {
  if (!positioned_) return {};
  const int i = path_[0].idx;
  const std::byte* p = path_[0].h.data();
  if (i < 0 || i >= static_cast<int>(bc::load_be(p + kNumrecsOff, 2))) return {};
  return {p + ops_.layout.rec_off(static_cast<uint32_t>(i)), ops_.layout.rec};
}

// --- update ---

int BtreeCursor::neighbour_key(bool right, BtreeKey* key, bool* have) {
  *have = false;
  const uint64_t s = sib(at(0), right);
  if (s == kNullPtr) return 0;
  bc::BufHandle h;
  if (int err = read(s, 0, &h)) return err;
  Blk b = wrap(h, 0);
  const uint32_t n = numrecs(b);
  if (n == 0) return corrupt(h.daddr(), "non-root leaf with no records");
  *key = key_at(b, right ? 0 : n - 1);
  *have = true;
  return 0;
}

int BtreeCursor::update(std::span<const std::byte> rec) {
  const std::span<const std::byte> cur = record();
  if (cur.empty() || rec.size() != ops_.layout.rec) return EINVAL;
  Blk leaf = at(0);
  const uint32_t n = numrecs(leaf), i = static_cast<uint32_t>(path_[0].idx);
  const BtreeKey k = ops_.rec_key(rec.data());
  if (k != key_at(leaf, i)) {
    BtreeKey nk;
    bool have = false;
    if (i > 0) {
      nk = key_at(leaf, i - 1);
      have = true;
    } else if (int err = neighbour_key(false, &nk, &have)) {
      return err;
    }
    if (have && !(nk < k)) return EINVAL;
    if (i + 1 < n) {
      nk = key_at(leaf, i + 1);
      have = true;
    } else if (int err = neighbour_key(true, &nk, &have)) {
      return err;
    }
    if (have && !(k < nk)) return EINVAL;
  }
  put_entry(leaf, i, rec.data(), 0);
  if (i == 0) fix_keys(0);
  if (ops_.lastrec && i + 1 == n && sib(leaf, true) == kNullPtr) host_->lastrec_changed(rec.data());
  return 0;
}

int BtreeCursor::report_lastrec() {
  if (!ops_.lastrec) return 0;
  bc::BufHandle tmp;
  Blk b = at(levels_ - 1);
  for (unsigned l = levels_ - 1; l > 0; l--) {
    const uint32_t n = numrecs(b);
    if (n == 0) return corrupt(b.h ? b.h->daddr() : 0, "node with no entries");
    const uint64_t ptr = ptr_at(b, n - 1);
    if (path_[l - 1].h && path_[l - 1].ptr == ptr) {
      b = at(l - 1);
      continue;
    }
    tmp.release();
    if (int err = read(ptr, l - 1, &tmp)) return err;
    b = wrap(tmp, l - 1);
  }
  const uint32_t n = numrecs(b);
  host_->lastrec_changed(n ? b.p + ops_.layout.rec_off(n - 1) : nullptr);
  return 0;
}

}  // namespace xfsfuse::btree
