// tools/churn_dsreport.h — the table, JSON report (README "xfsfuse-churn",
// workload dirstress; version 1) and PNG of xfsfuse-churn's dirstress
// workload.  Main thread only.
#pragma once

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tools/churn_dirstress.h"
#include "tools/churn_report.h"

namespace xfsfuse::tools::churn {

/// One row per run (workload + drop counts), a legend, and per pool lazy's
/// unmapping syscalls over eager's.
void print_dirstress_table(FILE* f, const std::vector<DirstressRun>& runs);

/// lazy's unmapping syscalls over eager's on pool, if both ran there and
/// eager made any.
std::optional<double> dirstress_unmap_ratio(const std::vector<DirstressRun>& runs, const std::string& pool);

/// The JSON report.  ctx.image is unused (every run has its own copy).
nlohmann::ordered_json dirstress_json(const ReportContext& ctx, const std::string& fsck,
                                      const std::vector<DirstressRun>& runs);

/// A two-panel PNG: the workload's wall time per run (the kernel's too), and
/// map and unmapping syscalls and scattered allocations per run, log scale.
/// Script and data go to dir.  Returns 0; ENOENT without gnuplot; EIO with
/// gnuplot's output in *err.
int write_dirstress_plot(const std::vector<DirstressRun>& runs, const std::string& title, const std::string& dir,
                         const std::string& out, std::string* err);

}  // namespace xfsfuse::tools::churn
