// btree/da_check.h: the whole-tree walk of a checker, moved here from the
// directory checks (fs/dir_check_leaf.cc) so attr forks share it.
#include "btree/da_check.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "btree/da_btree.h"
#include "fs/format/dir.h"
#include "fs/format/endian.h"

namespace xfsfuse::btree {

namespace {

std::string hex(uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "0x%llx", static_cast<unsigned long long>(v));
  return b;
}

// A block's place in its level's forw/back chain.
struct Sibling {
  uint32_t dablk = 0, forw = 0, back = 0;
  uint64_t daddr = 0;
};

struct LeafInfo : Sibling {
  DaLeafSummary sum;
};

class Walk {
 public:
  explicit Walk(const DaCheckOwner& o) : o_(o) {}

  DaCheckResult run() {
    uint32_t last;
    r_.complete = true;
    walk(o_.root, o_.root_is_leaf ? 0 : -1, o_.block_daddr(o_.root), &last);
    if (r_.complete) {
      check_chain(leaves_, "leaf", false);
      check_leaf_order();
      for (size_t level = 1; level < nodes_.size(); level++)
        check_chain(nodes_[level], "level " + std::to_string(level) + " node", o_.first_node_back_silent);
    }
    return std::move(r_);
  }

 private:
  std::string block(uint32_t dablk) const { return o_.block_word + " " + o_.number(dablk); }
  void fail(uint64_t daddr, std::string why) {
    r_.complete = false;
    o_.fault(daddr, std::move(why), false);
  }

  // Walks the subtree at dablk, whose root must have level want_level (0: a
  // leaf; -1: any).  Returns true with *last = its largest hash, or false.
  bool walk(uint32_t dablk, int want_level, uint64_t parent_daddr, uint32_t* last) {
    if (!r_.blocks.insert(dablk).second) {
      fail(parent_daddr, block(dablk) + " is reached twice");
      return false;
    }
    bc::BufHandle h;
    if (int err = o_.read(dablk, &h)) {
      fail(err == ENOENT ? parent_daddr : o_.block_daddr(dablk),
           block(dablk) + (err == ENOENT ? " is a hole" : err == EUCLEAN ? " fails its checks" : " cannot be read"));
      return false;
    }
    const uint16_t magic = h.size() < kDaNodeHdrSize ? 0 : static_cast<uint16_t>(bc::load_be(h.data() + 8, 2));
    if (magic == fs::kDa3NodeMagic) return node(std::move(h), dablk, want_level, last);
    if (magic != o_.leaf_magic || want_level > 0) {
      fail(h.daddr(), block(dablk) + " has magic " + hex(magic) + ", expected " +
                          (want_level > 0 ? "a node of level " + std::to_string(want_level) : hex(o_.leaf_magic)));
      return false;
    }
    LeafInfo li;
    if (!o_.leaf(h, dablk, &li.sum)) {
      r_.complete = false;
      return false;
    }
    xd_da_blkinfo info;
    std::memcpy(&info, h.data(), sizeof info);
    li.dablk = dablk;
    li.forw = fs::be32(info.forw);
    li.back = fs::be32(info.back);
    li.daddr = h.daddr();
    leaves_.push_back(li);
    *last = li.sum.last;
    return true;
  }

  bool node(bc::BufHandle h, uint32_t dablk, int want_level, uint32_t* last) {
    xd_da3_node_hdr hdr;
    std::memcpy(&hdr, h.data(), sizeof hdr);
    const int level = fs::be16(hdr.level);
    const size_t count = fs::be16(hdr.count);
    const uint64_t daddr = h.daddr();
    if ((want_level >= 0 && level != want_level) || level < 1 || level >= static_cast<int>(kDaNodeMaxDepth) ||
        count == 0 || count > (h.size() - kDaNodeHdrSize) / kDaNodeEntrySize) {
      fail(daddr, "node at " + block(dablk) + " has level " + std::to_string(level) + " and count " +
                      std::to_string(count) +
                      (want_level >= 0 ? ", expected level " + std::to_string(want_level) : std::string()));
      return false;
    }
    std::vector<xd_da_node_entry> ents(count);
    std::memcpy(ents.data(), h.data() + kDaNodeHdrSize, count * sizeof(xd_da_node_entry));
    h.release();
    nodes_[level].push_back(Sibling{dablk, fs::be32(hdr.info.hdr.forw), fs::be32(hdr.info.hdr.back), daddr});
    for (size_t i = 0; i < count; i++) {
      const uint32_t key = fs::be32(ents[i].hashval), child = fs::be32(ents[i].before);
      uint32_t child_last;
      if (std::string why = o_.child_fault(child); !why.empty())
        fail(daddr, "node entry " + std::to_string(i) + " " + why);
      else if (walk(child, level - 1, daddr, &child_last) && child_last != key)
        o_.fault(daddr,
                 "node entry " + std::to_string(i) + " has hashval " + hex(key) + " but the largest hash under it is " +
                     hex(child_last),
                 false);
    }
    *last = fs::be32(ents[count - 1].hashval);
    return true;
  }

  // The blocks of one level, in tree order, are linked in that order.
  template <typename T>  // Sibling or LeafInfo
  void check_chain(const std::vector<T>& level, const std::string& name, bool first_back_silent) {
    for (size_t i = 0; i < level.size(); i++) {
      const Sibling& l = level[i];
      const uint32_t want_back = i == 0 ? 0 : level[i - 1].dablk;
      const uint32_t want_forw = i + 1 == level.size() ? 0 : level[i + 1].dablk;
      const std::string at = name + " " + o_.number(l.dablk);
      if (l.back != want_back)
        o_.fault(l.daddr, at + " has back " + o_.number(l.back) + ", expected " + o_.number(want_back),
                 first_back_silent && i == 0);
      if (l.forw != want_forw)
        o_.fault(l.daddr, at + " has forw " + o_.number(l.forw) + ", expected " + o_.number(want_forw), false);
    }
  }

  // The leaves, in tree order, run in hash order.
  void check_leaf_order() {
    for (size_t i = 1; i < leaves_.size(); i++) {
      const LeafInfo& l = leaves_[i];
      const DaLeafSummary& prev = leaves_[i - 1].sum;
      if (l.sum.count && prev.count && l.sum.first < prev.last)
        o_.fault(l.daddr,
                 "leaf " + o_.number(l.dablk) + " starts at hash " + hex(l.sum.first) +
                     ", below the previous leaf's last hash " + hex(prev.last),
                 false);
    }
  }

  const DaCheckOwner& o_;
  DaCheckResult r_;
  std::vector<LeafInfo> leaves_;
  std::vector<std::vector<Sibling>> nodes_ = std::vector<std::vector<Sibling>>(kDaNodeMaxDepth);  // by level
};

}  // namespace

DaCheckResult da_check_walk(const DaCheckOwner& o) { return Walk(o).run(); }

}  // namespace xfsfuse::btree
