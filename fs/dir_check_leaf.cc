// Deep checks of a directory's leaf space (fs/dir_check.h): the da btree
// from its root at the 32 GiB offset, every node and leaf once.  Each
// block's own structure was checked by dir3_leaf_ops() when it was read; here:
// a child's level is its parent's minus one (leaves: 0), each node entry's
// hashval is the largest hash of its child's subtree (a leaf's last entry,
// 0 for an empty leaf, as the kernel takes it), the leaves in tree order run
// in hash order, the blocks of each level (leaves, and nodes of each level)
// are linked in tree order by forw/back, the first back and the last forw
// 0 (so a lone root node has no siblings), and no block is
// reached twice (a corrupt image can make a cycle).  Recursion depth is
// bounded by the node levels (< kDaNodeMaxDepth), which strictly decrease.
// No block is held while another is read (as btree/da_btree.cc).
#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <set>

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

// A leaf-space block's place in its level's forw/back chain.
struct Sibling {
  uint32_t dablk = 0, forw = 0, back = 0;
  uint64_t daddr = 0;
};

struct LeafInfo : Sibling {
  size_t count = 0;
  uint32_t first = 0, last = 0;  ///< hashvals of the first and last entries
};

class LeafWalk {
 public:
  LeafWalk(DeepCheck* c, uint16_t leaf_magic) : c_(c), leaf_magic_(leaf_magic) {}

  void run() {
    uint32_t last;
    // Leaf form's root is its LEAF1 block; node form's is a node, or a lone LEAFN.
    walk(static_cast<uint32_t>(c_->g.leaf_dablk), leaf_magic_ == kDir3Leaf1Magic ? 0 : -1, c_->ip.daddr, &last);
    if (!c_->leaf_complete) return;
    check_chain(leaves_, "leaf", false);
    check_leaf_order();
    for (size_t level = 1; level < nodes_.size(); level++)
      check_chain(nodes_[level], "level " + std::to_string(level) + " node", true);
  }

 private:
  // Walks the subtree at dablk, whose root must have level want_level (0: a
  // leaf; -1: any).  Returns true with *last = its largest hash, or false.
  bool walk(uint32_t dablk, int want_level, uint64_t parent_daddr, uint32_t* last) {
    if (!seen_.insert(dablk).second) {
      c_->leaf_complete = false;
      c_->fault(parent_daddr, "leaf-space block " + hex(dablk) + " is reached twice");
      return false;
    }
    bc::BufHandle h;
    if (int err = c_->m.read_dablk(c_->ip, false, dablk, &dir3_leaf_ops(), &h)) {
      c_->leaf_complete = false;
      c_->fault(err == ENOENT ? parent_daddr : c_->block_daddr(dablk), "leaf-space block " + hex(dablk) +
                                  (err == ENOENT ? " is a hole" : err == EUCLEAN ? " fails its checks"
                                                                                 : " cannot be read"));
      return false;
    }
    const uint16_t magic = h.size() < kLeafHdrSize ? 0 : static_cast<uint16_t>(bc::load_be(h.data() + 8, 2));
    if (magic == kDa3NodeMagic) return node(std::move(h), dablk, want_level, last);
    if (magic != leaf_magic_ || want_level > 0) {
      c_->leaf_complete = false;
      c_->fault(h.daddr(), "leaf-space block " + hex(dablk) + " has magic " + hex(magic) + ", expected " +
                               (want_level > 0 ? "a node of level " + std::to_string(want_level) : hex(leaf_magic_)));
      return false;
    }
    return leaf(h, dablk, last);
  }

  bool node(bc::BufHandle h, uint32_t dablk, int want_level, uint32_t* last) {
    if (h.size() < btree::kDaNodeHdrSize) return bad_block(h, "node");
    xd_da3_node_hdr hdr;
    std::memcpy(&hdr, h.data(), sizeof hdr);
    const int level = be16(hdr.level);
    const size_t count = be16(hdr.count);
    const uint64_t daddr = h.daddr();
    if ((want_level >= 0 && level != want_level) || level < 1 || level >= static_cast<int>(btree::kDaNodeMaxDepth) ||
        count == 0 || count > (h.size() - btree::kDaNodeHdrSize) / btree::kDaNodeEntrySize) {
      c_->leaf_complete = false;
      c_->fault(daddr, "node at leaf-space block " + hex(dablk) + " has level " + std::to_string(level) +
                           " and count " + std::to_string(count) +
                           (want_level >= 0 ? ", expected level " + std::to_string(want_level) : std::string()));
      return false;
    }
    std::vector<xd_da_node_entry> ents(count);
    std::memcpy(ents.data(), h.data() + btree::kDaNodeHdrSize, count * sizeof(xd_da_node_entry));
    h.release();
    nodes_[level].push_back(Sibling{dablk, be32(hdr.info.hdr.forw), be32(hdr.info.hdr.back), daddr});
    for (size_t i = 0; i < count; i++) {
      const uint32_t key = be32(ents[i].hashval), child = be32(ents[i].before);
      uint32_t child_last;
      if (child < c_->g.leaf_dablk || child >= c_->g.free_dablk) {
        c_->leaf_complete = false;
        c_->fault(daddr, "node entry " + std::to_string(i) + " points at block " + hex(child) +
                             ", outside the leaf space");
      } else if (walk(child, level - 1, daddr, &child_last) && child_last != key) {
        c_->fault(daddr, "node entry " + std::to_string(i) + " has hashval " + hex(key) +
                             " but the largest hash under it is " + hex(child_last));
      }
    }
    *last = be32(ents[count - 1].hashval);
    return true;
  }

