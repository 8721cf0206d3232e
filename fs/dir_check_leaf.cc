// Deep checks of a directory's leaf space (fs/dir_check.h): the da btree
// from its root at the 32 GiB offset, walked whole by btree/da_check.h
// (levels, node keys, leaf hash order, sibling chains, no block twice).
// Each block's own structure was checked by dir3_leaf_ops() when it was
// read; here, per leaf: its entry count (and LEAF1's bestcount) fit the
// block, and its live entries and bests are gathered for dir_check.cc.
#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>

#include "btree/da_check.h"
#include "fs/corrupt.h"
#include "fs/dir_check_internal.h"
#include "fs/format/dir.h"
#include "fs/format/endian.h"

namespace xfsfuse::fs::dir {

namespace {

constexpr size_t kNoFit = SIZE_MAX;

uint32_t leaf_hash(std::span<const std::byte> b, size_t i) {
  return static_cast<uint32_t>(bc::load_be(b.data() + kLeafHdrSize + 8 * i, 4));
}
uint32_t leaf_addr(std::span<const std::byte> b, size_t i) {
  return static_cast<uint32_t>(bc::load_be(b.data() + kLeafHdrSize + 8 * i + 4, 4));
}

// A leaf block's entry count (and for LEAF1 its bestcount), or kNoFit if
// they do not fit the block (dir3_leaf_ops() checked that already, unless the
// buffer was verified by other ops).
size_t leaf_count(std::span<const std::byte> b, bool leaf1, size_t* bestcount) {
  *bestcount = 0;
  if (b.size() < kLeafHdrSize + sizeof(xd_dir2_leaf_tail)) return kNoFit;
  size_t limit = b.size();
  if (leaf1) {
    *bestcount = bc::load_be(b.data() + b.size() - sizeof(xd_dir2_leaf_tail), 4);
    if (*bestcount > (limit - sizeof(xd_dir2_leaf_tail) - kLeafHdrSize) / 2) return kNoFit;
    limit -= sizeof(xd_dir2_leaf_tail) + *bestcount * 2;
  }
  const size_t count = bc::load_be(b.data() + offsetof(xd_dir3_leaf_hdr, count), 2);
  return count > (limit - kLeafHdrSize) / 8 ? kNoFit : count;
}

// Judges one leaf for the walk: its entry count (and LEAF1's bests) fit
// the block; its live entries go into c->leaf_digest, its dablk into
// c->leaf_dablks, LEAF1's bests into c->leaf1_bests.
bool leaf(DeepCheck* c, uint16_t leaf_magic, const bc::BufHandle& h, uint32_t dablk, btree::DaLeafSummary* out) {
  std::span<const std::byte> b(h.data(), h.size());
  size_t bestcount;
  const size_t count = leaf_count(b, leaf_magic == kDir3Leaf1Magic, &bestcount);
  if (count == kNoFit) {
    c->fault(h.daddr(), "leaf count or bestcount does not fit the block");
    return false;
  }
  if (leaf_magic == kDir3Leaf1Magic) {
    c->have_leaf1 = true;
    c->leaf1_daddr = h.daddr();
    c->leaf1_bests.resize(bestcount);
    const size_t at = b.size() - sizeof(xd_dir2_leaf_tail) - bestcount * 2;
    for (size_t i = 0; i < bestcount; i++)
      c->leaf1_bests[i] = static_cast<uint16_t>(bc::load_be(b.data() + at + 2 * i, 2));
  }
  out->count = count;
  for (size_t i = 0; i < count; i++) {
    const uint32_t hash = leaf_hash(b, i), addr = leaf_addr(b, i);
    if (i == 0) out->first = hash;
    out->last = hash;
    if (addr != 0) c->leaf_digest.add(addr, hash);
  }
  c->leaf_dablks.push_back(dablk);
  return true;
}

}  // namespace

void check_leaf_space(DeepCheck* c, uint16_t leaf_magic) {
  btree::DaCheckOwner o;
  o.root = static_cast<uint32_t>(c->g.leaf_dablk);
  o.leaf_magic = leaf_magic;
  o.root_is_leaf = leaf_magic == kDir3Leaf1Magic;  // leaf form's root is its LEAF1; node form's a node or lone LEAFN
  o.first_node_back_silent = true;  // xfs_repair -n 6.1 passes a root node's back pointer (tested on demo's /node)
  o.block_word = "leaf-space block";
  o.number = [](uint32_t dablk) { return hex(dablk); };
  o.read = [c](uint32_t dablk, bc::BufHandle* out) { return c->m.read_dablk(c->ip, false, dablk, &dir3_leaf_ops(), out); };
  o.block_daddr = [c](uint32_t dablk) { return c->block_daddr(dablk); };
  o.child_fault = [c](uint32_t child) {
    return child < c->g.leaf_dablk || child >= c->g.free_dablk
               ? "points at block " + hex(child) + ", outside the leaf space"
               : std::string();
  };
  o.leaf = [c, leaf_magic](const bc::BufHandle& h, uint32_t dablk, btree::DaLeafSummary* out) {
    return leaf(c, leaf_magic, h, dablk, out);
  };
  o.fault = [c](uint64_t daddr, std::string why, bool silent) { c->fault(daddr, std::move(why), silent); };
  c->leaf_complete = btree::da_check_walk(o).complete;
}

void collect_leaf_entries(DeepCheck* c, uint16_t leaf_magic, std::vector<HashAddr>* out) {
  for (uint32_t dablk : c->leaf_dablks) {
    bc::BufHandle h;
    if (c->m.read_dablk(c->ip, false, dablk, &dir3_leaf_ops(), &h)) continue;  // it was read in the walk
    std::span<const std::byte> b(h.data(), h.size());
    size_t bestcount;
    const size_t count = leaf_count(b, leaf_magic == kDir3Leaf1Magic, &bestcount);
    for (size_t i = 0; count != kNoFit && i < count; i++)
      if (leaf_addr(b, i) != 0) out->push_back(HashAddr{leaf_addr(b, i), leaf_hash(b, i), h.daddr()});
  }
}

}  // namespace xfsfuse::fs::dir
