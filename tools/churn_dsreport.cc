#include "tools/churn_dsreport.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "tools/churn_plot.h"
#include "tools/churn_summary.h"

namespace xfsfuse::tools::churn {

namespace {

using ojson = nlohmann::ordered_json;

ojson opt_ms(const std::optional<double>& v) { return v ? ojson(*v) : ojson(nullptr); }

uint64_t ops_of(const DirstressRun& r) {
  return r.dirstress.is_object() && r.dirstress.contains("ops") ? r.dirstress["ops"].get<uint64_t>() : 0;
}

std::optional<double> workload_ms(const DirstressRun& r) {
  return r.workload ? std::optional<double>(r.workload->ms) : std::nullopt;
}

// The sums of lazy's and eager's unmapping syscalls on pool; false unless both ran.
bool unmap_sums(const std::vector<DirstressRun>& runs, const std::string& pool, int64_t* lazy, int64_t* eager) {
  const DirstressRun *l = nullptr, *e = nullptr;
  for (const auto& r : runs) {
    if (r.pool != pool) continue;
    if (r.policy == "lazy") l = &r;
    if (r.policy == "eager") e = &r;
  }
  if (!l || !e) return false;
  *lazy = dirstress_cycle(*l).unmap_syscalls.value_or(0);
  *eager = dirstress_cycle(*e).unmap_syscalls.value_or(0);
  return true;
}

std::vector<std::string> pools_of(const std::vector<DirstressRun>& runs) {
  std::vector<std::string> pools;
  for (const auto& r : runs)
    if (!r.pool.empty() && std::find(pools.begin(), pools.end(), r.pool) == pools.end()) pools.push_back(r.pool);
  return pools;
}

ojson run_json(const DirstressRun& r) {
  return ojson{{"policy", r.policy},
               {"pool", r.pool.empty() ? ojson(nullptr) : ojson(r.pool)},
               {"ok", r.error.empty()},
               {"error", r.error.empty() ? ojson(nullptr) : ojson(r.error)},
               {"mount_options", r.mount_options},
               {"daemon_options", ojson::parse(r.daemon_options.dump())},
               {"wall_ms", opt_ms(workload_ms(r))},
               {"loadavg", r.loadavg},
               {"unmount_ms", opt_ms(r.unmount_ms)},
               {"workload", r.workload ? phase_json(*r.workload) : ojson(nullptr)},
               {"drop", r.drop ? phase_json(*r.drop) : ojson(nullptr)},
               {"cycle", cycle_json(dirstress_cycle(r))},
               {"after", counters_json(r.after)},
               {"dirstress", ojson::parse(r.dirstress.dump())},
               {"fsck",
                {{"verdict", r.fsck.verdict},
                 {"exit_status", r.fsck.exit_status},
                 {"output", r.fsck.output}}}};
}

}  // namespace

void print_dirstress_table(FILE* f, const std::vector<DirstressRun>& runs) {
  std::fprintf(f,
               "Counts cover each run's workload + the cache drop after it.  ms: the workload; drop_ms: the\n"
               "driver's cache drop; umount_ms: the unmount (write-back); ops: dirstress's calls.  unmap_sys =\n"
               "unmap_syscalls + purge_syscalls.  scat_alloc = pool.scattered_allocs: multi-page buffers\n"
               "(16 KiB inode clusters, 64 KiB directory blocks) that got no contiguous run of pool pages;\n"
               "slot_maps = vmap.scattered_maps: maps through a vmap slot (on the default pool the maps of\n"
               "scattered buffers and their alias reuses; with vmap_all every multi-page buffer's).  tlb, ctxt:\n"
               "whole machine; ctxt_d: the xfsfuse daemon's.  fsck: xfsfuse-fsck -n after the unmount.\n\n");
  std::fprintf(f, "%-10s %-8s %9s %7s %9s %5s %7s %7s %7s %9s %6s %6s %5s %10s %9s %6s %8s %7s %s\n", "policy", "pool",
               "ms", "drop_ms", "umount_ms", "load", "ops", "maps", "map_sys", "unmap_sys", "purges", "alias", "stale",
               "scat_alloc", "slot_maps", "tlb", "ctxt", "ctxt_d", "fsck");
  for (const auto& r : runs) {
    const Cycle c = dirstress_cycle(r);
    char load[32];
    std::snprintf(load, sizeof load, "%.2f", r.loadavg);
    std::fprintf(f, "%-10s %-8s %9s %7s %9s %5s %7llu %7s %7s %9s %6s %6s %5s %10s %9s %6s %8s %7s %s\n",
                 r.policy.c_str(), r.pool.empty() ? "-" : r.pool.c_str(), cell_ms(workload_ms(r)).c_str(),
                 cell_ms(r.drop ? r.drop->driver_ms : std::nullopt).c_str(), cell_ms(r.unmount_ms).c_str(), load,
                 static_cast<unsigned long long>(ops_of(r)), cell_count(c.maps).c_str(),
                 cell_count(c.map_syscalls).c_str(), cell_count(c.unmap_syscalls).c_str(), cell_count(c.purges).c_str(),
                 cell_count(c.alias_reuses).c_str(), cell_count(c.stale_alias_reuse).c_str(),
                 cell_count(c.scattered_allocs).c_str(), cell_count(c.scattered_maps).c_str(),
                 cell_count(r.workload && r.drop ? c.tlb_shootdowns : std::nullopt).c_str(),
                 std::to_string(c.ctxt_system).c_str(), cell_count(c.ctxt_daemon).c_str(),
                 r.fsck.verdict.empty() ? "n/a" : r.fsck.verdict.c_str());
    if (!r.error.empty()) std::fprintf(f, "%-10s FAILED: %s\n", r.policy.c_str(), r.error.c_str());
  }
  for (const auto& pool : pools_of(runs)) {
    int64_t lazy = 0, eager = 0;
    if (!unmap_sums(runs, pool, &lazy, &eager)) continue;
    std::fprintf(f, "\nunmapping syscalls, lazy / eager (pool %s): %lld / %lld", pool.c_str(),
                 static_cast<long long>(lazy), static_cast<long long>(eager));
    if (eager > 0 && lazy > 0)
      std::fprintf(f, " = %.4f (1/%.1f)", double(lazy) / double(eager), double(eager) / double(lazy));
    else
      std::fprintf(f, "%s", eager > 0 ? " = 0" : " (eager made none: no ratio)");
  }
  std::fprintf(f, "\n");
}

std::optional<double> dirstress_unmap_ratio(const std::vector<DirstressRun>& runs, const std::string& pool) {
  int64_t lazy = 0, eager = 0;
  if (!unmap_sums(runs, pool, &lazy, &eager) || eager <= 0) return std::nullopt;
  return double(lazy) / double(eager);
}

ojson dirstress_json(const ReportContext& ctx, const std::string& fsck, const std::vector<DirstressRun>& runs) {
  const Options& o = *ctx.options;
  const dirstress::Options& d = o.dirstress;
  ojson runs_json = ojson::array();
  for (const auto& r : runs) runs_json.push_back(run_json(r));
  ojson ratio = ojson::object();
  for (const auto& pool : o.pools) {
    const auto v = dirstress_unmap_ratio(runs, pool);
    ratio[pool] = v ? ojson(*v) : ojson(nullptr);
  }
  return ojson{
      {"version", 1},
      {"tool", "xfsfuse-churn"},
      {"workload", "dirstress"},
      {"config",
       {{"workload", "dirstress"},
        {"policies", o.policies},
        {"pools", o.pools},
        {"batch", o.batch},
        {"cache_mb", o.cache_mb ? ojson(o.cache_mb) : ojson(nullptr)},
        {"image_bytes", kDirstressImageBytes},
        {"mkfs", "mkfs.xfs -q -f -n size=65536"},
        {"kernel", o.kernel},
        {"xfsfuse", ctx.xfsfuse},
        {"fsck", fsck},
        {"uid", ctx.uid},
        {"root", ctx.uid == 0},
        {"dirstress",
         {{"args", o.dirstress_args},
          {"nprocs", d.nprocs},
          {"nfiles", d.nfiles},
          {"procs_per_dir", d.procs_per_dir},
          {"seed", d.seed},
          {"keep", d.keep},
          {"check", d.check},
          {"create_only", d.create_only},
          {"threads", d.threads},
          {"verify", d.verify}}}}},
      {"host",
       {{"nproc", ctx.host.nproc},
        {"kernel", ctx.host.kernel},
        {"loadavg", {ctx.host.loadavg[0], ctx.host.loadavg[1], ctx.host.loadavg[2]}}}},
      {"runs", std::move(runs_json)},
      {"lazy_eager_unmap_ratio", std::move(ratio)}};
}

int write_dirstress_plot(const std::vector<DirstressRun>& runs, const std::string& title, const std::string& dir,
                         const std::string& out, std::string* err) {
  // One line per run: index, label, wall ms, map+1, unmap+1, scattered allocs+1,
  // colour (0xRRGGBB).  Counts plus one so that the log scale shows 0 (at 1).
  const std::string data = dir + "/dirstress.dat";
  {
    std::ofstream d(data, std::ios::trunc);
    d << "# run label wall_ms map_syscalls+1 unmap_syscalls+1 scattered_allocs+1 colour\n";
    int i = 0;
    for (const auto& r : runs) {
      const Cycle c = dirstress_cycle(r);
      auto plus_one = [](const std::optional<int64_t>& v) {
        return v ? std::to_string(std::max<int64_t>(*v, 0) + 1) : std::string("NaN");
      };
      const auto w = workload_ms(r);
      d << i++ << " \"" << r.policy << (r.pool.empty() ? "" : "\\n" + r.pool) << "\" "
        << (w ? std::to_string(*w) : std::string("NaN")) << ' ' << plus_one(c.map_syscalls) << ' '
        << plus_one(c.unmap_syscalls) << ' ' << plus_one(c.scattered_allocs) << ' '
        << std::stoul(policy_colour(r.policy).substr(1), nullptr, 16) << '\n';
    }
    d.flush();
    if (!d) {
      *err = data + ": " + std::strerror(errno ? errno : EIO);
      return EIO;
    }
  }
  const std::string q = gnuplot_quoted(data);
  const std::string script = dir + "/dirstress.gp";
  {
    std::ofstream gp(script, std::ios::trunc);
    gp << "set terminal png size 1000,900 noenhanced\n"
       << "set output " << gnuplot_quoted(out) << "\n"
       << "set multiplot layout 2,1 title " << gnuplot_quoted(title) << "\n"
       << "set lmargin at screen 0.12\nset rmargin at screen 0.80\n"
       << "set grid ytics\nset key outside right\nset xrange [-0.6:" << runs.size() - 0.4 << "]\n"
       << "set style fill solid 0.8\nset boxwidth 0.6\n"
       << "set bmargin 3.5\nset ylabel 'workload wall time, ms'\nset yrange [0:*]\n"
       << "plot " << q << " using 1:3:7:xtic(2) with boxes lc rgb variable notitle\n"
       << "set ylabel 'workload + drop, count + 1 (log)'\n"
       << "set logscale y\nset yrange [0.8:*]\nset offsets 0, 0, graph 0.08, 0\n"
       << "plot " << q << " using ($1-0.15):4:7:xtic(2) with points pt 7 ps 2 lc rgb variable notitle, " << q
       << " using 1:5:7 with points pt 6 ps 2 lc rgb variable notitle, " << q
       << " using ($1+0.15):6:7 with points pt 5 ps 1.5 lc rgb variable notitle, "
       << "keyentry with points pt 7 ps 2 lc rgb 'black' title 'map syscalls', "
       << "keyentry with points pt 6 ps 2 lc rgb 'black' title 'unmapping syscalls', "
       << "keyentry with points pt 5 ps 1.5 lc rgb 'black' title 'scattered allocs'\n"
       << "unset multiplot\n";
    gp.flush();
    if (!gp) {
      *err = script + ": " + std::strerror(errno ? errno : EIO);
      return EIO;
    }
  }
  return run_gnuplot(script, err);
}

}  // namespace xfsfuse::tools::churn