  bool leaf(const bc::BufHandle& h, uint32_t dablk, uint32_t* last) {
    std::span<const std::byte> b(h.data(), h.size());
    size_t bestcount;
    const size_t count = leaf_count(b, leaf_magic_ == kDir3Leaf1Magic, &bestcount);
    if (count == kNoFit) return bad_block(h, "leaf count or bestcount");
    if (leaf_magic_ == kDir3Leaf1Magic) {
      c_->have_leaf1 = true;
      c_->leaf1_daddr = h.daddr();
      c_->leaf1_bests.resize(bestcount);
      const size_t at = b.size() - sizeof(xd_dir2_leaf_tail) - bestcount * 2;
      for (size_t i = 0; i < bestcount; i++)
        c_->leaf1_bests[i] = static_cast<uint16_t>(bc::load_be(b.data() + at + 2 * i, 2));
    }
    xd_dir3_leaf_hdr hdr;
    std::memcpy(&hdr, b.data(), sizeof hdr);
    LeafInfo li;
    li.dablk = dablk;
    li.forw = be32(hdr.info.hdr.forw);
    li.back = be32(hdr.info.hdr.back);
    li.daddr = h.daddr();
    li.count = count;
    for (size_t i = 0; i < count; i++) {
      const uint32_t hash = leaf_hash(b, i), addr = leaf_addr(b, i);
      if (i == 0) li.first = hash;
      li.last = hash;
      if (addr != 0) c_->leaf_digest.add(addr, hash);
    }
    leaves_.push_back(li);
    c_->leaf_dablks.push_back(dablk);
    *last = li.last;
    return true;
  }

  bool bad_block(const bc::BufHandle& h, const char* what) {
    c_->leaf_complete = false;
    c_->fault(h.daddr(), std::string(what) + " does not fit the block");
    return false;
  }

  // The blocks of one level, in tree order, are linked in that order.
  // first_back_silent: the back pointer of the level's first block is a
  // repair_silent finding (xfs_repair -n 6.1 passes a root node's back
  // pointer and counts its forw pointer: tested on a copy of demo's /node).
  template <typename T>  // Sibling or LeafInfo
  void check_chain(const std::vector<T>& level, const std::string& name, bool first_back_silent) {
    for (size_t i = 0; i < level.size(); i++) {
      const Sibling& l = level[i];
      const uint32_t want_back = i == 0 ? 0 : level[i - 1].dablk;
      const uint32_t want_forw = i + 1 == level.size() ? 0 : level[i + 1].dablk;
      if (l.back != want_back)
        c_->fault(l.daddr, name + " " + hex(l.dablk) + " has back " + hex(l.back) + ", expected " + hex(want_back),
                  first_back_silent && i == 0);
      if (l.forw != want_forw)
        c_->fault(l.daddr, name + " " + hex(l.dablk) + " has forw " + hex(l.forw) + ", expected " +
                               hex(want_forw));
    }
  }

  // The leaves, in tree order, run in hash order.
  void check_leaf_order() {
    for (size_t i = 1; i < leaves_.size(); i++) {
      const LeafInfo& l = leaves_[i];
      if (l.count && leaves_[i - 1].count && l.first < leaves_[i - 1].last)
        c_->fault(l.daddr, "leaf " + hex(l.dablk) + " starts at hash " + hex(l.first) +
                               ", below the previous leaf's last hash " + hex(leaves_[i - 1].last));
    }
  }

  DeepCheck* c_;
  const uint16_t leaf_magic_;
  std::set<uint32_t> seen_;
  std::vector<LeafInfo> leaves_;
  std::vector<std::vector<Sibling>> nodes_ = std::vector<std::vector<Sibling>>(btree::kDaNodeMaxDepth);  // by level
};

}  // namespace

void check_leaf_space(DeepCheck* c, uint16_t leaf_magic) { LeafWalk(c, leaf_magic).run(); }

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
