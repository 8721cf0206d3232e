// tools/churn_report.h — xfsfuse-churn's terminal table and JSON report
// (keys: README, "xfsfuse-churn"; version 1, stable).  Main thread only.
#pragma once

#include <sys/types.h>

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tools/churn_options.h"
#include "tools/churn_run.h"
#include "tools/churn_summary.h"

namespace xfsfuse::tools::churn {

/// The machine a report was measured on.
struct Host {
  long nproc = 0;        ///< online CPUs
  std::string kernel;    ///< uname -r
  double loadavg[3]{};   ///< 1, 5, 15 minutes, at the start
};

/// Everything a report is made of besides the runs.
struct ReportContext {
  const Options* options = nullptr;
  std::string image;            ///< absolute path
  bool image_temporary = false; ///< built for this run and removed at exit
  std::string xfsfuse;          ///< the driver binary used
  uid_t uid = 0;
  Host host;
};

/// One row per (run, traversal) and a summary row per run, with a legend.
void print_table(FILE* f, const std::vector<Run>& runs);

/// lazy's unmapping syscalls over eager's (sums over their traversals), if
/// both ran and eager made any.
std::optional<double> lazy_eager_unmap_ratio(const std::vector<Run>& runs);

/// The JSON report.
nlohmann::ordered_json report_json(const ReportContext& ctx, const std::vector<Run>& runs);

/// A phase as JSON: ms, kernel_ms, driver_ms, tlb_shootdowns, ctxt_daemon,
/// ctxt_system, counters (null where absent).
nlohmann::ordered_json phase_json(const Phase& p);

/// A cycle as JSON: its fields by name, null where absent.
nlohmann::ordered_json cycle_json(const Cycle& c);

/// Counters as one JSON object by dotted name; null if absent.
nlohmann::ordered_json counters_json(const std::optional<Counters>& c);

/// Writes j (indented) to path through path.tmp + rename.  Returns 0 or the
/// errno with *err.
int write_json(const std::string& path, const nlohmann::ordered_json& j, std::string* err);

}  // namespace xfsfuse::tools::churn
