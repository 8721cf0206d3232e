// fs/log/checkpoint.h — the transactions of one group commit merged into
// checkpoints: one log transaction each, holding every buffer and inode they
// changed once, with the union of the ranges changed and the last contents,
// as the kernel's CIL checkpoints do (docs/log.md "The running log").  A
// 64 KiB directory block changed by a hundred creates is logged once per
// group commit, not a hundred times.
// Thread safety: a value type, one thread at a time.
#pragma once

#include <cstdint>
#include <unordered_map>

#include "fs/superblock.h"
#include "fs/trans/trans.h"

namespace xfsfuse::fs::xlog {

/// Builds one checkpoint from committed transactions, in commit order.
class CheckpointBuilder {
 public:
  /// Whether ct may join the checkpoint: not when it changes a buffer freed
  /// earlier in it (reused blocks: recovery replays a transaction's cancel
  /// items after its buffers, so the new contents would be cancelled with
  /// the old), nor a buffer of the same first daddr with other maps.
  bool fits(const CommittedTrans& ct) const;
  /// Adds ct: a buffer seen before gets the union of the ranges and ct's
  /// contents, type and verifier, or becomes freed (a cancel item only);
  /// an inode seen before gets ct's bytes and the union of the parts.
  /// REQUIRES: fits(ct).
  void add(CommittedTrans&& ct);
  bool empty() const { return ct_.bufs.empty() && ct_.inodes.empty() && ct_.icreates.empty(); }
  /// The checkpoint so far; the builder starts over.
  CommittedTrans take();

 private:
  CommittedTrans ct_;
  std::unordered_map<uint64_t, size_t> buf_at_, ino_at_;  // first daddr / ino -> index in ct_
};

/// An upper bound of the log bytes format_trans makes of ct alone (op
/// headers included): for the space a transaction holds until its group
/// commit is written.  A checkpoint of several transactions never needs
/// more than the sum of theirs.
uint64_t estimate_log_bytes(const CommittedTrans& ct, const Superblock& sb);

}  // namespace xfsfuse::fs::xlog
