// tools/churn_mount.h — mounts for xfsfuse-churn: an xfsfuse daemon in the
// foreground (our child, its own process group), and the kernel's read-only
// loop mount of the same image (read-only, or rw for the dirstress workload).
//
// Both unmount in their destructors if still mounted (errors ignored there),
// so an early return or an exception never leaves a mount behind.  Call from
// the main thread.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <string>
#include <vector>

#include "tools/ctl_client.h"

namespace xfsfuse::tools::churn {

/// One `xfsfuse IMAGE MNT -f -o OPTS` daemon and its control channel.
class FuseDaemon {
 public:
  FuseDaemon() = default;
  FuseDaemon(const FuseDaemon&) = delete;
  FuseDaemon& operator=(const FuseDaemon&) = delete;
  ~FuseDaemon();

  /// Starts xfsfuse (stdout and stderr to log_path) and polls CtlFd::open(mnt)
  /// until it answers or `timeout` passes.  Returns 0; ETIMEDOUT, or ECHILD if
  /// the daemon exited, with *err ending in the daemon's stderr; EINTR once
  /// *stop is true; or posix_spawn's errno.  On failure nothing stays mounted.
  int start(const std::string& xfsfuse, const std::string& image, const std::string& mnt, const std::string& opts,
            const std::string& log_path, std::chrono::milliseconds timeout, const std::atomic<bool>* stop,
            std::string* err);

  /// Closes the control channel, unmounts (fusermount3 -u; as root umount2 if
  /// that fails) and waits for the daemon: 10 s, then SIGTERM, then SIGKILL.
  /// Returns 0 if it exited 0; EIO with *err (its status and stderr) otherwise.
  int stop(std::string* err);

  pid_t pid() const { return pid_; }
  const CtlFd& ctl() const { return ctl_; }

 private:
  // Waits up to `limit` for the daemon; true with *status if it exited.
  bool reap(std::chrono::milliseconds limit, int* status);

  pid_t pid_ = -1;
  std::string mnt_, log_;
  CtlFd ctl_;
};

/// The kernel's `mount -t xfs -o OPTS IMAGE MNT` (root; OPTS "ro,loop" or "rw,loop").
class KernelMount {
 public:
  KernelMount() = default;
  KernelMount(const KernelMount&) = delete;
  KernelMount& operator=(const KernelMount&) = delete;
  ~KernelMount();

  /// Mounts; returns 0, or EIO with mount(8)'s message in *err.
  int mount(const std::string& image, const std::string& mnt, const std::string& opts, std::string* err);
  /// Unmounts (the loop device goes with it); returns 0 or EIO with *err.
  int unmount(std::string* err);

 private:
  std::string mnt_;
};

}  // namespace xfsfuse::tools::churn
