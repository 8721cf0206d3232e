// fs/log/unmount.h — the first piece of the log writer: marking the log
// clean with an unmount record at its head, after log recovery has put every
// change in place (and at unmount).  What is written and why: docs/log.md
// "Writing the unmount record".
// Thread safety: the caller owns the log; nothing else may write it meanwhile.
#pragma once

#include <cstdint>
#include <string>

#include "buffer_cache/block_device.h"
#include "buffer_cache/buf_ops.h"
#include "fs/log/ends.h"

namespace xfsfuse::fs::xlog {

/// Marks the log of log_blocks log blocks at byte log_start_bytes of dev
/// clean.  before is the log as find_log_ends found it (records carrying
/// uuid, sb_uuid); every change of the records from its tail to its head
/// must already be written in place and synced.  Steps:
///  1. stale blocks from the head on — up to 4096 log blocks, never reaching
///     the tail (a dirty log) or the last record (a clean one) — become empty
///     record headers of the previous pass (of the head's pass past the end of
///     the log), so nothing a torn write left there can later pass for the
///     head; sync;
///  2. a 2-block unmount record (header, one data block) at before's head,
///     in its cycle, wrapping to block 0 when the head is the last block;
///     h_tail_lsn its own LSN, h_prev_block the last record's block; sync;
///  3. find_log_ends again into *after, which must say clean with the head
///     right after the record.
/// Returns 0; EINVAL for a before that does not fit the log, EROFS for a
/// read-only dev, ENOSPC when the tail is less than 2 blocks ahead of the head
/// (the log is full), the device's errno, EUCLEAN from step 3's search, or
/// EIO when it does not find the record just written; *why says which.
int write_unmount_record(bc::BlockDevice& dev, uint64_t log_start_bytes, uint32_t log_blocks, const bc::Uuid& uuid,
                         const LogEnds& before, LogEnds* after, std::string* why);

}  // namespace xfsfuse::fs::xlog
