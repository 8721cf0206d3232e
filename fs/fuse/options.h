// fs/fuse/options.h — the xfsfuse command line:
//   xfsfuse IMAGE MOUNTPOINT [-o OPTION[,OPTION...]] [-f] [-d] [-s] [-h] [-V]
//
// parse_options() takes xfsfuse's own options out of the argument vector with
// libfuse's fuse_opt_parse(): the IMAGE (first non-option argument), ro / rw,
// cache_mb, vmap, vmap_batch, vmap_all, writeback_cache, io_uring / noio_uring,
// ring_sched, norecovery, acl / noacl, stats_file and readdirplus.  What it leaves
// (MOUNTPOINT, -f -d -s -h -V, and libfuse's own -o options such as
// allow_other or default_permissions) is for fuse_parse_cmdline() and
// fuse_session_new(); it adds "-o ro|rw,subtype=xfsfuse,fsname=IMAGE" for them,
// and "blkdev" (a fuseblk mount) when root mounts a block device.
// Mount options follow mount(8): the last of ro / rw wins, and neither
// means rw.  norecovery needs ro (as the kernel's XFS).
// Thread safety: call from main() only.
#pragma once

#include <fuse_lowlevel.h>

#include <string>

#include "fs/mount.h"

namespace xfsfuse::fuse {

/// Largest vmap_batch, as a mount option and through the control channel.
inline constexpr unsigned long kMaxVmapBatch = 1ul << 16;

/// How directory reads carry attributes (-o readdirplus=MODE).
enum class ReaddirplusMode {
  kAdaptive,  ///< READDIRPLUS always; entries carry attributes only once a handle's directory sees LOOKUPs
  kAlways,    ///< READDIRPLUS always, every entry with attributes
  kAuto,      ///< FUSE_CAP_READDIRPLUS_AUTO: the kernel picks READDIR or READDIRPLUS per request
};

/// The option value of a mode: "adaptive", "always" or "auto".
const char* readdirplus_name(ReaddirplusMode m);

struct Options {
  std::string image;        ///< absolute path of the image (empty: none given)
  bool image_is_blockdev = false;  ///< image is a block device (root mounts it as fuseblk)
  fs::MountOptions mount;   ///< cache_mb, vmap, vmap_batch, vmap_all, norecovery
  std::string stats_file;   ///< absolute path, or empty: where destroy writes the counters
  ReaddirplusMode readdirplus = ReaddirplusMode::kAdaptive;  ///< readdirplus=adaptive|always|auto
  bool writeback_cache = false;   ///< writeback_cache (rw only): ask for FUSE_CAP_WRITEBACK_CACHE
  /// io_uring / noio_uring: serve requests through FUSE over io_uring
  /// (fs/fuse/uring.h).  On unless noio_uring; used when the fuse module's
  /// enable_uring is Y at mount, or always when asked for by name.
  bool io_uring = true;
  bool io_uring_asked = false;    ///< io_uring was given: a fallback to /dev/fuse is told on stderr
  bool ring_sched_idle = true;    ///< ring_sched=idle|normal: queue threads under SCHED_IDLE when safe (fs/fuse/ring_sched.h)
  bool acl = true;                ///< acl / noacl: ask for FUSE_POSIX_ACL (fs/fuse/fuse_fs.cc init)
};

/// Parses and removes xfsfuse's own options from args (see the file comment)
/// and appends the options libfuse must see.  Unless -h / -V was given, it
/// also checks the paths before anything is opened: IMAGE and MOUNTPOINT
/// both given (EINVAL), IMAGE an existing file or block device (its stat
/// errno, EISDIR, EINVAL; a hint when the two look swapped), MOUNTPOINT a
/// directory (its errno, ENOTDIR), the stats_file's directory writable.
/// Returns 0, EINVAL for a bad value, or those errnos; *err then holds one
/// line for the user (no "xfsfuse:" prefix).
int parse_options(fuse_args* args, Options* out, std::string* err);

/// Prints the usage line and xfsfuse's own options to stdout (libfuse's
/// fuse_cmdline_help() and fuse_lowlevel_help() list the rest).
void print_usage(const char* prog);

}  // namespace xfsfuse::fuse
