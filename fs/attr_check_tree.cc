// attr_deep_check() (fs/attr_check.h): short form through attr_sf_check();
// leaf and node forms as a da btree from attr fork block 0, every node and
// leaf read once through attr3_leaf_ops() (so each block's CRC, magic, owner
// and blkno are checked as it is read), then the remote values the leaves
// name, each block read through attr3_remote_ops().
// A child's level is its parent's minus one (leaves 0); each node key is
// the largest hash of its child's subtree (a leaf's last entry, 0 for an
// empty leaf, as the kernel takes it); the leaves in tree order run in hash
// order; the blocks of each level are linked in tree order by forw/back,
// the first back and the last forw 0.  Recursion depth is bounded by the
// node levels (< kDaNodeMaxDepth), which strictly decrease; no block is held
// while another is read (as btree/da_btree.cc).
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "btree/da_btree.h"
#include "fs/attr_check.h"
#include "fs/attr_internal.h"
#include "fs/buf_ops.h"
#include "fs/corrupt.h"
#include "fs/format/attr.h"
#include "fs/format/endian.h"
#include "fs/superblock.h"

namespace xfsfuse::fs {

namespace {

constexpr size_t kRmtHdrSize = sizeof(xd_attr3_rmt_hdr);
const std::string kTree = "the da btree";

struct Sibling {
  uint32_t dablk = 0, forw = 0, back = 0;
  uint64_t daddr = 0;
};

struct LeafInfo : Sibling {
  size_t count = 0;
  uint32_t first = 0, last = 0;  // hashvals of the first and last entries
};

struct RemoteValue {
  std::string name;
  uint32_t valueblk = 0, valuelen = 0;
};

class AttrWalk {
 public:
  AttrWalk(Mount& m, const CachedInode& ip, std::vector<AttrFault>* out) : m_(m), ip_(ip), out_(out) {
    for (const Extent& e : ip.af.extents) fork_blocks_ = std::max(fork_blocks_, e.startoff + e.blockcount);
  }

  void run() {
    uint32_t last;
    const bool complete = walk(0, -1, ip_.daddr, &last);
    if (complete) {
      check_chain(leaves_, "leaf");
      check_leaf_order();
      for (size_t level = 1; level < nodes_.size(); level++)
        check_chain(nodes_[level], "level " + std::to_string(level) + " node");
    }
    for (const RemoteValue& v : remotes_) remote(v);
    if (dropped_ != 0) out_->push_back(AttrFault{ip_.daddr, std::to_string(dropped_) + " more findings", false});
  }

 private:
  void fault(uint64_t daddr, std::string why, bool repair_silent = false) {
    if (out_->size() >= kMaxAttrFaults) {
      dropped_++;
      return;
    }
    out_->push_back(AttrFault{daddr, std::move(why), repair_silent});
  }

  // The daddr of attr fork block dablk, or the inode's when it is a hole.
  uint64_t block_daddr(uint64_t dablk) const {
    for (const Extent& e : ip_.af.extents)
      if (dablk >= e.startoff && dablk - e.startoff < e.blockcount)
        return fsblock_to_daddr(m_.sb(), e.startblock + (dablk - e.startoff));
    return ip_.daddr;
  }

  // Marks fork block dablk used by what; false (reported at daddr) if
  // something used it already.
  // A block two remote values share is repair_silent (xfs_repair -n 6.1
  // does not look); one the da btree reaches twice is not.
  bool use(uint32_t dablk, const std::string& what, uint64_t daddr) {
    const auto [it, fresh] = used_.emplace(dablk, what);
    if (!fresh)
      fault(daddr, "attr block " + std::to_string(dablk) + " is used by " + what + " and by " + it->second,
            what != kTree && it->second != kTree);
    return fresh;
  }

  // Walks the subtree at dablk, whose root must have level want_level (0: a
  // leaf; -1: any).  Returns true with *last = its largest hash, or false.
  bool walk(uint32_t dablk, int want_level, uint64_t parent_daddr, uint32_t* last) {
    if (!use(dablk, kTree, parent_daddr)) return false;
    bc::BufHandle h;
    if (int err = m_.read_dablk(ip_, true, dablk, &attr3_leaf_ops(), &h)) {
      fault(err == ENOENT ? parent_daddr : block_daddr(dablk),
            "attr block " + std::to_string(dablk) +
                (err == ENOENT ? " is a hole" : err == EUCLEAN ? " fails its checks" : " cannot be read"));
      return false;
    }
    const uint16_t magic = h.size() < btree::kDaNodeHdrSize ? 0 : static_cast<uint16_t>(bc::load_be(h.data() + 8, 2));
    if (magic == kDa3NodeMagic) return node(std::move(h), dablk, want_level, last);
    if (magic != kAttr3LeafMagic || want_level > 0) {
      fault(h.daddr(), "attr block " + std::to_string(dablk) + " has magic " + hex(magic) + ", expected " +
                           (want_level > 0 ? "a node of level " + std::to_string(want_level) : hex(kAttr3LeafMagic)));
      return false;
    }
    return leaf(h, dablk, last);
  }

