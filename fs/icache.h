// fs/icache.h — the inode cache: at most one in-core inode per inode number.
//
// get() finds the inode or builds it with the caller's loader; while one
// thread loads an inode, other threads asking for the same number wait for
// that load instead of building a second copy (the kernel's XFS_INEW).  A
// failed load is forgotten, so the next get() tries again.  Inodes are
// evicted only when nothing but the cache refers to them (use count 1) and
// they hold no unencoded change (dirty == 0): beyond the limit on get(), and
// all at once on drop_unreferenced().
//
// Thread safety: every method may be called from any thread.  The table is
// split into shards, each with its own mutex (no global lock on iget); a
// loader runs with no cache lock held.
#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "fs/incore_inode.h"

namespace xfsfuse::fs {

class InodeCache {
 public:
  /// Builds the in-core inode ino into *ip (a fresh object).  Returns 0 or
  /// an errno, which get() returns.
  using Loader = std::function<int(uint64_t ino, CachedInode* ip)>;

  /// limit: inodes kept before get() evicts unreferenced ones (at least 1).
  explicit InodeCache(size_t limit);

  /// The in-core inode ino: cached, or built by load.  Returns 0 or load's error.
  int get(uint64_t ino, const Loader& load, InodeRef* out);
  /// The cached inode ino, or null (no load, no wait for one in progress).
  InodeRef find(uint64_t ino);
  /// Evicts every unreferenced clean inode.  Returns how many went.
  size_t drop_unreferenced();
  /// Inodes cached (loaded or loading).
  size_t size();

 private:
  struct Entry {
    InodeRef ip;
    bool loading = true;  // GUARDED_BY(Shard::mu)
  };
  struct Shard {
    std::mutex mu;
    std::condition_variable loaded;
    std::unordered_map<uint64_t, std::shared_ptr<Entry>> map;  // GUARDED_BY(mu)
    size_t trim_at = 0;  // GUARDED_BY(mu): get() trims once map holds more (0: the shard limit)
  };
  static constexpr size_t kShards = 64;
  Shard& shard_for(uint64_t ino) { return shards_[(ino * 0x9e3779b97f4a7c15ull) >> 58]; }
  // REQUIRES: s.mu held.  Evicts unreferenced clean inodes until the shard
  // holds at most target.  Returns how many went.
  static size_t trim_locked(Shard& s, size_t target);
  // REQUIRES: s.mu held.  Sets when get() trims s next: past the shard
  // limit, or, when a trim left more than that (inodes still referenced,
  // e.g. held by the kernel after an `ls -l` of a huge directory), only
  // once the shard has grown by another quarter, so that a shard full of
  // referenced inodes is not scanned on every load (that made each load
  // O(shard size)).
  void set_trim_at_locked(Shard& s) const { s.trim_at = std::max(shard_limit_, s.map.size() + s.map.size() / 4); }

  const size_t shard_limit_;
  Shard shards_[kShards];
};

}  // namespace xfsfuse::fs
