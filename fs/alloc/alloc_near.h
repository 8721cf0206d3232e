// fs/alloc/alloc_near.h — which free extent an unaligned allocation near a
// target takes, chosen as the kernel's NEAR_BNO allocation chooses it
// (private to fs/alloc/; docs/format.md "Free space and the AGFL" has the
// rules in words).
#pragma once

#include <cstdint>

#include "fs/alloc/agf_tx.h"

namespace xfsfuse::fs {

/// An unaligned request: between minlen and maxlen blocks, near agbno
/// target.  userdata: file data, which takes the start of a free extent
/// lying wholly before the target (room to grow) instead of its end.
struct NearArgs {
  uint32_t target = 0;
  uint32_t minlen = 1, maxlen = 1;
  bool userdata = false;
};

/// The choice: blocks [abno, abno + alen) of free extent [fbno, fbno + flen);
/// flen 0 when no free extent holds minlen blocks.
struct NearPick {
  uint32_t fbno = 0, flen = 0;
  uint32_t abno = 0, alen = 0;
};

/// Reads the AG's bnobt and cntbt (changing nothing) and picks the extent.
/// Returns 0 (with out->flen 0 when nothing fits) or the cursor's errno
/// (EUCLEAN for a damaged tree, logged).
int pick_near(AgfTx& agf, const NearArgs& a, NearPick* out);

}  // namespace xfsfuse::fs
