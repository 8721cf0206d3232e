// fs/format/magic.h — every on-disk magic number, defined once.
//
// Most are four ASCII bytes read as one big-endian word ("XFSB" =
// 0x58465342); the inode's is two ("IN"); the da btree blocks (directory
// leaves and nodes, attr leaves) carry a 16-bit magic at byte 8 of their
// xd_da3_blkinfo instead of a 32-bit one at byte 0 (docs/format.md "Magic
// numbers").  All values are the v5 (CRC) ones.
// Source: XFS Algorithms & Data Structures, checked against xfs_db's
// `print` on mkfs.xfs images (tests/fs/magic_test.cc checks the spelling).
#pragma once

#include <cstdint>

namespace xfsfuse::fs {

// Superblock and AG headers (one sector each).
inline constexpr uint32_t kSbMagic = 0x58465342;    ///< "XFSB"
inline constexpr uint32_t kAgfMagic = 0x58414746;   ///< "XAGF"
inline constexpr uint32_t kAgiMagic = 0x58414749;   ///< "XAGI"
inline constexpr uint32_t kAgflMagic = 0x5841464c;  ///< "XAFL"

// Inodes: di_magic, 16 bits.
inline constexpr uint16_t kInodeMagic = 0x494e;  ///< "IN"

// Btree blocks (bb_magic, 32 bits at byte 0).
inline constexpr uint32_t kBnobtMagic = 0x41423342;       ///< "AB3B"
inline constexpr uint32_t kCntbtMagic = 0x41423343;       ///< "AB3C"
inline constexpr uint32_t kInobtMagic = 0x49414233;       ///< "IAB3"
inline constexpr uint32_t kFinobtMagic = 0x46494233;      ///< "FIB3"
inline constexpr uint32_t kRefcountbtMagic = 0x52334643;  ///< "R3FC"
inline constexpr uint32_t kRmapbtMagic = 0x524d4233;      ///< "RMB3"
inline constexpr uint32_t kBmbtMagic = 0x424d4133;        ///< "BMA3"

// Directory blocks with an xd_dir3_blk_hdr (32 bits at byte 0).
inline constexpr uint32_t kDir3BlockMagic = 0x58444233;  ///< "XDB3": block form's single block
inline constexpr uint32_t kDir3DataMagic = 0x58444433;   ///< "XDD3": data block of leaf and node forms
inline constexpr uint32_t kDir3FreeMagic = 0x58444633;   ///< "XDF3": free-index block

// Da btree blocks (16 bits at byte 8, in the xd_da3_blkinfo).
inline constexpr uint16_t kDa3NodeMagic = 0x3ebe;    ///< da node (directories and attrs)
inline constexpr uint16_t kDir3Leaf1Magic = 0x3df1;  ///< the single leaf of a leaf-form directory
inline constexpr uint16_t kDir3LeafnMagic = 0x3dff;  ///< a leaf of a node-form directory
inline constexpr uint16_t kAttr3LeafMagic = 0x3bee;  ///< attr leaf

// Remote value blocks (32 bits at byte 0).
inline constexpr uint32_t kSymlinkMagic = 0x58534c4d;      ///< "XSLM": remote symlink target
inline constexpr uint32_t kAttr3RemoteMagic = 0x5841524d;  ///< "XARM": remote attr value

// The log.
inline constexpr uint32_t kLogRecordMagic = 0xfeedbabe;  ///< xlog_rec_header h_magicno (big-endian)
inline constexpr uint32_t kLogTransMagic = 0x5452414e;   ///< "TRAN": transaction header th_magic (host-endian)

}  // namespace xfsfuse::fs
