#include "fs/icache.h"

#include <algorithm>

namespace xfsfuse::fs {

InodeCache::InodeCache(size_t limit) : shard_limit_(std::max<size_t>(1, (limit + kShards - 1) / kShards)) {}

int InodeCache::get(uint64_t ino, const Loader& load, InodeRef* out) {
  Shard& s = shard_for(ino);
  std::shared_ptr<Entry> entry;
  {
    std::unique_lock<std::mutex> g(s.mu);
    for (;;) {
      auto it = s.map.find(ino);
      if (it == s.map.end()) break;
      if (!it->second->loading) {
        *out = it->second->ip;
        return 0;
      }
      // Another thread is loading it: wait, then look again (a failed load
      // leaves no entry, and this thread loads it itself).
      s.loaded.wait(g);
    }
    entry = std::make_shared<Entry>();
    entry->ip = std::make_shared<CachedInode>();
    s.map.emplace(ino, entry);
  }
  const int err = load(ino, entry->ip.get());
  std::lock_guard<std::mutex> g(s.mu);
  if (err) {
    s.map.erase(ino);
  } else {
    entry->loading = false;
    *out = entry->ip;
    if (s.map.size() > std::max(shard_limit_, s.trim_at)) {
      trim_locked(s, shard_limit_ - shard_limit_ / 4);
      set_trim_at_locked(s);
    }
  }
  s.loaded.notify_all();
  return err;
}

InodeRef InodeCache::find(uint64_t ino) {
  Shard& s = shard_for(ino);
  std::lock_guard<std::mutex> g(s.mu);
  auto it = s.map.find(ino);
  return it == s.map.end() || it->second->loading ? nullptr : it->second->ip;
}

size_t InodeCache::trim_locked(Shard& s, size_t target) {
  size_t dropped = 0;
  for (auto it = s.map.begin(); it != s.map.end() && s.map.size() > target;) {
    // use_count 1: only this table holds the inode, and new references are
    // taken only under s.mu, so none can appear while it is held.
    const Entry& e = *it->second;
    if (!e.loading && e.ip.use_count() == 1 && e.ip->dirty.load(std::memory_order_acquire) == 0) {
      it = s.map.erase(it);
      dropped++;
    } else {
      ++it;
    }
  }
  return dropped;
}

size_t InodeCache::drop_unreferenced() {
  size_t dropped = 0;
  for (Shard& s : shards_) {
    std::lock_guard<std::mutex> g(s.mu);
    dropped += trim_locked(s, 0);
    set_trim_at_locked(s);
  }
  return dropped;
}

size_t InodeCache::size() {
  size_t n = 0;
  for (Shard& s : shards_) {
    std::lock_guard<std::mutex> g(s.mu);
    n += s.map.size();
  }
  return n;
}

}  // namespace xfsfuse::fs
