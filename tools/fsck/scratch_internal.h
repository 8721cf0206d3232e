// tools/fsck/scratch_internal.h — what scratch.cc (the database, the range
// store) and scratch_inodes.cc (the inode table) share: big-endian key
// helpers and the record of the first database error.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "tools/fsck/inode_table.h"

namespace rocksdb {
class DB;
class Status;
}  // namespace rocksdb

namespace xfsfuse::fsck::scratch {

inline void put_be32(std::string* s, uint32_t v) {
  for (int i = 3; i >= 0; i--) s->push_back(static_cast<char>(v >> (8 * i)));
}
inline void put_be64(std::string* s, uint64_t v) {
  for (int i = 7; i >= 0; i--) s->push_back(static_cast<char>(v >> (8 * i)));
}
inline void store_be(char* p, uint64_t v, int n) {
  for (int i = n - 1; i >= 0; i--, v >>= 8) p[i] = static_cast<char>(v);
}
inline uint64_t get_be(const char* p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; i++) v = v << 8 | static_cast<uint8_t>(p[i]);
  return v;
}

/// The first failed database call (disk full, I/O error under DIR): the
/// tables cannot return it through their interfaces, so they record it here
/// (and say it on stderr at once) and the program asks Scratch::error()
/// before it gives a verdict.
class Errors {
 public:
  /// Records st unless it is ok (or NotFound, which is an answer); returns st.ok().
  bool check(const rocksdb::Status& st, const char* what);
  /// "" or the first failure, with the call that failed.
  std::string first() const;

 private:
  mutable std::mutex mu_;
  std::string first_;  // GUARDED_BY(mu_)
};

/// The --scratch InodeTable over db (scratch_inodes.cc): rows of 64 inodes
/// behind a write-back cache of about cache_bytes.
std::unique_ptr<InodeTable> make_rocks_inode_table(rocksdb::DB* db, size_t cache_bytes, Errors* errors);

}  // namespace xfsfuse::fsck::scratch
