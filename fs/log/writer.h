// fs/log/writer.h — the log writer's second step: log ops packed into log
// records at the head of the log (record headers, op headers, regions split
// across records, cycle stamps, extended headers, CRC, the wrap at the end
// of the log), written through a BlockDevice and synced.  Layout:
// docs/log.md "Records", "Operations" and "Writing transactions".  The
// caller owns the log's ends: it gives the head and tail and gets the new
// head back (no group commit, no tail moves here).
// Thread safety: the caller owns the log; nothing else may write it meanwhile.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "buffer_cache/block_device.h"
#include "buffer_cache/buf_ops.h"
#include "fs/format/log.h"

namespace xfsfuse::fs::xlog {

/// One log op: an op header and its payload (a region, or nothing).
struct LogOp {
  uint32_t tid = 0;
  uint8_t clientid = XD_LOG_CLIENT_TRANSACTION;
  uint8_t flags = 0;  ///< XD_LOG_OP_START / COMMIT; the writer adds CONTINUE, WAS_CONT, END
  std::vector<std::byte> payload;
};

/// Where the log is and where to write: the log of log_blocks log blocks at
/// byte log_start of the device, records carrying uuid (sb_uuid).
struct LogPlace {
  uint64_t log_start = 0;
  uint32_t log_blocks = 0;
  bc::Uuid uuid{};
  uint32_t head_block = 0;   ///< the first record goes here...
  uint32_t head_cycle = 1;   ///< ...in this pass
  uint64_t tail_lsn = 0;     ///< h_tail_lsn of every record; 0: the first record's own LSN
  /// The records may not reach this LSN's block: the tail of the last record
  /// already on the disk, which recovery would start from if these records
  /// were torn (tail_lsn may be ahead of it).  0: tail_lsn.
  uint64_t limit_lsn = 0;
  uint32_t prev_block = 0xffffffff;  ///< the last record before the head (all ones: none)
  uint32_t record_size = 32768;      ///< h_size, bytes: a multiple of 32 KiB up to 256 KiB
};

/// What write_ops wrote.
struct Written {
  uint64_t first_lsn = 0;   ///< LSN of the first record (a transaction's LSN: its start op's record)
  uint64_t last_lsn = 0;    ///< LSN of the last record
  uint32_t head_block = 0;  ///< the new head: right after the last record...
  uint32_t head_cycle = 0;  ///< ...in this pass
  uint32_t records = 0;
  uint32_t blocks = 0;      ///< log blocks written
  std::vector<uint64_t> op_lsn;  ///< for each op: the LSN of the record holding its first part
};

/// Packs ops, in order, into records of at most record_size − 512 × header
/// blocks data bytes from at's head on, each region behind its 12-byte op
/// header; a region that does not fit the rest of a record goes on in the
/// next (CONTINUE, then WAS_CONT, with END on its last part), never cut
/// before its first 16 bytes.  Every record: h_tail_lsn at.tail_lsn (its
/// own LSN when 0), h_prev_block the record before it, cycle stamps, CRC;
/// blocks past the end of the log wrap to its start in the next pass.
/// Writes them, syncs, fills *out.  ENOSPC is judged against at.limit_lsn.  Returns 0; EINVAL (a place that does
/// not fit the log or the device, a record_size not a multiple of 32 KiB);
/// ENOSPC when the records would reach the tail (at.tail_lsn's block in
/// the pass before the head's, or before the head in its pass); the
/// device's errno.  *why says which.
int write_ops(bc::BlockDevice& dev, const LogPlace& at, std::span<const LogOp> ops, Written* out, std::string* why);

}  // namespace xfsfuse::fs::xlog
