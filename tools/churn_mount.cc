#include "tools/churn_mount.h"

#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "tools/churn_exec.h"

namespace xfsfuse::tools::churn {

namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

constexpr milliseconds kPoll{50};
constexpr size_t kLogTail = 4000;  // bytes of the daemon's stderr quoted in errors

// Unmounts a FUSE mount: fusermount3 -u, then (root) umount2.  Returns 0 or EIO.
int fuse_unmount(const std::string& mnt, std::string* err) {
  std::string out;
  int status = 0;
  const int e = run_command({"fusermount3", "-u", mnt}, &out, &status);
  if (e == 0 && exited_ok(status)) return 0;
  if (::geteuid() == 0 && ::umount2(mnt.c_str(), 0) == 0) return 0;
  *err = "fusermount3 -u " + mnt + ": " + (e != 0 ? std::strerror(e) : describe_status(status) + ": " + out);
  return EIO;
}

// Takes a mount whose daemon is gone off the tree (lazily; errors ignored).
void detach(const std::string& mnt) {
  std::string out;
  int status = 0;
  run_command({"fusermount3", "-u", "-z", mnt}, &out, &status);
  if (::geteuid() == 0) ::umount2(mnt.c_str(), MNT_DETACH);
}

// The end of the daemon's stderr for an error message.
std::string stderr_of(const std::string& log) {
  const std::string s = read_file_tail(log, kLogTail);
  return s.empty() ? "(nothing)" : s;
}

}  // namespace

FuseDaemon::~FuseDaemon() {
  std::string ignored;
  if (pid_ > 0) stop(&ignored);
}

bool FuseDaemon::reap(milliseconds limit, int* status) {
  const auto end = Clock::now() + limit;
  while (true) {
    const pid_t r = ::waitpid(pid_, status, WNOHANG);
    if (r == pid_ || (r < 0 && errno == ECHILD)) return true;
    if (Clock::now() >= end) return false;
    std::this_thread::sleep_for(kPoll);
  }
}

int FuseDaemon::start(const std::string& xfsfuse, const std::string& image, const std::string& mnt,
                      const std::string& opts, const std::string& log_path, milliseconds timeout,
                      const std::atomic<bool>* stop_flag, std::string* err) {
  mnt_ = mnt;
  log_ = log_path;
  // The traversal workloads only read: mount read-only (rw is the default).
  const std::string mode_opts = opts.empty() ? "ro" : "ro," + opts;
  if (int e = spawn_background({xfsfuse, image, mnt, "-f", "-o", mode_opts}, log_path, &pid_)) {
    *err = xfsfuse + ": " + std::strerror(e);
    pid_ = -1;
    return e;
  }
  const auto end = Clock::now() + timeout;
  std::string why;
  while (true) {
    CtlFd c;
    if (c.open(mnt, &why) == 0) {
      ctl_ = std::move(c);
      return 0;
    }
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      detach(mnt);
      *err = "xfsfuse " + describe_status(status) + " before the mount answered; its stderr:\n" + stderr_of(log_path);
      return ECHILD;
    }
    if (stop_flag->load()) {
      stop(&why);
      *err = "interrupted";
      return EINTR;
    }
    if (Clock::now() >= end) {
      std::string ignored;
      stop(&ignored);
      *err = "xfsfuse did not answer on " + mnt + " within " + std::to_string(timeout.count() / 1000) + " s (" + why +
             "); its stderr:\n" + stderr_of(log_path);
      return ETIMEDOUT;
    }
    std::this_thread::sleep_for(kPoll);
  }
}

int FuseDaemon::stop(std::string* err) {
  if (pid_ <= 0) return 0;
  ctl_ = CtlFd();  // an open directory of the mount would keep it busy
  std::string why;
  int status = 0;
  const int ue = fuse_unmount(mnt_, &why);
  bool gone = reap(std::chrono::seconds(10), &status);
  if (!gone) {
    ::kill(pid_, SIGTERM);
    gone = reap(std::chrono::seconds(5), &status);
  }
  if (!gone) {
    ::kill(pid_, SIGKILL);
    gone = reap(std::chrono::seconds(5), &status);
  }
  pid_ = -1;
  if (ue != 0) detach(mnt_);  // the daemon is gone: do not leave a dead mount behind
  if (ue == 0 && gone && exited_ok(status)) return 0;
  *err = ue != 0 ? why : "xfsfuse " + (gone ? describe_status(status) : std::string("did not exit")) +
                             " after the unmount; its stderr:\n" + stderr_of(log_);
  return EIO;
}

KernelMount::~KernelMount() {
  std::string ignored;
  if (!mnt_.empty()) unmount(&ignored);
}

int KernelMount::mount(const std::string& image, const std::string& mnt, const std::string& opts,
                       std::string* err) {
  std::string out;
  int status = 0;
  const int e = run_command({"mount", "-t", "xfs", "-o", opts, image, mnt}, &out, &status);
  if (e != 0 || !exited_ok(status)) {
    *err = "mount -t xfs -o " + opts + " " + image + " " + mnt + ": " +
           (e != 0 ? std::strerror(e) : describe_status(status) + ": " + out);
    return EIO;
  }
  mnt_ = mnt;
  return 0;
}

int KernelMount::unmount(std::string* err) {
  if (mnt_.empty()) return 0;
  std::string out;
  int status = 0;
  const int e = run_command({"umount", mnt_}, &out, &status);
  if (e != 0 || !exited_ok(status)) {
    *err = "umount " + mnt_ + ": " + (e != 0 ? std::strerror(e) : describe_status(status) + ": " + out);
    ::umount2(mnt_.c_str(), MNT_DETACH);
    mnt_.clear();
    return EIO;
  }
  mnt_.clear();
  return 0;
}

}  // namespace xfsfuse::tools::churn
