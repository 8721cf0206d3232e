// fs/fuse/session.h — one mount's life: open the image, mount it through
// libfuse, serve requests until unmount, tear down.
// Thread safety: call from main() only; it runs libfuse's loop.
#pragma once

#include <fuse_lowlevel.h>

#include <functional>

#include "fs/fuse/options.h"

namespace xfsfuse::fuse {

/// Opens o.image (fs::Mount::open: its warnings, e.g. for norecovery, and
/// its refusal, e.g. a dirty log, go to stderr as "xfsfuse: ..."), creates
/// the session from args (libfuse's mount options), mounts it at
/// cmd.mountpoint, calls mounted() once the mount is live, then serves with
/// the multithreaded loop (cmd.singlethread: one thread) until unmount or
/// SIGINT/SIGTERM/SIGHUP, and unmounts.  Returns the process exit status:
/// 0, or 1 after printing why.
int run_session(const Options& o, fuse_args* args, const fuse_cmdline_opts& cmd, const std::function<void()>& mounted);

}  // namespace xfsfuse::fuse
