// buffer_cache/buffer.h — the buffer record, private to buffer_cache/*.cc.
#pragma once

#include <atomic>
#include <list>
#include <shared_mutex>
#include <utility>
#include <vector>

#include "buffer_cache/buffer_cache.h"

namespace xfsfuse::bc {

struct Buffer {
  // Immutable after creation.
  std::vector<DiskRange> maps;
  uint64_t daddr = 0;  // maps[0].daddr
  size_t size = 0;     // bytes, sum of the maps
  const BufOps* ops = nullptr;  // of the get() that created it: verify_write() uses it
  // The last other ops this buffer passed (a get() with ops != this->ops
  // verifies the contents with them first: see BufferCache::check_other_ops).
  std::atomic<const BufOps*> other_ops{nullptr};

  // Memory: set before the buffer is hashed, released by free_memory().
  std::vector<vmap::pfn_t> pages;
  std::byte* addr = nullptr;

  std::shared_mutex content;       // the contents and the fields below it
  std::atomic<int32_t> hold{0};    // BufHandles and in-flight lookups; changes 0 -> 1 only under the bucket mutex
  std::atomic<bool> uptodate{false};
  std::atomic<int> error{0};       // EUCLEAN (corrupt, remembered) or a read errno; set once, before uptodate readers look
  std::atomic<bool> dirty{false};  // set and cleared with content held exclusively
  std::atomic<bool> stale{false};  // out of the hash: freed by the last release
  std::atomic<bool> referenced{false};  // touched since the LRU last looked (second chance)
  std::atomic<bool> owner_reported{false};
  std::atomic<bool> other_ops_reported{false};
  std::vector<std::pair<size_t, size_t>> dirty_ranges;  // [off, end), merged; content held exclusively

  // LRU membership, GUARDED_BY(BufferCache::lru_mu_); on_lru is also read
  // without the mutex as a hint.
  std::atomic<bool> on_lru{false};
  std::list<Buffer*>::iterator lru_it;
};

}  // namespace xfsfuse::bc
