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

/// Writes j (indented) to path through path.tmp + rename.  Returns 0 or the
/// errno with *err.
int write_json(const std::string& path, const nlohmann::ordered_json& j, std::string* err);

}  // namespace xfsfuse::tools::churn
