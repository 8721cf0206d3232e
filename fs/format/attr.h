/*
 * fs/format/attr.h — extended attribute blocks: short form in the inode's
 * attr fork, leaf blocks (da btree leaves, magic 0x3bee), remote value blocks
 * ("XARM").
 */
#ifndef XFSFUSE_FS_FORMAT_ATTR_H
#define XFSFUSE_FS_FORMAT_ATTR_H

#include "fs/format/dir.h"

struct xd_attr_leaf_map {
  xd_be16 base;
  xd_be16 size;
} XD_PACKED;

struct xd_attr3_leaf_hdr {
  struct xd_da3_blkinfo info;
  xd_be16 count;
  xd_be16 usedbytes;
  xd_be16 firstused;
  uint8_t holes;
  uint8_t pad1;
  struct xd_attr_leaf_map freemap[3];
  xd_be32 pad2;
} XD_PACKED;

struct xd_attr_leaf_entry {
  xd_be32 hashval;
  xd_be16 nameidx; /* byte offset of the name/value record in the block */
  uint8_t flags; /* namespace bits, LOCAL, INCOMPLETE */
  uint8_t pad2;
} XD_PACKED;

struct xd_attr_sf_hdr {
  xd_be16 totsize;
  uint8_t count;
  uint8_t padding;
} XD_PACKED;

struct xd_attr3_rmt_hdr {
  xd_be32 rm_magic;
  xd_be32 rm_offset;
  xd_be32 rm_bytes;
  xd_le32 rm_crc;
  xd_uuid rm_uuid;
  xd_be64 rm_owner;
  xd_be64 rm_blkno;
  xd_be64 rm_lsn;
} XD_PACKED;

#endif
