// fs/inode.h — locating and decoding v3 on-disk inodes.
//
// Inode numbers: ino = agno << (agblklog + inopblog) | agbno << inopblog |
// index (the maths: fs/format/geometry.h).  decode_inode() checks one inode
// (magic, version 3, CRC over the inode, di_ino, uuid, fork geometry) and
// turns its core into host-endian fields with timestamps decoded: with
// BIGTIME a timestamp is nanoseconds since 1901-12-13T20:45:52Z (unix
// seconds + 2^31); without it, signed 32-bit seconds and 32-bit nanoseconds.
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "fs/superblock.h"

namespace xfsfuse::fs {

inline constexpr size_t kInodeCoreSize = 176;     // v3 core; the data fork follows
inline constexpr uint64_t kDiflag2Bigtime = 1u << 3;
inline constexpr uint64_t kDiflag2Nrext64 = 1u << 4;

/// Data/attr fork formats (di_format, di_aformat).
enum class ForkFormat : uint8_t { kDev = 0, kLocal = 1, kExtents = 2, kBtree = 3 };

struct Timestamp {
  int64_t sec = 0;   ///< unix seconds, negative before 1970
  uint32_t nsec = 0;
  bool operator==(const Timestamp&) const = default;
};

/// Where an inode lives.
struct InodeLocation {
  uint32_t agno = 0;
  uint32_t agbno = 0;    ///< fsblock within the AG holding the inode
  uint32_t index = 0;    ///< inode within that block
  uint64_t daddr = 0;    ///< 512-byte sector of that block
  uint32_t offset = 0;   ///< byte offset of the inode in that block
};

/// Splits an inode number (fs/format/geometry.h does the maths); returns
/// false if it lies outside the filesystem.
bool locate_inode(const Superblock& sb, uint64_t ino, InodeLocation* out);

/// A decoded inode core.
struct Inode {
  uint64_t ino = 0;
  uint16_t mode = 0;
  ForkFormat format = ForkFormat::kExtents;
  uint32_t uid = 0, gid = 0, nlink = 0, projid = 0;
  uint64_t size = 0;       ///< bytes
  uint64_t nblocks = 0;    ///< fsblocks, both forks, including bmbt blocks
  uint32_t extsize = 0;
  uint64_t nextents = 0;   ///< data fork extents
  uint32_t anextents = 0;  ///< attr fork extents
  uint8_t forkoff = 0;     ///< attr fork offset in 8-byte units (0: no attr fork)
  int8_t aformat = 0;
  uint16_t flags = 0;
  uint64_t flags2 = 0;
  uint32_t gen = 0;
  uint32_t next_unlinked = 0;
  uint64_t changecount = 0;
  Timestamp atime, mtime, ctime, crtime;
  uint32_t literal_size = 0;  ///< bytes after the core: both forks
  bool operator==(const Inode&) const = default;
};

/// Decodes a timestamp field (raw big-endian bits, as stored).
Timestamp decode_timestamp(uint64_t raw_be, bool bigtime);
/// Encodes t as a timestamp field (raw big-endian bits); without bigtime
/// the seconds are clamped to the signed 32-bit range, with it to
/// [1901-12-13T20:45:52Z, 2486-07-02T22:20:15Z] as the kernel clamps.
uint64_t encode_timestamp(const Timestamp& t, bool bigtime);

/// Writes the fields of n (the ones Inode models) into the inode core at the
/// start of raw (inodesize bytes), leaving every other byte as it is (magic,
/// version, uuid, di_ino, di_lsn, di_cowextsize...), then recomputes the
/// inode's CRC.  The forks are the caller's: write them before calling this,
/// or call inode_update_crc() after.  n.format / n.aformat are stored as given.
void encode_inode_core(const Inode& n, std::span<std::byte> raw);
/// Recomputes the CRC of the inode in raw (inodesize bytes).
void inode_update_crc(std::span<std::byte> raw);

/// Decodes the core of the inode ino from raw (at least kInodeCoreSize
/// bytes) without judging any field: for checkers that judge each field
/// themselves (format: di_format as stored, possibly not a ForkFormat value).
void decode_inode_core(const Superblock& sb, uint64_t ino, std::span<const std::byte> raw, Inode* out);

/// Checks what makes raw (the inode's inodesize bytes) a v3 inode numbered
/// ino, whatever it holds: magic "IN", version 3, CRC over raw, di_ino == ino
/// and, if uuid is not null, di_uuid == *uuid.  A free inode (mode 0) passes.
/// Returns 0 or EUCLEAN with a short reason in *why.
int check_dinode_header(std::span<const std::byte> raw, uint64_t ino, const bc::Uuid* uuid, std::string* why);

/// Checks and decodes the inode ino from its inodesize bytes.  Returns 0;
/// ENOENT for a free inode (di_mode 0: a valid core that holds no file, as
/// the kernel's xfs_iget answers); or EUCLEAN with a short reason in *why.
int decode_inode(const Superblock& sb, uint64_t ino, std::span<const std::byte> raw, Inode* out, std::string* why);

}  // namespace xfsfuse::fs
