#include "tools/churn_dirstress.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>

#include "tools/churn_exec.h"
#include "tools/churn_mount.h"
#include "tools/churn_proc.h"
#include "tools/churn_summary.h"
#include "tools/dirstress_run.h"
#include "tools/dirstress_stats.h"

namespace xfsfuse::tools::churn {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::chrono::seconds kMountTimeout{10};
constexpr size_t kFsckOutputMax = 4096;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// Runs argv; 0 if it exited 0, else EIO with what it printed in *err.
int run_ok(const std::vector<std::string>& argv, std::string* err) {
  std::string out;
  int status = 0;
  if (int e = run_command(argv, &out, &status)) {
    *err = argv[0] + ": " + std::strerror(e);
    return EIO;
  }
  if (!exited_ok(status)) {
    *err = argv[0] + " " + describe_status(status) + ": " + out;
    return EIO;
  }
  return 0;
}

// `cp --sparse=always` of the empty image to the run's own copy.
int copy_image(const DirstressConfig& cfg, const std::string& copy, std::string* err) {
  return run_ok({"cp", "--sparse=always", cfg.template_image, copy}, err);
}

FsckResult fsck_image(const std::string& fsck, const std::string& image) {
  FsckResult f;
  int status = 0;
  if (int e = run_command({fsck, "-n", image}, &f.output, &status)) {
    f.verdict = "error";
    f.output = fsck + ": " + std::strerror(e);
    return f;
  }
  if (f.output.size() > kFsckOutputMax) f.output.resize(kFsckOutputMax);
  f.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  f.verdict = f.exit_status == 0 ? "clean" : f.exit_status == 1 ? "problems" : "error";
  return f;
}

// The workload in mnt, between samples A and B; then the drop and sample C.
// daemon is null for the kernel.
int measure(const DirstressConfig& cfg, const FuseDaemon* daemon, const std::string& name, Progress* progress,
            DirstressRun* run) {
  std::string err;
  Sample a, b, c;
  if (int e = take_sample(daemon, &a, &err)) return run->error = "sample: " + err, e;
  read_loadavg1(&run->loadavg);
  progress->show(name + ": dirstress");
  dirstress::Options o = cfg.workload;
  o.dir = cfg.run.mnt;
  std::unique_ptr<dirstress::RunResult> res;
  if (int e = dirstress::run_dirstress(o, false, &res)) {
    run->error = "dirstress: " + cfg.run.mnt + ": " + std::strerror(e);
    return e;
  }
  if (int e = take_sample(daemon, &b, &err)) return run->error = "sample: " + err, e;
  run->workload = diff(a, b);
  nlohmann::json j = dirstress::stats_json(res->totals, res->seconds);
  j["workers_failed"] = res->failed_workers;
  j["exit_status"] = res->exit_status;
  j["verify"] = o.verify ? (res->verify_failed ? "failed" : "passed") : "off";
  run->dirstress = std::move(j);
  run->workers_failed = static_cast<int>(res->failed_workers);

  progress->show(name + ": dropping caches");
  if (cfg.run.root) {
    if (int e = drop_kernel_caches(&err)) return run->error = "drop: " + err, e;
  }
  std::optional<double> driver_ms;
  if (daemon != nullptr) {
    const auto t0 = Clock::now();
    if (int e = daemon->ctl().drop_caches(nullptr, nullptr, nullptr, &err)) return run->error = "drop: " + err, e;
    driver_ms = ms_since(t0);
  }
  if (int e = take_sample(daemon, &c, &err)) return run->error = "sample: " + err, e;
  run->drop = diff(b, c);
  run->drop->driver_ms = driver_ms;
  if (c.counters) {
    Counters after;
    for (const auto& [n, v] : *c.counters) after.emplace_back(n, static_cast<int64_t>(v));
    run->after = std::move(after);
  }
  if (res->exit_status != 0) {
    run->error = "dirstress: " + std::to_string(res->failed_workers) + " worker(s) failed (exit status " +
                 std::to_string(res->exit_status) + ")";
    return EIO;
  }
  return 0;
}

// After the unmount: fsck the copy, remove it; a verdict other than clean fails the run.
int check_copy(const DirstressConfig& cfg, const std::string& copy, int rc, Progress* progress, DirstressRun* run) {
  progress->show(run->policy + ": xfsfuse-fsck -n");
  run->fsck = fsck_image(cfg.fsck, copy);
  ::unlink(copy.c_str());
  if (run->fsck.verdict != "clean") {
    run->error += (run->error.empty() ? "" : "; ") + std::string("xfsfuse-fsck -n: ") + run->fsck.verdict +
                  " (exit " + std::to_string(run->fsck.exit_status) + "): " + run->fsck.output.substr(0, 400);
    if (rc == 0) rc = EIO;
  }
  return rc;
}

}  // namespace