  bool node(bc::BufHandle h, uint32_t dablk, int want_level, uint32_t* last) {
    xd_da3_node_hdr hdr;
    std::memcpy(&hdr, h.data(), sizeof hdr);
    const int level = be16(hdr.level);
    const size_t count = be16(hdr.count);
    const uint64_t daddr = h.daddr();
    if ((want_level >= 0 && level != want_level) || level < 1 || level >= static_cast<int>(btree::kDaNodeMaxDepth) ||
        count == 0 || count > (h.size() - btree::kDaNodeHdrSize) / btree::kDaNodeEntrySize) {
      fault(daddr, "node at attr block " + std::to_string(dablk) + " has level " + std::to_string(level) + " and count " +
                       std::to_string(count) +
                       (want_level >= 0 ? ", expected level " + std::to_string(want_level) : std::string()));
      return false;
    }
    std::vector<xd_da_node_entry> ents(count);
    std::memcpy(ents.data(), h.data() + btree::kDaNodeHdrSize, count * sizeof(xd_da_node_entry));
    h.release();
    nodes_[level].push_back(Sibling{dablk, be32(hdr.info.hdr.forw), be32(hdr.info.hdr.back), daddr});
    bool complete = true;
    for (size_t i = 0; i < count; i++) {
      const uint32_t key = be32(ents[i].hashval), child = be32(ents[i].before);
      uint32_t child_last;
      if (child >= fork_blocks_) {
        complete = false;
        fault(daddr, "node entry " + std::to_string(i) + " points at attr block " + std::to_string(child) +
                         ", past the fork's " + std::to_string(fork_blocks_) + " blocks");
      } else if (!walk(child, level - 1, daddr, &child_last)) {
        complete = false;
      } else if (child_last != key) {
        fault(daddr, "node entry " + std::to_string(i) + " has hashval " + hex(key) +
                         " but the largest hash under it is " + hex(child_last));
      }
    }
    *last = be32(ents[count - 1].hashval);
    return complete;
  }

  bool leaf(const bc::BufHandle& h, uint32_t dablk, uint32_t* last) {
    const std::span<const std::byte> b(h.data(), h.size());
    std::vector<AttrFault> found;
    attr_leaf_block_check(b, fork_blocks_, &found);
    for (AttrFault& f : found)
      fault(h.daddr(), "leaf at attr block " + std::to_string(dablk) + ": " + std::move(f.why), f.repair_silent);
    std::string err;
    if (!attr::leaf_block_ok(b, &err)) return false;  // reported above; its entries cannot be read
    xd_attr3_leaf_hdr hdr;
    std::memcpy(&hdr, b.data(), sizeof hdr);
    LeafInfo li;
    li.dablk = dablk;
    li.forw = be32(hdr.info.hdr.forw);
    li.back = be32(hdr.info.hdr.back);
    li.daddr = h.daddr();
    li.count = be16(hdr.count);
    const uint32_t per_block = m_.sb().blocksize - kRmtHdrSize;
    attr::leaf_entries(b, [&](size_t i, uint32_t hashval, const attr::AttrRecord& r) {
      if (i == 0) li.first = hashval;
      li.last = hashval;
      // A value whose range the block check refused is not read.
      const uint64_t nblocks = (uint64_t{r.valuelen} + per_block - 1) / per_block;
      if (r.remote && r.valueblk != 0 && r.valuelen != 0 && r.valuelen <= attr::kValueMax &&
          r.valueblk + nblocks <= fork_blocks_)
        remotes_.push_back(RemoteValue{std::string(r.name), r.valueblk, r.valuelen});
    });
    leaves_.push_back(li);
    *last = li.last;
    return true;
  }

