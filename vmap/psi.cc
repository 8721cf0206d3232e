#include "vmap/psi.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>

namespace xfsfuse::vmap {

int PsiMonitor::start(ShrinkerRegistry* registry, const PsiOptions& opts, std::unique_ptr<PsiMonitor>* out) {
  if (!registry || opts.stall_us == 0 || opts.stall_us > opts.window_us) return EINVAL;
  int fd = open(opts.path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return errno;
  char trig[64];
  int len = std::snprintf(trig, sizeof trig, "some %u %u", opts.stall_us, opts.window_us);
  if (write(fd, trig, static_cast<size_t>(len) + 1) < 0) {
    int e = errno;
    close(fd);
    return e;
  }
  int efd = eventfd(0, EFD_CLOEXEC);
  if (efd < 0) {
    int e = errno;
    close(fd);
    return e;
  }
  out->reset(new PsiMonitor(registry, fd, efd));
  return 0;
}

PsiMonitor::PsiMonitor(ShrinkerRegistry* registry, int psi_fd, int stop_fd)
    : registry_(registry), psi_fd_(psi_fd), stop_fd_(stop_fd) {
  thread_ = std::thread([this] { loop(); });
}

PsiMonitor::~PsiMonitor() {
  uint64_t one = 1;
  if (write(stop_fd_, &one, sizeof one) < 0) std::perror("xfsfuse: psi: eventfd write");
  thread_.join();
  close(psi_fd_);
  close(stop_fd_);
}

void PsiMonitor::loop() {
  for (;;) {
    pollfd fds[2] = {{psi_fd_, POLLPRI, 0}, {stop_fd_, POLLIN, 0}};
    int n = poll(fds, 2, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::perror("xfsfuse: psi: poll");
      return;
    }
    if (fds[1].revents) return;
    if (fds[0].revents & POLLERR) {
      std::fprintf(stderr, "xfsfuse: psi: trigger went away; memory-pressure purges stop\n");
      return;
    }
    if (fds[0].revents & POLLPRI) {
      events_.fetch_add(1, std::memory_order_relaxed);
      registry_->shrink(SIZE_MAX);
    }
  }
}

}  // namespace xfsfuse::vmap
