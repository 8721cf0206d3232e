// tools/churn_dirstress.h — xfsfuse-churn's dirstress workload: one run per
// (pool, policy), each on a fresh rw mount of a fresh copy of one empty image:
//
//   copy the image -> mount rw -> sample A -> dirstress -> sample B
//     -> drop caches -> sample C -> unmount -> xfsfuse-fsck -n the copy
//
// workload = B - A, drop = C - B (as root: sync + drop_caches, then the
// driver's CtlFd::drop_caches).  As in the traversal workload, counts are
// compared over workload + drop, since eager unmaps while the buffers go and
// lazy later, in a purge.  The kernel's run (root) is the same on a rw loop
// mount of another copy, without driver counters.  Main thread only; the
// workload forks its workers (or starts threads) and waits for them.
#pragma once

#include <atomic>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tools/churn_options.h"
#include "tools/churn_progress.h"
#include "tools/churn_run.h"
#include "tools/churn_summary.h"

namespace xfsfuse::tools::churn {

/// Size of the image dirstress runs on, bytes (a sparse file): room for
/// 100,000 entries with 64 KiB directory blocks.
inline constexpr uint64_t kDirstressImageBytes = 1ull << 30;

/// Makes the empty image every run copies: `mkfs.xfs -q -f -n size=65536` on
/// a sparse file of kDirstressImageBytes at path.  Returns 0, or EIO with
/// mkfs.xfs's output in *err.
int make_dirstress_image(const std::string& path, std::string* err);

/// xfsfuse-fsck -n's answer on a run's image.
struct FsckResult {
  std::string verdict;  ///< "clean", "problems", or "error"
  int exit_status = -1; ///< 0 clean, 1 problems, 8 operational error, 16 usage; -1 not run
  std::string output;   ///< its stdout and stderr, at most 4 KiB
};

/// One run of the workload.
struct DirstressRun {
  std::string policy;   ///< eager, lazy, lazy-noref, or kernel
  std::string pool;     ///< "default" or "vmap_all"; "" for the kernel
  std::string mount_options;
  nlohmann::json daemon_options;   ///< the daemon's "options"; null for the kernel
  std::optional<Phase> workload;   ///< set once the workload ran
  std::optional<Phase> drop;       ///< set once the caches were dropped after it
  std::optional<Counters> after;   ///< every driver counter after the drop (gauges read here)
  std::optional<double> unmount_ms;
  double loadavg = 0;              ///< 1-minute load average when the workload started
  nlohmann::json dirstress;        ///< the workload's stats (README "xfsfuse-dirstress") + status; null if not run
  int workers_failed = 0;
  FsckResult fsck;
  std::string error;               ///< why the run failed; empty if it did not
};

/// What every run shares.
struct DirstressConfig {
  RunConfig run;          ///< xfsfuse, mnt (empty directory), workdir, batch, cache_mb, root; image unused
  std::string template_image;  ///< the empty image each run copies
  std::string fsck;       ///< xfsfuse-fsck
  dirstress::Options workload;  ///< dir is set per run
};

/// Runs the workload on xfsfuse under policy with pool ("default" or
/// "vmap_all").  Returns 0, EINTR once *stop is true, or an errno with
/// run->error set.  Nothing stays mounted on return; the copy is removed.
int run_dirstress_fuse(const DirstressConfig& cfg, const std::string& pool, const std::string& policy,
                       const std::atomic<bool>* stop, Progress* progress, DirstressRun* run);

/// The same on the kernel's rw loop mount (root).
int run_dirstress_kernel(const DirstressConfig& cfg, const std::atomic<bool>* stop, Progress* progress,
                         DirstressRun* run);

/// workload + drop in the table's terms (Cycle of churn_summary.h).
Cycle dirstress_cycle(const DirstressRun& run);

}  // namespace xfsfuse::tools::churn
