// ForkEditor: runs of extent records replaced in the in-core list and the
// bmbt together; extents <-> btree format conversions; deferred frees.
#include <algorithm>
#include <cerrno>
#include <cstring>

#include "btree/layout.h"
#include "fs/alloc/alloc.h"
#include "fs/bmap_fork.h"
#include "fs/mount.h"

namespace xfsfuse::fs {

namespace {

uint64_t end_of(const Extent& e) { return e.startoff + e.blockcount; }

// Whether b can be appended to a as one record.
bool mergeable(const Extent& a, const Extent& b) {
  return end_of(a) == b.startoff && a.startblock + a.blockcount == b.startblock && a.unwritten == b.unwritten &&
         a.blockcount + b.blockcount <= kBmbtMaxBlockcount;
}

}  // namespace

ForkEditor::ForkEditor(Transaction& tp, CachedInode* ip, bool attr_fork)
    : tp_(tp), ip_(ip), attr_(attr_fork), host_(this) {}

size_t ForkEditor::max_extents() const { return fork_size(ip_->core, attr_) / kBmbtRecSize; }

size_t ForkEditor::find(uint64_t off) {
  const auto& ext = extents();
  return static_cast<size_t>(
      std::partition_point(ext.begin(), ext.end(), [off](const Extent& e) { return end_of(e) <= off; }) - ext.begin());
}

unsigned ForkEditor::root_level() const {
  const auto& b = ip_->fork(attr_).bytes;
  return b.size() >= 2 ? static_cast<unsigned>(bc::load_be(b.data(), 2)) : 0;
}

int ForkEditor::merge_replace(size_t i, size_t j, std::vector<Extent> recs) {
  auto& ext = extents();
  if (i > 0 && !recs.empty() && mergeable(ext[i - 1], recs.front())) recs.insert(recs.begin(), ext[--i]);
  if (j < ext.size() && !recs.empty() && mergeable(recs.back(), ext[j])) recs.push_back(ext[j++]);
  std::vector<Extent> merged;
  for (const Extent& e : recs) {
    if (!merged.empty() && mergeable(merged.back(), e)) merged.back().blockcount += e.blockcount;
    else merged.push_back(e);
  }
  return replace(i, j, std::move(merged));
}

int ForkEditor::replace(size_t i, size_t j, std::vector<Extent> recs) {
  edited_ = true;
  auto& ext = extents();
  // The largest extent count a fork's di_nextents / di_anextents holds
  // (32 / 16 bits, 48 / 32 with NREXT64).
  const bool big = tp_.mount().sb().features_incompat & kIncompatNrext64;
  const uint64_t limit = attr_ ? (big ? UINT32_MAX : INT16_MAX) : (big ? (uint64_t{1} << 48) - 1 : INT32_MAX);
  if (ext.size() - (j - i) + recs.size() > limit) return EFBIG;
  std::vector<Extent> old(ext.begin() + static_cast<ptrdiff_t>(i), ext.begin() + static_cast<ptrdiff_t>(j));
  const uint64_t next_key = j < ext.size() ? ext[j].startoff : UINT64_MAX;
  ext.erase(ext.begin() + static_cast<ptrdiff_t>(i), ext.begin() + static_cast<ptrdiff_t>(j));
  ext.insert(ext.begin() + static_cast<ptrdiff_t>(i), recs.begin(), recs.end());
  InodeFork& f = ip_->fork(attr_);
  if (f.format == ForkFormat::kBtree)
    if (int e = replace_in_bmbt(old, next_key, recs)) return e;
  if (attr_) ip_->core.anextents = static_cast<uint32_t>(ext.size());
  else ip_->core.nextents = ext.size();
  tp_.log_inode(ip_, kDirtyCore | (attr_ ? kDirtyAttr : kDirtyData));
  if (f.format == ForkFormat::kExtents && ext.size() > max_extents()) return to_btree();
  if (f.format == ForkFormat::kBtree && ext.size() <= max_extents()) return to_extents();
  return 0;
}

int ForkEditor::replace_in_bmbt(const std::vector<Extent>& old, uint64_t next_key, const std::vector<Extent>& recs) {
  Mount& m = tp_.mount();
  auto corrupt = [&](uint64_t off, const char* why) {
    return m.report_corruption("bmbt", ip_->daddr,
                               "inode " + std::to_string(ip_->core.ino) + (attr_ ? " attr" : " data") +
                                   " fork: the record at file block " + std::to_string(off) + " " + why);
  };
  btree::BtreeCursor c(&host_, std::span<std::byte>(ip_->fork(attr_).bytes));
  std::byte rec[kBmbtRecSize];
  auto seek = [&](const Extent& e) {
    bool found = false;
    if (int err = c.lookup(btree::bmbt_key(e.startoff), btree::LookupMode::kEq, &found)) return err;
    if (!found || decode_bmbt_rec(c.record().data()) != e) return corrupt(e.startoff, "differs from the in-core map");
    return 0;
  };
  // Records whose new key stays below the next record's are updated in
  // place; the rest of the old ones go and the rest of the new ones come in.
  size_t k = 0;
  for (; k < std::min(old.size(), recs.size()); k++) {
    const uint64_t bound = k + 1 < old.size() ? old[k + 1].startoff : next_key;
    if (recs[k].startoff >= bound) break;
    if (int e = seek(old[k])) return e;
    encode_bmbt_rec(recs[k], rec);
    if (int e = c.update(rec)) return e;
  }
  for (size_t n = k; n < old.size(); n++) {
    if (int e = seek(old[n])) return e;
    bool found;
    if (int e = c.remove(&found)) return e;
  }
  for (size_t n = k; n < recs.size(); n++) {
    encode_bmbt_rec(recs[n], rec);
    const int e = c.insert(rec);
    if (e == EEXIST) return corrupt(recs[n].startoff, "exists already");
    if (e) return e;
  }
  return 0;
}

int ForkEditor::to_btree() {
  edited_ = true;
  const Superblock& sb = tp_.mount().sb();
  InodeFork& f = ip_->fork(attr_);
  std::vector<std::byte> recs(f.extents.size() * kBmbtRecSize);
  for (size_t i = 0; i < f.extents.size(); i++) encode_bmbt_rec(f.extents[i], recs.data() + i * kBmbtRecSize);
  f.bytes.assign(fork_size(ip_->core, attr_), std::byte{0});
  const uint64_t ino = ip_->core.ino;
  const uint64_t near = agbno_to_fsblock(sb, ino_to_agno(sb, ino), agino_to_agbno(sb, ino_to_agino(sb, ino)));
  f.format = ForkFormat::kBtree;
  if (attr_) ip_->core.aformat = static_cast<int8_t>(ForkFormat::kBtree);
  else ip_->core.format = ForkFormat::kBtree;
  return btree::bmbt_init_root(host_, f.bytes, recs, near);
}

int ForkEditor::to_extents() {
  InodeFork& f = ip_->fork(attr_);
  // Only a root of one leaf gives way (the kernel's xfs_bmap_btree_to_extents).
  if (root_level() != 1 || bc::load_be(f.bytes.data() + 2, 2) != 1) return 0;
  edited_ = true;
  const uint32_t maxrecs = btree::kBmdrLayout.maxrecs(f.bytes.size(), 1);
  const uint64_t leaf = bc::load_be(f.bytes.data() + btree::kBmdrLayout.ptr_off(maxrecs, 0), 8);
  if (int e = host_.free_block(leaf)) return e;
  f.bytes.clear();
  f.format = ForkFormat::kExtents;
  if (attr_) ip_->core.aformat = static_cast<int8_t>(ForkFormat::kExtents);
  else ip_->core.format = ForkFormat::kExtents;
  return 0;
}

int ForkEditor::refit() {
  if (ip_->fork(attr_).format == ForkFormat::kExtents && extents().size() > max_extents()) return to_btree();
  return 0;
}

int ForkEditor::finish() {
  const Superblock& sb = tp_.mount().sb();
  std::sort(frees_.begin(), frees_.end());
  std::vector<std::pair<uint64_t, uint64_t>> runs;
  std::vector<uint32_t> agnos;
  for (const auto& [fsb, len] : frees_) {
    if (!runs.empty()) {
      auto& last = runs.back();
      if (last.first + last.second == fsb && fsblock_to_agno(sb, last.first) == fsblock_to_agno(sb, fsb) &&
          last.second + len <= kBmbtMaxBlockcount) {
        last.second += len;
        continue;
      }
    }
    runs.emplace_back(fsb, len);
    agnos.push_back(fsblock_to_agno(sb, fsb));
  }
  frees_.clear();
  if (!edited_ && runs.empty()) return 0;
  if (int e = bmap_lock_agfs(tp_, agnos)) return e;
  for (const auto& [fsb, len] : runs)
    if (int e = free_extent(tp_, fsblock_to_agno(sb, fsb), fsblock_to_agbno(sb, fsb), static_cast<uint32_t>(len)))
      return e;
  tp_.log_inode(ip_, kDirtyCore | (attr_ ? kDirtyAttr : kDirtyData));
  return 0;
}

}  // namespace xfsfuse::fs
