#include "btree/sbtree.h"

#include <array>
#include <cstddef>
#include <cstring>
#include <unordered_set>
#include <vector>

#include "fs/format/btree.h"
#include "fs/format/endian.h"
#include "fs/format/magic.h"

namespace xfsfuse::btree {

namespace {

constexpr uint32_t kNullAgblock = 0xffffffff;
constexpr uint64_t kRmapOffMask = (uint64_t{1} << 54) - 1;  // rm_offset without the fork / bmbt / unwritten flags

// A key as a tuple compared lexicographically: (start) for the bnobt, inobt,
// finobt and refcountbt (with the CoW bit, which sorts CoW staging last),
// (length, start) for the cntbt, (start, owner, offset) for the rmapbt.
using Key = std::array<uint64_t, 3>;

uint64_t be32_at(const std::byte* p) { return bc::load_be(p, 4); }
uint64_t be64_at(const std::byte* p) { return bc::load_be(p, 8); }

// Bytes per key slot in a node (the rmapbt keeps low and high keys).
size_t key_stride(SbtreeKind k) {
  switch (k) {
    case SbtreeKind::kBnobt:
    case SbtreeKind::kCntbt: return 8;
    case SbtreeKind::kRmapbt: return 40;
    default: return 4;
  }
}

// The key of a record, or of a node key slot (low key for the rmapbt): the
// two share their leading layout in every tree.
Key key_at(SbtreeKind k, const std::byte* p) {
  switch (k) {
    case SbtreeKind::kCntbt: return {be32_at(p + 4), be32_at(p), 0};
    case SbtreeKind::kRmapbt: return {be32_at(p), be64_at(p + 4), be64_at(p + 12) & kRmapOffMask};
    default: return {be32_at(p), 0, 0};
  }
}

Key rec_key(SbtreeKind k, const std::byte* rec) {
  if (k == SbtreeKind::kRmapbt) return {be32_at(rec), be64_at(rec + 8), be64_at(rec + 16) & kRmapOffMask};
  return key_at(k, rec);
}

// Keys must ascend strictly, except in the overlapping rmapbt.
bool in_order(SbtreeKind k, const Key& prev, const Key& next) { return k == SbtreeKind::kRmapbt ? prev <= next : prev < next; }

class Walker {
 public:
  explicit Walker(const SbtreeWalk& w) : w_(w) {}

  SbtreeStats run() {
    if (w_.levels == 0 || w_.levels > kSbtreeMaxLevels) {
      fail(w_.root, "tree height " + std::to_string(w_.levels) + " outside 1.." + std::to_string(kSbtreeMaxLevels));
      return stats_;
    }
    visit(w_.root, w_.levels - 1, nullptr, w_.root, true);
    for (unsigned l = 0; l < w_.levels; l++) {
      const Level& s = levels_[l];
      if (s.have && !s.broken && s.rightsib != kNullAgblock)
        fail(s.agbno, "last block of level " + std::to_string(l) + " has rightsib " + std::to_string(s.rightsib), true);
    }
    return stats_;
  }

 private:
  // The last block seen at one level, for the sibling checks.
  struct Level {
    bool have = false;     // a block was seen at this level
    bool broken = false;   // a block of this level was skipped since: siblings unknown
    uint32_t agbno = 0, rightsib = 0;
  };

  // A subtree whose root is at level was skipped: the sibling chains of it
  // and every level below have a gap the next block must not be blamed for.
  void skip(unsigned level) {
    for (unsigned l = 0; l <= level && l < levels_.size(); l++) levels_[l].broken = true;
  }

  uint64_t daddr_of(uint32_t agbno) const { return w_.ag_daddr + (uint64_t{agbno} * (w_.blocksize >> 9)); }
  void fail(uint32_t agbno, std::string why, bool link = false) {
    w_.fault(SbtreeFault{agbno, daddr_of(agbno), std::move(why), link});
  }

