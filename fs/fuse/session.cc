#include "fs/fuse/session.h"

#include <climits>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "fs/fuse/fuse_fs.h"
#include "fs/fuse/tmpfile.h"
#include "fs/fuse/uring.h"

namespace xfsfuse::fuse {

namespace {

// Runs the request loop; returns what libfuse's loop returned.
int loop(fuse_session* se, const fuse_cmdline_opts& cmd) {
  if (cmd.singlethread) return fuse_session_loop(se);
  fuse_loop_config* cfg = fuse_loop_cfg_create();
  if (cfg == nullptr) return -1;
  fuse_loop_cfg_set_clone_fd(cfg, cmd.clone_fd);
  // UINT_MAX means "not given"; libfuse 3.14 would log it as invalid.
  if (cmd.max_idle_threads != UINT_MAX) fuse_loop_cfg_set_idle_threads(cfg, cmd.max_idle_threads);
  fuse_loop_cfg_set_max_threads(cfg, cmd.max_threads);
  const int rc = fuse_session_loop_mt(se, cfg);
  fuse_loop_cfg_destroy(cfg);
  return rc;
}

}  // namespace

int run_session(const Options& o, fuse_args* args, const fuse_cmdline_opts& cmd, const std::function<void()>& mounted) {
  std::unique_ptr<fs::Mount> m;
  std::string err;
  if (fs::Mount::open(o.image, o.mount, &m, &err) != 0) {
    std::fprintf(stderr, "xfsfuse: %s\n", err.c_str());  // err names the image
    return 1;
  }
  for (const std::string& w : m->warnings()) std::fprintf(stderr, "xfsfuse: warning: %s: %s\n", o.image.c_str(), w.c_str());
  if (m->recovered()) std::fprintf(stderr, "xfsfuse: %s: %s\n", o.image.c_str(), m->recovery_note().c_str());
  if (m->log_dirty()) std::fprintf(stderr, "xfsfuse: warning: %s: %s\n", o.image.c_str(), m->log_warning().c_str());

  FuseFs fs(m.get(), o);
  UringTransport uring;  // outlives the session: its hooks stay installed there
  fuse_session* se = fuse_session_new(args, &lowlevel_ops(m->writable()), sizeof(fuse_lowlevel_ops), &fs);
  if (se == nullptr) return 1;  // libfuse printed why
  fs.set_session(se);
  int status = 1;
  if (fuse_set_signal_handlers(se) == 0) {
    if (fuse_session_mount(se, cmd.mountpoint) == 0) {
      // By default only when the kernel will offer the rings: otherwise
      // their threads would wait for nothing.  Asked for by name, always,
      // so that stderr says why they are not used.
      if (o.io_uring && (o.io_uring_asked || UringTransport::kernel_enabled())) {
        if (int e = uring.attach(se, o.ring_sched_idle, o.io_uring_asked)) {
          if (o.io_uring_asked)
            std::fprintf(stderr, "xfsfuse: io_uring: cannot make the rings (%s); serving through /dev/fuse\n",
                         std::strerror(e));
        } else {
          fs.set_uring(&uring);
        }
      }
      if (fs.uring() == nullptr)
        if (int e = install_dev_hooks(se))
          std::fprintf(stderr, "xfsfuse: warning: O_TMPFILE will answer EOPNOTSUPP: %s\n", std::strerror(e));
      mounted();
      // < 0: a read of /dev/fuse failed (-errno); libfuse prints most such
      // errors but not EAGAIN, so say it here: a silent exit 1 hides why.
      // > 0: stopped by a signal we handle.
      const int rc = loop(se, cmd);
      if (rc < 0) std::fprintf(stderr, "xfsfuse: %s: the request loop stopped: %s\n", cmd.mountpoint, std::strerror(-rc));
      status = rc < 0 ? 1 : 0;
      uring.stop();
      fuse_session_unmount(se);
    }
    fuse_remove_signal_handlers(se);
  }
  fuse_session_destroy(se);  // calls destroy (the stats file) if init ran
  // The kernel wrote back its dirty pages before it let go of the mount:
  // every change is in the buffer cache now.
  // With the log, what was logged survives: the next mount replays it.
  const char* after = m->log() ? "the next mount recovers it from its log" : "the image needs xfs_repair";
  if (int e = m->unmount_clean()) {
    std::fprintf(stderr, "xfsfuse: %s: unmount: %s; %s\n", o.image.c_str(), std::strerror(e), after);
    status = 1;
  } else if (m->shut_down_state()) {
    std::fprintf(stderr, "xfsfuse: %s: writes were shut down; %s\n", o.image.c_str(), after);
    status = 1;
  }
  return status;
}

}  // namespace xfsfuse::fuse
