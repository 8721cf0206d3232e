// fs/bmap_fork.h — the pieces under bmap_write.h (private to fs/bmap_*.cc):
// the bmbt's transaction-backed cursor host, block allocation that keeps the
// AGF lock order, and ForkEditor, which replaces runs of extent records in
// the in-core list and the bmbt together and converts the fork between
// extents and btree format.
// Thread safety: as the transaction.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "btree/cursor.h"
#include "fs/format/records.h"
#include "fs/incore_inode.h"
#include "fs/trans/trans.h"

namespace xfsfuse::fs {

/// Allocates up to maxlen contiguous fsblocks at or near the fsblock
/// target: its AG first (or, when the transaction holds a higher AGF, that
/// AG), then the following AGs with trylock, then those that were busy,
/// waiting; never an AG below the highest AGF held.  As the kernel: no
/// fewer than maxlen blocks while some AG's longest free extent holds
/// maxlen (else that longest length); in the target's AG the kernel's
/// NEAR_BNO choice (fs/alloc/alloc_near.h), userdata for file data.
/// Returns 0 with *fsblock and *len, ENOSPC, or alloc_extent's errors.
int bmap_alloc(Transaction& tp, uint64_t target, uint32_t maxlen, bool userdata, uint64_t* fsblock, uint32_t* len);

/// Locks the AGFs of agnos (any order, duplicates allowed) in ascending
/// order: waiting for those above every AGF held, trying those below.
/// Returns 0, EAGAIN (one below is busy), or AgfTx::get's errors.
int bmap_lock_agfs(Transaction& tp, std::vector<uint32_t> agnos);

/// Whether ip's data fork (attr_fork: its attr fork) maps blocks (extents or
/// btree format; not local or a device; an attr fork only if the inode has
/// one).
inline bool bmap_fork_mapped(const CachedInode& ip, bool attr_fork = false) {
  if (attr_fork && !ip.has_attr_fork()) return false;
  const ForkFormat f = ip.fork(attr_fork).format;
  return f == ForkFormat::kExtents || f == ForkFormat::kBtree;
}

/// Fsblocks a btree of the inode's fork may need for one inserted record: a
/// split at every level and a new level (the kernel's XFS_BM_MAXLEVELS).
uint32_t bmbt_maxlevels(const Superblock& sb);

class ForkEditor;

/// The cursor's host for one inode fork's bmbt inside a transaction: blocks
/// through the transaction (aliases), owner = the inode number, new blocks
/// from bmap_alloc near the neighbour the cursor names (counted in
/// di_nblocks), freed ones handed to the editor to free at the end.
class BmbtHost : public btree::BtreeHost {
 public:
  explicit BmbtHost(ForkEditor* fe);
  uint64_t daddr_of(uint64_t ptr) const override;
  int alloc_block(uint64_t near, uint64_t* ptr) override;
  int free_block(uint64_t ptr) override;
  int read_block(uint64_t ptr, bc::BufHandle* out) override;
  int new_block(uint64_t ptr, bc::BufHandle* out) override;
  void log(bc::BufHandle& h, size_t off, size_t len) override;
  void log_iroot(size_t off, size_t len) override;

 private:
  ForkEditor* const fe_;
};

/// Edits one fork of an inode joined to a transaction.  Every change ends
/// with finish() (or the transaction's cancel).
class ForkEditor {
 public:
  ForkEditor(Transaction& tp, CachedInode* ip, bool attr_fork = false);
  Transaction& tp() { return tp_; }
  CachedInode* ip() { return ip_; }
  bool attr_fork() const { return attr_; }
  std::vector<Extent>& extents() { return ip_->fork(attr_).extents; }
  /// Records per fork before it must be a btree (fork bytes / 16).
  size_t max_extents() const;
  /// Index of the first extent ending after file block off (extents().size()
  /// when none does).
  size_t find(uint64_t off);
  /// Replaces extents [i, j) with recs (sorted, inside the gap between
  /// extents i - 1 and j), in the bmbt too, then converts the fork's format
  /// if its extent count crossed max_extents().  Returns 0 or an errno.
  int replace(size_t i, size_t j, std::vector<Extent> recs);
  /// As replace(), after merging recs with each other and with extents i - 1
  /// and j where contiguous in offset and fsblock and in the same state.
  int merge_replace(size_t i, size_t j, std::vector<Extent> recs);
  /// Blocks [fsblock, fsblock + len) are to be freed at finish().
  void free_later(uint64_t fsblock, uint64_t len) { frees_.emplace_back(fsblock, len); }
  /// Converts an extents-format fork that holds more records than its
  /// (changed) size allows to a btree of one leaf (the kernel's
  /// xfs_bmap_add_attrfork_extents).  Returns 0 or an allocation's errno.
  int refit();
  /// Frees what free_later() collected (ascending agno) and logs the inode
  /// if this editor changed the fork or freed blocks (a write over blocks
  /// already mapped changes neither: the fork is not logged, as the kernel
  /// does not log it).  Returns 0, EAGAIN, or free_extent's errors.
  int finish();

 private:
  int replace_in_bmbt(const std::vector<Extent>& old, uint64_t next_key, const std::vector<Extent>& recs);
  int to_btree();
  int to_extents();
  unsigned root_level() const;

  Transaction& tp_;
  CachedInode* const ip_;
  const bool attr_;
  BmbtHost host_;
  std::vector<std::pair<uint64_t, uint64_t>> frees_;  // fsblock, len
  bool edited_ = false;  // replace(), to_btree() or to_extents() ran
};

}  // namespace xfsfuse::fs
