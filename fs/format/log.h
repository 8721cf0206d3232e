/*
 * fs/format/log.h — log record headers and op headers as they are on disk
 * (big-endian, h_crc little-endian).  Layouts and meanings: docs/log.md
 * "Records" and "Operations and the unmount record".
 */
#ifndef XFSFUSE_FS_FORMAT_LOG_H
#define XFSFUSE_FS_FORMAT_LOG_H

#include "fs/format/types.h"

#define XD_LOG_BLOCK 512           /* log block ("BB") */
#define XD_LOG_CYCLE_SLOTS 64      /* h_cycle_data words in one header block */
#define XD_LOG_CYCLE_BYTES (XD_LOG_CYCLE_SLOTS * XD_LOG_BLOCK) /* data one header block covers: 32 KiB */

/* First header block of a record. */
struct xd_log_rec_header {
  xd_be32 h_magicno;     /* 0xFEEDBABE */
  xd_be32 h_cycle;       /* pass over the log this record was written in */
  xd_be32 h_version;     /* 2 on v5 filesystems */
  xd_be32 h_len;         /* data bytes after the header blocks */
  xd_be64 h_lsn;         /* this record: cycle << 32 | log block */
  xd_be64 h_tail_lsn;    /* oldest record still needed when this one was written */
  xd_le32 h_crc;         /* CRC32C, see docs/log.md */
  xd_be32 h_prev_block;  /* log block of the previous record */
  xd_be32 h_num_logops;  /* op headers in this record */
  xd_be32 h_cycle_data[XD_LOG_CYCLE_SLOTS]; /* first words of the data blocks */
  xd_be32 h_fmt;         /* 1: Linux, little-endian host */
  xd_uuid h_fs_uuid;     /* sb_uuid */
  xd_be32 h_size;        /* the writer's record buffer size (bytes) */
  xd_be32 h_pad;         /* to 8-byte alignment: 328 bytes, all of them checksummed */
} XD_PACKED;

/* Header blocks 2..n of a record whose h_size exceeds 32 KiB. */
struct xd_log_rec_ext_header {
  xd_be32 xh_cycle;
  xd_be32 xh_cycle_data[XD_LOG_CYCLE_SLOTS];
} XD_PACKED;

/* Header of one operation in a record's data. */
struct xd_log_op_header {
  xd_be32 oh_tid;       /* transaction id */
  xd_be32 oh_len;       /* payload bytes that follow */
  uint8_t oh_clientid;  /* 0x69 transaction, 0xaa log */
  uint8_t oh_flags;     /* XD_LOG_OP_* */
  uint16_t oh_res2;
} XD_PACKED;

/* Payload of an unmount record's op (host-endian; see docs/log.md "Writing
 * the unmount record"): mkfs writes it with oh_len 8, the 6.18 kernel with oh_len 0. */
struct xd_log_unmount {
  uint16_t magic;  /* XD_LOG_UNMOUNT_MAGIC */
  uint16_t pad1;
  uint32_t pad2;
} XD_PACKED;

#define XD_LOG_UNMOUNT_MAGIC 0x556e

#define XD_LOG_OP_START 0x01
#define XD_LOG_OP_COMMIT 0x02
#define XD_LOG_OP_CONTINUE 0x04
#define XD_LOG_OP_WAS_CONT 0x08
#define XD_LOG_OP_END 0x10
#define XD_LOG_OP_UNMOUNT 0x20
#define XD_LOG_CLIENT_TRANSACTION 0x69
#define XD_LOG_CLIENT_LOG 0xaa

#endif
