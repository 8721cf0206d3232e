// tools/dirstress_stats.h — per-worker counters of xfsfuse-dirstress and their
// sum: calls and failures (by errno) per kind of call, latency histograms,
// and the JSON report (README "xfsfuse-dirstress" lists its keys).
//
// WorkerStats is plain memory so that it can live in a MAP_SHARED mapping that
// forked workers write; each worker writes only its own, the parent reads
// them after the worker ended, except `progress`, which it reads while the
// worker runs (an atomic, lock-free, so it works across processes too).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "tools/dirstress_phases.h"

namespace xfsfuse::tools::dirstress {

/// errno values 1..kErrnoSlots-1 are counted one by one; slot 0 holds the rest
/// (and kAnyError never reaches here: real calls give real errno values).
inline constexpr int kErrnoSlots = 140;
/// Latency buckets: log-linear, 8 per power of two (at most 12.5% wide).
inline constexpr int kLatencyBuckets = 512;

/// Bucket of a latency in nanoseconds, and the middle of a bucket's range.
int latency_bucket(uint64_t ns);
uint64_t bucket_middle_ns(int bucket);

struct KindStats {
  uint64_t ops = 0;
  uint64_t errors[kErrnoSlots] = {};
  uint64_t latency[kLatencyBuckets] = {};

  void add(int err, uint64_t ns);
  void merge(const KindStats& o);
  uint64_t failed() const;
  /// The q-quantile (0..1) of the latencies, in nanoseconds (bucket middle); 0 if no calls.
  uint64_t quantile_ns(double q) const;
};

struct WorkerStats {
  std::atomic<uint64_t> progress{0};  ///< calls made so far (read by the progress line)
  std::atomic<int> done{0};           ///< 1 once the worker ended (thread workers)
  int status = 0;                     ///< the worker's exit status (thread workers)
  int verify_failed = 0;              ///< 1: --verify found a difference
  int64_t end_ns = 0;                 ///< when the worker ended: steady_clock (CLOCK_MONOTONIC), ns
  KindStats kinds[kOpKinds];

  void add(const OpRecord& r, uint64_t ns) {
    kinds[static_cast<int>(r.kind)].add(r.err, ns);
    progress.fetch_add(1, std::memory_order_relaxed);
  }
};
static_assert(std::atomic<uint64_t>::is_always_lock_free, "shared with forked workers");

/// The name of a positive errno ("ENOENT"), "E<n>" for unknown ones, "other" for slot 0.
std::string errno_name(int err);

/// The report: see README "xfsfuse-dirstress".  totals: the sum of every
/// worker's counters; seconds: wall time of the workers.
nlohmann::json stats_json(const KindStats (&totals)[kOpKinds], double seconds);

}  // namespace xfsfuse::tools::dirstress
