// buffer_cache/buffer.h — the buffer record, private to buffer_cache/*.cc.
#pragma once

#include <atomic>
#include <list>
#include <memory>
#include <utility>
#include <vector>

#include "buffer_cache/buffer_cache.h"
#include "buffer_cache/rw_lock.h"

namespace xfsfuse::bc {

inline constexpr uint32_t kStaleBit = 1u << 31;  // in Buffer::hold: out of the hash

struct Buffer {
  // Immutable after creation.
  std::vector<DiskRange> maps;
  uint64_t daddr = 0;  // maps[0].daddr
  size_t size = 0;     // bytes, sum of the maps
  // Read and written with the content lock held: of the get() that created
  // it, or set by set_ops() (exclusive); verify_write() uses it.
  const BufOps* ops = nullptr;
  // The last other ops this buffer passed (a get() with ops != this->ops
  // verifies the contents with them first: see BufferCache::check_other_ops).
  std::atomic<const BufOps*> other_ops{nullptr};

  // Memory: set before the buffer is hashed, released by free_memory().
  std::vector<vmap::pfn_t> pages;
  std::byte* addr = nullptr;
  // The undo copy (BufferCache::undo_save), size bytes, or null.  Read and
  // written with content held exclusively, or by free_memory().
  std::unique_ptr<std::byte[]> undo;

  RwLock content;                  // the contents and the fields below it; any thread may release it
  // BufHandles, PinRefs and in-flight lookups, plus kStaleBit once the buffer
  // is out of the hash.  Changes 0 -> 1 only under the bucket mutex.  The
  // thread that takes the word to exactly kStaleBit frees the buffer: the
  // last put_hold() of a stale buffer, or invalidate() of an unheld one.
  std::atomic<uint32_t> hold{0};
  std::atomic<uint32_t> pins{0};  // PinRefs; rises only with content held exclusively
  std::atomic<bool> uptodate{false};
  std::atomic<int> error{0};       // EUCLEAN (corrupt, remembered) or a read errno; set once, before uptodate readers look
  std::atomic<bool> dirty{false};  // set with content held exclusively; see BufferCache::clear_dirty
  std::atomic<int> write_error{0}; // the last write-back's errno (0: none); content held exclusively
  std::atomic<bool> referenced{false};  // touched since the LRU last looked (second chance)
  std::atomic<bool> owner_reported{false};
  std::atomic<bool> other_ops_reported{false};
  // Stamped by write-back (0: leave the on-disk LSN): set_lsn() with content
  // held exclusively, or raised by unpin_logged() (any thread, atomic max).
  std::atomic<uint64_t> lsn{0};
  // Where the buffer sits in the AIL (ail.cc): the LSN of its oldest logged
  // change not yet written home; 0 = not in it.  GUARDED_BY(ail_mu_).
  uint64_t ail_lsn = 0;

  // LRU membership, GUARDED_BY(BufferCache::lru_mu_); on_lru is also read
  // without the mutex as a hint.
  std::atomic<bool> on_lru{false};
  std::list<Buffer*>::iterator lru_it;

  bool stale() const { return hold.load(std::memory_order_acquire) & kStaleBit; }
};

}  // namespace xfsfuse::bc
