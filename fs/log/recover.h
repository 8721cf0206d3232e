// fs/log/recover.h — log recovery: replaying every committed transaction
// between the log's tail and head onto a device, as the kernel's log
// recovery does (docs/log.md "Recovery").
//
// Two passes over the log (fs/log/parse.h): the first collects the cancel
// records of freed buffers, the second replays each committed transaction's
// items in the kernel's order — buffers and inode-chunk creations, then
// inodes and intents, then inode-buffer (unlinked pointer) updates, then
// cancels — skipping what the on-disk metadata LSN shows is already newer.
// Replay reads and writes through dev: pass an bc::OverlayDevice over the
// image so that nothing reaches the image unless the whole replay succeeds.
// What replay leaves to its caller: extent-free intents without their done
// item (RecoveryStats::unfinished_efis), the AGI unlinked lists, the
// superblock's free counters, and the unmount record.
// Thread safety: a pure function over dev.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "buffer_cache/block_device.h"
#include "fs/log/ends.h"
#include "fs/log/parse.h"
#include "fs/log/reader.h"
#include "fs/superblock.h"

namespace xfsfuse::fs::xlog {

/// An extent an unfinished extent-free intent promised to free.
struct EfiExtent {
  uint64_t fsblock = 0;  ///< start, AG-encoded fsblock
  uint32_t len = 0;      ///< fsblocks
};

/// What recovery did, item by item.
struct RecoveryStats {
  ParseStats parse;                ///< the log reading (records, transactions)
  uint32_t transactions = 0;       ///< committed transactions replayed
  uint32_t buffers = 0;            ///< buffer items written
  uint32_t buffers_partial = 0;    ///< of those: segments of a discontiguous directory block (no verifier)
  uint32_t buffers_untyped = 0;    ///< of those: no type, or contents not of their type (no verifier)
  uint32_t buffers_newer = 0;      ///< skipped: the on-disk copy's LSN is as new or newer
  uint32_t buffers_cancelled = 0;  ///< skipped: freed later in the log
  uint32_t inode_buffers = 0;      ///< unlinked-pointer updates applied
  uint32_t inodes = 0;             ///< inode items written
  uint32_t inodes_newer = 0;       ///< skipped: di_lsn newer than the transaction
  uint32_t inodes_cancelled = 0;   ///< skipped: their cluster was freed later
  uint32_t icreates = 0;           ///< inode chunks initialised
  uint32_t icreates_cancelled = 0;
  uint32_t cancels = 0;            ///< cancel records
  uint32_t intents = 0;            ///< intent items (EFI...) seen
  uint32_t intents_done = 0;       ///< their done items seen
  uint32_t quota_items = 0;        ///< quota buffers/items ignored (quotas are not supported)
  std::vector<EfiExtent> unfinished_efis;  ///< extents of EFIs with no EFD, for the caller to free
  /// One line for the mount log: "replayed N transactions (B buffers, I inodes, ...)".
  std::string summary() const;
};

/// Replays the log of sb, read through r from ends.tail_lsn to ends' head,
/// onto dev.  REQUIRES: !ends.clean.  Returns 0 with *stats filled; the
/// device's errno; EUCLEAN with *why for a log or an item that cannot be
/// right (bad record, an item whose regions do not fit its format, a logged
/// or on-disk inode without its magic, a replayed buffer its verifier
/// refuses); EOPNOTSUPP with *why for an unfinished intent this driver
/// cannot finish (reflink, rmap, attr and exchange intents).
int replay_log(bc::BlockDevice& dev, const Superblock& sb, const LogReader& r, const LogEnds& ends,
               RecoveryStats* stats, std::string* why);

}  // namespace xfsfuse::fs::xlog
