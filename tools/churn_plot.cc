#include "tools/churn_plot.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "tools/churn_exec.h"
#include "tools/churn_summary.h"

namespace xfsfuse::tools::churn {

namespace {

// "index wall_ms map_syscalls+1 unmap_syscalls+1" per traversal; "NaN" where
// n/a (gnuplot skips those points).  Counts are written plus one so that the
// log scale shows 0 (at 1) and 1 (at 2): lazy's counts are that small.
// *any_syscalls: some syscall count was positive.
int write_data(const Run& r, const std::string& path, bool* any_syscalls, std::string* err) {
  std::ofstream out(path, std::ios::trunc);
  out << "# " << r.policy << ": traversal wall_ms map_syscalls unmap_syscalls (drop + walk)\n";
  auto plus_one = [&](const std::optional<int64_t>& v) {
    if (!v) return std::string("NaN");
    if (*v > 0) *any_syscalls = true;
    return std::to_string(std::max<int64_t>(*v, 0) + 1);
  };
  for (const auto& t : r.traversals) {
    const Cycle c = cycle_of(t);
    out << t.index << ' ' << t.walk.ms << ' ' << plus_one(c.map_syscalls) << ' ' << plus_one(c.unmap_syscalls)
        << '\n';
  }
  out.flush();
  if (!out) {
    *err = path + ": " + std::strerror(errno ? errno : EIO);
    return EIO;
  }
  return 0;
}

}  // namespace

int write_plot(const std::vector<Run>& runs, const std::string& title, const std::string& dir, const std::string& out,
               std::string* err) {
  std::ostringstream wall, sys;
  bool any_syscalls = false;
  for (const Run& r : runs) {
    if (r.traversals.empty()) continue;
    const std::string data = dir + "/" + r.policy + ".dat";
    if (int e = write_data(r, data, &any_syscalls, err)) return e;
    const std::string colour = " lc rgb " + gnuplot_quoted(policy_colour(r.policy));
    wall << (wall.tellp() > 0 ? ", " : "plot ") << gnuplot_quoted(data) << " using 1:2 with linespoints" << colour
         << " title " << gnuplot_quoted(r.policy);
    if (r.policy == "kernel") continue;
    sys << (sys.tellp() > 0 ? ", " : "plot ") << gnuplot_quoted(data) << " using 1:3 with linespoints pt 7" << colour
        << " title " << gnuplot_quoted(r.policy + " map") << ", " << gnuplot_quoted(data) << " using 1:4 with linespoints pt 6"
        << " lc rgb " << gnuplot_quoted(policy_colour(r.policy, true)) << " title " << gnuplot_quoted(r.policy + " unmap");
  }
  const std::string script = dir + "/churn.gp";
  {
    std::ofstream gp(script, std::ios::trunc);
    // noenhanced: names like vmap_all are not subscripts; fixed margins line the panels up.
    gp << "set terminal png size 1000,900 noenhanced\n"
       << "set output " << gnuplot_quoted(out) << "\n"
       << "set multiplot layout 2,1 title " << gnuplot_quoted(title) << "\n"
       << "set lmargin at screen 0.09\nset rmargin at screen 0.74\n"
       << "set grid\nset key outside right\nset xlabel 'traversal'\nset xtics 1\n"
       << "set ylabel 'walk wall time, ms'\nset yrange [0:*]\n"
       << (wall.tellp() > 0 ? wall.str() : "plot 0 notitle") << "\n"
       << "set ylabel 'syscalls + 1 (drop + walk; log scale: 0 at 1)'\nset logscale y\nset yrange [0.8:*]\n"
       << (any_syscalls ? sys.str() : "plot 1 title 'no mapping syscalls'") << "\n"
       << "unset multiplot\n";
    gp.flush();
    if (!gp) {
      *err = script + ": " + std::strerror(errno ? errno : EIO);
      return EIO;
    }
  }
  return run_gnuplot(script, err);
}

std::string gnuplot_quoted(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("''") : std::string(1, c);
  return q + "'";
}

std::string policy_colour(const std::string& policy, bool unmap) {
  if (policy == "eager") return unmap ? "#ff9896" : "#d62728";
  if (policy == "lazy") return unmap ? "#9ecae1" : "#1f77b4";
  if (policy == "lazy-noref") return unmap ? "#fdae6b" : "#e6550d";
  return unmap ? "#aaaaaa" : "#555555";
}

int run_gnuplot(const std::string& script, std::string* err) {
  std::string output;
  int status = 0;
  if (int e = run_command({"gnuplot", script}, &output, &status)) {
    *err = e == ENOENT ? "gnuplot not found (Debian: gnuplot-nox)" : std::string("gnuplot: ") + std::strerror(e);
    return e == ENOENT ? ENOENT : EIO;
  }
  if (!exited_ok(status)) {
    *err = "gnuplot " + describe_status(status) + ":\n" + output;
    return EIO;
  }
  return 0;
}

}  // namespace xfsfuse::tools::churn
