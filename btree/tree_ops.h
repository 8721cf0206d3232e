// btree/tree_ops.h — what differs between the trees the btree cursor edits:
// magic, header form, record and key layout, how a key is made from a record
// and how keys order.
//
// Keys (XFS Algorithms & Data Structures, "AG Free Space B+trees", "Inode
// B+trees", "B+tree Extent List"): the bnobt orders by startblock, the cntbt
// by (blockcount, startblock); both keep the whole 8-byte record as the node
// key.  The inobt / finobt order by startino (a be32 key); the bmbt by
// startoff (a be64 key).  finobt is the inobt with its own magic.
// Thread safety: immutable tables.
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>

#include "btree/layout.h"
#include "buffer_cache/buf_ops.h"

namespace xfsfuse::btree {

enum class BtreeKind : uint8_t { kBnobt, kCntbt, kInobt, kFinobt, kBmbt };

/// A key in host form, ordered lexicographically: (startblock, 0) for the
/// bnobt, (blockcount, startblock) for the cntbt, (startino, 0) for the
/// inobt / finobt, (startoff, 0) for the bmbt.
struct BtreeKey {
  uint64_t hi = 0, lo = 0;
  auto operator<=>(const BtreeKey&) const = default;
};

inline BtreeKey bnobt_key(uint32_t agbno) { return {agbno, 0}; }
inline BtreeKey cntbt_key(uint32_t blockcount, uint32_t agbno) { return {blockcount, agbno}; }
inline BtreeKey inobt_key(uint32_t agino) { return {agino, 0}; }
inline BtreeKey bmbt_key(uint64_t startoff) { return {startoff, 0}; }

struct TreeOps {
  const char* name;    ///< "bnobt", "cntbt", "inobt", "finobt", "bmbt"
  uint32_t magic;      ///< "AB3B", "AB3C", "IAB3", "FIB3", "BMA3"
  bool long_form;      ///< 64-bit siblings and owner (bmbt) vs 32-bit (AG trees)
  bool lastrec;        ///< the host hears of last-record changes (cntbt: agf_longest)
  BlockLayout layout;  ///< of the tree's blocks
  /// Writes the node key (layout.key bytes) of the record rec.
  void (*key_from_rec)(const std::byte* rec, std::byte* key);
  /// The host form of a node key.
  BtreeKey (*key_of)(const std::byte* key);
  /// The host form of a record's key.
  BtreeKey rec_key(const std::byte* rec) const {
    std::byte k[8];
    key_from_rec(rec, k);
    return key_of(k);
  }
};

const TreeOps& tree_ops(BtreeKind kind);
/// The verifier of kind's blocks (sbtree_ops / bmbt_ops).
const bc::BufOps& tree_buf_ops(BtreeKind kind);

}  // namespace xfsfuse::btree
