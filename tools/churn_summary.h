// tools/churn_summary.h — the numbers xfsfuse-churn's table, JSON and plot
// derive from a run: each traversal's "cycle" (its drop + its walk, the
// columns of the table) and each run's sums and medians.  Pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "tools/churn_run.h"

namespace xfsfuse::tools::churn {

/// One traversal's drop + walk.  The mapping counts are absent for the kernel.
struct Cycle {
  std::optional<int64_t> maps;               ///< vmap.maps
  std::optional<int64_t> map_syscalls;       ///< vmap.map_syscalls
  std::optional<int64_t> unmap_syscalls;     ///< vmap.unmap_syscalls (eager) + vmap.purge_syscalls
  std::optional<int64_t> purges;             ///< the sum of vmap.purges.*
  std::optional<int64_t> alias_reuses;       ///< vmap.alias_reuses
  std::optional<int64_t> stale_alias_reuse;  ///< vmap.stale_alias_reuse
  std::optional<int64_t> scattered_maps;     ///< vmap.scattered_maps: maps through a slot
  std::optional<int64_t> scattered_allocs;   ///< pool.scattered_allocs: multi-page buffers given no contiguous run
  std::optional<int64_t> tlb_shootdowns;
  std::optional<int64_t> ctxt_daemon;
  int64_t ctxt_system = 0;
};

/// t.drop + t.walk in the table's terms.
Cycle cycle_of(const Traversal& t);

/// a + b, field by field (absent stays absent).
Cycle add(const Cycle& a, const Cycle& b);

/// a + b: times, counts and counters (by name) added.
Phase add(const Phase& a, const Phase& b);

/// A run over its completed traversals.
struct Summary {
  uint32_t traversals = 0;
  uint64_t entries = 0;  ///< of the first traversal (all saw the same)
  double wall_ms_sum = 0, wall_ms_median = 0, loadavg_median = 0;
  std::optional<double> driver_drop_ms_median;  ///< of drop.driver_ms; none for the kernel
  Phase walk, drop;  ///< sums
  Cycle cycle;       ///< sums
};

Summary summarize(const Run& run);

/// Table cells: the count, or "n/a" when absent (the kernel's rows).
std::string cell_count(const std::optional<int64_t>& v);
/// Table cells: milliseconds with one decimal, or "n/a" when absent.
std::string cell_ms(const std::optional<double>& v);

}  // namespace xfsfuse::tools::churn