  // Visits the block at agbno, expected at level, whose parent's key for it
  // is *parent_key (null for the root); from: the block holding the pointer.
  void visit(uint32_t agbno, unsigned level, const Key* parent_key, uint32_t from, bool root) {
    if (agbno == 0 || agbno >= w_.ag_length) {
      fail(from, "pointer to agbno " + std::to_string(agbno) + " outside the AG (1.." + std::to_string(w_.ag_length - 1) + ")");
      skip(level);
      return;
    }
    if (!seen_.insert(agbno).second) {
      fail(from, "agbno " + std::to_string(agbno) + " reached twice (a cycle or a shared block)");
      skip(level);
      return;
    }
    stats_.blocks++;
    if (w_.block) w_.block(agbno, level);
    bc::BufHandle h;
    std::string why;
    if (int err = w_.read(agbno, &h, &why)) {
      fail(agbno, why.empty() ? "unreadable: " + std::string(std::strerror(err)) : why);
      skip(level);
      return;
    }
    if (h.size() < w_.blocksize || w_.blocksize < kSblockHeaderSize + 64) {
      fail(agbno, "block of " + std::to_string(h.size()) + " bytes");
      skip(level);
      return;
    }
    xd_btree_sblock hdr;
    std::memcpy(&hdr, h.data(), sizeof hdr);
    const unsigned got_level = fs::be16(hdr.bb_level);
    const uint32_t numrecs = fs::be16(hdr.bb_numrecs);
    if (got_level != level) {
      fail(agbno, "level " + std::to_string(got_level) + " where " + std::to_string(level) + " was expected");
      skip(level);
      return;
    }
    check_siblings(agbno, level, fs::be32(hdr.bb_leftsib), fs::be32(hdr.bb_rightsib));
    const uint32_t maxrecs = sbtree_maxrecs(w_.kind, w_.blocksize, level);
    if (numrecs > maxrecs) {
      fail(agbno, "numrecs " + std::to_string(numrecs) + " above maxrecs " + std::to_string(maxrecs));
      if (level > 0) skip(level - 1);
      return;
    }
    if (numrecs == 0 && !(root && level == 0)) fail(agbno, "no records in a non-root block");
    if (level == 0) {
      visit_leaf(h.data(), numrecs, parent_key, agbno, h.daddr());
      return;
    }
    // Copy the node's keys and pointers and let go of the block before
    // descending: a walk holds one block at a time.
    const BlockLayout lay = sbtree_layout(w_.kind);
    std::vector<Key> keys(numrecs);
    std::vector<uint32_t> ptrs(numrecs);
    for (uint32_t i = 0; i < numrecs; i++) {
      keys[i] = key_at(w_.kind, h.data() + lay.key_off(i));
      ptrs[i] = static_cast<uint32_t>(be32_at(h.data() + lay.ptr_off(maxrecs, i)));
    }
    h.release();
    for (uint32_t i = 0; i < numrecs; i++) {
      if (i == 0 && parent_key && keys[0] < *parent_key) fail(agbno, "first key below the parent's key", true);
      if (i > 0 && !in_order(w_.kind, keys[i - 1], keys[i])) fail(agbno, "keys out of order at entry " + std::to_string(i));
      visit(ptrs[i], level - 1, &keys[i], agbno, false);
    }
  }

  void visit_leaf(const std::byte* block, uint32_t numrecs, const Key* parent_key, uint32_t agbno, uint64_t daddr) {
    const BlockLayout lay = sbtree_layout(w_.kind);
    for (uint32_t i = 0; i < numrecs; i++) {
      const std::byte* rec = block + lay.rec_off(i);
      const Key k = rec_key(w_.kind, rec);
      if (i == 0 && parent_key && k < *parent_key) fail(agbno, "first record below the parent's key", true);
      if (have_rec_ && !in_order(w_.kind, last_rec_, k))
        fail(agbno, "record " + std::to_string(i) + " out of order with the record before it");
      have_rec_ = true;
      last_rec_ = k;
      stats_.records++;
      if (w_.record) w_.record({rec, lay.rec}, daddr);
    }
  }

