#include "tools/churn_report.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "tools/churn_summary.h"

namespace xfsfuse::tools::churn {

namespace {

using ojson = nlohmann::ordered_json;

std::string fixed(double v, int decimals) {
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", decimals, v);
  return b;
}

void row(FILE* f, const std::string& policy, const std::string& idx, uint64_t entries, double walk_ms,
         const std::optional<double>& drop_ms, double load, const Cycle& c) {
  std::fprintf(f, "%-11s %4s %8llu %8s %7s %5s %7s %8s %9s %6s %6s %6s %5s %8s %7s\n", policy.c_str(), idx.c_str(),
               static_cast<unsigned long long>(entries), cell_ms(walk_ms).c_str(), cell_ms(drop_ms).c_str(),
               fixed(load, 2).c_str(), cell_count(c.maps).c_str(), cell_count(c.map_syscalls).c_str(),
               cell_count(c.unmap_syscalls).c_str(), cell_count(c.purges).c_str(), cell_count(c.alias_reuses).c_str(),
               cell_count(c.stale_alias_reuse).c_str(), cell_count(c.tlb_shootdowns).c_str(),
               std::to_string(c.ctxt_system).c_str(), cell_count(c.ctxt_daemon).c_str());
}

ojson opt(const std::optional<int64_t>& v) { return v ? ojson(*v) : ojson(nullptr); }

ojson traversal_json(const Traversal& t) {
  return ojson{{"index", t.index},
               {"wall_ms", t.walk.ms},
               {"entries", t.entries},
               {"tlb_shootdowns", opt(t.walk.tlb_shootdowns)},
               {"ctxt_daemon", opt(t.walk.ctxt_daemon)},
               {"ctxt_system", t.walk.ctxt_system},
               {"loadavg", t.loadavg},
               {"counters", counters_json(t.walk.counters)},
               {"drop", phase_json(t.drop)},
               {"cycle", cycle_json(cycle_of(t))},
               {"after", counters_json(t.after)}};
}

ojson summary_json(const Summary& s) {
  return ojson{{"traversals", s.traversals},
               {"entries", s.entries},
               {"wall_ms_sum", s.wall_ms_sum},
               {"wall_ms_median", s.wall_ms_median},
               {"loadavg_median", s.loadavg_median},
               {"drop_driver_ms_median", s.driver_drop_ms_median ? ojson(*s.driver_drop_ms_median) : ojson(nullptr)},
               {"tlb_shootdowns", opt(s.walk.tlb_shootdowns)},
               {"ctxt_daemon", opt(s.walk.ctxt_daemon)},
               {"ctxt_system", s.walk.ctxt_system},
               {"counters", counters_json(s.walk.counters)},
               {"drop", phase_json(s.drop)},
               {"cycle", cycle_json(s.cycle)}};
}

ojson run_json(const Run& r) {
  ojson traversals = ojson::array();
  for (const auto& t : r.traversals) traversals.push_back(traversal_json(t));
  return ojson{{"policy", r.policy},
               {"ok", r.error.empty()},
               {"error", r.error.empty() ? ojson(nullptr) : ojson(r.error)},
               {"mount_options", r.mount_options},
               {"daemon_options", ojson::parse(r.daemon_options.dump())},
               {"traversals", std::move(traversals)},
               {"summary", summary_json(summarize(r))}};
}

const Run* find_run(const std::vector<Run>& runs, const std::string& policy) {
  for (const auto& r : runs)
    if (r.policy == policy) return &r;
  return nullptr;
}

// The sums of cycle.unmap_syscalls of the lazy and eager runs; false unless both ran.
bool unmap_sums(const std::vector<Run>& runs, int64_t* lazy, int64_t* eager) {
  const Run* l = find_run(runs, "lazy");
  const Run* e = find_run(runs, "eager");
  if (!l || !e) return false;
  *lazy = summarize(*l).cycle.unmap_syscalls.value_or(0);
  *eager = summarize(*e).cycle.unmap_syscalls.value_or(0);
  return true;
}

}  // namespace

ojson counters_json(const std::optional<Counters>& c) {
  if (!c) return nullptr;
  ojson o = ojson::object();
  for (const auto& [name, v] : *c) o[name] = v;
  return o;
}

ojson phase_json(const Phase& p) {
  auto dms = [](const std::optional<double>& v) { return v ? ojson(*v) : ojson(nullptr); };
  return ojson{{"ms", p.ms},
               {"kernel_ms", dms(p.kernel_ms)},
               {"driver_ms", dms(p.driver_ms)},
               {"tlb_shootdowns", opt(p.tlb_shootdowns)},
               {"ctxt_daemon", opt(p.ctxt_daemon)},
               {"ctxt_system", p.ctxt_system},
               {"counters", counters_json(p.counters)}};
}

ojson cycle_json(const Cycle& c) {
  return ojson{{"maps", opt(c.maps)},
               {"map_syscalls", opt(c.map_syscalls)},
               {"unmap_syscalls", opt(c.unmap_syscalls)},
               {"purges", opt(c.purges)},
               {"alias_reuses", opt(c.alias_reuses)},
               {"stale_alias_reuse", opt(c.stale_alias_reuse)},
               {"scattered_maps", opt(c.scattered_maps)},
               {"scattered_allocs", opt(c.scattered_allocs)},
               {"tlb_shootdowns", opt(c.tlb_shootdowns)},
               {"ctxt_daemon", opt(c.ctxt_daemon)},
               {"ctxt_system", c.ctxt_system}};
}

void print_table(FILE* f, const std::vector<Run>& runs) {
  std::fprintf(f,
               "Counts cover each traversal's cache drop + walk (a drop unmaps what the walk before mapped).\n"
               "ms: the walk; drop_ms: the driver's own cache drop (its unmaps), not the kernel's.  'sum'\n"
               "rows: counts summed, ms, drop_ms and load are medians.  unmap_sys = unmap_syscalls +\n"
               "purge_syscalls; tlb = TLB shootdowns and ctxt = context switches, whole machine; ctxt_d =\n"
               "the xfsfuse daemon's context switches.\n\n");
  std::fprintf(f, "%-11s %4s %8s %8s %7s %5s %7s %8s %9s %6s %6s %6s %5s %8s %7s\n", "policy", "#", "entries", "ms",
               "drop_ms", "load", "maps", "map_sys", "unmap_sys", "purges", "alias", "stale", "tlb", "ctxt", "ctxt_d");
  for (const auto& r : runs) {
    for (const auto& t : r.traversals)
      row(f, r.policy, std::to_string(t.index), t.entries, t.walk.ms, t.drop.driver_ms, t.loadavg, cycle_of(t));
    if (!r.traversals.empty()) {
      const Summary s = summarize(r);
      row(f, r.policy, "sum", s.entries, s.wall_ms_median, s.driver_drop_ms_median, s.loadavg_median, s.cycle);
    }
    if (!r.error.empty()) std::fprintf(f, "%-11s FAILED: %s\n", r.policy.c_str(), r.error.c_str());
  }
  int64_t lazy = 0, eager = 0;
  if (unmap_sums(runs, &lazy, &eager)) {
    std::fprintf(f, "\nunmapping syscalls, lazy / eager: %lld / %lld", static_cast<long long>(lazy),
                 static_cast<long long>(eager));
    if (eager > 0 && lazy > 0)
      std::fprintf(f, " = %.4f (1/%.1f)\n", double(lazy) / double(eager), double(eager) / double(lazy));
    else
      std::fprintf(f, "%s\n", eager > 0 ? " = 0" : " (eager made none: no ratio)");
  }
}

std::optional<double> lazy_eager_unmap_ratio(const std::vector<Run>& runs) {
  int64_t lazy = 0, eager = 0;
  if (!unmap_sums(runs, &lazy, &eager) || eager <= 0) return std::nullopt;
  return double(lazy) / double(eager);
}

ojson report_json(const ReportContext& ctx, const std::vector<Run>& runs) {
  const Options& o = *ctx.options;
  ojson runs_json = ojson::array();
  for (const auto& r : runs) runs_json.push_back(run_json(r));
  const auto ratio = lazy_eager_unmap_ratio(runs);
  return ojson{
      {"version", 1},
      {"tool", "xfsfuse-churn"},
      {"config",
       {{"workload", "traverse"},
        {"files", o.files},
        {"traversals", o.traversals},
        {"policies", o.policies},
        {"batch", o.batch},
        {"threads", o.threads},
        {"vmap_all", o.vmap_all},
        {"cache_mb", o.cache_mb ? ojson(o.cache_mb) : ojson(nullptr)},
        {"image", ctx.image},
        {"image_temporary", ctx.image_temporary},
        {"kernel", o.kernel},
        {"xfsfuse", ctx.xfsfuse},
        {"uid", ctx.uid},
        {"root", ctx.uid == 0}}},
      {"host",
       {{"nproc", ctx.host.nproc},
        {"kernel", ctx.host.kernel},
        {"loadavg", {ctx.host.loadavg[0], ctx.host.loadavg[1], ctx.host.loadavg[2]}}}},
      {"runs", std::move(runs_json)},
      {"lazy_eager_unmap_ratio", ratio ? ojson(*ratio) : ojson(nullptr)}};
}

int write_json(const std::string& path, const ojson& j, std::string* err) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << j.dump(2) << "\n";
    out.flush();
    if (!out) {
      const int e = errno ? errno : EIO;
      *err = tmp + ": " + std::strerror(e);
      std::remove(tmp.c_str());
      return e;
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    *err = path + ": " + std::strerror(e);
    std::remove(tmp.c_str());
    return e;
  }
  return 0;
}

}  // namespace xfsfuse::tools::churn
