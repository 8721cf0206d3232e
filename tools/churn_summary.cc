#include "tools/churn_summary.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <vector>

namespace xfsfuse::tools::churn {

namespace {

template <typename T>
std::optional<T> sum(const std::optional<T>& a, const std::optional<T>& b) {
  if (!a || !b) return std::nullopt;
  return *a + *b;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// The table's mapping counts from one phase's counter deltas.
Cycle cycle_of_counters(const Counters& c) {
  Cycle y;
  y.maps = get(c, "vmap.maps");
  y.map_syscalls = get(c, "vmap.map_syscalls");
  y.unmap_syscalls = get(c, "vmap.unmap_syscalls") + get(c, "vmap.purge_syscalls");
  int64_t purges = 0;
  for (const auto& [name, v] : c)
    if (name.rfind("vmap.purges.", 0) == 0) purges += v;
  y.purges = purges;
  y.alias_reuses = get(c, "vmap.alias_reuses");
  y.stale_alias_reuse = get(c, "vmap.stale_alias_reuse");
  y.scattered_maps = get(c, "vmap.scattered_maps");
  y.scattered_allocs = get(c, "pool.scattered_allocs");
  return y;
}

Cycle cycle_of_phase(const Phase& p) {
  Cycle y = p.counters ? cycle_of_counters(*p.counters) : Cycle{};
  y.tlb_shootdowns = p.tlb_shootdowns;
  y.ctxt_daemon = p.ctxt_daemon;
  y.ctxt_system = p.ctxt_system;
  return y;
}

}  // namespace

Cycle add(const Cycle& a, const Cycle& b) {
  Cycle y;
  y.maps = sum(a.maps, b.maps);
  y.map_syscalls = sum(a.map_syscalls, b.map_syscalls);
  y.unmap_syscalls = sum(a.unmap_syscalls, b.unmap_syscalls);
  y.purges = sum(a.purges, b.purges);
  y.alias_reuses = sum(a.alias_reuses, b.alias_reuses);
  y.stale_alias_reuse = sum(a.stale_alias_reuse, b.stale_alias_reuse);
  y.scattered_maps = sum(a.scattered_maps, b.scattered_maps);
  y.scattered_allocs = sum(a.scattered_allocs, b.scattered_allocs);
  y.tlb_shootdowns = sum(a.tlb_shootdowns, b.tlb_shootdowns);
  y.ctxt_daemon = sum(a.ctxt_daemon, b.ctxt_daemon);
  y.ctxt_system = a.ctxt_system + b.ctxt_system;
  return y;
}

Phase add(const Phase& a, const Phase& b) {
  Phase p;
  p.ms = a.ms + b.ms;
  p.tlb_shootdowns = sum(a.tlb_shootdowns, b.tlb_shootdowns);
  p.ctxt_daemon = sum(a.ctxt_daemon, b.ctxt_daemon);
  p.ctxt_system = a.ctxt_system + b.ctxt_system;
  p.kernel_ms = sum(a.kernel_ms, b.kernel_ms);
  p.driver_ms = sum(a.driver_ms, b.driver_ms);
  if (a.counters && b.counters) {
    Counters c = *a.counters;
    for (const auto& [name, v] : *b.counters) {
      auto it = std::find_if(c.begin(), c.end(), [&](const auto& x) { return x.first == name; });
      if (it == c.end())
        c.emplace_back(name, v);
      else
        it->second += v;
    }
    p.counters = std::move(c);
  }
  return p;
}

Cycle cycle_of(const Traversal& t) { return add(cycle_of_phase(t.drop), cycle_of_phase(t.walk)); }

Summary summarize(const Run& run) {
  Summary s;
  std::vector<double> ms, load, driver_drop;
  for (size_t i = 0; i < run.traversals.size(); i++) {
    const Traversal& t = run.traversals[i];
    if (i == 0) {
      s.entries = t.entries;
      s.walk = t.walk;
      s.drop = t.drop;
      s.cycle = cycle_of(t);
    } else {
      s.walk = add(s.walk, t.walk);
      s.drop = add(s.drop, t.drop);
      s.cycle = add(s.cycle, cycle_of(t));
    }
    ms.push_back(t.walk.ms);
    if (t.drop.driver_ms) driver_drop.push_back(*t.drop.driver_ms);
    load.push_back(t.loadavg);
  }
  s.traversals = static_cast<uint32_t>(run.traversals.size());
  s.wall_ms_sum = s.walk.ms;
  s.wall_ms_median = median(ms);
  s.loadavg_median = median(load);
  if (!driver_drop.empty() && driver_drop.size() == run.traversals.size()) s.driver_drop_ms_median = median(driver_drop);
  return s;
}

std::string cell_count(const std::optional<int64_t>& v) { return v ? std::to_string(*v) : "n/a"; }

std::string cell_ms(const std::optional<double>& v) {
  if (!v) return "n/a";
  char b[64];
  std::snprintf(b, sizeof b, "%.1f", *v);
  return b;
}

}  // namespace xfsfuse::tools::churn
