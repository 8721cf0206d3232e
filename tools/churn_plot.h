// tools/churn_plot.h — xfsfuse-churn's PNG: gnuplot (Debian: gnuplot-nox)
// run on a generated script, one data file per run.  Main thread only.
#pragma once

#include <string>
#include <vector>

#include "tools/churn_run.h"

namespace xfsfuse::tools::churn {

/// Writes a two-panel PNG to out: wall ms of each traversal's walk, one line
/// per run (the kernel's too); and mapping syscalls per traversal (drop + walk)
/// on a log scale, map syscalls with filled and unmapping syscalls with open
/// circles (libgd's png terminal draws no dashes), one colour per policy.  Script and data go to dir (which must exist).  Returns 0;
/// ENOENT when gnuplot is not installed; EIO with gnuplot's output in *err.
int write_plot(const std::vector<Run>& runs, const std::string& title, const std::string& dir, const std::string& out,
               std::string* err);

/// s as a gnuplot single-quoted string (a quote inside written twice).
std::string gnuplot_quoted(const std::string& s);

/// One fixed colour per policy ("#rrggbb"), so plots of different runs compare
/// at a glance: the policy's own hue, dark for map (and wall time), light for
/// unmap; grey for the kernel.
std::string policy_colour(const std::string& policy, bool unmap = false);

/// Runs gnuplot on script.  Returns 0; ENOENT when gnuplot is not installed;
/// EIO with gnuplot's output in *err.
int run_gnuplot(const std::string& script, std::string* err);

}  // namespace xfsfuse::tools::churn
