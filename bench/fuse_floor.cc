// xfsfuse-fuse-floor MOUNTPOINT [-f] [-s] [-o OPTS] — the cheapest FUSE
// server libfuse's low-level API allows: the floor under xfsfuse's per
// request cost (bench/traverse.sh, docs/performance.md).
//
// The root directory holds one empty regular file, "f" (node id 2).  LOOKUP
// and GETATTR answer from constants, GETXATTR answers ENODATA at once (what
// xfsfuse answers to the security.selinux query `ls -l` makes of every file),
// READDIR(PLUS) lists "f".  The request loop is the one xfsfuse runs
// (fuse_session_loop_mt with the command line's clone_fd, max_idle_threads
// and max_threads; -s: fuse_session_loop), so the same lgetxattr loop
// against both measures what xfsfuse adds.  Thread safety: no state.
#include <fuse_lowlevel.h>
#include <sys/stat.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

constexpr fuse_ino_t kFileIno = 2;
constexpr double kTimeout = 86400.0;

void fill_attr(fuse_ino_t ino, struct stat* st) {
  *st = {};
  st->st_ino = ino;
  st->st_mode = ino == FUSE_ROOT_ID ? S_IFDIR | 0755 : S_IFREG | 0644;
  st->st_nlink = ino == FUSE_ROOT_ID ? 2 : 1;
}

void floor_lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  if (parent != FUSE_ROOT_ID || std::strcmp(name, "f") != 0) return static_cast<void>(fuse_reply_err(req, ENOENT));
  fuse_entry_param e{};
  e.ino = kFileIno;
  e.attr_timeout = kTimeout;
  e.entry_timeout = kTimeout;
  fill_attr(kFileIno, &e.attr);
  fuse_reply_entry(req, &e);
}

void floor_getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  struct stat st;
  fill_attr(ino, &st);
  fuse_reply_attr(req, &st, kTimeout);
}

void floor_getxattr(fuse_req_t req, fuse_ino_t, const char*, size_t) { fuse_reply_err(req, ENODATA); }

void floor_readdir(fuse_req_t req, fuse_ino_t, size_t size, off_t off, fuse_file_info*) {
  char buf[512];
  size_t pos = 0;
  const char* names[] = {".", "..", "f"};
  for (off_t i = off; i < 3; i++) {
    struct stat st;
    fill_attr(i == 2 ? kFileIno : FUSE_ROOT_ID, &st);
    const size_t need = fuse_add_direntry(req, buf + pos, sizeof buf - pos, names[i], &st, i + 1);
    if (need > sizeof buf - pos || pos + need > size) break;
    pos += need;
  }
  fuse_reply_buf(req, buf, pos);
}

}  // namespace

int main(int argc, char** argv) {
  fuse_args args = FUSE_ARGS_INIT(argc, argv);
  fuse_cmdline_opts cmd{};
  if (fuse_parse_cmdline(&args, &cmd) != 0) return 1;
  if (cmd.show_help || cmd.mountpoint == nullptr) {
    std::printf("usage: %s MOUNTPOINT [-f] [-s] [-o clone_fd,max_idle_threads=N,max_threads=N]\n", argv[0]);
    return cmd.show_help ? 0 : 2;
  }
  fuse_lowlevel_ops ops{};
  ops.lookup = floor_lookup;
  ops.getattr = floor_getattr;
  ops.getxattr = floor_getxattr;
  ops.readdir = floor_readdir;
  fuse_session* se = fuse_session_new(&args, &ops, sizeof ops, nullptr);
  int rc = 1;
  if (se != nullptr && fuse_set_signal_handlers(se) == 0) {
    if (fuse_session_mount(se, cmd.mountpoint) == 0) {
      if (fuse_daemonize(cmd.foreground) == 0) {
        if (cmd.singlethread) {
          rc = fuse_session_loop(se);
        } else {
          fuse_loop_config* cfg = fuse_loop_cfg_create();
          fuse_loop_cfg_set_clone_fd(cfg, cmd.clone_fd);
          if (cmd.max_idle_threads != UINT_MAX) fuse_loop_cfg_set_idle_threads(cfg, cmd.max_idle_threads);
          fuse_loop_cfg_set_max_threads(cfg, cmd.max_threads);
          rc = fuse_session_loop_mt(se, cfg);
          fuse_loop_cfg_destroy(cfg);
        }
      }
      fuse_session_unmount(se);
    }
    fuse_remove_signal_handlers(se);
  }
  if (se != nullptr) fuse_session_destroy(se);
  std::free(cmd.mountpoint);
  fuse_opt_free_args(&args);
  return rc == 0 ? 0 : 1;
}
