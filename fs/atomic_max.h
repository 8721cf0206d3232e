// fs/atomic_max.h — raising an atomic counter to a value, never lowering it
// (generation and sequence marks that several threads advance).
#pragma once

#include <atomic>
#include <cstdint>

namespace xfsfuse::fs {

/// Makes a = max(a, v), atomically; release order on the store.
inline void raise_to(std::atomic<uint64_t>& a, uint64_t v) {
  for (uint64_t cur = a.load(std::memory_order_relaxed); cur < v;)
    if (a.compare_exchange_weak(cur, v, std::memory_order_release, std::memory_order_relaxed)) break;
}

}  // namespace xfsfuse::fs
