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

/* ---- Log items (docs/log.md "Items").  Unlike everything above, the item
 * format structures are in the writer's byte order (little-endian here);
 * the data they describe (buffer contents, inode forks) is raw on-disk
 * big-endian bytes, and the logged inode core is host-endian with the
 * field offsets of struct xd_dinode. */
#define XD_LI_EFI 0x1236
#define XD_LI_EFD 0x1237
#define XD_LI_INODE 0x123b
#define XD_LI_BUF 0x123c
#define XD_LI_DQUOT 0x123d
#define XD_LI_QUOTAOFF 0x123e
#define XD_LI_ICREATE 0x123f

#define XD_BLF_CHUNK 128           /* bytes per bit of the buffer item's dirty map */
#define XD_BLF_MAP_WORDS 17        /* 64 KiB / 128 / 32, plus one */
#define XD_BLF_INODE_BUF 0x1       /* only di_next_unlinked fields are replayed */
#define XD_BLF_CANCEL 0x2          /* the buffer was freed: earlier copies must not be replayed */
#define XD_BLF_DQUOT_BUFS 0x1c     /* user, project, group quota buffers */
#define XD_BLF_TYPE_SHIFT 11       /* bits 11..15: the buffer's type, XD_BLFT_* */
#define XD_BLF_TYPE_MASK 0xf800

/* Buffer types (the 5-bit field in blf_flags). */
enum xd_blft {
  XD_BLFT_UNKNOWN = 0, XD_BLFT_UDQUOT, XD_BLFT_PDQUOT, XD_BLFT_GDQUOT, XD_BLFT_BTREE, XD_BLFT_AGF,
  XD_BLFT_AGFL, XD_BLFT_AGI, XD_BLFT_DINO, XD_BLFT_SYMLINK, XD_BLFT_DIR_BLOCK, XD_BLFT_DIR_DATA,
  XD_BLFT_DIR_FREE, XD_BLFT_DIR_LEAF1, XD_BLFT_DIR_LEAFN, XD_BLFT_DA_NODE, XD_BLFT_ATTR_LEAF,
  XD_BLFT_ATTR_RMT, XD_BLFT_SB, XD_BLFT_RTBITMAP, XD_BLFT_RTSUMMARY
};
/* A directory (or da btree node) block's type: the ones a 64 KiB directory
 * block of several extents can have. */
#define XD_BLFT_IS_DIR(t) ((t) >= XD_BLFT_DIR_BLOCK && (t) <= XD_BLFT_DA_NODE)

/* First region of a buffer item.  Logged as its first
 * XD_BUF_LOG_FORMAT_HEAD + 4 * blf_map_size bytes. */
struct xd_buf_log_format {
  uint16_t blf_type;      /* XD_LI_BUF */
  uint16_t blf_size;      /* regions of the item, this one included */
  uint16_t blf_flags;     /* XD_BLF_* and the type */
  uint16_t blf_len;       /* buffer length, 512-byte sectors */
  int64_t blf_blkno;      /* buffer daddr */
  uint32_t blf_map_size;  /* words of blf_data_map in use */
  uint32_t blf_data_map[XD_BLF_MAP_WORDS]; /* bit n: bytes [128n, 128n + 128) are logged */
} XD_PACKED;
#define XD_BUF_LOG_FORMAT_HEAD 20

/* First region of an inode item (64-bit layout; the 52-byte layout without
 * ilf_pad, written by 32-bit kernels, is also accepted by recovery). */
struct xd_inode_log_format {
  uint16_t ilf_type;      /* XD_LI_INODE */
  uint16_t ilf_size;      /* regions: 2 (format + core), +1 data fork, +1 attr fork */
  uint32_t ilf_fields;    /* XD_ILOG_* */
  uint16_t ilf_asize;     /* attr fork bytes logged */
  uint16_t ilf_dsize;     /* data fork bytes logged */
  uint32_t ilf_pad;
  uint64_t ilf_ino;
  union {
    uint32_t ilfu_rdev;   /* device number (XD_ILOG_DEV), Linux's old 32-bit encoding */
    uint8_t ilfu_uuid[16];
  } ilf_u;
  int64_t ilf_blkno;      /* daddr of the inode's cluster buffer */
  int32_t ilf_len;        /* that buffer's length, sectors */
  int32_t ilf_boffset;    /* the inode's byte offset in it */
} XD_PACKED;
#define XD_INODE_LOG_FORMAT_32 52  /* size of the 32-bit layout */
#define XD_LOG_DINODE_SIZE 176     /* the logged v3 inode core */

#define XD_ILOG_CORE 0x001
#define XD_ILOG_DDATA 0x002
#define XD_ILOG_DEXT 0x004
#define XD_ILOG_DBROOT 0x008
#define XD_ILOG_DEV 0x010
#define XD_ILOG_ADATA 0x040
#define XD_ILOG_AEXT 0x080
#define XD_ILOG_ABROOT 0x100
#define XD_ILOG_DOWNER 0x200
#define XD_ILOG_AOWNER 0x400
#define XD_ILOG_DFORK (XD_ILOG_DDATA | XD_ILOG_DEXT | XD_ILOG_DBROOT)
#define XD_ILOG_AFORK (XD_ILOG_ADATA | XD_ILOG_AEXT | XD_ILOG_ABROOT)

/* An inode chunk's creation: every inode of the extent written as a free
 * inode of generation icl_gen.  Fields after the type and size are
 * big-endian. */
struct xd_icreate_log {
  uint16_t icl_type;      /* XD_LI_ICREATE */
  uint16_t icl_size;      /* 1 */
  xd_be32 icl_ag;
  xd_be32 icl_agbno;
  xd_be32 icl_count;      /* inodes */
  xd_be32 icl_isize;      /* inode size, bytes */
  xd_be32 icl_length;     /* blocks */
  xd_be32 icl_gen;
} XD_PACKED;

/* Extent-free intent and done items: a header, then efi_nextents extents of
 * 16 bytes (64-bit layout: start fsblock, length, pad) or 12 bytes
 * (32-bit layout, no pad), told apart by the region's length. */
struct xd_efi_log_format {
  uint16_t efi_type;      /* XD_LI_EFI or XD_LI_EFD */
  uint16_t efi_size;      /* 1 */
  uint32_t efi_nextents;
  uint64_t efi_id;        /* the intent's id; a done item names the intent it finishes */
} XD_PACKED;

#endif
