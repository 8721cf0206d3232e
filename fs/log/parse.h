// fs/log/parse.h — recovery's first reading of the log: every record from
// the tail to the head (CRC checked, cycle stamps undone), its operations
// grouped by transaction id, regions put back together across records, and
// each committed transaction handed over with its log items.  The format:
// docs/log.md "Operations and the unmount record" and "Transactions and
// items"; `xfs_logprint -t` lists the same transactions and items.
// Thread safety: a pure function over the log.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "buffer_cache/buf_ops.h"
#include "fs/log/ends.h"
#include "fs/log/reader.h"

namespace xfsfuse::fs::xlog {

/// One log item: its regions as logged (the first starts with the item's
/// host-endian u16 type and u16 region count).
struct LogItem {
  uint16_t type = 0;   ///< XFS_LI_* (docs/log.md): 0x123c buffer, 0x123b inode, 0x123f inode create...
  uint16_t size = 0;   ///< regions the item has
  std::vector<std::vector<std::byte>> regions;
};

/// A transaction whose commit record is in the log.
struct LogTransaction {
  uint32_t tid = 0;
  uint64_t lsn = 0;          ///< LSN of the record holding its start
  uint64_t commit_lsn = 0;   ///< LSN of the record holding its commit
  uint32_t type = 0;         ///< th_type of its transaction header
  uint32_t num_items = 0;    ///< th_num_items of its transaction header
  std::vector<LogItem> items;
};

/// What the reading met besides committed transactions.
struct ParseStats {
  uint32_t records = 0;
  uint32_t ops = 0;
  uint32_t unmount_records = 0;
  uint32_t committed = 0;
  uint32_t uncommitted = 0;     ///< started but no commit before the head (dropped)
  uint32_t ops_before_tail = 0; ///< ops of transactions that started before the tail (skipped)
};

/// Reads the log from ends.tail_lsn to the head and calls commit for each
/// transaction with a commit record, in commit order.  Returns 0, the
/// device's errno, commit's error, or EUCLEAN with *why (a record that is
/// not where the previous one ended, a CRC mismatch, an op or item that
/// does not fit, a transaction header without its magic).
int parse_log(const LogReader& r, const bc::Uuid& uuid, const LogEnds& ends,
              const std::function<int(LogTransaction&&)>& commit, ParseStats* stats, std::string* why);

}  // namespace xfsfuse::fs::xlog
