// fs/format/geometry.h — the addressing maths of an XFS filesystem, as pure
// functions over its geometry.  The one place these formulas are written.
//
// Units: an fsblock number is AG-encoded, (agno << agblklog) | agbno, so
// fsblocks of one AG are not contiguous with the next AG's when agblocks is
// not a power of two; a "daddr" is a 512-byte sector from the start of the
// device, linear: (agno * agblocks + agbno) << (blocklog - 9).  An inode
// number is (agno << (agblklog + inopblog)) | agino, and an agino is
// (agbno << inopblog) | index of the inode in its fsblock.  Source:
// docs/format.md "Addressing"; tests/fs/geometry_test.cc compares the
// conversions with `xfs_db -c 'convert ...'` on multi-AG images.
//
// Geometry holds just the superblock fields the maths reads; fs::Superblock
// (fs/superblock.h) derives from it, so a Superblock is passed wherever a
// Geometry is asked for, and this header needs nothing of fs/*.cc (btree/ and
// tools/ may include it).  No function checks its arguments against the
// geometry unless it says so (ino_in_fs, extent_in_ag).
// Thread safety: pure functions.
#pragma once

#include <cstdint>

namespace xfsfuse::fs {

inline constexpr unsigned kSectorShift = 9;     ///< daddr units: 512-byte sectors ("basic blocks")
inline constexpr uint32_t kInodesPerChunk = 64;  ///< inodes in one inode chunk (one inobt record)

/// The superblock's geometry fields, host-endian.  Filled by
/// decode_superblock(), which checks they agree with each other (blocksize ==
/// 1 << blocklog, agblklog == ceil(log2(agblocks)), ...).
struct Geometry {
  uint32_t blocksize = 0;  ///< bytes per fsblock
  uint8_t blocklog = 0;
  uint16_t sectsize = 0;   ///< bytes per sector (AG headers are one sector each)
  uint8_t sectlog = 0;
  uint16_t inodesize = 0;  ///< bytes per inode
  uint8_t inodelog = 0;
  uint16_t inopblock = 0;  ///< inodes per fsblock
  uint8_t inopblog = 0;
  uint64_t dblocks = 0;    ///< fsblocks in the data section
  uint32_t agblocks = 0;   ///< fsblocks per AG (the last AG may be shorter)
  uint8_t agblklog = 0;    ///< bits of agbno in an fsblock number
  uint32_t agcount = 0;
};

// ---- fsblocks, AG blocks and sectors ----

constexpr uint32_t fsblock_to_agno(const Geometry& g, uint64_t fsblock) {
  return static_cast<uint32_t>(fsblock >> g.agblklog);
}
constexpr uint32_t fsblock_to_agbno(const Geometry& g, uint64_t fsblock) {
  return static_cast<uint32_t>(fsblock & ((uint64_t{1} << g.agblklog) - 1));
}
constexpr uint64_t agbno_to_fsblock(const Geometry& g, uint32_t agno, uint32_t agbno) {
  return uint64_t{agno} << g.agblklog | agbno;
}
/// Fsblocks to bytes and to 512-byte sectors.
constexpr uint64_t fsblocks_to_bytes(const Geometry& g, uint64_t n) { return n << g.blocklog; }
constexpr uint64_t fsblocks_to_sectors(const Geometry& g, uint64_t n) { return n << (g.blocklog - kSectorShift); }
/// Bytes to fsblocks, rounded up.
constexpr uint64_t bytes_to_fsblocks(const Geometry& g, uint64_t bytes) {
  return (bytes + g.blocksize - 1) >> g.blocklog;
}
/// A daddr (or a count of sectors) in bytes.
constexpr uint64_t daddr_to_bytes(uint64_t daddr) { return daddr << kSectorShift; }
/// The 512-byte sector of agbno in AG agno.
constexpr uint64_t agbno_to_daddr(const Geometry& g, uint32_t agno, uint32_t agbno) {
  return fsblocks_to_sectors(g, uint64_t{agno} * g.agblocks + agbno);
}
/// The 512-byte sector of an (AG-encoded) fsblock number.
constexpr uint64_t fsblock_to_daddr(const Geometry& g, uint64_t fsblock) {
  return agbno_to_daddr(g, fsblock_to_agno(g, fsblock), fsblock_to_agbno(g, fsblock));
}
/// The AG a sector lies in, and the AG block holding it.
constexpr uint32_t daddr_to_agno(const Geometry& g, uint64_t daddr) {
  return static_cast<uint32_t>((daddr >> (g.blocklog - kSectorShift)) / g.agblocks);
}
constexpr uint32_t daddr_to_agbno(const Geometry& g, uint64_t daddr) {
  return static_cast<uint32_t>((daddr >> (g.blocklog - kSectorShift)) % g.agblocks);
}

// ---- AGs ----

/// Fsblocks in AG agno: agblocks, except the last AG, which holds what is
/// left of dblocks.
constexpr uint32_t ag_length(const Geometry& g, uint32_t agno) {
  if (agno + 1 < g.agcount) return g.agblocks;
  return static_cast<uint32_t>(g.dblocks - uint64_t{agno} * g.agblocks);
}
/// AG-relative 512-byte sector of AG header n: 0 superblock, 1 AGF, 2 AGI,
/// 3 AGFL (one sector each, in this order, from the AG's first byte).
constexpr uint64_t ag_header_sector(const Geometry& g, uint32_t n) { return uint64_t{n} << (g.sectlog - kSectorShift); }
/// The daddr of AG header n of AG agno.
constexpr uint64_t ag_header_daddr(const Geometry& g, uint32_t agno, uint32_t n) {
  return agbno_to_daddr(g, agno, 0) + ag_header_sector(g, n);
}
/// Fsblocks the four header sectors fill at the start of every AG.
constexpr uint32_t ag_header_blocks(const Geometry& g) {
  return static_cast<uint32_t>(bytes_to_fsblocks(g, daddr_to_bytes(ag_header_sector(g, 4))));
}
/// Whether fsblocks [agbno, agbno + len) lie inside AG agno and the
/// filesystem (agno < agcount, the run within agblocks and dblocks).
constexpr bool extent_in_ag(const Geometry& g, uint64_t agno, uint64_t agbno, uint64_t len) {
  return agno < g.agcount && agbno + len <= g.agblocks && agno * g.agblocks + agbno + len <= g.dblocks;
}

// ---- inodes ----

constexpr uint32_t ino_to_agno(const Geometry& g, uint64_t ino) {
  return static_cast<uint32_t>(ino >> (g.agblklog + g.inopblog));
}
constexpr uint32_t ino_to_agino(const Geometry& g, uint64_t ino) {
  return static_cast<uint32_t>(ino & ((uint64_t{1} << (g.agblklog + g.inopblog)) - 1));
}
constexpr uint64_t agino_to_ino(const Geometry& g, uint32_t agno, uint32_t agino) {
  return uint64_t{agno} << (g.agblklog + g.inopblog) | agino;
}
/// The AG block holding inode agino.
constexpr uint32_t agino_to_agbno(const Geometry& g, uint32_t agino) { return agino >> g.inopblog; }
/// The inode's index within its fsblock (0 .. inopblock - 1).
constexpr uint32_t agino_to_index(const Geometry& g, uint32_t agino) { return agino & ((1u << g.inopblog) - 1); }
/// The agino of inode `index` of AG block agbno; with index 0, the first
/// agino of that block (for a chunk-aligned agbno: its chunk's startino).
constexpr uint32_t agbno_to_agino(const Geometry& g, uint32_t agbno, uint32_t index = 0) {
  return agbno << g.inopblog | index;
}
/// Inodes that n fsblocks hold.
constexpr uint64_t fsblocks_to_inodes(const Geometry& g, uint64_t n) { return n << g.inopblog; }
/// The startino of the inode chunk (64 inodes) holding agino.
constexpr uint32_t chunk_start_agino(uint32_t agino) { return agino & ~(kInodesPerChunk - 1); }
/// Whether ino names an inode slot inside the filesystem (its AG exists and
/// its block lies inside that AG and dblocks).
constexpr bool ino_in_fs(const Geometry& g, uint64_t ino) {
  const uint64_t agno = ino >> (g.agblklog + g.inopblog);
  const uint64_t agbno = (ino >> g.inopblog) & ((uint64_t{1} << g.agblklog) - 1);
  return extent_in_ag(g, agno, agbno, 1);
}
/// The daddr of the fsblock holding inode ino.
constexpr uint64_t ino_to_daddr(const Geometry& g, uint64_t ino) {
  return agbno_to_daddr(g, ino_to_agno(g, ino), agino_to_agbno(g, ino_to_agino(g, ino)));
}
/// The byte offset of inode ino within its fsblock.
constexpr uint32_t ino_to_offset(const Geometry& g, uint64_t ino) {
  return agino_to_index(g, ino_to_agino(g, ino)) << g.inodelog;
}

}  // namespace xfsfuse::fs
