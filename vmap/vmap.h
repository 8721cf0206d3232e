// vmap/vmap.h — userspace vmap/vunmap with lazy unmap, page references and
// batched purges.
//
// Vmap turns a vector of pool pages into one virtually contiguous address:
//  - pages that are one contiguous run of the pool's memfd: a pointer into the
//    pool's linear mapping, no syscall, no reference taken;
//  - otherwise: a slot in a reserved PROT_NONE range, one mmap(MAP_FIXED|
//    MAP_SHARED) per contiguous run of memfd offsets.  The area takes a
//    reference on every page it maps.
// The reserved range is cut into slots of slot_pages pages plus one PROT_NONE
// guard page; an area larger than a slot takes several consecutive slots.
//
// vunmap() under the policy chosen at creation:
//  - kEager: unmap now (one mmap(PROT_NONE) syscall), drop the references;
//  - kLazy (default): park the area and keep its references, so no page can
//    return to the free list while a stale alias maps it;
//  - kLazyNoref: park the area but drop the references — the 2007 XFS
//    behaviour that broke Xen.  Only for demonstrating the bug.
// Parked areas are purged all at once: when `batch` areas are parked, on
// memory pressure (a shrinker registered with the registry), on a periodic
// timer, when slots or the VMA budget run short, and on request.  A purge
// coalesces adjacent parked (and free) slots so one mmap(PROT_NONE, MAP_FIXED)
// covers each run, and drops page references only after that syscall returned.
// A vmap() of exactly the page vector of a parked area reuses it, no syscall.
//
// Thread safety: every method may be called from any thread.  Slot state is
// guarded by one mutex held only for bookkeeping (never across a syscall);
// purges are serialised by a second mutex.  The caller must hold its own
// references on the pages for as long as the mapping is live.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string_view>
#include <thread>
#include <vector>

#include "vmap/page_pool.h"
#include "vmap/shrinker.h"

namespace xfsfuse::vmap {

enum class UnmapPolicy { kEager, kLazy, kLazyNoref };

/// "eager", "lazy" or "lazy-noref".
const char* policy_name(UnmapPolicy p);
/// Parses a policy name; returns 0 or EINVAL.
int parse_policy(std::string_view s, UnmapPolicy* out);

enum class PurgeReason { kEveryN, kPressure, kTimer, kBudget, kExplicit };
inline constexpr size_t kPurgeReasons = 5;
/// "every_n", "pressure", "timer", "budget", "explicit".
const char* purge_reason_name(PurgeReason r);

struct VmapOptions {
  UnmapPolicy policy = UnmapPolicy::kLazy;
  uint32_t batch = 64;       ///< purge when this many areas are parked (lazy policies), >= 1
  uint32_t slot_pages = 16;  ///< pages per slot (64 KiB: one directory block)
  uint32_t nslots = 4096;    ///< slots in the reserved virtual range
  std::chrono::milliseconds timer_period{15000};  ///< periodic purge (0: no timer), like xfsbufd
  /// Most VMAs this layer may create; 0 or anything above it means half of
  /// /proc/sys/vm/max_map_count.
  size_t vma_budget = 0;
  bool register_shrinker = true;  ///< purge on the registry's memory-pressure calls
  /// Also map page vectors that are one contiguous pool run through a slot
  /// (one mmap), as the kernel's xfs_buf vmapped every multi-page buffer;
  /// false: they are served from the pool's linear mapping with no syscall.
  /// Single pages always use the linear mapping.
  bool map_contiguous = false;
};

/// Every counter, as one snapshot.  Pages are 4 KiB pool pages.
struct VmapStats {
  uint64_t maps = 0;              ///< successful vmap() calls
  uint64_t contiguous_maps = 0;   ///< ... served from the linear mapping (no syscall)
  uint64_t scattered_maps = 0;    ///< ... that took a slot (new mapping or reused alias; with
                                  ///< map_contiguous also contiguous multi-page vectors)
  uint64_t map_syscalls = 0;      ///< mmap(MAP_FIXED) calls made to map runs
  uint64_t map_failures = 0;      ///< vmap() calls that failed (ENOMEM and others)
  uint64_t unmaps = 0;            ///< successful vunmap() calls
  uint64_t lazy_unmaps = 0;       ///< ... that parked the area
  uint64_t alias_reuses = 0;      ///< vmap() calls served by a parked area, no syscall
  std::array<uint64_t, kPurgeReasons> purges{};  ///< purges that unmapped something, by PurgeReason
  uint64_t purge_syscalls = 0;    ///< mmap(PROT_NONE) calls made by purges
  uint64_t unmap_syscalls = 0;    ///< mmap(PROT_NONE) calls made by eager vunmap()
  uint64_t pages_pinned_by_parked_aliases = 0;  ///< now: references held by parked areas
  uint64_t pages_pinned_peak = 0;               ///< highest value of the above
  uint64_t parked_areas = 0;      ///< now
  uint64_t live_areas = 0;        ///< now: slot areas mapped and not unmapped
  uint64_t vmas_in_use = 0;       ///< now: upper bound on VMAs this layer created
  uint64_t vma_budget = 0;        ///< the budget vmas_in_use never exceeds
  uint64_t stale_alias_reuse = 0; ///< from the pool: pages handed out while still aliased

