// The harness's whole-tree check: the read-only walkers (sbtree_walk, bmbt_walk)
// and a walk of its own for the cursor's invariants and the leak check.
#include <catch2/catch.hpp>
#include <cstring>

#include "btree/bmbt.h"
#include "btree/sbtree.h"
#include "tests/btree/cursor_harness.h"

namespace xfsfuse::btree::test {

namespace {

std::vector<std::byte> bytes(std::span<const std::byte> s) { return {s.begin(), s.end()}; }

SbtreeKind sb_kind(BtreeKind k) {
  switch (k) {
    case BtreeKind::kBnobt: return SbtreeKind::kBnobt;
    case BtreeKind::kCntbt: return SbtreeKind::kCntbt;
    case BtreeKind::kInobt: return SbtreeKind::kInobt;
    default: return SbtreeKind::kFinobt;
  }
}

// Sibling pointers of one block, for the chain check per level.
struct Sibs {
  uint64_t ptr, left, right;
};

class Checker {
 public:
  Checker(bc::BufferCache* cache, const TestHost& host, std::vector<std::vector<std::byte>>* recs,
          std::set<uint64_t>* blocks)
      : cache_(cache), host_(host), ops_(tree_ops(host.kind())), recs_(recs), blocks_(blocks) {}

  // Checks the block at ptr, expected at level, whose parent's key for it is
  // parent_key (null for the root); exempt: minrecs does not apply.
  void visit(uint64_t ptr, unsigned level, const std::byte* parent_key, bool exempt) {
    REQUIRE(blocks_->insert(ptr).second);
    bc::BufHandle h;
    const bc::DiskRange map{host_.daddr_of(ptr), host_.blocksize() / 512};
    REQUIRE(cache_->get({&map, 1}, &tree_buf_ops(host_.kind()), host_.owner(), bc::kGetShared, &h) == 0);
    const std::byte* p = h.data();
    const BlockLayout& l = ops_.layout;
    REQUIRE(bc::load_be(p + 4, 2) == level);
    const uint32_t n = static_cast<uint32_t>(bc::load_be(p + 6, 2));
    const uint32_t max = l.maxrecs(host_.blocksize(), level);
    REQUIRE(n <= max);
    if (!exempt) REQUIRE(n >= max / 2);
    const unsigned sz = ops_.long_form ? 8 : 4;
    uint64_t left = bc::load_be(p + 8, sz), right = bc::load_be(p + 8 + sz, sz);
    if (!ops_.long_form) {
      left = left == 0xffffffff ? ~uint64_t{0} : left;
      right = right == 0xffffffff ? ~uint64_t{0} : right;
    }
    if (levels_.size() <= level) levels_.resize(level + 1);
    levels_[level].push_back({ptr, left, right});
    std::byte first[8];
    if (n > 0) {
      if (level)
        std::memcpy(first, p + l.key_off(0), l.key);
      else
        ops_.key_from_rec(p + l.rec_off(0), first);
      if (parent_key) REQUIRE(std::memcmp(first, parent_key, l.key) == 0);
    }
    if (level == 0) {
      for (uint32_t i = 0; i < n; i++) recs_->push_back(bytes({p + l.rec_off(i), l.rec}));
      return;
    }
    std::vector<std::vector<std::byte>> keys;
    std::vector<uint64_t> ptrs;
    for (uint32_t i = 0; i < n; i++) {
      keys.push_back(bytes({p + l.key_off(i), l.key}));
      ptrs.push_back(bc::load_be(p + l.ptr_off(max, i), static_cast<unsigned>(l.ptr)));
      if (i) REQUIRE(ops_.key_of(keys[i - 1].data()) < ops_.key_of(keys[i].data()));
    }
    h.release();
    for (uint32_t i = 0; i < n; i++) visit(ptrs[i], level - 1, keys[i].data(), false);
  }

  // The inode root's children (the root in fork, level >= 1).
  void visit_iroot(std::span<const std::byte> fork) {
    const unsigned level = static_cast<unsigned>(bc::load_be(fork.data(), 2));
    const uint32_t n = static_cast<uint32_t>(bc::load_be(fork.data() + 2, 2));
    const uint32_t max = kBmdrLayout.maxrecs(fork.size(), level);
    REQUIRE(level >= 1);
    REQUIRE(n >= 1);
    REQUIRE(n <= max);
    for (uint32_t i = 0; i < n; i++) {
      const std::byte* k = fork.data() + kBmdrLayout.key_off(i);
      if (i) REQUIRE(ops_.key_of(k - 8) < ops_.key_of(k));
      visit(bc::load_be(fork.data() + kBmdrLayout.ptr_off(max, i), 8), level - 1, k, n == 1);
    }
  }

