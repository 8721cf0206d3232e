#include "fs/fuse/syslog_forward.h"

#include <syslog.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <thread>

namespace xfsfuse::fuse {

int forward_stderr_to_syslog() {
  int fds[2];
  if (pipe(fds) != 0) return errno;
  if (dup2(fds[1], STDERR_FILENO) < 0) {
    const int err = errno;
    close(fds[0]);
    close(fds[1]);
    return err;
  }
  close(fds[1]);
  setvbuf(stderr, nullptr, _IOLBF, 0);
  openlog("xfsfuse", LOG_PID, LOG_DAEMON);
  // Lives until the process exits: the write end is stderr itself.
  std::thread([fd = fds[0]] {
    FILE* in = fdopen(fd, "r");
    if (in == nullptr) return;
    char* line = nullptr;
    size_t cap = 0;
    while (getline(&line, &cap, in) > 0) syslog(LOG_ERR, "%s", line);
    std::free(line);
    std::fclose(in);
  }).detach();
  return 0;
}

}  // namespace xfsfuse::fuse
