// fs/alloc/agf_tx.h — an AG's AGF and AGFL inside a transaction.
//
// AgfTx joins sector 1 of an AG (the AGF) to a transaction with its
// exclusive lock — the AG's allocation lock, held until commit (see
// docs/locking.md) — and changes its fields one at a time, logging each
// changed field; at commit the AG's in-core counters (PerAg) are set from it.
//
// The AGFL (sector 3) is a ring of agf_flcount free agbnos from slot
// agf_flfirst to agf_fllast, (sectsize - 36) / 4 slots, wrapping to slot 0;
// the free-space btrees take their new blocks from it and give freed blocks
// back to it, and every allocation first brings it to its minimum length
// (docs/format.md "The AGFL").  An empty list has fllast one slot before
// flfirst.
// Thread safety: as the transaction (one thread).
#pragma once

#include <cstdint>

#include "fs/trans/trans.h"

namespace xfsfuse::fs {

/// The AGF fields a transaction changes (host-endian values, fsblocks).
enum class AgfField : uint8_t {
  kBnoRoot, kCntRoot, kBnoLevel, kCntLevel, kFlfirst, kFllast, kFlcount, kFreeblks, kLongest, kBtreeblks
};

class AgfTx {
 public:
  /// Joins AG agno's AGF to tp.  Returns 0, EINVAL (no such AG), or the
  /// buffer read's errors (EUCLEAN with one log line, EIO).
  /// trylock: EAGAIN instead of waiting for another transaction's hold.
  static int get(Transaction& tp, uint32_t agno, AgfTx* out, bool trylock = false);

  uint32_t agno() const { return agno_; }
  uint32_t length() const { return length_; }  ///< fsblocks in the AG
  uint32_t get(AgfField f) const;
  /// Sets a field and logs it.
  void set(AgfField f, uint32_t v);
  void add(AgfField f, int64_t delta) { set(f, static_cast<uint32_t>(get(f) + delta)); }
  Transaction& trans() { return *tp_; }

 private:
  Transaction* tp_ = nullptr;
  bc::BufHandle* h_ = nullptr;
  uint32_t agno_ = 0, length_ = 0;
};

/// Slots in the AGFL of a filesystem with this sector size.
uint32_t agfl_size(const Superblock& sb);

/// Takes the block at the AGFL's head for a btree (for_btree: counted in
/// agf_btreeblks) or for the allocator.  Returns 0 with *agbno, ENOSPC when
/// the list is empty, EUCLEAN (with one log line) for a list whose
/// counters disagree or a slot outside the AG.
int agfl_get(AgfTx& agf, bool for_btree, uint32_t* agbno);

/// Puts agbno at the AGFL's tail (from_btree: a btree block freed; no longer
/// counted in agf_btreeblks).  Returns 0, ENOSPC when the list is full, or
/// EUCLEAN as agfl_get().
int agfl_put(AgfTx& agf, bool from_btree, uint32_t agbno);

/// The AGFL length every allocation first ensures: for each of the bnobt and
/// cntbt, 2 * min(levels + 1, maxlevels) - 2 — enough blocks for a split at
/// every level (the kernel's xfs_alloc_min_freelist without rmapbt).
uint32_t agfl_min_free(const AgfTx& agf, uint32_t maxlevels);

/// Height an AG's free-space btree can reach: the smallest tree of
/// half-full blocks that holds a record per two blocks of the AG.
uint32_t alloc_maxlevels(const Superblock& sb);

}  // namespace xfsfuse::fs
