#include "btree/bmbt.h"

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <vector>

#include "fs/format/btree.h"
#include "fs/format/endian.h"
#include "fs/format/records.h"

namespace xfsfuse::btree {

namespace {

constexpr uint64_t kNullFsblock = ~uint64_t{0};

uint64_t load_be64(const std::byte* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return fs::be64(xd_be64{v});
}

class Walker {
 public:
  Walker(uint32_t blocksize, const BmbtReadFn& read, const BmbtRecordFn& emit, BmbtFault* fault)
      : blocksize_(blocksize), read_(read), emit_(emit), fault_(fault) {}

  // Visits the subtree of a node whose keys and pointers are given; level is
  // the node's level (>= 1).
  int visit_node(const std::byte* keys, const std::byte* ptrs, uint32_t numrecs, unsigned level, uint64_t daddr) {
    for (uint32_t i = 0; i < numrecs; i++) {
      const uint64_t key = load_be64(keys + 8 * i);
      if (i > 0 && key <= load_be64(keys + 8 * (i - 1)))
        return fail(daddr, "keys not ascending at entry " + std::to_string(i));
      if (int err = visit_child(load_be64(ptrs + 8 * i), level - 1, key)) return err;
    }
    return 0;
  }

  int finish() {
    if (have_leaf_ && last_rightsib_ != kNullFsblock)
      return fail(last_leaf_daddr_, "last leaf has a right sibling");
    return 0;
  }

  int fail(uint64_t daddr, std::string why) {
    fault_->daddr = daddr;
    fault_->why = std::move(why);
    return EUCLEAN;
  }

 private:
  int visit_child(uint64_t fsblock, unsigned level, uint64_t key) {
    bc::BufHandle h;
    if (int err = read_(fsblock, &h)) return err;
    if (h.size() < blocksize_) return fail(h.daddr(), "block shorter than a filesystem block");
    xd_btree_lblock hdr;
    std::memcpy(&hdr, h.data(), sizeof hdr);
    const unsigned got_level = fs::be16(hdr.bb_level);
    const uint32_t numrecs = fs::be16(hdr.bb_numrecs);
    if (got_level != level)
      return fail(h.daddr(), "level " + std::to_string(got_level) + " where " + std::to_string(level) + " was expected");
    const uint32_t maxrecs = kBmbtBlockLayout.maxrecs(blocksize_, level);
    if (numrecs == 0 || numrecs > maxrecs)
      return fail(h.daddr(), "numrecs " + std::to_string(numrecs) + " outside 1.." + std::to_string(maxrecs));
    if (level > 0) {
      const std::byte* keys = h.data() + kBmbtBlockLayout.key_off(0);
      if (load_be64(keys) < key) return fail(h.daddr(), "first key below its parent's key");
      return visit_node(keys, h.data() + kBmbtBlockLayout.ptr_off(maxrecs, 0), numrecs, level, h.daddr());
    }
    return visit_leaf(h, hdr, fsblock, numrecs, key);
  }

  int visit_leaf(const bc::BufHandle& h, const xd_btree_lblock& hdr, uint64_t fsblock, uint32_t numrecs,
                 uint64_t key) {
    const uint64_t leftsib = fs::be64(hdr.bb_leftsib);
    if (have_leaf_ ? (last_rightsib_ != fsblock || leftsib != last_leaf_) : leftsib != kNullFsblock)
      return fail(h.daddr(), "leaf sibling pointers do not chain the leaves in key order");
    uint64_t prev = 0;
    for (uint32_t i = 0; i < numrecs; i++) {
      xd_bmbt_rec r;
      std::memcpy(&r, h.data() + kBmbtBlockLayout.rec_off(i), sizeof r);
      const uint64_t off = fs::decode_bmbt_rec(r).startoff;
      if ((i == 0 && off < key) || (i > 0 && off <= prev))
        return fail(h.daddr(), "record " + std::to_string(i) + " out of key order");
      prev = off;
      if (int err = emit_(r)) return err;
    }
    have_leaf_ = true;
    last_leaf_ = fsblock;
    last_leaf_daddr_ = h.daddr();
    last_rightsib_ = fs::be64(hdr.bb_rightsib);
    return 0;
  }

  const uint32_t blocksize_;
  const BmbtReadFn& read_;
  const BmbtRecordFn& emit_;
  BmbtFault* const fault_;
  bool have_leaf_ = false;
  uint64_t last_leaf_ = 0, last_leaf_daddr_ = 0, last_rightsib_ = 0;
};

}  // namespace

const bc::BufOps& bmbt_ops() {
  static const bc::HeaderBufOps ops(bc::HeaderLayout{
      .name = "bmbt block",
      .magic_off = 0,
      .magic_size = 4,
      .magics = {fs::kBmbtMagic},
      .crc_off = offsetof(xd_btree_lblock, bb_crc),
      .crc_len = 0,
      .blkno_off = offsetof(xd_btree_lblock, bb_blkno),
      .uuid_off = offsetof(xd_btree_lblock, bb_uuid),
      .owner_off = offsetof(xd_btree_lblock, bb_owner),
      .owner_size = 8,
      .lsn_off = offsetof(xd_btree_lblock, bb_lsn),
  });
  return ops;
}

int bmbt_walk(std::span<const std::byte> root, uint32_t blocksize, const BmbtReadFn& read, const BmbtRecordFn& emit,
              BmbtFault* fault) {
  Walker w(blocksize, read, emit, fault);
  if (root.size() < sizeof(xd_bmdr_block) + 16) return w.fail(0, "bmbt root fork too small");
  xd_bmdr_block hdr;
  std::memcpy(&hdr, root.data(), sizeof hdr);
  const unsigned level = fs::be16(hdr.bb_level);
  const uint32_t numrecs = fs::be16(hdr.bb_numrecs);
  const uint32_t maxrecs = kBmdrLayout.maxrecs(root.size(), level);
  if (level == 0 || level > kBmbtMaxLevels) return w.fail(0, "bmbt root level " + std::to_string(level));
  if (numrecs == 0 || numrecs > maxrecs)
    return w.fail(0, "bmbt root numrecs " + std::to_string(numrecs) + " outside 1.." + std::to_string(maxrecs));
  const std::byte* keys = root.data() + kBmdrLayout.key_off(0);
  if (int err = w.visit_node(keys, root.data() + kBmdrLayout.ptr_off(maxrecs, 0), numrecs, level, 0)) return err;
  return w.finish();
}

}  // namespace xfsfuse::btree
