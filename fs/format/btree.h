/*
 * fs/format/btree.h — v5 btree block headers.  Short form (AG btrees:
 * bnobt, cntbt, inobt, finobt) has 32-bit sibling pointers and a 32-bit owner
 * (the agno); long form (bmbt) has 64-bit ones and the inode number as owner.
 */
#ifndef XFSFUSE_FS_FORMAT_BTREE_H
#define XFSFUSE_FS_FORMAT_BTREE_H

#include "fs/format/types.h"

struct xd_btree_sblock {
  xd_be32 bb_magic;
  xd_be16 bb_level;
  xd_be16 bb_numrecs;
  xd_be32 bb_leftsib;
  xd_be32 bb_rightsib;
  xd_be64 bb_blkno;
  xd_be64 bb_lsn;
  xd_uuid bb_uuid;
  xd_be32 bb_owner;
  xd_le32 bb_crc;
} XD_PACKED;

struct xd_btree_lblock {
  xd_be32 bb_magic;
  xd_be16 bb_level;
  xd_be16 bb_numrecs;
  xd_be64 bb_leftsib;
  xd_be64 bb_rightsib;
  xd_be64 bb_blkno;
  xd_be64 bb_lsn;
  xd_uuid bb_uuid;
  xd_be64 bb_owner;
  xd_le32 bb_crc;
  xd_be32 bb_pad;
} XD_PACKED;

/* The bmbt root in the inode fork: level and numrecs, then keys (startoff,
 * be64) and pointers (fsblock, be64); the pointers start after room for
 * maxrecs keys (docs/format.md "File extents (bmbt)"). */
struct xd_bmdr_block {
  xd_be16 bb_level;
  xd_be16 bb_numrecs;
} XD_PACKED;

/* Free-space btree record (bnobt, cntbt): agbno, length in fsblocks. */
struct xd_alloc_rec {
  xd_be32 ar_startblock;
  xd_be32 ar_blockcount;
} XD_PACKED;

/* Inode btree record (inobt, finobt) with sparse chunks. */
struct xd_inobt_rec {
  xd_be32 ir_startino; /* agino of the chunk's first inode */
  xd_be16 ir_holemask; /* one bit per 4 inodes missing (sparse) */
  uint8_t ir_count; /* inodes in the chunk */
  uint8_t ir_freecount;
  xd_be64 ir_free; /* one bit per free inode */
} XD_PACKED;

#endif
