// fs/log/ends.h — the head and tail of the log, and whether it is clean, as
// log recovery finds them: the rules are in docs/log.md "The ends of the
// log: head and tail"; `xfs_logprint -t`'s "log tail: T head: H state:" line
// is the oracle.
// Thread safety: a pure function over the log.
#pragma once

#include <cstdint>
#include <string>

#include "buffer_cache/buf_ops.h"
#include "fs/log/reader.h"

namespace xfsfuse::fs::xlog {

/// Where the log stands.
struct LogEnds {
  bool empty = false;         ///< never written (log block 0 has cycle 0)
  bool clean = false;         ///< empty, or the last record is an unmount record ending at the head
  uint32_t head_block = 0;    ///< where the next record goes (log blocks)
  uint32_t head_cycle = 1;    ///< the cycle it will carry
  uint64_t tail_lsn = 0;      ///< the oldest record still needed (the head's LSN when clean)
  uint64_t last_lsn = 0;      ///< the last complete record (0 when empty)
  uint32_t incomplete = 0;    ///< records dropped because they did not reach the head
  uint32_t torn = 0;          ///< records dropped at the head because a CRC failed there or before them
  uint64_t blocks_read = 0;   ///< log blocks find_log_ends read (set on error too)
  uint64_t head_lsn() const { return uint64_t{head_cycle} << 32 | head_block; }
  uint32_t tail_block() const { return static_cast<uint32_t>(tail_lsn); }
};

/// Finds the ends of the log read through r; records must carry uuid
/// (sb_uuid).  Bisects on cycle numbers (about log2(n) single blocks),
/// then reads the in-flight window on both sides of what it found (up to
/// 2 x 4096 log blocks) and the last records.  Returns 0 with *out filled,
/// the device's errno, or EUCLEAN with *why (cycle numbers that no
/// sequence of writes leaves among the blocks read, no record before the
/// head, a bad last record, a tail beyond the head).
int find_log_ends(const LogReader& r, const bc::Uuid& uuid, LogEnds* out, std::string* why);

}  // namespace xfsfuse::fs::xlog
