// tools/ctl_client.h — the client side of the xfsfuse control channel
// (fs/fuse/ctl_abi.h), shared by xfsfuse-ctl and xfsfuse-churn.
//
// Errors are positive errno values with one line for the user in *err (no
// program-name prefix), e.g. "/mnt: not an xfsfuse mount".
// Thread safety: the functions keep no state; a CtlFd may be used from one
// thread at a time.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace xfsfuse::tools {

/// An open directory or regular file of an xfsfuse mount; closes on destruction.
class CtlFd {
 public:
  CtlFd() = default;
  CtlFd(CtlFd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  CtlFd& operator=(CtlFd&& o) noexcept;
  ~CtlFd();
  int fd() const { return fd_; }

  /// Opens mountpoint (any directory or regular file of an xfsfuse mount,
  /// read-only) for control ioctls.  Returns 0, ENOENT/EACCES (open), or
  /// ENOTTY when it is not an xfsfuse mount (another type of file, not FUSE,
  /// or the daemon does not answer XFSFUSE_IOC_STATS).
  int open(const std::string& mountpoint, std::string* err);

  /// The daemon's stats JSON (keys: README "Control channel").  Returns 0,
  /// the ioctl's errno, or EBADMSG if the text does not parse.
  int stats(nlohmann::json* out, std::string* err) const;

  /// Evicts every unreferenced clean buffer and in-core inode.  Returns 0,
  /// EPERM (not root and not the mounting user) or the ioctl's errno.
  int drop_caches(uint64_t* buffers, uint64_t* inodes, uint64_t* pages_free, std::string* err) const;

  /// Unmaps every parked vmap alias now; *pages_freed went back to the pool.
  int purge(uint64_t* pages_freed, std::string* err) const;

  /// Sets vmap_batch (1..65536) on the running mount; *old = the value before.
  /// Returns 0, EINVAL (out of range), EPERM or the ioctl's errno.
  int set_vmap_batch(uint64_t n, uint64_t* old, std::string* err) const;

 private:
  int fd_ = -1;
  std::string path_;
};

/// One counter from a stats JSON by its dotted name ("vmap.map_syscalls",
/// "vmap.purges.every_n"); 0 if absent.
uint64_t counter(const nlohmann::json& stats, const std::string& dotted);

/// Every numeric counter of the sections fuse, cache, vmap, pool, inodes as
/// dotted names ("vmap.purges.timer"), sections in that order, names sorted
/// within each.
std::vector<std::pair<std::string, uint64_t>> counters(const nlohmann::json& stats);

}  // namespace xfsfuse::tools
