// fs/alloc/alloc_host.h — the btree cursor's host for an AG's bnobt and
// cntbt inside a transaction (private to fs/alloc/).
//
// Blocks are read and created through the transaction, which keeps them
// locked until it commits; the cursor gets aliases of them.  New btree blocks
// come from the AGFL and freed ones go back to it (counted in
// agf_btreeblks); a new root or height goes to the AGF; the cntbt's last
// record is agf_longest.
#pragma once

#include "btree/cursor.h"
#include "fs/alloc/agf_tx.h"

namespace xfsfuse::fs {

class AllocHost : public btree::BtreeHost {
 public:
  AllocHost(AgfTx* agf, btree::BtreeKind kind);
  uint64_t daddr_of(uint64_t ptr) const override;
  int alloc_block(uint64_t near, uint64_t* ptr) override;
  int free_block(uint64_t ptr) override;
  int read_block(uint64_t ptr, bc::BufHandle* out) override;
  int new_block(uint64_t ptr, bc::BufHandle* out) override;
  void log(bc::BufHandle& h, size_t off, size_t len) override;
  void set_root(uint64_t ptr, unsigned levels) override;
  void lastrec_changed(const std::byte* rec) override;

  /// A cursor over this host's tree, from the AGF's root and level.
  btree::BtreeCursor cursor();

 private:
  AgfTx* const agf_;
  const bool cnt_;
};

}  // namespace xfsfuse::fs
