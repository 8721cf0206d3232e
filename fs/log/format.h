// fs/log/format.h — the log writer's first step: what one committed
// transaction changed (fs/trans/trans.h CommittedTrans) as the log ops of a
// log transaction in the kernel's format: a start op, the transaction
// header, one op per region of every log item, a commit op.  What is logged
// how and in which order: docs/log.md "Writing transactions".
// Thread safety: a pure function.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fs/log/writer.h"
#include "fs/superblock.h"
#include "fs/trans/trans.h"

namespace xfsfuse::fs::xlog {

/// The items one transaction was formatted into.
struct FormatStats {
  uint32_t buf_items = 0;        ///< buffer items (one per logged segment of a buffer)
  uint32_t inode_buf_items = 0;  ///< of those: inode buffers (unlinked pointers only)
  uint32_t inode_items = 0;
  uint32_t cancel_items = 0;
  uint32_t icreate_items = 0;    ///< new inode chunks
  uint32_t regions = 0;          ///< th_num_items: the regions after the transaction header
};

/// Formats ct as the log ops of transaction tid whose start op will be in
/// the record at lsn (the LSN stamped into the logged copy of a
/// discontiguous directory block, whose segments recovery replays without
/// its verifier).  Items, in the order recovery replays them: buffer items
/// (one per segment with changed 128-byte chunks; every segment of a
/// discontiguous directory block), inode items, inode buffer items (the
/// di_next_unlinked fields of the inodes changed in a cluster), cancel
/// items (one per segment of a freed buffer).  Appends to *ops.  Returns 0,
/// or EUCLEAN with *why: an inode with no cluster bytes, a discontiguous
/// directory block its verifier refuses.  sb: the geometry (inode size,
/// uuids).
int format_trans(const CommittedTrans& ct, const Superblock& sb, uint32_t tid, uint64_t lsn, std::vector<LogOp>* ops,
                 FormatStats* stats, std::string* why);

}  // namespace xfsfuse::fs::xlog
