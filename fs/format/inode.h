/*
 * fs/format/inode.h — the v3 on-disk inode core (xfs_dinode), 176 bytes;
 * the data fork starts right after it, the attr fork at di_forkoff * 8 bytes
 * into the literal area.
 */
#ifndef XFSFUSE_FS_FORMAT_INODE_H
#define XFSFUSE_FS_FORMAT_INODE_H

#include "fs/format/types.h"

/*
 * A timestamp: with XFS_DIFLAG2_BIGTIME one big-endian count of nanoseconds
 * since 1901-12-13T20:45:52Z (unix seconds + 2^31); otherwise big-endian
 * 32-bit seconds then 32-bit nanoseconds.
 */
typedef xd_be64 xd_timestamp;

struct xd_dinode {
  xd_be16 di_magic; /* "IN" */
  xd_be16 di_mode;
  uint8_t di_version; /* 3 on v5 filesystems */
  uint8_t di_format; /* data fork format: local, extents, btree, dev */
  xd_be16 di_onlink;
  xd_be32 di_uid;
  xd_be32 di_gid;
  xd_be32 di_nlink;
  xd_be16 di_projid_lo;
  xd_be16 di_projid_hi;
  xd_be64 di_big_nextents; /* NREXT64 only; padding otherwise */
  xd_timestamp di_atime;
  xd_timestamp di_mtime;
  xd_timestamp di_ctime;
  xd_be64 di_size;
  xd_be64 di_nblocks;
  xd_be32 di_extsize;
  xd_be32 di_nextents; /* without NREXT64 */
  xd_be16 di_anextents;
  uint8_t di_forkoff;
  int8_t di_aformat;
  xd_be32 di_dmevmask;
  xd_be16 di_dmstate;
  xd_be16 di_flags;
  xd_be32 di_gen;
  xd_be32 di_next_unlinked;
  xd_le32 di_crc;
  xd_be64 di_changecount;
  xd_be64 di_lsn;
  xd_be64 di_flags2;
  xd_be32 di_cowextsize;
  uint8_t di_pad2[12];
  xd_timestamp di_crtime;
  xd_be64 di_ino;
  xd_uuid di_uuid;
} XD_PACKED;

/* A packed 128-bit extent record (bmbt record), big-endian:
 * bit 127 unwritten flag, 126..73 startoff (54 bits), 72..21 startblock
 * (52 bits), 20..0 blockcount (21 bits). */
struct xd_bmbt_rec {
  xd_be64 l0;
  xd_be64 l1;
} XD_PACKED;

/* The symlink remote block header ("XSLM"), before the target bytes. */
struct xd_dsymlink_hdr {
  xd_be32 sl_magic;
  xd_be32 sl_offset;
  xd_be32 sl_bytes;
  xd_le32 sl_crc;
  xd_uuid sl_uuid;
  xd_be64 sl_owner;
  xd_be64 sl_blkno;
  xd_be64 sl_lsn;
} XD_PACKED;

#endif
