/*
 * fs/format/ag.h — AG headers: AGF (free space, sector 1), AGI (inodes,
 * sector 2), AGFL (free list, sector 3) of every AG.
 */
#ifndef XFSFUSE_FS_FORMAT_AG_H
#define XFSFUSE_FS_FORMAT_AG_H

#include "fs/format/types.h"

struct xd_agf {
  xd_be32 agf_magicnum; /* "XAGF" */
  xd_be32 agf_versionnum;
  xd_be32 agf_seqno; /* agno */
  xd_be32 agf_length; /* AG size in fsblocks */
  xd_be32 agf_roots[3]; /* bnobt, cntbt, rmapbt root agbnos */
  xd_be32 agf_levels[3];
  xd_be32 agf_flfirst;
  xd_be32 agf_fllast;
  xd_be32 agf_flcount;
  xd_be32 agf_freeblks;
  xd_be32 agf_longest;
  xd_be32 agf_btreeblks;
  xd_uuid agf_uuid;
  xd_be32 agf_rmap_blocks;
  xd_be32 agf_refcount_blocks;
  xd_be32 agf_refcount_root;
  xd_be32 agf_refcount_level;
  xd_be64 agf_spare64[14];
  xd_be64 agf_lsn;
  xd_le32 agf_crc;
  xd_be32 agf_spare2;
} XD_PACKED;

struct xd_agi {
  xd_be32 agi_magicnum; /* "XAGI" */
  xd_be32 agi_versionnum;
  xd_be32 agi_seqno;
  xd_be32 agi_length;
  xd_be32 agi_count; /* allocated inodes */
  xd_be32 agi_root; /* inobt root agbno */
  xd_be32 agi_level;
  xd_be32 agi_freecount;
  xd_be32 agi_newino;
  xd_be32 agi_dirino;
  xd_be32 agi_unlinked[64];
  xd_uuid agi_uuid;
  xd_le32 agi_crc;
  xd_be32 agi_pad32;
  xd_be64 agi_lsn;
  xd_be32 agi_free_root; /* finobt */
  xd_be32 agi_free_level;
  xd_be32 agi_iblocks; /* inobt blocks (inobtcount feature) */
  xd_be32 agi_fblocks; /* finobt blocks */
} XD_PACKED;

struct xd_agfl {
  xd_be32 agfl_magicnum; /* "XAFL" */
  xd_be32 agfl_seqno;
  xd_uuid agfl_uuid;
  xd_be64 agfl_lsn;
  xd_le32 agfl_crc;
  /* followed by xd_be32 agfl_bno[] up to the end of the sector */
} XD_PACKED;

#endif
