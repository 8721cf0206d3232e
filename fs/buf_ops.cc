// The format-only verifiers of fs/buf_ops.h: layouts of v5 self-describing
// headers (bc::HeaderBufOps), one program-wide object each.
#include "fs/buf_ops.h"

#include <cstddef>

#include "btree/bmbt.h"
#include "fs/dir_internal.h"
#include "fs/format/attr.h"
#include "fs/format/btree.h"
#include "fs/format/dir.h"
#include "fs/format/inode.h"
#include "fs/format/sb.h"

namespace xfsfuse::fs {

namespace dir {

bc::HeaderLayout dir3_header_layout(const char* name, uint32_t magic) {
  return bc::HeaderLayout{
      .name = name,
      .magic_off = offsetof(xd_dir3_blk_hdr, magic),
      .magic_size = 4,
      .magics = {magic},
      .crc_off = offsetof(xd_dir3_blk_hdr, crc),
      .crc_len = 0,
      .blkno_off = offsetof(xd_dir3_blk_hdr, blkno),
      .uuid_off = offsetof(xd_dir3_blk_hdr, uuid),
      .owner_off = offsetof(xd_dir3_blk_hdr, owner),
      .owner_size = 8,
      .lsn_off = offsetof(xd_dir3_blk_hdr, lsn),
  };
}

}  // namespace dir

const bc::BufOps& superblock_ops() {
  static const bc::HeaderBufOps ops(bc::HeaderLayout{
      .name = "superblock",
      .magic_off = 0,
      .magic_size = 4,
      .magics = {kSbMagic},
      .crc_off = offsetof(xd_dsb, sb_crc),
      .crc_len = 0,  // the buffer is the sector: the CRC covers all of it
      .lsn_off = offsetof(xd_dsb, sb_lsn),
  });
  return ops;
}

const bc::BufOps& bmbt_ops() { return btree::bmbt_ops(); }

const bc::BufOps& symlink_ops() {
  static const bc::HeaderBufOps ops(bc::HeaderLayout{
      .name = "symlink",
      .magic_off = offsetof(xd_dsymlink_hdr, sl_magic),
      .magic_size = 4,
      .magics = {kSymlinkMagic},
      .crc_off = offsetof(xd_dsymlink_hdr, sl_crc),
      .crc_len = 0,
      .blkno_off = offsetof(xd_dsymlink_hdr, sl_blkno),
      .uuid_off = offsetof(xd_dsymlink_hdr, sl_uuid),
      .owner_off = offsetof(xd_dsymlink_hdr, sl_owner),
      .owner_size = 8,
      .lsn_off = offsetof(xd_dsymlink_hdr, sl_lsn),
  });
  return ops;
}

const bc::BufOps& attr3_remote_ops() {
  static const bc::HeaderBufOps ops(bc::HeaderLayout{
      .name = "attr3 remote value",
      .magic_off = offsetof(xd_attr3_rmt_hdr, rm_magic),
      .magic_size = 4,
      .magics = {kAttr3RemoteMagic},
      .crc_off = offsetof(xd_attr3_rmt_hdr, rm_crc),
      .crc_len = 0,
      .blkno_off = offsetof(xd_attr3_rmt_hdr, rm_blkno),
      .uuid_off = offsetof(xd_attr3_rmt_hdr, rm_uuid),
      .owner_off = offsetof(xd_attr3_rmt_hdr, rm_owner),
      .owner_size = 8,
      .lsn_off = offsetof(xd_attr3_rmt_hdr, rm_lsn),
  });
  return ops;
}

const bc::BufOps& dir3_free_ops() {
  static const bc::HeaderBufOps ops(dir::dir3_header_layout("dir3 free", kDir3FreeMagic));
  return ops;
}

}  // namespace xfsfuse::fs
