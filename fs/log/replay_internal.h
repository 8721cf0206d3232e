// fs/log/replay_internal.h — what the replay of each item type shares
// (fs/log/recover.cc drives; replay_buf.cc and replay_inode.cc replay).
// Not a public interface.
#pragma once

#include <cstdint>
#include <map>
#include <unordered_map>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "fs/buf_ops.h"
#include "fs/log/recover.h"

namespace xfsfuse::fs::xlog {

/// The state of one recovery: the device, the cancel table, the statistics.
class Replayer {
 public:
  Replayer(bc::BlockDevice& dev, const Superblock& sb, RecoveryStats* st, std::string* why)
      : dev_(dev), sb_(sb), ops_(sb), st_(*st), why_(*why) {}

  /// Pass 1: counts the cancel record of a buffer item (others: nothing).
  int note_cancel(const LogItem& it);
  /// Pass 2, one item at lsn (the LSN of its transaction's first record).
  /// partial: a buffer item that is one segment of a discontiguous
  /// directory block.
  int replay_buf(const LogItem& it, uint64_t lsn, bool partial);
  int replay_inode(const LogItem& it, uint64_t lsn);
  int replay_icreate(const LogItem& it);

  const Superblock& sb() const { return sb_; }
  RecoveryStats& stats() { return st_; }
  /// Sets the reason and returns EUCLEAN.
  int corrupt(const std::string& what);

 private:
  struct BufFormat {
    uint16_t flags = 0, len = 0;
    int64_t blkno = 0;
    uint32_t map_size = 0;
    uint32_t map[17] = {};
  };
  int decode_buf_format(const LogItem& it, BufFormat* f);
  // Whether (blkno, len) was freed later in the log; with put, a cancel
  // record met in pass 2 drops one reference.
  bool cancelled(int64_t blkno, uint32_t len, bool put);
  int read(uint64_t daddr, uint32_t sectors, std::vector<std::byte>* out);
  int write(uint64_t daddr, std::span<const std::byte> data);
  // The ops that verify a buffer of this type holding these bytes, or null
  // (no type, or contents that are not of the type).
  const bc::BufOps* ops_for(unsigned type, std::span<const std::byte> buf) const;

  bc::BlockDevice& dev_;
  const Superblock& sb_;
  const BufOpsSet ops_;
  RecoveryStats& st_;
  std::string& why_;
  std::map<std::pair<int64_t, uint32_t>, uint32_t> cancels_;  // (blkno, len) -> cancel records left
  // daddr -> the LSN this replay last stamped into the buffer there.  The
  // skip-by-age rule judges the LSN a buffer had before the items of the
  // current LSN were replayed: several transactions share an LSN when they
  // share a record, and each must replay over the one before (the kernel
  // writes its replayed buffers, which stamps them, only between LSNs).
  std::unordered_map<uint64_t, uint64_t> stamped_;
};

/// The LSN a v5 metadata block carries, judged by its magic as the kernel
/// does; -1 (all ones) when unknown (no known magic, an inode or remote attr
/// block, or another filesystem's uuid): such blocks are always replayed.
uint64_t metadata_lsn(std::span<const std::byte> buf, const Superblock& sb);

}  // namespace xfsfuse::fs::xlog
