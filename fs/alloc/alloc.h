// fs/alloc/alloc.h — allocating and freeing extents of an AG's free space
// through its bnobt (free extents by start) and cntbt (by length, then
// start), inside a transaction.
//
// Every call first fixes the AGFL (agf_tx.h) to the length the free-space
// btrees may need for their own splits, refilling it from free space or
// giving its surplus back, as the kernel's xfs_alloc_fix_freelist does.
// Policy of alloc_extent: unaligned and near, the kernel's NEAR_BNO choice
// (alloc_near.h); aligned, the aligned run nearest the target (near) or the
// first that fits in the cntbt's (length, start) order; otherwise the extent
// starting exactly at the target if it is free for maxlen blocks, else the
// first free extent of at least maxlen blocks at or after the target in
// (length, start) order, else the longest free extent if it holds minlen.
// agf_freeblks, agf_longest (the cntbt's last record) and the AG's in-core
// counters follow.  Blocks taken for the caller come out of the
// transaction's reservation (Transaction::use_blocks); freed blocks go back
// to the free-space counter at commit.
//
// Errors: positive errno values; ENOSPC when the AG cannot supply minlen
// blocks; EUCLEAN (one log line) for a free-space btree or AGF that is
// inconsistent, or a freed extent that overlaps free space.  After any error
// the transaction must be cancelled.
// Thread safety: as the transaction; the AGF buffer it joins is the AG's
// allocation lock.
#pragma once

#include <cstdint>

#include "fs/alloc/agf_tx.h"

namespace xfsfuse::fs {

/// What to allocate, all in fsblocks of one AG.
struct AllocRequest {
  uint32_t agno = 0;
  uint32_t target = 0;  ///< agbno to allocate at or near
  uint32_t minlen = 1, maxlen = 1;
  /// The extent must start at a multiple of this (inode chunks:
  /// sb_inoalignmt); with alignment > 1, minlen must equal maxlen.
  uint32_t alignment = 1;
  /// With alignment > 1: the extent lies within [min_agbno, max_agbno]
  /// (sparse inode pieces: their whole chunk must fit in the AG, as the
  /// kernel's args.min_agbno / max_agbno ask).
  uint32_t min_agbno = 0, max_agbno = UINT32_MAX;
  /// With alignment > 1: the aligned run closest to target (searching the
  /// bnobt both ways, as the kernel's NEAR_BNO allocation does) instead of
  /// the first free extent in (length, start) order that holds one.  With
  /// alignment 1: the kernel's NEAR_BNO search (fs/alloc/alloc_near.h).
  bool near = false;
  /// File data (the kernel's XFS_ALLOC_USERDATA): near allocations take the
  /// start of a free extent lying wholly before the target, not its end.
  bool userdata = false;
  /// EAGAIN instead of waiting when another transaction holds the AGF (an
  /// AG tried after the first, out of ascending agno order).
  bool trylock = false;
};

/// Allocates between minlen and maxlen contiguous blocks in AG r.agno.
/// Returns 0 with *agbno and *len, or the errors above.
int alloc_extent(Transaction& tp, const AllocRequest& r, uint32_t* agbno, uint32_t* len);

/// Frees blocks [agbno, agbno + len) of AG agno, merging with free
/// neighbours.  Returns 0 or the errors above (EUCLEAN when any of it is
/// free already).
int free_extent(Transaction& tp, uint32_t agno, uint32_t agbno, uint32_t len);

}  // namespace xfsfuse::fs
