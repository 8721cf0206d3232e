// tools/churn_run.h — one run of xfsfuse-churn: a mount (xfsfuse under one
// vmap policy, or the kernel's loop mount) and its traversals, each one
//
//   sample A -> drop caches -> sample B -> walk -> sample C
//
// where "drop caches" is, as root, sync + `echo 3 > /proc/sys/vm/drop_caches`
// (first: the kernel's FORGETs release the daemon's inodes), then for xfsfuse
// CtlFd::drop_caches.  drop = B - A, walk = C - B.  A policy's unmaps of the
// buffers the previous walk mapped happen in the drop (eager) or in a later
// purge, which may fall in the drop or in the walk (lazy), so only drop + walk
// compares policies.  Main thread only (the walk starts its own threads).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "tools/churn_progress.h"

namespace xfsfuse::tools::churn {

/// Dotted counter names ("vmap.map_syscalls") and values or deltas, in the
/// daemon's order.  Deltas are signed: gauges (vmap.parked_areas) can fall.
using Counters = std::vector<std::pair<std::string, int64_t>>;

/// The value of name in c, 0 if absent.
int64_t get(const Counters& c, const std::string& name);

/// One measured interval (the drop, or the walk).
struct Phase {
  double ms = 0;                          ///< wall time, milliseconds
  std::optional<int64_t> tlb_shootdowns;  ///< whole machine; none without a TLB row
  std::optional<int64_t> ctxt_daemon;     ///< the xfsfuse daemon's threads; none for the kernel
  int64_t ctxt_system = 0;                ///< whole machine (/proc/stat ctxt)
  std::optional<Counters> counters;       ///< the driver's counter deltas; none for the kernel
  // The drop only: its two parts.
  std::optional<double> kernel_ms;  ///< sync + drop_caches; none when not root or for the walk
  std::optional<double> driver_ms;  ///< CtlFd::drop_caches (the driver's unmaps); none for the kernel
};

/// One traversal: its drop and its walk.
struct Traversal {
  uint32_t index = 0;  ///< 1-based
  uint64_t entries = 0;
  double loadavg = 0;  ///< 1-minute load average when the walk started
  Phase drop, walk;
  std::optional<Counters> after;  ///< every driver counter after the walk (gauges read here)
};

/// One mount's traversals.
struct Run {
  std::string policy;         ///< eager, lazy, lazy-noref, or kernel
  std::string mount_options;  ///< xfsfuse's -o string, or mount(8)'s
  nlohmann::json daemon_options;  ///< the "options" of the daemon's stats; null for the kernel
  std::vector<Traversal> traversals;  ///< those that completed
  std::string error;  ///< why the run stopped early; empty if it completed
};

/// What every run shares.
struct RunConfig {
  std::string xfsfuse;  ///< the driver binary
  std::string image;    ///< absolute path
  std::string mnt;      ///< the (empty) mount directory
  std::string workdir;  ///< where daemon logs go
  uint32_t traversals = 1, batch = 64, threads = 1, cache_mb = 0;
  bool vmap_all = true;
  bool rw = false;    ///< mount read-write (the dirstress workload)
  bool root = false;  ///< drop the kernel's caches too
};

/// Everything read at one instant between phases.
struct Sample {
  std::chrono::steady_clock::time_point t;
  std::optional<uint64_t> tlb;          ///< TLB shootdowns, whole machine
  std::optional<uint64_t> ctxt_daemon;  ///< the daemon's context switches; none for the kernel
  uint64_t ctxt_system = 0;
  std::optional<std::vector<std::pair<std::string, uint64_t>>> counters;  ///< the driver's, dotted
};

class FuseDaemon;

/// Reads a sample; daemon is null for the kernel.  Returns 0 or an errno with *err.
int take_sample(const FuseDaemon* daemon, Sample* s, std::string* err);

/// b - a: wall time, TLB shootdowns, context switches, counter by counter
/// (names in b's order; a name only in a counts as 0 in b).
Phase diff(const Sample& a, const Sample& b);

/// xfsfuse's -o string for policy: ro|rw,vmap=P,vmap_batch=B[,vmap_all][,cache_mb=N].
std::string fuse_options(const RunConfig& cfg, const std::string& policy);

/// Mounts the image with xfsfuse under policy and runs cfg.traversals
/// traversals into *run.  *expected_entries: 0, or what every traversal must
/// see (set from the first traversal when 0).  Returns 0, EINTR once *stop is
/// true, or an errno with run->error set (a failed mount, walk, sample, a
/// traversal that saw another number of entries, or a daemon that did not
/// exit 0 after the unmount).  Nothing stays mounted on return.
int run_fuse(const RunConfig& cfg, const std::string& policy, const std::atomic<bool>* stop, Progress* progress,
             uint64_t* expected_entries, Run* run);

/// The same traversals on the kernel's read-only loop mount (root).
int run_kernel(const RunConfig& cfg, const std::atomic<bool>* stop, Progress* progress, uint64_t* expected_entries,
               Run* run);

}  // namespace xfsfuse::tools::churn
