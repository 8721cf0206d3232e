// fs/log.h — is the internal log clean?
//
// A read-only mount without log recovery is only exact when the log holds
// nothing to replay: its last record (the record header with the highest
// LSN, cycle << 32 | block) must be an unmount record — one log operation
// whose op header carries XLOG_UNMOUNT_TRANS (0x20).  Record headers are
// 512-byte sectors starting with the magic 0xFEEDBABE; data sectors start
// with their cycle number instead, so a header can be recognised by its
// first word.  With h_size above 32 KiB a record has extra header sectors,
// one per 32 KiB.  Format: XFS Algorithms & Data Structures, "Journaling Log";
// docs/format.md "The log".  `xfs_logprint -t` is the oracle.
// Thread safety: pure function over the device.
#pragma once

#include <cstdint>
#include <string>

#include "buffer_cache/block_device.h"
#include "fs/superblock.h"

namespace xfsfuse::fs {

struct LogState {
  bool clean = false;
  uint64_t head_lsn = 0;    ///< LSN of the last record (cycle << 32 | block in 512-byte sectors)
  uint32_t records = 0;     ///< record headers found
};

/// Scans the internal log of sb on dev.  Returns 0 with *out filled (a log
/// with no record header at all is not clean), EIO, or EUCLEAN with *why (a
/// log outside the device).
int check_log(bc::BlockDevice& dev, const Superblock& sb, LogState* out, std::string* why);

}  // namespace xfsfuse::fs
