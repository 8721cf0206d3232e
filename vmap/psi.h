// vmap/psi.h — optional memory-pressure trigger on /proc/pressure/memory.
//
// Registers a PSI trigger (Documentation/accounting/psi.rst: write
// "some <stall us> <window us>" to the file, then poll for POLLPRI) and runs a
// thread that calls ShrinkerRegistry::shrink(SIZE_MAX) each time the trigger
// fires.  Off unless a caller starts it (tests leave it off).
//
// Thread safety: create and destroy from one thread; the poll thread only
// touches the registry (thread-safe) and its own counters.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "vmap/shrinker.h"

namespace xfsfuse::vmap {

struct PsiOptions {
  std::string path = "/proc/pressure/memory";
  uint32_t stall_us = 150000;    ///< "some" stall time within the window that fires the trigger
  uint32_t window_us = 2000000;  ///< window; unprivileged triggers need a multiple of 2 s
};

class PsiMonitor {
 public:
  /// Opens the PSI file, writes the trigger and starts the poll thread.
  /// Returns 0 or an errno: ENOENT when the kernel has no PSI, EACCES/EPERM
  /// when the trigger may not be set, EINVAL for a trigger the kernel rejects.
  static int start(ShrinkerRegistry* registry, const PsiOptions& opts, std::unique_ptr<PsiMonitor>* out);
  /// Stops and joins the poll thread.
  ~PsiMonitor();
  PsiMonitor(const PsiMonitor&) = delete;
  PsiMonitor& operator=(const PsiMonitor&) = delete;

  /// Times the trigger fired (and the registry was asked to shrink).
  uint64_t events() const { return events_.load(std::memory_order_relaxed); }

 private:
  PsiMonitor(ShrinkerRegistry* registry, int psi_fd, int stop_fd);
  void loop();

  ShrinkerRegistry* const registry_;
  const int psi_fd_;
  const int stop_fd_;  // eventfd: written by the destructor to wake poll()
  std::atomic<uint64_t> events_{0};
  std::thread thread_;
};

}  // namespace xfsfuse::vmap