  /// Purges are counted when they finish; parked_areas drops when one starts.
  uint64_t purges_total() const;
};

class Vmap {
 public:
  /// Creates a vmap space over pool (which must outlive it), registers a
  /// shrinker with shrinkers (if non-null and opts.register_shrinker) and
  /// installs itself as the pool's alias flusher.  Returns 0 or an errno:
  /// EINVAL for bad options, EBUSY when the pool already has a Vmap (one per
  /// pool), or what mmap returned for the reserved range.
  static int create(PagePool* pool, ShrinkerRegistry* shrinkers, const VmapOptions& opts,
                    std::unique_ptr<Vmap>* out);
  ~Vmap();
  Vmap(const Vmap&) = delete;
  Vmap& operator=(const Vmap&) = delete;

  /// Maps pages (pool pfns, each referenced by the caller) at one contiguous
  /// address *addr of pages.size() * 4096 bytes.  Returns 0, EINVAL (empty
  /// vector, pfn out of range, more pages than nslots slots hold) or ENOMEM
  /// (no free slot or over the VMA budget even after purging, or mmap failed).
  int vmap(std::span<const pfn_t> pages, void** addr);

  /// Releases a mapping made by vmap(), under the policy.  Returns 0, or
  /// EINVAL for a slot address vmap() did not return or that is already
  /// unmapped.  Contiguous mappings are the pool's permanent linear mapping and
  /// are not tracked: any address inside it only counts an unmap and returns 0.
  int vunmap(void* addr);

  /// Unmaps every parked area now and drops the references they hold.  Returns
  /// the pages that went back to the free list.  Counted under `reason` when
  /// something was parked (kExplicit: always counted).
  size_t purge(PurgeReason reason);

  /// Shoots down every stale alias now (purge(kExplicit)); the call Xen needed.
  void unmap_aliases() { purge(PurgeReason::kExplicit); }

  /// Changes the lazy purge batch at run time (safe with maps and unmaps in
  /// flight: parking compares against the current value; lowering it to or
  /// below the parked count purges now).  Returns 0 or EINVAL (n == 0).
  /// *old (if non-null) = the batch before.
  int set_batch(uint32_t n, uint32_t* old);
  uint32_t batch() const { return batch_.load(std::memory_order_relaxed); }

  VmapStats stats() const;
  /// The options at creation (batch: see batch() for the current value).
  const VmapOptions& options() const { return opts_; }
  /// The reserved virtual range [first, first + bytes).
  const std::byte* range_start() const { return base_; }
  size_t range_bytes() const { return size_t{opts_.nslots} * stride_pages_ * kPageSize; }

