// xfsfuse IMAGE MOUNTPOINT [-o OPTIONS] [-f] [-d] [-s] — mounts an XFS v5
// image read-only through FUSE (see options.h, README "The driver").
//
// Without -f the program forks before it opens anything (fs::Mount starts
// threads, which fork would not carry over): the child opens the image and
// mounts, then tells the parent through a pipe; the parent exits 0 only then,
// or with the child's status if it failed, so `mount -t fuse.xfsfuse` and
// scripts see the mount's outcome.  The child then leaves the session and
// drops the terminal (stdin/stdout to /dev/null, stderr — the corruption
// log lines — to syslog), as libfuse's fuse_daemonize() would.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "fs/fuse/options.h"
#include "fs/fuse/session.h"
#include "fs/fuse/syslog_forward.h"
#include "version.h"

namespace {

using xfsfuse::fuse::Options;

// Child side of the fork, once the mount is live: report success, detach.
void detach(int status_fd) {
  const char ok = 0;
  if (write(status_fd, &ok, 1) != 1) std::perror("xfsfuse: status pipe");
  close(status_fd);
  if (chdir("/") != 0) std::perror("xfsfuse: chdir /");
  const int null = ::open("/dev/null", O_RDWR);
  if (null >= 0) {
    dup2(null, STDIN_FILENO);
    dup2(null, STDOUT_FILENO);
    if (xfsfuse::fuse::forward_stderr_to_syslog() != 0) dup2(null, STDERR_FILENO);
    if (null > STDERR_FILENO) close(null);
  }
}

// Forks: the parent waits for the child's report and returns the exit status
// it should have; the child runs the session and exits.
int run_in_background(const Options& o, fuse_args* args, const fuse_cmdline_opts& cmd) {
  int fds[2];
  if (pipe(fds) != 0) {
    std::perror("xfsfuse: pipe");
    return 1;
  }
  const pid_t pid = fork();
  if (pid < 0) {
    std::perror("xfsfuse: fork");
    return 1;
  }
  if (pid == 0) {
    close(fds[0]);
    setsid();
    std::exit(xfsfuse::fuse::run_session(o, args, cmd, [&] { detach(fds[1]); }));
  }
  close(fds[1]);
  char ok = 1;
  const ssize_t n = read(fds[0], &ok, 1);
  close(fds[0]);
  if (n == 1 && ok == 0) return 0;
  int wstatus = 0;
  if (waitpid(pid, &wstatus, 0) == pid && WIFEXITED(wstatus) && WEXITSTATUS(wstatus) != 0) return WEXITSTATUS(wstatus);
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  fuse_args args = FUSE_ARGS_INIT(argc, argv);
  Options o;
  std::string err;
  fuse_cmdline_opts cmd{};
  int status = 0;
  if (xfsfuse::fuse::parse_options(&args, &o, &err) != 0) {
    std::fprintf(stderr, "xfsfuse: %s\n", err.c_str());
    status = 1;
  } else if (fuse_parse_cmdline(&args, &cmd) != 0) {
    status = 1;  // libfuse printed why
  } else if (cmd.show_help) {
    xfsfuse::fuse::print_usage(argv[0]);
    fuse_cmdline_help();
    fuse_lowlevel_help();
  } else if (cmd.show_version) {
    std::printf("xfsfuse %s, libfuse %s\n", XFSFUSE_VERSION_STRING, fuse_pkgversion());
    std::fflush(stdout);  // before fusermount3, a child on the same stdout, prints its version
    fuse_lowlevel_version();
  } else if (cmd.foreground) {
    status = xfsfuse::fuse::run_session(o, &args, cmd, [] {});
  } else {
    status = run_in_background(o, &args, cmd);
  }
  std::free(cmd.mountpoint);
  fuse_opt_free_args(&args);
  return status;
}
