// tools/dirstress_worker.cc — run_worker: one worker's directories, phases,
// --verify and cleanup.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "tools/dirstress_ops.h"
#include "tools/dirstress_run.h"
#include "tools/dirstress_verify.h"

namespace xfsfuse::tools::dirstress {

namespace {

/// Counts every call in the worker's stats; with --verify also logs them and
/// scans the directory at each checkpoint.
class WorkerSink final : public OpSink {
 public:
  WorkerSink(WorkerStats* st, RunLog* log, int dirfd) : st_(st), log_(log), dirfd_(dirfd) {}
  void op_done(const OpRecord& rec, uint64_t ns) override {
    st_->add(rec, ns);
    if (log_) log_->ops.push_back(rec);
  }
  void checkpoint(const char* label) override {
    if (!log_) return;
    Tree t;
    if (int err = scan_tree(dirfd_, &t); err != 0)
      t[std::string("(scan failed: ") + std::strerror(err) + ")"] = Entry{EntryType::other, {}};
    log_->checkpoints.emplace_back(label, std::move(t));
  }

 private:
  WorkerStats* st_;
  RunLog* log_;
  int dirfd_;
};

/// A call outside the phases (the directories' mkdir and rmdir): counted too.
template <typename Fn>
int counted(WorkerStats* st, OpKind kind, Fn&& fn) {
  auto t0 = std::chrono::steady_clock::now();
  int err = fn() == 0 ? 0 : errno;
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count();
  st->add(OpRecord{kind, 0, 0, err}, static_cast<uint64_t>(ns));
  return err;
}

/// What mknod(S_IFCHR, 0:0) of a new name gives this process: a character
/// device 0:0 is a whiteout, which Linux lets anyone make since 5.8; before,
/// it needed CAP_MKNOD (approximated by euid 0).
int expected_mknod_errno() {
  if (::geteuid() == 0) return 0;
  utsname u{};
  int major = 0, minor = 0;
  if (::uname(&u) == 0 && std::sscanf(u.release, "%d.%d", &major, &minor) == 2 && (major > 5 || (major == 5 && minor >= 8)))
    return 0;
  return EPERM;
}

int open_dir(int at, const std::string& name, const std::string& tag) {
  int fd = ::openat(at, name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) std::fprintf(stderr, "!! %s open %s: %s\n", tag.c_str(), name.c_str(), std::strerror(errno));
  return fd;
}

}  // namespace

int run_worker(const Options& o, uint32_t index, int basefd, WorkerStats* st) {
  uint32_t group = index / o.procs_per_dir;
  std::string sub = "stress." + std::to_string(group);
  std::string tag = "[w" + std::to_string(index) + " " + sub + "]";
  if (int e = counted(st, OpKind::mkdir, [&] { return ::mkdirat(basefd, "stressdir", 0777); }); e != 0 && e != EEXIST) {
    std::fprintf(stderr, "!! %s mkdir stressdir: %s\n", tag.c_str(), std::strerror(e));
    return 1;
  }
  int sfd = open_dir(basefd, "stressdir", tag);
  if (sfd < 0) return 1;
  if (int e = counted(st, OpKind::mkdir, [&] { return ::mkdirat(sfd, sub.c_str(), 0777); }); e != 0 && e != EEXIST) {
    std::fprintf(stderr, "!! %s mkdir stressdir/%s: %s\n", tag.c_str(), sub.c_str(), std::strerror(e));
    ::close(sfd);
    return 1;
  }
  int dfd = open_dir(sfd, sub, tag);
  if (dfd < 0) {
    ::close(sfd);
    return 1;
  }

  Tree initial;
  if (o.verify) {
    if (int e = scan_tree(dfd, &initial); e != 0) {
      std::fprintf(stderr, "!! %s --verify: reading stressdir/%s: %s\n", tag.c_str(), sub.c_str(), std::strerror(e));
      ::close(dfd);
      ::close(sfd);
      return 1;
    }
  }
  RealDirOps ops(dfd);
  RunLog log;
  WorkerSink sink(st, o.verify ? &log : nullptr, dfd);
  PhaseOptions po{o.nfiles, o.seed, o.keep, o.check, o.create_only, o.verbose, stderr, tag};
  int r = run_phases(ops, po, sink);
  ::close(dfd);
  if (o.verify) {
    int mknod_errno = expected_mknod_errno();
    std::vector<std::string> diffs = verify_run(initial, po, mknod_errno, log);
    for (const std::string& d : diffs) std::fprintf(stderr, "verify: %s %s\n", tag.c_str(), d.c_str());
    if (!diffs.empty()) {
      st->verify_failed = 1;
      r = 1;
    }
  }
  if (o.create_only && r == 0) {
    ::close(sfd);
    return 0;
  }
  bool loud = o.check || o.verbose;
  if (!o.keep) {
    if (int e = counted(st, OpKind::rmdir, [&] { return ::unlinkat(sfd, sub.c_str(), AT_REMOVEDIR); }); e != 0) {
      if (loud) std::fprintf(stderr, "!! %s rmdir stressdir/%s: %s\n", tag.c_str(), sub.c_str(), std::strerror(e));
      if (o.check) r = 1;
    }
  }
  ::close(sfd);
  if (!o.keep) {
    // Other groups may still work in stressdir: ENOTEMPTY is the rule, not a failure.
    if (int e = counted(st, OpKind::rmdir, [&] { return ::unlinkat(basefd, "stressdir", AT_REMOVEDIR); }); e != 0) {
      if (loud) std::fprintf(stderr, "!! %s rmdir stressdir: %s\n", tag.c_str(), std::strerror(e));
      if (o.check) r = 1;
    }
  }
  return r;
}

}  // namespace xfsfuse::tools::dirstress
