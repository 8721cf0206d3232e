#include "fs/superblock.h"

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>

#include "buffer_cache/crc32c.h"
#include "fs/corrupt.h"
#include "fs/format/endian.h"
#include "fs/format/sb.h"

namespace xfsfuse::fs {

namespace {

constexpr size_t kSbCrcOff = offsetof(xd_dsb, sb_crc);
constexpr uint16_t kVersionNumMask = 0x000f;

bool is_pow2(uint64_t v) { return v && !(v & (v - 1)); }

// v == 2^log, for any log byte from disk (no shift by 32 or more).
bool is_pow2_of(uint64_t v, uint8_t log) { return log < 32 && v == (uint64_t{1} << log); }

unsigned log2_ceil(uint64_t v) {
  unsigned l = 0;
  while ((uint64_t{1} << l) < v) l++;
  return l;
}

}  // namespace

int decode_superblock(std::span<const std::byte> sector, Superblock* out, std::string* why) {
  if (sector.size() < 512) return corrupt(why, "superblock sector shorter than 512 bytes");
  xd_dsb d;
  std::memcpy(&d, sector.data(), sizeof d);
  if (be32(d.sb_magicnum) != kSbMagic) return corrupt(why, "bad magic");
  if ((be16(d.sb_versionnum) & kVersionNumMask) != 5)
    return corrupt(why, "superblock version " + std::to_string(be16(d.sb_versionnum) & kVersionNumMask) +
                         " (only v5 filesystems are supported)");
  Superblock s;
  s.sectsize = be16(d.sb_sectsize);
  s.sectlog = d.sb_sectlog;
  if (s.sectsize < 512 || !is_pow2(s.sectsize) || !is_pow2_of(s.sectsize, s.sectlog) || s.sectsize > sector.size())
    return corrupt(why, "bad sector size " + std::to_string(s.sectsize));
  if (!bc::xfs_cksum_ok(sector.first(s.sectsize), kSbCrcOff)) return corrupt(why, "CRC mismatch");

  s.blocksize = be32(d.sb_blocksize);
  s.blocklog = d.sb_blocklog;
  s.inodesize = be16(d.sb_inodesize);
  s.inodelog = d.sb_inodelog;
  s.inopblock = be16(d.sb_inopblock);
  s.inopblog = d.sb_inopblog;
  s.dblocks = be64(d.sb_dblocks);
  s.agblocks = be32(d.sb_agblocks);
  s.agblklog = d.sb_agblklog;
  s.agcount = be32(d.sb_agcount);
  s.rootino = be64(d.sb_rootino);
  s.rbmino = be64(d.sb_rbmino);
  s.rsumino = be64(d.sb_rsumino);
  s.uquotino = be64(d.sb_uquotino);
  s.gquotino = be64(d.sb_gquotino);
  s.pquotino = be64(d.sb_pquotino);
  s.dirblklog = d.sb_dirblklog;
  s.logstart = be64(d.sb_logstart);
  s.rblocks = be64(d.sb_rblocks);
  s.logblocks = be32(d.sb_logblocks);
  s.icount = be64(d.sb_icount);
  s.ifree = be64(d.sb_ifree);
  s.fdblocks = be64(d.sb_fdblocks);
  s.imax_pct = d.sb_imax_pct;
  s.inoalignmt = be32(d.sb_inoalignmt);
  s.spino_align = be32(d.sb_spino_align);
  s.inprogress = d.sb_inprogress != 0;
  s.features_compat = be32(d.sb_features_compat);
  s.features_ro_compat = be32(d.sb_features_ro_compat);
  s.features_incompat = be32(d.sb_features_incompat);
  s.features_log_incompat = be32(d.sb_features_log_incompat);
  std::memcpy(s.uuid.data(), d.sb_uuid.b, 16);
  std::memcpy(s.meta_uuid.data(), (s.features_incompat & kIncompatMetaUuid) ? d.sb_meta_uuid.b : d.sb_uuid.b, 16);
  s.fname.assign(d.sb_fname, strnlen(d.sb_fname, sizeof d.sb_fname));

  if (s.blocksize < 512 || s.blocksize > 65536 || !is_pow2_of(s.blocksize, s.blocklog) || s.blocksize < s.sectsize)
    return corrupt(why, "bad block size " + std::to_string(s.blocksize));
  if (s.inodesize < 256 || s.inodesize > 2048 || !is_pow2_of(s.inodesize, s.inodelog) || s.inodesize > s.blocksize)
    return corrupt(why, "bad inode size " + std::to_string(s.inodesize));
  if (s.inopblock != s.blocksize / s.inodesize || !is_pow2_of(s.inopblock, s.inopblog))
    return corrupt(why, "inodes per block " + std::to_string(s.inopblock) + " do not match block and inode sizes");
  if (s.agcount == 0 || s.agblocks < 64 || s.agblklog != log2_ceil(s.agblocks))
    return corrupt(why, "bad AG geometry: " + std::to_string(s.agcount) + " AGs of " + std::to_string(s.agblocks) +
                         " blocks, agblklog " + std::to_string(s.agblklog));
  const uint64_t full = uint64_t{s.agcount} * s.agblocks;
  if (s.dblocks > full || s.dblocks <= full - s.agblocks)
    return corrupt(why, "dblocks " + std::to_string(s.dblocks) + " does not fit " + std::to_string(s.agcount) +
                         " AGs of " + std::to_string(s.agblocks) + " blocks");
  if (s.blocklog + s.dirblklog > 16)
    return corrupt(why, "directory block of 2^" + std::to_string(s.blocklog + s.dirblklog) + " bytes (at most 64 KiB)");
  s.dirblksize = s.blocksize << s.dirblklog;
  if (s.rootino == 0) return corrupt(why, "no root inode");
  if (s.logstart == 0) return corrupt(why, "external logs are not supported (sb_logstart is 0)");
  if (!extent_in_ag(s, fsblock_to_agno(s, s.logstart), fsblock_to_agbno(s, s.logstart), s.logblocks))
    return corrupt(why, "internal log at fsblock " + std::to_string(s.logstart) + " lies outside its AG");
  *out = std::move(s);
  return 0;
}

MountAccess judge_features(const Superblock& sb, std::string* why) {
  if (sb.features_incompat & kIncompatNeedsRepair) {
    *why = "the filesystem is marked as needing repair (NEEDSREPAIR): run xfs_repair first";
    return MountAccess::kRefuse;
  }
  if (uint32_t unknown = sb.features_incompat & ~kIncompatKnown) {
    *why = "unknown incompatible features " + hex(unknown);
    return MountAccess::kRefuse;
  }
  if (uint32_t unknown = sb.features_ro_compat & ~kRoCompatKnown) {
    *why = "unknown read-only-compatible features " + hex(unknown) + ": read-only";
    return MountAccess::kReadOnly;
  }
  return MountAccess::kReadWrite;
}

uint32_t inode_cluster_blocks(const Superblock& sb) {
  const uint64_t want = (uint64_t{8192} * (sb.inodesize / 256)) >> sb.blocklog;
  uint64_t limit = std::max<uint64_t>(1, 64 / sb.inopblock);
  if (sb.inoalignmt) limit = std::min<uint64_t>(limit, sb.inoalignmt);
  if (sb.spino_align) limit = std::min<uint64_t>(limit, sb.spino_align);
  uint32_t blocks = 1;
  while (blocks * 2 <= std::min(want, limit)) blocks *= 2;
  return blocks;
}

}  // namespace xfsfuse::fs
