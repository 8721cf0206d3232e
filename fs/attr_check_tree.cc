// attr_deep_check() (fs/attr_check.h): short form through attr_sf_check();
// leaf and node forms as a da btree from attr fork block 0, walked whole by
// btree/da_check.h (levels, node keys, leaf hash order, sibling chains, no
// block twice), every node and leaf read once through attr3_leaf_ops() (so
// each block's CRC, magic, owner and blkno are checked as it is read) and
// each leaf judged by attr_leaf_block_check(); then the remote values the
// leaves name, each block read through attr3_remote_ops().
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "btree/da_btree.h"
#include "btree/da_check.h"
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
    btree::DaCheckOwner o;
    o.root = 0;
    o.leaf_magic = kAttr3LeafMagic;
    o.block_word = "attr block";
    o.number = [](uint32_t dablk) { return std::to_string(dablk); };
    o.read = [this](uint32_t dablk, bc::BufHandle* out) { return m_.read_dablk(ip_, true, dablk, &attr3_leaf_ops(), out); };
    o.block_daddr = [this](uint32_t dablk) { return block_daddr(dablk); };
    o.child_fault = [this](uint32_t child) {
      return child >= fork_blocks_ ? "points at attr block " + std::to_string(child) + ", past the fork's " +
                                         std::to_string(fork_blocks_) + " blocks"
                                   : std::string();
    };
    o.leaf = [this](const bc::BufHandle& h, uint32_t dablk, btree::DaLeafSummary* out) { return leaf(h, dablk, out); };
    o.fault = [this](uint64_t daddr, std::string why, bool silent) { fault(daddr, std::move(why), silent); };
    for (uint32_t dablk : btree::da_check_walk(o).blocks) used_.emplace(dablk, kTree);
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

  // Marks fork block dablk used by what (a remote value); false (reported
  // at daddr) if something used it already.
  // A block two remote values share is repair_silent (xfs_repair -n 6.1
  // does not look); one a value shares with the da btree is not.
  bool use(uint32_t dablk, const std::string& what, uint64_t daddr) {
    const auto [it, fresh] = used_.emplace(dablk, what);
    if (!fresh)
      fault(daddr, "attr block " + std::to_string(dablk) + " is used by " + what + " and by " + it->second,
            it->second != kTree);
    return fresh;
  }

  // Judges one leaf (attr_leaf_block_check), summarises it for the walk
  // and keeps the remote values it names whose range lies in the fork.
  bool leaf(const bc::BufHandle& h, uint32_t dablk, btree::DaLeafSummary* out) {
    const std::span<const std::byte> b(h.data(), h.size());
    std::vector<AttrFault> found;
    attr_leaf_block_check(b, fork_blocks_, &found);
    for (AttrFault& f : found)
      fault(h.daddr(), "leaf at attr block " + std::to_string(dablk) + ": " + std::move(f.why), f.repair_silent);
    std::string err;
    if (!attr::leaf_block_ok(b, &err)) return false;  // reported above; its entries cannot be read
    const uint32_t per_block = m_.sb().blocksize - kRmtHdrSize;
    attr::leaf_entries(b, [&](size_t i, uint32_t hashval, const attr::AttrRecord& r) {
      if (i == 0) out->first = hashval;
      out->last = hashval;
      out->count = i + 1;
      const uint64_t nblocks = (uint64_t{r.valuelen} + per_block - 1) / per_block;
      if (r.remote && r.valueblk != 0 && r.valuelen != 0 && r.valuelen <= attr::kValueMax &&
          r.valueblk + nblocks <= fork_blocks_)
        remotes_.push_back(RemoteValue{std::string(r.name), r.valueblk, r.valuelen});
    });
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

  Mount& m_;
  const CachedInode& ip_;
  std::vector<AttrFault>* out_;
  uint64_t fork_blocks_ = 0;  // past the last mapped attr fork block
  size_t dropped_ = 0;
  std::map<uint32_t, std::string> used_;  // attr fork blocks by what uses them
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
