// tools/churn_proc.h — what xfsfuse-churn samples from /proc around each
// traversal, and the kernel's cache drop.
//
// Each reader returns 0 or a positive errno (ENOENT also when the file has no
// such row, e.g. no TLB row on a non-x86 kernel).  No state; any thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace xfsfuse::tools::churn {

/// TLB-shootdown interrupts since boot, whole machine: the sum of the per-CPU
/// columns of the "TLB:" row of /proc/interrupts (x86 only).
int read_tlb_shootdowns(uint64_t* out);

/// Context switches since boot, whole machine: the "ctxt" line of /proc/stat.
int read_ctxt_system(uint64_t* out);

/// Context switches of every thread of process pid so far: the sum of
/// voluntary_ctxt_switches + nonvoluntary_ctxt_switches over
/// /proc/PID/task/*/status.  (Threads that already exited are not counted.)
int read_ctxt_process(pid_t pid, uint64_t* out);

/// The 1-minute load average, the first number of /proc/loadavg.
int read_loadavg1(double* out);

/// The three load averages (1, 5, 15 minutes) of /proc/loadavg.
int read_loadavg(double out[3]);

/// As root: sync(), then "3" into /proc/sys/vm/drop_caches (page cache,
/// dentries and inodes).  Returns 0, or the errno with *err.
int drop_kernel_caches(std::string* err);

}  // namespace xfsfuse::tools::churn
