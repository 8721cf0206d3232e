// tools/fsck/scratch.h — the out-of-core state of xfsfuse-fsck (--scratch DIR):
// a RocksDB database under DIR that holds the SpaceMap's claimed ranges and
// the InodeTable's records instead of memory, so a filesystem whose state
// does not fit still checks under --mem-limit (like e2fsck's scratch_files).
// The verdicts are the same as in memory: both implement the same contracts
// (space_map.h, inode_table.h) and the tests compare them.
//
// Keys: 'S' agno(be32) end(be32) -> start(be32) owner(u8) ino(be64) (by end: scratch.cc);
//       'R' (ino >> 6)(be64) -> a row of 64 InodeRecs (scratch_inodes.cc).
// A quarter of the memory goes to a write-back cache of those rows, the rest
// to RocksDB's block cache and memtables.
// The database is created in a fresh directory DIR/xfsfuse-fsck.XXXXXX and
// removed when the Scratch is destroyed.  No WAL, no sync: it is scratch.
// Thread safety: the tables may be used from any thread.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "fs/superblock.h"
#include "tools/fsck/inode_table.h"
#include "tools/fsck/space_map.h"

namespace rocksdb {
class DB;
}

namespace xfsfuse::fsck {

namespace scratch {
class Errors;
}

class Scratch {
 public:
  /// Opens a new database under dir, sized for mem_bytes of block cache and
  /// write buffers together.  Returns 0 or an errno with *err (the directory
  /// cannot be made, or RocksDB's message).
  static int open(const std::string& dir, size_t mem_bytes, std::unique_ptr<Scratch>* out, std::string* err);
  ~Scratch();

  /// The tables over this database (each may be made once; they must not
  /// outlive the Scratch).
  std::unique_ptr<SpaceMap> space_map(const fs::Superblock& sb, Reporter* rep);
  std::unique_ptr<InodeTable> inode_table();

  /// "" or the first database call that failed (e.g. DIR's disk is full):
  /// the tables' answers since then are not to be trusted, and the program
  /// reports an operational error instead of a verdict.
  std::string error() const;

 private:
  Scratch() = default;
  std::string path_;
  std::unique_ptr<scratch::Errors> errors_;
  size_t row_cache_bytes_ = 0;
  std::unique_ptr<rocksdb::DB> db_;
  std::shared_ptr<void> cache_;  // the block cache, kept alive with the DB
};

}  // namespace xfsfuse::fsck