  // One remote value: its blocks used once, then each read through the
  // remote verifier (magic, CRC, blkno, uuid: a failure is counted), its
  // owner, offset and bytes checked apart (xfs_repair -n 6.1 reads a value
  // through the verifier only, so those and blocks used twice are
  // repair_silent).
  void remote(const RemoteValue& v) {
    const uint32_t per_block = m_.sb().blocksize - kRmtHdrSize;
    const uint32_t nblocks = (v.valuelen + per_block - 1) / per_block;
    const std::string what = "the remote value of \"" + v.name + "\"";
    bool fresh = true;
    for (uint32_t i = 0; i < nblocks; i++) fresh = use(v.valueblk + i, what, block_daddr(v.valueblk + i)) && fresh;
    if (!fresh) return;
    for (uint32_t i = 0, off = 0; i < nblocks; i++, off += per_block) {
      std::vector<bc::DiskRange> map;
      if (int err = m_.map_blocks(ip_, true, v.valueblk + i, 1, &map)) {
        fault(ip_.daddr, what + ": attr block " + std::to_string(v.valueblk + i) +
                             (err == ENOENT ? " is a hole" : " cannot be mapped"));
        return;
      }
      bc::BufHandle h;
      if (int err = m_.cache().get({map.data(), 1}, &attr3_remote_ops(), bc::kAnyOwner, bc::kGetShared, &h)) {
        fault(map[0].daddr, what + ": attr block " + std::to_string(v.valueblk + i) +
                                (err == EUCLEAN ? " fails its checks" : " cannot be read"));
        return;
      }
      xd_attr3_rmt_hdr hdr;
      std::memcpy(&hdr, h.data(), sizeof hdr);
      const uint32_t want = std::min(per_block, v.valuelen - off);
      if (!attr3_remote_ops().owner_ok({h.data(), h.size()}, ip_.core.ino))
        fault(map[0].daddr, what + ": attr block " + std::to_string(v.valueblk + i) + " has owner " +
                                std::to_string(be64(hdr.rm_owner)), true);
      if (be32(hdr.rm_offset) != off || be32(hdr.rm_bytes) != want)
        fault(map[0].daddr, what + ": attr block " + std::to_string(v.valueblk + i) + " holds value bytes [" +
                                std::to_string(be32(hdr.rm_offset)) + ", +" + std::to_string(be32(hdr.rm_bytes)) +
                                "), expected [" + std::to_string(off) + ", +" + std::to_string(want) + ")",
              true);
    }
  }

  // The blocks of one level, in tree order, are linked in that order
  // (unlike a directory's, a lone attr root node's back pointer counts for
  // xfs_repair -n 6.1).
  template <typename T>  // Sibling or LeafInfo
  void check_chain(const std::vector<T>& level, const std::string& name) {
    for (size_t i = 0; i < level.size(); i++) {
      const Sibling& l = level[i];
      const uint32_t want_back = i == 0 ? 0 : level[i - 1].dablk;
      const uint32_t want_forw = i + 1 == level.size() ? 0 : level[i + 1].dablk;
      if (l.back != want_back)
        fault(l.daddr, name + " " + std::to_string(l.dablk) + " has back " + std::to_string(l.back) + ", expected " +
                           std::to_string(want_back));
      if (l.forw != want_forw)
        fault(l.daddr, name + " " + std::to_string(l.dablk) + " has forw " + std::to_string(l.forw) + ", expected " +
                           std::to_string(want_forw));
    }
  }

  void check_leaf_order() {
    for (size_t i = 1; i < leaves_.size(); i++) {
      const LeafInfo& l = leaves_[i];
      if (l.count && leaves_[i - 1].count && l.first < leaves_[i - 1].last)
        fault(l.daddr, "leaf " + std::to_string(l.dablk) + " starts at hash " + hex(l.first) +
                           ", below the previous leaf's last hash " + hex(leaves_[i - 1].last));
    }
  }

  Mount& m_;
  const CachedInode& ip_;
  std::vector<AttrFault>* out_;
  uint64_t fork_blocks_ = 0;  // past the last mapped attr fork block
  size_t dropped_ = 0;
  std::map<uint32_t, std::string> used_;  // attr fork blocks by what uses them
  std::vector<LeafInfo> leaves_;
  std::vector<std::vector<Sibling>> nodes_ = std::vector<std::vector<Sibling>>(btree::kDaNodeMaxDepth);  // by level
  std::vector<RemoteValue> remotes_;
};

}  // namespace

int attr_deep_check(Mount& m, const CachedInode& ip, std::vector<AttrFault>* faults) {
  if (!ip.has_attr_fork()) return 0;
  switch (ip.af.format) {
    case ForkFormat::kLocal:
      attr_sf_check(ip.fork_bytes(true), ip.daddr, faults);
      return 0;
    case ForkFormat::kExtents:
    case ForkFormat::kBtree:
      if (!ip.af.extents.empty()) AttrWalk(m, ip, faults).run();
      return 0;
    default:
      return m.report_corruption("attr fork", ip.daddr,
                                 "inode " + std::to_string(ip.core.ino) + ": format " +
                                     std::to_string(static_cast<int>(ip.af.format)) + " is no attr format");
  }
}

}  // namespace xfsfuse::fs
