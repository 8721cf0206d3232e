/*
 * fs/format/sb.h — the superblock (xfs_dsb), sector 0 of every AG.
 */
#ifndef XFSFUSE_FS_FORMAT_SB_H
#define XFSFUSE_FS_FORMAT_SB_H

#include "fs/format/types.h"

struct xd_dsb {
  xd_be32 sb_magicnum; /* "XFSB" */
  xd_be32 sb_blocksize; /* bytes */
  xd_be64 sb_dblocks;
  xd_be64 sb_rblocks;
  xd_be64 sb_rextents;
  xd_uuid sb_uuid;
  xd_be64 sb_logstart; /* fsblock of the internal log */
  xd_be64 sb_rootino;
  xd_be64 sb_rbmino;
  xd_be64 sb_rsumino;
  xd_be32 sb_rextsize;
  xd_be32 sb_agblocks;
  xd_be32 sb_agcount;
  xd_be32 sb_rbmblocks;
  xd_be32 sb_logblocks;
  xd_be16 sb_versionnum;
  xd_be16 sb_sectsize;
  xd_be16 sb_inodesize;
  xd_be16 sb_inopblock;
  char sb_fname[12];
  uint8_t sb_blocklog;
  uint8_t sb_sectlog;
  uint8_t sb_inodelog;
  uint8_t sb_inopblog;
  uint8_t sb_agblklog;
  uint8_t sb_rextslog;
  uint8_t sb_inprogress;
  uint8_t sb_imax_pct;
  xd_be64 sb_icount;
  xd_be64 sb_ifree;
  xd_be64 sb_fdblocks;
  xd_be64 sb_frextents;
  xd_be64 sb_uquotino;
  xd_be64 sb_gquotino;
  xd_be16 sb_qflags;
  uint8_t sb_flags;
  uint8_t sb_shared_vn;
  xd_be32 sb_inoalignmt;
  xd_be32 sb_unit;
  xd_be32 sb_width;
  uint8_t sb_dirblklog; /* log2 of directory block size in fsblocks */
  uint8_t sb_logsectlog;
  xd_be16 sb_logsectsize;
  xd_be32 sb_logsunit;
  xd_be32 sb_features2;
  xd_be32 sb_bad_features2;
  xd_be32 sb_features_compat;
  xd_be32 sb_features_ro_compat;
  xd_be32 sb_features_incompat;
  xd_be32 sb_features_log_incompat;
  xd_le32 sb_crc;
  xd_be32 sb_spino_align;
  xd_be64 sb_pquotino;
  xd_be64 sb_lsn;
  xd_uuid sb_meta_uuid;
} XD_PACKED;

#endif
