/*
 * fs/format/dir.h — directory (dir2/dir3) and da btree headers.
 *
 * A directory's data blocks sit at file offsets from 0, leaf blocks from
 * 32 GiB, free-index blocks from 64 GiB; every directory block is
 * 1 << sb_dirblklog fsblocks (64 KiB here).  Short-form directories live in
 * the inode fork: an xd_dir2_sf_hdr (parent 4 bytes, or 8 when i8count is
 * non-zero), then entries of namelen, offset[2], name, ftype, inumber
 * (docs/format.md "Short-form directories": ftype precedes the inumber).
 */
#ifndef XFSFUSE_FS_FORMAT_DIR_H
#define XFSFUSE_FS_FORMAT_DIR_H

#include "fs/format/types.h"

/* The v2 da block info, first in every da btree block. */
struct xd_da_blkinfo {
  xd_be32 forw; /* dablk of the next block at this level */
  xd_be32 back;
  xd_be16 magic; /* 16-bit: 0x3ebe node, 0x3df1 leaf1, 0x3dff leafn, 0x3bee attr leaf */
  xd_be16 pad;
} XD_PACKED;

struct xd_da3_blkinfo {
  struct xd_da_blkinfo hdr;
  xd_le32 crc;
  xd_be64 blkno; /* daddr of the block */
  xd_be64 lsn;
  xd_uuid uuid;
  xd_be64 owner; /* inode number */
} XD_PACKED;

struct xd_da3_node_hdr {
  struct xd_da3_blkinfo info;
  xd_be16 count;
  xd_be16 level;
  xd_be32 pad32;
} XD_PACKED;

struct xd_da_node_entry {
  xd_be32 hashval;
  xd_be32 before; /* dablk of the child */
} XD_PACKED;

/* Header of v3 directory data, block-form and free-index blocks. */
struct xd_dir3_blk_hdr {
  xd_be32 magic; /* "XDB3" block, "XDD3" data, "XDF3" free */
  xd_le32 crc;
  xd_be64 blkno;
  xd_be64 lsn;
  xd_uuid uuid;
  xd_be64 owner;
} XD_PACKED;

/* A free region in a data block, as listed in bestfree. */
struct xd_dir2_data_free {
  xd_be16 offset;
  xd_be16 length;
} XD_PACKED;

struct xd_dir3_data_hdr {
  struct xd_dir3_blk_hdr hdr;
  struct xd_dir2_data_free best_free[3]; /* the 3 largest free regions, longest first */
  xd_be32 pad;
} XD_PACKED;

struct xd_dir3_leaf_hdr {
  struct xd_da3_blkinfo info;
  xd_be16 count;
  xd_be16 stale;
  xd_be32 pad;
} XD_PACKED;

/* A leaf entry: hash of the name and its address, (data block byte offset
 * + entry offset) >> 3. */
struct xd_dir2_leaf_entry {
  xd_be32 hashval;
  xd_be32 address;
} XD_PACKED;

/* Last 4 bytes of a LEAF1 block, preceded by bestcount be16 bests[]. */
struct xd_dir2_leaf_tail {
  xd_be32 bestcount;
} XD_PACKED;

/* Block-form tail: the last 8 bytes of the single directory block. */
struct xd_dir2_block_tail {
  xd_be32 count;
  xd_be32 stale;
} XD_PACKED;

struct xd_dir3_free_hdr {
  struct xd_dir3_blk_hdr hdr;
  xd_be32 firstdb;
  xd_be32 nvalid;
  xd_be32 nused;
  xd_be32 pad; /* bests[] follow directly (docs/format.md "bestfree, leaves and bests") */
} XD_PACKED;

struct xd_dir2_sf_hdr {
  uint8_t count;
  uint8_t i8count;
  uint8_t parent[8]; /* 4 bytes used unless i8count != 0 */
} XD_PACKED;

#endif
