// vmap/purge.cc — purging parked areas, and the periodic purge timer.
#include <pthread.h>
#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

#include "vmap/vmap.h"

namespace xfsfuse::vmap {

int Vmap::unmap_slots(uint32_t s, uint32_t n) {
  void* r = mmap(slot_address(s), size_t{n} * stride_pages_ * kPageSize, PROT_NONE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
  if (r != MAP_FAILED) return 0;
  int e = errno;
  std::fprintf(stderr, "xfsfuse: vmap: cannot unmap slots %u..%u at %p: errno %d\n", s, s + n - 1,
               static_cast<void*>(slot_address(s)), e);
  return e;
}

size_t Vmap::purge(PurgeReason reason) {
  std::lock_guard<std::mutex> pg(purge_mu_);
  struct Run {
    uint32_t first, count;
  };
  std::vector<Run> runs;
  std::vector<uint32_t> heads;
  {
    std::lock_guard<std::mutex> g(mu_);
    if (reason == PurgeReason::kEveryN && parked_ < batch()) return 0;  // another purge got there
    if (parked_ == 0) {
      if (reason == PurgeReason::kExplicit) purges_[static_cast<size_t>(reason)].fetch_add(1, std::memory_order_relaxed);
      return 0;
    }
    // Claim maximal runs of slots that start and end parked, with parked or
    // free slots between: one PROT_NONE mmap covers each run.  Claiming the
    // free slots (kBusy) keeps vmap() from mapping into them meanwhile.
    const uint32_t total = opts_.nslots;
    for (uint32_t i = 0; i < total;) {
      if (state_[i] != kParked) {
        i++;
        continue;
      }
      uint32_t end = i + 1, j = i + 1;  // end: one past the last parked slot seen
      while (j < total && (state_[j] == kParked || state_[j] == kFree)) {
        if (state_[j] == kParked) end = j + 1;
        j++;
      }
      for (uint32_t k = i; k < end; k++) {
        if (state_[k] == kParked && areas_[k].nslots) heads.push_back(k);
        state_[k] = kBusy;
      }
      runs.push_back(Run{i, end - i});
      i = j;
    }
    // Every parked area was claimed: no area is findable for reuse any more.
    std::fill(parked_hash_.begin(), parked_hash_.end(), kNoSlot);
    parked_ = 0;
  }

  // The syscalls, with no lock but purge_mu_ held.  A run that cannot be
  // unmapped in one call is retried area by area; an area that still fails
  // stays mapped and keeps its references (a stale alias must pin its pages).
  std::vector<bool> failed(heads.size(), false);
  size_t hi = 0;
  for (const Run& r : runs) {
    size_t first_head = hi;
    while (hi < heads.size() && heads[hi] < r.first + r.count) hi++;
    purge_syscalls_.fetch_add(1, std::memory_order_relaxed);
    if (unmap_slots(r.first, r.count) == 0) continue;
    for (size_t k = first_head; k < hi; k++) {
      purge_syscalls_.fetch_add(1, std::memory_order_relaxed);
      failed[k] = unmap_slots(heads[k], areas_[heads[k]].nslots) != 0;
    }
  }

  // Only now, with the aliases gone, drop alias counts and then references.
  size_t freed = 0, unpinned = 0;
  std::vector<std::vector<pfn_t>> released;
  released.reserve(heads.size());
  {
    std::lock_guard<std::mutex> g(mu_);
    for (const Run& r : runs) set_state_locked(r.first, r.count, kFree);
    for (size_t k = 0; k < heads.size(); k++) {
      Area& a = areas_[heads[k]];
      if (failed[k]) {  // back to parked; a later purge retries
        park_locked(heads[k]);
        continue;
      }
      vmas_ -= 2 * a.nruns;
      released.push_back(std::move(a.pages));
      a = Area{};
    }
  }
  for (const std::vector<pfn_t>& pages : released) {
    for (pfn_t p : pages) pool_->alias_put(p);
    if (opts_.policy == UnmapPolicy::kLazy) {
      freed += pool_->put(pages);
      unpinned += pages.size();
    }
  }
  if (unpinned) {
    std::lock_guard<std::mutex> g(mu_);
    pinned_ -= unpinned;
  }
  purges_[static_cast<size_t>(reason)].fetch_add(1, std::memory_order_relaxed);
  return freed;
}

void Vmap::timer_loop() {
  pthread_setname_np(pthread_self(), "xfsfuse-vmap");  // names in ps -T, perf, gdb
  std::unique_lock<std::mutex> l(timer_mu_);
  while (!timer_cv_.wait_for(l, opts_.timer_period, [this] { return stop_; })) {
    l.unlock();
    purge(PurgeReason::kTimer);
    l.lock();
  }
}

}  // namespace xfsfuse::vmap
