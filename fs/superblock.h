// fs/superblock.h — decoding and judging the XFS v5 superblock.
//
// decode_superblock() turns sector 0 (struct xd_dsb, fs/format/sb.h) into a
// host-endian Superblock and checks that its geometry is self-consistent;
// judge_features() says whether a mount may go ahead, read-only or not at
// all.  Feature bits and rules: the XFS Algorithms & Data Structures
// document and docs/format.md "Feature bits a mount must judge".
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "buffer_cache/buf_ops.h"
#include "fs/format/geometry.h"
#include "fs/format/magic.h"

namespace xfsfuse::fs {

// sb_features_incompat
inline constexpr uint32_t kIncompatFtype = 1u << 0;
inline constexpr uint32_t kIncompatSpinodes = 1u << 1;
inline constexpr uint32_t kIncompatMetaUuid = 1u << 2;
inline constexpr uint32_t kIncompatBigtime = 1u << 3;
inline constexpr uint32_t kIncompatNeedsRepair = 1u << 4;
inline constexpr uint32_t kIncompatNrext64 = 1u << 5;
inline constexpr uint32_t kIncompatKnown = kIncompatFtype | kIncompatSpinodes | kIncompatMetaUuid |
                                           kIncompatBigtime | kIncompatNeedsRepair | kIncompatNrext64;
// sb_features_ro_compat
inline constexpr uint32_t kRoCompatFinobt = 1u << 0;
inline constexpr uint32_t kRoCompatRmapbt = 1u << 1;
inline constexpr uint32_t kRoCompatReflink = 1u << 2;
inline constexpr uint32_t kRoCompatInobtcnt = 1u << 3;
inline constexpr uint32_t kRoCompatKnown = kRoCompatFinobt | kRoCompatRmapbt | kRoCompatReflink | kRoCompatInobtcnt;

/// The superblock, host-endian.  Units: bytes unless named (blocks are
/// fsblocks).  The geometry fields (block, sector, inode sizes, AG size and
/// count, dblocks) are the Geometry base, which the addressing maths of
/// fs/format/geometry.h takes.
struct Superblock : Geometry {
  uint64_t rblocks = 0;    ///< fsblocks of the realtime device (0: none)
  uint64_t rootino = 0;
  /// Metadata inodes outside the directory tree: realtime bitmap and summary,
  /// user / group / project quota (0 or all ones: none).
  uint64_t rbmino = 0, rsumino = 0, uquotino = 0, gquotino = 0, pquotino = 0;
  uint8_t dirblklog = 0;   ///< directory block = blocksize << dirblklog
  uint32_t dirblksize = 0;
  uint64_t logstart = 0;   ///< fsblock of the internal log
  uint32_t logblocks = 0;
  uint64_t icount = 0, ifree = 0, fdblocks = 0;
  uint32_t inoalignmt = 0;   ///< inode chunk alignment, fsblocks (0: none)
  uint32_t spino_align = 0;  ///< sparse inode chunk alignment, fsblocks (0: no sparse inodes)
  uint8_t imax_pct = 0;    ///< most of the space inodes may take, percent (0: no limit)
  bool inprogress = false; ///< mkfs did not finish
  uint32_t features_compat = 0, features_ro_compat = 0, features_incompat = 0, features_log_incompat = 0;
  bc::Uuid uuid{};       ///< user-visible uuid
  bc::Uuid meta_uuid{};  ///< stamped in metadata: sb_meta_uuid with META_UUID, else uuid
  std::string fname;     ///< the label
};

/// Fsblocks per inode cluster (the unit inodes are read, written and logged
/// in): 16 KiB for 512-byte inodes (8 KiB per 256 bytes of inode size), no
/// more than an inode chunk, and no more than the chunk alignment, so an
/// aligned cluster never leaves an allocated (possibly sparse) chunk.  A
/// power of two.
uint32_t inode_cluster_blocks(const Superblock& sb);

/// Decodes sector 0 (at least 512 bytes).  Returns 0, or EUCLEAN with a short
/// reason in *why: bad magic, CRC mismatch, not a v5 superblock, geometry that
/// contradicts itself (block/sector/inode sizes and their logs, AG size and
/// count against dblocks, directory block size, root inode, log placement).
int decode_superblock(std::span<const std::byte> sector, Superblock* out, std::string* why);

/// What a mount may do with these features.
enum class MountAccess {
  kReadWrite,  ///< every feature understood
  kReadOnly,   ///< unknown ro_compat bits: reading is safe, writing is not
  kRefuse,     ///< unknown incompat bits, or NEEDSREPAIR
};

/// Judges the feature bits; *why explains kReadOnly and kRefuse.  A non-zero
/// log_incompat is not judged here: it means the log must be replayed, which
/// the mount treats like a dirty log.
MountAccess judge_features(const Superblock& sb, std::string* why);

}  // namespace xfsfuse::fs
