// tools/dirstress_run.h — xfsfuse-dirstress's workers and the run that starts
// them: dirstress's semantics (xfstests src/dirstress.c) on any directory.
//
// Worker i works in DIR/stressdir/stress.(i / procs_per_dir): it makes both
// directories (EEXIST is fine), runs the phases of dirstress_phases.h there
// with every worker's scramble drawing the same seeded sequence (as dirstress's
// forked children inherit one random() state), then, without -k, removes
// stress.N and tries stressdir (failures there count only with -c).  -C ends
// the worker after a successful create, leaving the entries.
// The run is usable by other tools (xfsfuse-churn's dirstress workload): it
// prints nothing on stdout; per-call messages (-v) and failures go to stderr.
#pragma once

#include <cstdint>
#include <memory>

#include "tools/dirstress_options.h"
#include "tools/dirstress_stats.h"

namespace xfsfuse::tools::dirstress {

/// What a run did.
struct RunResult {
  int exit_status = 0;           ///< dirstress's: the sum of the workers' statuses, at most 255
  uint32_t failed_workers = 0;   ///< workers that ended with a nonzero status or a signal
  uint32_t verify_failed = 0;    ///< workers whose --verify found a difference
  double seconds = 0;            ///< from the first worker's start to the last one's end
  KindStats totals[kOpKinds];    ///< every worker's calls, summed
};

/// Runs o's workers (processes, or threads with o.threads) and waits for them.
/// progress: draw a progress line on stderr (the caller checks isatty).
/// Returns 0, or a positive errno when the run could not start (DIR cannot be
/// opened, fork or mmap failed); workers' failures are in *out.
int run_dirstress(const Options& o, bool progress, std::unique_ptr<RunResult>* out);

/// One worker's whole life in the calling thread; basefd: DIR, opened.
/// Returns its exit status (0, or 1 on a failure dirstress counts).
int run_worker(const Options& o, uint32_t index, int basefd, WorkerStats* st);

}  // namespace xfsfuse::tools::dirstress
