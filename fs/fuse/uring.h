// fs/fuse/uring.h — FUSE over io_uring (-o io_uring; the default when the
// fuse module's enable_uring is Y): requests reach the daemon through one
// io_uring per CPU instead of read(2) on /dev/fuse, and each is answered by a
// thread pinned to the CPU that made it.
//
// Why: a request read from /dev/fuse wakes whichever daemon thread waits
// longest, usually on the other CPU, and its reply wakes the caller back
// across CPUs; on a virtual machine each such wake-up of an idle CPU is
// costly (docs/performance.md, "FUSE over io_uring": a round trip 17-20 µs
// across CPUs, 6 µs on one).  The kernel (6.14+, with its fuse module's
// enable_uring parameter set) queues a request on the ring of the CPU its
// caller runs on, so caller and daemon stay on one CPU.  libfuse 3.14
// (Debian 12) cannot speak it; this file does the transport and hands each
// request to libfuse's own decoder (fuse_session_process_buf), so every op
// handler is unchanged.  The ABI and the rules the code relies on are in
// docs/fuse-io-uring.md.
//
// How: attach() installs read/writev hooks on the session
// (fuse_session_custom_io).  The read hook spots the kernel's INIT and
// whether it offers FUSE_OVER_IO_URING; the writev hook adds that flag to
// libfuse's INIT reply when every queue's ring was made, and after the reply
// lets the queue threads register their entries.  From then on the kernel
// sends every request but FORGET and INTERRUPT through the rings (those two,
// and notifications, stay on /dev/fuse with libfuse's own loop).  A queue
// thread copies a request's headers in front of its payload, calls
// fuse_session_process_buf, and the writev hook, called by the op's reply on
// that same thread, puts the reply in the ring entry; the thread then
// commits it and fetches the next request in one command.  FSYNC and
// FSYNCDIR wait for the disk: the queue thread hands them to a helper thread
// and serves on; the helper's reply goes into the entry the same way, and the
// queue thread commits it when the helper says so (an eventfd polled on the
// ring; docs/fuse-io-uring.md, "Requests that wait").
// Constraint: an op must reply on the thread that got the request (all of
// fs/fuse's ops do); a reply from elsewhere is refused (EIO to the caller of
// fuse_reply_*) and logged.
// Thread safety: attach() and stop() from the thread that runs the session;
// the hooks from any thread; stats() from any thread.
#pragma once

#include <fuse_lowlevel.h>

#include <cstdint>
#include <memory>

#include "fs/fuse/ring_sched.h"

namespace xfsfuse::fuse {

/// Counters of the io_uring transport (fuse.uring_* in the stats).
struct UringStats {
  unsigned queues = 0;      ///< queues whose entries the kernel took (0: the transport was not used)
  uint64_t requests = 0;    ///< requests served through the rings
  uint64_t handed_off = 0;  ///< of those, served by a helper thread (fsync, fsyncdir: they wait for the disk)
  RingSchedStats sched;     ///< the queue threads' scheduling (fs/fuse/ring_sched.h)
};

class UringTransport {
 public:
  UringTransport();
  ~UringTransport();  ///< stop()
  UringTransport(const UringTransport&) = delete;
  UringTransport& operator=(const UringTransport&) = delete;

  /// Makes one io_uring (SQE128) and one thread per possible CPU (and as many
  /// helpers for fsync and fsyncdir) and installs the hooks on se.  Call
  /// after fuse_session_mount(), before the loop; one transport per process.
  /// Returns 0, or an errno (io_uring_setup's: ENOSYS, EPERM when io_uring is
  /// disabled) with se left as it was.  Whether the rings are used is the
  /// kernel's choice at INIT: without enable_uring it does not offer them,
  /// the hooks pass everything through, and a line on stderr says so (when
  /// report).  sched_idle (-o ring_sched=idle): the queue threads run under
  /// SCHED_IDLE while it is safe (fs/fuse/ring_sched.h); if the process may
  /// not do that, they do not, and a line on stderr says so (when report).
  int attach(fuse_session* se, bool sched_idle, bool report);

  /// Stops and joins the queue threads, then the helpers (their rings cancel
  /// the commands the kernel holds).  Call after the loop returned, before
  /// fuse_session_unmount(); safe to call twice.
  void stop();

  UringStats stats() const;

  /// Whether the fuse module's enable_uring parameter is Y now (so that the
  /// kernel will offer the rings at INIT): /sys/module/fuse/parameters/
  /// enable_uring; false when it does not exist (a kernel without
  /// CONFIG_FUSE_IO_URING, or before 6.14).
  static bool kernel_enabled();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace xfsfuse::fuse
