// vmap/shrinker.h — a registry of memory-pressure callbacks ("shrinkers").
//
// In the spirit of the kernel's shrinkers: each cache that holds pool pages it
// could give back registers a count() and a scan(nr) callback.  When the page
// pool runs short, or the PSI monitor sees memory pressure, the registry asks
// every shrinker in turn to free pages until enough were freed.
//
// Thread safety: every method may be called from any thread.  shrink() calls
// are serialised by one mutex.  REQUIRES: a callback must not call add(),
// remove() or shrink() on the same registry, and must not allocate from a
// PagePool that uses this registry (it would wait on itself).
#pragma once

#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

namespace xfsfuse::vmap {

/// One memory-pressure callback set.  Units are 4 KiB pool pages.
struct Shrinker {
  std::string name;                        ///< for logs and counters
  std::function<size_t()> count;           ///< pages it could free now (an estimate)
  std::function<size_t(size_t nr)> scan;   ///< try to free nr pages; returns pages freed
};

/// Counters kept by the registry.
struct ShrinkerStats {
  uint64_t shrink_calls = 0;   ///< calls to shrink()
  uint64_t scan_calls = 0;     ///< scan() callbacks made
  uint64_t pages_freed = 0;    ///< sum of what scan() callbacks returned
};

class ShrinkerRegistry {
 public:
  ShrinkerRegistry() = default;
  ShrinkerRegistry(const ShrinkerRegistry&) = delete;
  ShrinkerRegistry& operator=(const ShrinkerRegistry&) = delete;

  /// Registers a shrinker; returns its id for remove().  Shrinkers are asked in
  /// registration order.
  int add(Shrinker s);

  /// Unregisters the shrinker with this id.  Waits for a shrink() in progress,
  /// so once it returns the callbacks are never called again.  Unknown ids are
  /// ignored.
  void remove(int id);

  /// Asks shrinkers to free nr pages (SIZE_MAX: as much as they can).  Skips
  /// shrinkers whose count() is 0.  Returns the pages freed, which may be less
  /// or more than nr.
  size_t shrink(size_t nr);

  ShrinkerStats stats() const;

 private:
  struct Entry {
    int id;
    Shrinker s;
  };
  mutable std::mutex mu_;
  std::vector<Entry> entries_;  // GUARDED_BY(mu_)
  int next_id_ = 1;             // GUARDED_BY(mu_)
  ShrinkerStats stats_;         // GUARDED_BY(mu_)
};

}  // namespace xfsfuse::vmap