 private:
  enum SlotState : uint8_t { kFree, kLive, kParked, kBusy };
  static constexpr uint32_t kNoSlot = UINT32_MAX;
  static constexpr int kMapTries = 4;  // slot searches (with a budget purge between) before ENOMEM
  struct Area {                 // valid in an area's first slot
    uint32_t nslots = 0;        // 0: not the first slot of an area
    uint32_t nruns = 0;         // contiguous memfd runs = mmap calls to map it
    uint64_t hash = 0;          // of pages, for alias reuse
    uint32_t hash_next = kNoSlot;  // next parked area in the same parked_hash_ bucket
    std::vector<pfn_t> pages;
  };

  Vmap(PagePool* pool, ShrinkerRegistry* shrinkers, const VmapOptions& opts, std::byte* base, size_t budget);
  std::byte* slot_address(uint32_t s) const { return base_ + size_t{s} * stride_pages_ * kPageSize; }
  uint32_t slots_for(size_t npages) const;
  // REQUIRES: mu_ held.  Finds n consecutive free slots (next fit); -1 if none.
  int64_t find_free_locked(uint32_t n);
  // REQUIRES: mu_ held.  Sets the state of slots [s, s + n).
  void set_state_locked(uint32_t s, uint32_t n, SlotState st);
  // REQUIRES: mu_ held.  Turns a parked area with exactly these pages live again.
  void* reuse_parked_locked(std::span<const pfn_t> pages, uint64_t hash);
  // REQUIRES: mu_ held.  Marks the area at slot s parked and findable by hash.
  void park_locked(uint32_t s);
  // Replaces slots [s, s + n) with PROT_NONE; returns 0 or errno.
  int unmap_slots(uint32_t s, uint32_t n);
  int map_area(void* addr, std::span<const pfn_t> pages);
  void timer_loop();

  PagePool* const pool_;
  ShrinkerRegistry* const shrinkers_;
  const VmapOptions opts_;
  std::byte* const base_;
  const uint32_t stride_pages_;  // slot_pages + 1 guard page
  const size_t vma_budget_;
  int shrinker_id_ = 0;
  bool owns_flusher_ = true;  // false only for a Vmap that create() refused

  mutable std::mutex mu_;
  std::vector<uint8_t> state_;     // GUARDED_BY(mu_), one SlotState per slot
  std::vector<Area> areas_;        // GUARDED_BY(mu_)
  // Parked areas by page-vector hash: bucket heads (power-of-two count),
  // chained through Area::hash_next.  No allocation when parking.
  std::vector<uint32_t> parked_hash_;  // GUARDED_BY(mu_)
  uint32_t cursor_ = 0;            // GUARDED_BY(mu_), next-fit start
  uint32_t parked_ = 0;            // GUARDED_BY(mu_)
  uint32_t live_ = 0;              // GUARDED_BY(mu_)
  size_t vmas_ = 0;                // GUARDED_BY(mu_)
  uint64_t pinned_ = 0, pinned_peak_ = 0;  // GUARDED_BY(mu_)

  std::mutex purge_mu_;  // serialises purges; taken before mu_

  std::mutex timer_mu_;
  std::condition_variable timer_cv_;
  bool stop_ = false;  // GUARDED_BY(timer_mu_)
  std::thread timer_;

  std::atomic<uint32_t> batch_;  // the lazy purge batch, >= 1 (set_batch)

  std::atomic<uint64_t> maps_{0}, contiguous_maps_{0}, scattered_maps_{0}, map_syscalls_{0},
      map_failures_{0}, unmaps_{0}, lazy_unmaps_{0}, alias_reuses_{0}, purge_syscalls_{0},
      unmap_syscalls_{0};
  std::array<std::atomic<uint64_t>, kPurgeReasons> purges_{};
};

}  // namespace xfsfuse::vmap