  // Every level's blocks, in key order, chain through their siblings.
  void check_chains() const {
    for (const auto& lv : levels_) {
      for (size_t i = 0; i < lv.size(); i++) {
        REQUIRE(lv[i].left == (i == 0 ? ~uint64_t{0} : lv[i - 1].ptr));
        REQUIRE(lv[i].right == (i + 1 == lv.size() ? ~uint64_t{0} : lv[i + 1].ptr));
      }
    }
  }

 private:
  bc::BufferCache* cache_;
  const TestHost& host_;
  const TreeOps& ops_;
  std::vector<std::vector<std::byte>>* recs_;
  std::set<uint64_t>* blocks_;
  std::vector<std::vector<Sibs>> levels_;
};

}  // namespace

void Harness::walk(std::vector<std::vector<std::byte>>* recs, std::set<uint64_t>* blocks) {
  Checker c(stack_->cache.get(), *host_, recs, blocks);
  if (kind_ == BtreeKind::kBmbt) {
    REQUIRE(bc::load_be(fork_.data(), 2) + 1 == cur_->levels());
    c.visit_iroot(fork_);
  } else {
    REQUIRE(host_->root == cur_->root());
    REQUIRE(host_->levels == cur_->levels());
    c.visit(cur_->root(), cur_->levels() - 1, nullptr, true);
  }
  c.check_chains();
}

void Harness::check_tree() {
  cur_->release();  // the walks read shared
  REQUIRE(host_->errors.empty());
  std::vector<std::vector<std::byte>> recs, want;
  std::set<uint64_t> blocks;
  for (const auto& [k, r] : model_) want.push_back(r);
  walk(&recs, &blocks);
  REQUIRE(recs == want);
  REQUIRE(blocks == host_->outstanding);

  std::vector<std::vector<std::byte>> walked;
  bc::BufferCache* cache = stack_->cache.get();
  if (kind_ == BtreeKind::kBmbt) {
    if (model_.empty()) return;  // bmbt_walk wants records in every leaf
    BmbtFault fault;
    const int err = bmbt_walk(
        fork_, blocksize_,
        [&](uint64_t fsblock, bc::BufHandle* out) {
          const bc::DiskRange map{host_->daddr_of(fsblock), blocksize_ / 512};
          return cache->get({&map, 1}, &bmbt_ops(), host_->owner(), bc::kGetShared, out);
        },
        [&](const xd_bmbt_rec& r) {
          walked.push_back(bytes({reinterpret_cast<const std::byte*>(&r), sizeof r}));
          return 0;
        },
        &fault);
    INFO(fault.why);
    REQUIRE(err == 0);
  } else {
    SbtreeWalk w;
    w.kind = sb_kind(kind_);
    w.blocksize = blocksize_;
    w.ag_daddr = 0;
    w.ag_length = static_cast<uint32_t>(dev_->size_bytes() / blocksize_);
    w.root = static_cast<uint32_t>(cur_->root());
    w.levels = cur_->levels();
    w.read = [&](uint32_t agbno, bc::BufHandle* out, std::string* why) {
      const bc::DiskRange map{host_->daddr_of(agbno), blocksize_ / 512};
      const int err = cache->get({&map, 1}, &sbtree_ops(w.kind), host_->owner(), bc::kGetShared, out);
      if (err) *why = "read failed";
      return err;
    };
    w.record = [&](std::span<const std::byte> rec, uint64_t) { walked.push_back(bytes(rec)); };
    std::vector<std::string> faults;
    w.fault = [&](const SbtreeFault& f) { faults.push_back(f.why); };
    const SbtreeStats st = sbtree_walk(w);
    REQUIRE(faults.empty());
    REQUIRE(st.blocks == blocks.size());
  }
  REQUIRE(walked == want);
}

void Harness::flush_and_check() {
  cur_->release();
  REQUIRE(stack_->cache->flush_all() == 0);
  stack_->cache->drop_caches();
  REQUIRE(stack_->cache->stats().buffers == 0);
  check_tree();  // every block read back from the device and verified (CRC) again
}

}  // namespace xfsfuse::btree::test
