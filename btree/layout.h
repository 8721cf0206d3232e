// btree/layout.h — where the entries of a v5 btree block sit: the one home of
// the maxrecs and offset maths for btree/ (walkers and cursor alike).
//
// A block is a header, then either leaf records (level 0) packed from the
// end of the header, or node keys packed from the end of the header followed
// by the pointer array, which starts after room for maxrecs keys (not after
// numrecs keys): maxrecs = (block bytes - header) / (key + pointer) for nodes,
// (block bytes - header) / record for leaves.  The same holds for the bmbt
// root in the inode fork (xd_bmdr_block) with a 4-byte header and the fork's
// size as the block size (the public document puts the pointers after numrecs
// keys; they start after maxrecs = (fork bytes - 4) / 16 keys — docs/format.md).
// Header sizes: short form (AG btrees, xd_btree_sblock) 56 bytes, long form
// (bmbt, xd_btree_lblock) 72.  Format: XFS Algorithms & Data Structures,
// "Short Format B+trees", "Long Format B+trees", "B+tree Extent List".
// Thread safety: constants and pure functions.
#pragma once

#include <cstddef>
#include <cstdint>

namespace xfsfuse::btree {

inline constexpr size_t kSblockHeaderSize = 56;  ///< xd_btree_sblock, v5
inline constexpr size_t kLblockHeaderSize = 72;  ///< xd_btree_lblock, v5
inline constexpr size_t kBmdrHeaderSize = 4;     ///< xd_bmdr_block: be16 level, be16 numrecs

/// The entry geometry of one kind of btree block (all sizes in bytes).
struct BlockLayout {
  size_t hdr = 0;  ///< header before the entries
  size_t rec = 0;  ///< one leaf record
  size_t key = 0;  ///< one node key slot (both keys of an overlapping tree)
  size_t ptr = 0;  ///< one node pointer: 4 (agbno) or 8 (fsblock)

  /// Records (level 0) or keys (level > 0) a block of `bytes` holds.
  constexpr uint32_t maxrecs(size_t bytes, unsigned level) const {
    if (bytes <= hdr) return 0;
    return static_cast<uint32_t>((bytes - hdr) / (level == 0 ? rec : key + ptr));
  }
  /// Byte offset of leaf record i.
  constexpr size_t rec_off(uint32_t i) const { return hdr + size_t{i} * rec; }
  /// Byte offset of node key i.
  constexpr size_t key_off(uint32_t i) const { return hdr + size_t{i} * key; }
  /// Byte offset of node pointer i in a node of maxrecs keys.
  constexpr size_t ptr_off(uint32_t maxrecs, uint32_t i) const { return hdr + size_t{maxrecs} * key + size_t{i} * ptr; }
};

/// A short-form (AG btree) block with records of rec bytes and key slots of key bytes.
constexpr BlockLayout sblock_layout(size_t rec, size_t key) { return BlockLayout{kSblockHeaderSize, rec, key, 4}; }
/// bmbt blocks: 16-byte records, be64 startoff keys, be64 fsblock pointers.
inline constexpr BlockLayout kBmbtBlockLayout{kLblockHeaderSize, 16, 8, 8};
/// The bmbt root in the inode fork (nodes only; its "block" is the fork).
inline constexpr BlockLayout kBmdrLayout{kBmdrHeaderSize, 16, 8, 8};

}  // namespace xfsfuse::btree
