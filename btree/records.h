// btree/records.h — host-endian forms of the leaf records of the trees the
// btree cursor edits, and their on-disk encodings.
//
// Minimal on purpose: what the cursor's callers need to build and read
// records.  Formats (XFS Algorithms & Data Structures, "AG Free Space
// B+trees", "Inode B+trees", "B+tree Extent List"):
//  - bnobt / cntbt record, 8 bytes: be32 startblock (agbno), be32 blockcount
//    (fsblocks);
//  - inobt / finobt record, 16 bytes: be32 startino (agino), be16 holemask
//    (one bit per 4 inodes absent from a sparse chunk), u8 count, u8
//    freecount, be64 free (one bit per free inode);
//  - bmbt record, 16 bytes, big-endian over 128 bits: bit 127 the unwritten
//    flag, then startoff (54 bits, file offset in fsblocks), startblock (52
//    bits, fsblock number) and blockcount (21 bits).
// Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>

namespace xfsfuse::btree {

inline constexpr size_t kAllocRecSize = 8;
inline constexpr size_t kInobtRecSize = 16;
inline constexpr size_t kBmbtRecSize = 16;

/// A bnobt / cntbt record: a free extent of an AG.
struct AllocRec {
  uint32_t startblock = 0;  ///< agbno
  uint32_t blockcount = 0;  ///< fsblocks
  bool operator==(const AllocRec&) const = default;
};

/// An inobt / finobt record: one 64-inode chunk.
struct InobtRec {
  uint32_t startino = 0;  ///< agino of the chunk's first inode
  uint16_t holemask = 0;
  uint8_t count = 0;
  uint8_t freecount = 0;
  uint64_t free = 0;
  bool operator==(const InobtRec&) const = default;
};

/// A bmbt record: one extent of a fork; all units fsblocks.
struct BmbtRec {
  uint64_t startoff = 0;    ///< file offset, < 2^54
  uint64_t startblock = 0;  ///< fsblock number (agno << agblklog | agbno), < 2^52
  uint32_t blockcount = 0;  ///< < 2^21
  bool unwritten = false;
  bool operator==(const BmbtRec&) const = default;
};

/// Writes r's kAllocRecSize bytes at out.
void encode_alloc_rec(const AllocRec& r, std::byte* out);
AllocRec decode_alloc_rec(const std::byte* in);
/// Writes r's kInobtRecSize bytes at out.
void encode_inobt_rec(const InobtRec& r, std::byte* out);
InobtRec decode_inobt_rec(const std::byte* in);
/// Writes r's kBmbtRecSize bytes at out; fields wider than their bit widths are truncated.
void encode_bmbt_rec(const BmbtRec& r, std::byte* out);
BmbtRec decode_bmbt_rec(const std::byte* in);

/// Big-endian store of the low n bytes of v (n = 1, 2, 4 or 8) at p.
void store_be(std::byte* p, unsigned n, uint64_t v);

}  // namespace xfsfuse::btree
