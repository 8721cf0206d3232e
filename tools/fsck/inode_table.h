// tools/fsck/inode_table.h — what the checks learn about each inode.
//
// The AG phase adds every inode the inobt knows (in a chunk, not in a sparse
// hole) with its free bit; the inode phase fills in what the inode says
// (mode, nlink, parent from its directory); the directory phase counts the
// links it sees and marks what it reaches from the root.  Then
// check_links() compares.  In memory, or in RocksDB under --scratch
// (tools/fsck/scratch.h), with the same verdicts.
// Thread safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

#include "tools/fsck/problems.h"

namespace xfsfuse::fsck {

/// One inode's record.
struct InodeRec {
  bool inobt_free = true;   ///< the inobt's free bit
  bool in_use = false;      ///< the inode's di_mode is non-zero (set by the inode phase)
  bool bad = false;         ///< the inode failed its checks: not to be followed
  uint16_t mode = 0;        ///< di_mode
  uint32_t nlink = 0;       ///< di_nlink as on disk
  uint32_t links_seen = 0;  ///< directory entries naming it ("." and ".." not counted)
  uint32_t subdirs = 0;     ///< for directories: entries naming subdirectories
  uint64_t parent = 0;      ///< for directories: what ".." names (0: not seen yet)
  uint64_t holder = 0;      ///< for directories: the first directory seen with an entry for it (0: none)
  bool reachable = false;   ///< reached from the root through directory entries
};

class InodeTable {
 public:
  virtual ~InodeTable() = default;
  /// Adds ino (from an inobt record).  Returns false if it was already there
  /// (two inobt records cover one inode: the caller reports it).
  virtual bool add(uint64_t ino, bool inobt_free) = 0;
  /// The record of ino, or nullopt if no inobt record covers it.
  virtual std::optional<InodeRec> get(uint64_t ino) const = 0;
  /// Read-modify-write of ino's record (no-op if absent); atomic per inode.
  virtual void update(uint64_t ino, const std::function<void(InodeRec&)>& fn) = 0;
  /// Visits every inode in ascending order (fn must not call back into the table).
  virtual void for_each(const std::function<void(uint64_t ino, const InodeRec&)>& fn) const = 0;
  virtual uint64_t size() const = 0;
};

/// The in-memory InodeTable.
std::unique_ptr<InodeTable> make_memory_inode_table();

}  // namespace xfsfuse::fsck
