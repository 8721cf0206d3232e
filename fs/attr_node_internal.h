// fs/attr_node_internal.h — a node-form attr fork as the owner of its da
// btree (fs/da_write.h): root at attr fork block 0, leaves "attr3 leaf"
// (magic 0x3bee) split, balanced and joined as the kernel's
// xfs_attr3_leaf_split / _rebalance / _figure_balance / _toosmall /
// _unbalance do (attr_leaf_split.cc), blocks grown at the first unmapped
// attr fork block from 0 (xfs_da_grow_inode) and freed by unmapping
// (attr_node_tree.cc).  Not an API: fs/attr_node_write.cc uses it.
// Thread safety: one per transaction, under the inode's lock.
#pragma once

#include <string>

#include "fs/attr_write_internal.h"
#include "fs/da_write.h"

namespace xfsfuse::fs::attr {

class ForkTree final : public da::Owner {
 public:
  ForkTree(Transaction& tp, CachedInode* ip);
  da::Tree tree;
  /// The entry a split adds (set before Tree::split).
  NewAttr pending;

  /// Looks a up (xfs_da3_node_lookup_int with xfs_attr3_leaf_lookup_int):
  /// down the tree by hash, then on through right siblings while the
  /// leaf's last hash is a's and a is not found.  tree.path ends at the
  /// leaf, its index where a is or would be inserted.  Errors: read errors,
  /// EUCLEAN.
  int find(const NewAttr& a, LeafPos* pos);
  /// Adds a at tree.path's leaf (after find), splitting as needed.
  int add(const NewAttr& a);

  uint32_t root() const override { return 0; }
  uint16_t leaf_magic() const override;
  uint32_t block_size() const override;
  int read(uint32_t dablk, bc::BufHandle** h) override;
  int grow(uint32_t* dablk, bc::BufHandle** h) override;
  int shrink(uint32_t dablk, bc::BufHandle* h) override;
  uint32_t leaf_lasthash(bc::BufHandle* h, int* count) const override;
  size_t leaf_used(bc::BufHandle* h) const override;
  bool leaf_order(bc::BufHandle* a, bc::BufHandle* b) const override;
  int leaf_split(da::Tree& t, da::PathBlk* old, da::PathBlk* added) override;
  int leaf_toosmall(da::Tree& t, int* action) override;
  void leaf_unbalance(da::Tree& t, da::PathBlk* drop, da::PathBlk* save) override;
  int corrupt(uint64_t daddr, const std::string& why) override;

 private:
  int split_one(da::Tree& t, da::PathBlk* old, da::PathBlk* added, bool* fitted);
  void rebalance(da::Tree& t, da::PathBlk* b1, da::PathBlk* b2);

  Transaction& tp_;
  CachedInode* ip_;
};

}  // namespace xfsfuse::fs::attr