  void check_siblings(uint32_t agbno, unsigned level, uint32_t leftsib, uint32_t rightsib) {
    Level& s = levels_[level];
    if (!s.broken) {
      const uint32_t want = s.have ? s.agbno : kNullAgblock;
      auto name = [](uint32_t b) { return b == kNullAgblock ? std::string("null") : std::to_string(b); };
      if (leftsib != want)
        fail(agbno, "leftsib " + name(leftsib) + ", expected " + name(want) + " at level " + std::to_string(level), true);
      if (s.have && s.rightsib != agbno)
        fail(s.agbno, "rightsib " + std::to_string(s.rightsib) + ", expected " + std::to_string(agbno) + " at level " +
                          std::to_string(level), true);
    }
    s = Level{true, false, agbno, rightsib};
  }

  const SbtreeWalk& w_;
  SbtreeStats stats_;
  std::array<Level, kSbtreeMaxLevels> levels_{};
  std::unordered_set<uint32_t> seen_;
  bool have_rec_ = false;
  Key last_rec_{};
};

bc::HeaderLayout layout(SbtreeKind k) {
  return bc::HeaderLayout{
      .name = sbtree_name(k),
      .magic_off = 0,
      .magic_size = 4,
      .magics = {sbtree_magic(k)},
      .crc_off = offsetof(xd_btree_sblock, bb_crc),
      .crc_len = 0,
      .blkno_off = offsetof(xd_btree_sblock, bb_blkno),
      .uuid_off = offsetof(xd_btree_sblock, bb_uuid),
      .owner_off = offsetof(xd_btree_sblock, bb_owner),
      .owner_size = 4,
      .lsn_off = offsetof(xd_btree_sblock, bb_lsn),
  };
}

}  // namespace

const char* sbtree_name(SbtreeKind kind) {
  static const char* const names[] = {"bnobt", "cntbt", "inobt", "finobt", "refcountbt", "rmapbt"};
  return names[static_cast<int>(kind)];
}

uint32_t sbtree_magic(SbtreeKind kind) {
  static const uint32_t magics[] = {fs::kBnobtMagic,  fs::kCntbtMagic,      fs::kInobtMagic,
                                    fs::kFinobtMagic, fs::kRefcountbtMagic, fs::kRmapbtMagic};
  return magics[static_cast<int>(kind)];
}

size_t sbtree_rec_size(SbtreeKind kind) {
  static const size_t sizes[] = {8, 8, 16, 16, 12, 24};
  return sizes[static_cast<int>(kind)];
}

BlockLayout sbtree_layout(SbtreeKind kind) { return sblock_layout(sbtree_rec_size(kind), key_stride(kind)); }

uint32_t sbtree_maxrecs(SbtreeKind kind, uint32_t blocksize, unsigned level) {
  return sbtree_layout(kind).maxrecs(blocksize, level);
}

const bc::BufOps& sbtree_ops(SbtreeKind kind) {
  static const bc::HeaderBufOps ops[] = {
      bc::HeaderBufOps(layout(SbtreeKind::kBnobt)),  bc::HeaderBufOps(layout(SbtreeKind::kCntbt)),
      bc::HeaderBufOps(layout(SbtreeKind::kInobt)),  bc::HeaderBufOps(layout(SbtreeKind::kFinobt)),
      bc::HeaderBufOps(layout(SbtreeKind::kRefcountbt)), bc::HeaderBufOps(layout(SbtreeKind::kRmapbt))};
  return ops[static_cast<int>(kind)];
}

SbtreeStats sbtree_walk(const SbtreeWalk& w) { return Walker(w).run(); }

}  // namespace xfsfuse::btree
