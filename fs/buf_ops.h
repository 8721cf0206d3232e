// fs/buf_ops.h — every verifier (bc::BufOps) of an XFS v5 metadata buffer,
// declared in one place.  Start here to find which ops read which structure
// and where each is defined.
//
// The mechanism is buffer_cache/buf_ops.h: the buffer cache runs
// verify_read() once, when a buffer is first read, and a failure marks the
// buffer corrupt for good (EUCLEAN, one log line naming the ops' name() and
// the daddr); verify_write() runs before every write-back: it checks the
// buffer still looks like its structure (else the write is refused), stamps
// the LSN it is given into the header's LSN field (0: left as it is) and then
// recomputes the CRC.  Most structures here are bc::HeaderBufOps over a
// bc::HeaderLayout (magic, CRC, blkno = the buffer's daddr, uuid = the
// filesystem's metadata uuid, owner, LSN — every layout names its lsn_off);
// some add checks of their own to verify_read, listed below.
//
// Ops that depend on nothing but the format are program-wide singletons
// (functions below).  Ops that need the superblock's geometry (the AG header
// ops derive the AG from the daddr; the inode cluster ops compute inode
// numbers) live in a BufOpsSet, one per mounted filesystem (Mount owns it:
// Mount::buf_ops()).  A buffer keeps a pointer to the ops that read it, so a
// BufOpsSet must outlive the buffer cache it reads through.
// Format facts: XFS Algorithms & Data Structures and docs/format.md.
// Thread safety: every ops object is immutable and may be used from any
// thread.
#pragma once

#include <memory>

#include "btree/da_btree.h"
#include "btree/sbtree.h"
#include "buffer_cache/buf_ops.h"
#include "fs/superblock.h"

namespace xfsfuse::fs {

// ---- format-only ops (defined in fs/buf_ops.cc unless said) ----

/// Superblock sectors, primary and secondary (xd_dsb, one sector): magic
/// "XFSB", CRC over the sector; no blkno, uuid or owner field to check (the
/// geometry is judged by decode_superblock()).  LSN: sb_lsn.
const bc::BufOps& superblock_ops();

/// bmbt blocks (xd_btree_lblock, one fsblock): magic "BMA3", CRC, blkno,
/// uuid, owner = the inode number (8 bytes).  LSN: bb_lsn.  The tree's
/// shape is checked by btree/bmbt.h while walking; the object is
/// btree::bmbt_ops(), which the btree cursor uses too.
const bc::BufOps& bmbt_ops();

/// Remote symlink target blocks (xd_dsymlink_hdr, one fsblock each): magic
/// "XSLM", CRC, blkno, uuid, owner = the symlink's inode.  LSN: sl_lsn.
const bc::BufOps& symlink_ops();

/// Remote attr value blocks (xd_attr3_rmt_hdr, one fsblock each): magic
/// "XARM", CRC, blkno, uuid, owner = the inode.  LSN: rm_lsn.
const bc::BufOps& attr3_remote_ops();

/// Directory blocks with an xd_dir3_blk_hdr (one directory block, possibly
/// several maps): magic, CRC over the whole block, blkno, uuid, owner inode.
/// LSN: hdr.lsn.  Defined in fs/dir_data.cc:
/// - dir3_block_ops(): block form's single block ("XDB3"), verify_read also
///   checks the data entries and bestfree (as dir3_data_ops) up to its leaf,
///   and the leaf: tail count/stale, hashes ascending and equal to the names'
///   hashes, every live leaf entry naming a distinct entry, every entry named.
/// - dir3_data_ops(): data blocks of leaf and node forms ("XDD3"); also the
///   entries (tags, lengths, names, no two adjacent free regions) and the
///   bestfree table against the free regions.
const bc::BufOps& dir3_block_ops();
const bc::BufOps& dir3_data_ops();
/// Free-index blocks of node-form directories ("XDF3"): the header only;
/// fs/dir_check.cc checks bests[] against the data blocks.
const bc::BufOps& dir3_free_ops();

/// The da btree of a directory's leaf space (btree::DaBufOps: nodes 0x3ebe,
/// LEAF1 0x3df1, LEAFN 0x3dff): the xd_da3_blkinfo header, node count,
/// level and hash order, then the leaf's header and entries.  Defined in
/// fs/dir_leaf.cc.
const btree::DaBufOps& dir3_leaf_ops();
/// The da btree of an attr fork (nodes 0x3ebe, leaves 0x3bee): header,
/// nodes as above, leaf header and every entry.  Defined in fs/attr_leaf.cc.
const btree::DaBufOps& attr3_leaf_ops();

/// AG btree blocks (xd_btree_sblock, one fsblock) of the bnobt, cntbt,
/// inobt, finobt, refcountbt and rmapbt: magic, CRC, blkno, uuid; owner_ok
/// compares bb_owner with the agno.  LSN: bb_lsn.  Defined in btree/sbtree.cc.
using btree::sbtree_ops;
using btree::SbtreeKind;

// ---- ops that need the geometry: one set per filesystem ----

/// The ops of one filesystem that depend on its superblock.
/// - agf(), agi(): AGF / AGI sectors (sector 1 / 2 of every AG): magic, CRC
///   over the sector, uuid, and: version 1, seqno = the AG of the daddr,
///   length = that AG's length (the last AG is shorter), counters within the
///   AG.  LSN: agf_lsn / agi_lsn.
/// - agfl(): AGFL sectors (sector 3): magic "XAFL", CRC, uuid, seqno.  LSN:
///   agfl_lsn.
/// - inode_cluster(): inode cluster buffers (Mount::cluster_blocks()
///   fsblocks of inodes).  verify_read is lenient on purpose: it checks only
///   what must hold for the whole buffer (a whole number of inodes), because
///   one bad inode must not hide the others in its cluster; each inode is
///   judged when it is decoded (decode_inode()).  verify_write refuses a
///   cluster holding any inode that is not a valid v3 inode: magic "IN",
///   version 3, di_ino equal to the inode number its position gives, the
///   filesystem's uuid, and a correct di_crc.  A free inode (mode 0) is
///   valid.  It changes nothing: a cluster has no buffer-wide CRC or LSN;
///   every inode's di_crc (and di_lsn) is computed when an in-core inode is
///   encoded into the cluster, not here.
class BufOpsSet {
 public:
  explicit BufOpsSet(const Superblock& sb);
  ~BufOpsSet();
  BufOpsSet(const BufOpsSet&) = delete;
  BufOpsSet& operator=(const BufOpsSet&) = delete;

  const Superblock& sb() const { return sb_; }
  const bc::BufOps& agf() const { return *agf_; }
  const bc::BufOps& agi() const { return *agi_; }
  const bc::BufOps& agfl() const { return *agfl_; }
  const bc::BufOps& inode_cluster() const { return *inode_cluster_; }

 private:
  const Superblock sb_;
  std::unique_ptr<const bc::BufOps> agf_, agi_, agfl_, inode_cluster_;
};

}  // namespace xfsfuse::fs
