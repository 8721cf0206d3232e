// fs/format/records.h — btree records, decoded to host-endian structs and
// encoded back: free space (bnobt, cntbt), inodes (inobt, finobt), file
// extents (bmbt, and extents-format inode forks) and reference counts
// (refcountbt).  The one place their bit layouts are written; readers (the
// driver, xfsfuse-fsck, btree/) and the write path decode and encode here.
//
// A record is read from and written to raw bytes (`const std::byte*` with at
// least k*RecSize bytes): btree blocks hold them unaligned and big-endian.
// Decoders judge nothing; checking a record against the AG or the file is
// the caller's.  Layouts: XFS Algorithms & Data Structures, "AG Free Space
// B+trees", "Inode B+trees" (and "Sparse Inodes"), "Data Extents",
// "Reference Count B+tree"; checked against xfs_db in tests/fs/records_test.cc.
// Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "fs/format/btree.h"
#include "fs/format/endian.h"
#include "fs/format/geometry.h"
#include "fs/format/inode.h"

namespace xfsfuse::fs {

namespace detail {
template <typename T>
T load(const std::byte* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <typename T>
void store(std::byte* p, const T& v) {
  std::memcpy(p, &v, sizeof v);
}
}  // namespace detail

// ---- bnobt, cntbt: {startblock be32, blockcount be32} ----

inline constexpr size_t kAllocRecSize = sizeof(xd_alloc_rec);  ///< 8

/// A free extent of one AG (fsblocks).  The bnobt sorts by startblock, the
/// cntbt by (blockcount, startblock).
struct AllocRec {
  uint32_t startblock = 0;  ///< agbno
  uint32_t blockcount = 0;
  bool operator==(const AllocRec&) const = default;
};

inline AllocRec decode_alloc_rec(const std::byte* p) {
  const auto r = detail::load<xd_alloc_rec>(p);
  return {be32(r.ar_startblock), be32(r.ar_blockcount)};
}
inline void encode_alloc_rec(const AllocRec& a, std::byte* p) {
  detail::store(p, xd_alloc_rec{to_be32(a.startblock), to_be32(a.blockcount)});
}

// ---- inobt, finobt: startino be32, then (sparse inodes) holemask be16,
// count u8, freecount u8, or (without) freecount be32; then free be64 ----

inline constexpr size_t kInobtRecSize = sizeof(xd_inobt_rec);  ///< 16
inline constexpr uint32_t kInodesPerHoleBit = 4;  ///< each holemask bit stands for 4 inodes

/// One inode chunk of kInodesPerChunk (64) inodes.
struct InobtRec {
  uint32_t startino = 0;  ///< agino of the chunk's first inode
  uint16_t holemask = 0;  ///< bit i: inodes 4i..4i+3 are not allocated (sparse)
  uint32_t count = 0;     ///< inodes allocated in the chunk (64 - 4 * holes)
  uint32_t freecount = 0; ///< free inodes among them
  uint64_t free = 0;      ///< bit i: inode startino + i is free (holes set too)
  bool operator==(const InobtRec&) const = default;
};

/// Decodes a record; sparse: the filesystem has the sparse inodes feature
/// (without it bytes 4..7 are one be32 freecount and every chunk is whole:
/// holemask 0, count 64; checked with xfs_db on a sparse=0 image).
inline InobtRec decode_inobt_rec(const std::byte* p, bool sparse) {
  const auto r = detail::load<xd_inobt_rec>(p);
  InobtRec out;
  out.startino = be32(r.ir_startino);
  if (sparse) {
    out.holemask = be16(r.ir_holemask);
    out.count = r.ir_count;
    out.freecount = r.ir_freecount;
  } else {
    out.count = kInodesPerChunk;
    out.freecount = be32(detail::load<xd_be32>(p + offsetof(xd_inobt_rec, ir_holemask)));
  }
  out.free = be64(r.ir_free);
  return out;
}
/// Encodes a record (sparse as for decode_inobt_rec; without it holemask
/// and count are not stored).
inline void encode_inobt_rec(const InobtRec& in, bool sparse, std::byte* p) {
  xd_inobt_rec r{};
  r.ir_startino = to_be32(in.startino);
  r.ir_free = to_be64(in.free);
  if (sparse) {
    r.ir_holemask = to_be16(in.holemask);
    r.ir_count = static_cast<uint8_t>(in.count);
    r.ir_freecount = static_cast<uint8_t>(in.freecount);
    detail::store(p, r);
  } else {
    detail::store(p, r);
    detail::store(p + offsetof(xd_inobt_rec, ir_holemask), to_be32(in.freecount));
  }
}
/// One bit per inode of the chunk for the inodes in sparse holes.
constexpr uint64_t inobt_hole_bits(uint16_t holemask) {
  uint64_t bits = 0;
  for (unsigned i = 0; i < 16; i++)
    if (holemask & (1u << i)) bits |= uint64_t{0xf} << (i * kInodesPerHoleBit);
  return bits;
}

// ---- bmbt: 128 bits, big-endian: bit 127 unwritten, 126..73 startoff
// (54 bits), 72..21 startblock (52 bits), 20..0 blockcount (21 bits) ----

inline constexpr size_t kBmbtRecSize = sizeof(xd_bmbt_rec);  ///< 16
inline constexpr uint64_t kBmbtMaxStartoff = (uint64_t{1} << 54) - 1;
inline constexpr uint64_t kBmbtMaxStartblock = (uint64_t{1} << 52) - 1;
inline constexpr uint64_t kBmbtMaxBlockcount = (uint64_t{1} << 21) - 1;

/// One extent of a file; all units fsblocks.
struct Extent {
  uint64_t startoff = 0;    ///< file offset
  uint64_t startblock = 0;  ///< fsblock number (agno << agblklog | agbno)
  uint64_t blockcount = 0;
  bool unwritten = false;   ///< allocated but reads as zeros
  bool operator==(const Extent&) const = default;
};

inline Extent decode_bmbt_rec(const xd_bmbt_rec& r) {
  const uint64_t l0 = be64(r.l0), l1 = be64(r.l1);
  Extent e;
  e.unwritten = l0 >> 63;
  e.startoff = (l0 >> 9) & kBmbtMaxStartoff;
  e.startblock = ((l0 & 0x1ff) << 43) | (l1 >> 21);
  e.blockcount = l1 & kBmbtMaxBlockcount;
  return e;
}
inline Extent decode_bmbt_rec(const std::byte* p) { return decode_bmbt_rec(detail::load<xd_bmbt_rec>(p)); }
/// Encodes an extent; fields wider than their bits (kBmbtMax*) are cut to them.
inline xd_bmbt_rec encode_bmbt_rec(const Extent& e) {
  const uint64_t off = e.startoff & kBmbtMaxStartoff, blk = e.startblock & kBmbtMaxStartblock;
  xd_bmbt_rec r;
  r.l0 = to_be64(uint64_t{e.unwritten} << 63 | off << 9 | blk >> 43);
  r.l1 = to_be64(blk << 21 | (e.blockcount & kBmbtMaxBlockcount));
  return r;
}
inline void encode_bmbt_rec(const Extent& e, std::byte* p) { detail::store(p, encode_bmbt_rec(e)); }

// ---- refcountbt: startblock be32 (top bit: CoW staging), blockcount be32,
// refcount be32 ----

inline constexpr size_t kRefcountRecSize = 12;
inline constexpr uint32_t kRefcountCowFlag = 1u << 31;

/// A run of blocks of one AG with a reference count: shared file data
/// (refcount >= 2), or a CoW staging extent (cow, refcount 1).
struct RefcountRec {
  uint32_t startblock = 0;  ///< agbno, without the CoW flag
  uint32_t blockcount = 0;
  uint32_t refcount = 0;
  bool cow = false;
  bool operator==(const RefcountRec&) const = default;
};

inline RefcountRec decode_refcount_rec(const std::byte* p) {
  const uint32_t start = be32(detail::load<xd_be32>(p));
  return {start & ~kRefcountCowFlag, be32(detail::load<xd_be32>(p + 4)), be32(detail::load<xd_be32>(p + 8)),
          (start & kRefcountCowFlag) != 0};
}
inline void encode_refcount_rec(const RefcountRec& r, std::byte* p) {
  detail::store(p, to_be32((r.startblock & ~kRefcountCowFlag) | (r.cow ? kRefcountCowFlag : 0)));
  detail::store(p + 4, to_be32(r.blockcount));
  detail::store(p + 8, to_be32(r.refcount));
}

}  // namespace xfsfuse::fs