int make_dirstress_image(const std::string& path, std::string* err) {
  if (int e = run_ok({"truncate", "-s", std::to_string(kDirstressImageBytes), path}, err)) return e;
  return run_ok({"mkfs.xfs", "-q", "-f", "-n", "size=65536", path}, err);
}

int run_dirstress_fuse(const DirstressConfig& cfg, const std::string& pool, const std::string& policy,
                       const std::atomic<bool>* stop, Progress* progress, DirstressRun* run) {
  const std::string name = policy + "/" + pool;
  run->policy = policy;
  run->pool = pool;
  RunConfig rc_cfg = cfg.run;
  rc_cfg.vmap_all = pool == "vmap_all";
  rc_cfg.rw = true;
  run->mount_options = fuse_options(rc_cfg, policy);
  const std::string copy = cfg.run.workdir + "/dirstress.img";
  std::string err;
  progress->show(name + ": copying the image");
  if (int e = copy_image(cfg, copy, &err)) return run->error = err, e;
  int rc = 0;
  {
    progress->show(name + ": mounting");
    FuseDaemon daemon;
    if (int e = daemon.start(cfg.run.xfsfuse, copy, cfg.run.mnt, run->mount_options,
                             cfg.run.workdir + "/xfsfuse-" + policy + "-" + pool + ".log", kMountTimeout, stop, &err)) {
      ::unlink(copy.c_str());
      return run->error = "mount: " + err, e;
    }
    nlohmann::json stats;
    if (int e = daemon.ctl().stats(&stats, &err)) {
      run->error = "stats: " + err;
      rc = e;
    } else {
      run->daemon_options = stats.value("options", nlohmann::json());
      rc = measure(cfg, &daemon, name, progress, run);
    }
    progress->show(name + ": unmounting");
    const auto t0 = Clock::now();
    if (int e = daemon.stop(&err)) {
      run->error += (run->error.empty() ? "" : "; ") + err;
      if (rc == 0) rc = e;
    } else {
      run->unmount_ms = ms_since(t0);
    }
  }
  return check_copy(cfg, copy, rc, progress, run);
}

int run_dirstress_kernel(const DirstressConfig& cfg, const std::atomic<bool>*, Progress* progress,
                         DirstressRun* run) {
  run->policy = "kernel";
  run->mount_options = "rw,loop";
  const std::string copy = cfg.run.workdir + "/dirstress.img";
  std::string err;
  progress->show("kernel: copying the image");
  if (int e = copy_image(cfg, copy, &err)) return run->error = err, e;
  int rc = 0;
  {
    progress->show("kernel: mounting");
    KernelMount m;
    if (int e = m.mount(copy, cfg.run.mnt, run->mount_options, &err)) {
      ::unlink(copy.c_str());
      return run->error = err, e;
    }
    rc = measure(cfg, nullptr, "kernel", progress, run);
    progress->show("kernel: unmounting");
    const auto t0 = Clock::now();
    if (int e = m.unmount(&err)) {
      run->error += (run->error.empty() ? "" : "; ") + err;
      if (rc == 0) rc = e;
    } else {
      run->unmount_ms = ms_since(t0);
    }
  }
  return check_copy(cfg, copy, rc, progress, run);
}

Cycle dirstress_cycle(const DirstressRun& run) {
  Traversal t;
  if (run.workload) t.walk = *run.workload;
  if (run.drop) t.drop = *run.drop;
  return cycle_of(t);
}

}  // namespace xfsfuse::tools::churn
