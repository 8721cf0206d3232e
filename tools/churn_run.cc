#include "tools/churn_run.h"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>

#include "tools/churn_mount.h"
#include "tools/churn_proc.h"
#include "tools/churn_walk.h"

namespace xfsfuse::tools::churn {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::chrono::seconds kMountTimeout{10};

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

std::optional<int64_t> minus(const std::optional<uint64_t>& b, const std::optional<uint64_t>& a) {
  if (!a || !b) return std::nullopt;
  return static_cast<int64_t>(*b - *a);
}

Counters as_counters(const std::vector<std::pair<std::string, uint64_t>>& v) {
  Counters out;
  for (const auto& [name, value] : v) out.emplace_back(name, static_cast<int64_t>(value));
  return out;
}

std::string label(const std::string& policy, uint32_t i, uint32_t n, const char* what) {
  return policy + " " + std::to_string(i) + "/" + std::to_string(n) + ": " + what;
}

// One drop + walk on the mount at cfg.mnt; daemon null for the kernel.
int traverse(const RunConfig& cfg, const std::string& policy, const FuseDaemon* daemon, uint32_t index,
             const std::atomic<bool>* stop, Progress* progress, uint64_t* expected, Traversal* t, std::string* err) {
  t->index = index;
  progress->show(label(policy, index, cfg.traversals, "dropping caches"));
  Sample a, b, c;
  if (int e = take_sample(daemon, &a, err)) return e;
  std::optional<double> kernel_ms, driver_ms;
  auto t0 = Clock::now();
  if (cfg.root) {
    if (int e = drop_kernel_caches(err)) return e;
    kernel_ms = ms_since(t0);
  }
  if (daemon != nullptr) {
    t0 = Clock::now();
    if (int e = daemon->ctl().drop_caches(nullptr, nullptr, nullptr, err)) return e;
    driver_ms = ms_since(t0);
  }
  if (int e = take_sample(daemon, &b, err)) return e;
  read_loadavg1(&t->loadavg);
  progress->show(label(policy, index, cfg.traversals, "walking"));
  WalkResult w;
  if (int e = walk_tree(cfg.mnt, cfg.threads, stop, &w, err)) return e;
  if (int e = take_sample(daemon, &c, err)) return e;
  t->entries = w.entries;
  t->drop = diff(a, b);
  t->drop.kernel_ms = kernel_ms;
  t->drop.driver_ms = driver_ms;
  t->walk = diff(b, c);
  if (c.counters) t->after = as_counters(*c.counters);
  if (*expected == 0) *expected = w.entries;
  if (w.entries != *expected) {
    *err = "traversal " + std::to_string(index) + " saw " + std::to_string(w.entries) + " entries, not " +
           std::to_string(*expected) + ": the mount is not serving the whole tree";
    return EIO;
  }
  progress->show(label(policy, index, cfg.traversals, "") + std::to_string(w.entries) + " entries, " +
                 std::to_string(static_cast<long>(t->walk.ms)) + " ms");
  return 0;
}

// Runs every traversal into run; the mount is live.
int traverse_all(const RunConfig& cfg, const FuseDaemon* daemon, const std::atomic<bool>* stop, Progress* progress,
                 uint64_t* expected, Run* run) {
  for (uint32_t i = 1; i <= cfg.traversals; i++) {
    Traversal t;
    std::string err;
    if (int e = traverse(cfg, run->policy, daemon, i, stop, progress, expected, &t, &err)) {
      run->error = "traversal " + std::to_string(i) + ": " + err;
      return e;
    }
    run->traversals.push_back(std::move(t));
  }
  return 0;
}

}  // namespace

int take_sample(const FuseDaemon* daemon, Sample* s, std::string* err) {
  if (daemon != nullptr) {
    nlohmann::json stats;
    if (int e = daemon->ctl().stats(&stats, err)) return e;
    s->counters = counters(stats);
    uint64_t c = 0;
    if (int e = read_ctxt_process(daemon->pid(), &c)) {
      *err = "/proc/" + std::to_string(daemon->pid()) + "/task: " + std::strerror(e);
      return e;
    }
    s->ctxt_daemon = c;
  }
  uint64_t v = 0;
  if (read_tlb_shootdowns(&v) == 0) s->tlb = v;
  if (int e = read_ctxt_system(&s->ctxt_system)) {
    *err = std::string("/proc/stat: no ctxt line: ") + std::strerror(e);
    return e;
  }
  s->t = Clock::now();
  return 0;
}

Phase diff(const Sample& a, const Sample& b) {
  Phase p;
  p.ms = std::chrono::duration<double, std::milli>(b.t - a.t).count();
  p.tlb_shootdowns = minus(b.tlb, a.tlb);
  p.ctxt_daemon = minus(b.ctxt_daemon, a.ctxt_daemon);
  p.ctxt_system = static_cast<int64_t>(b.ctxt_system - a.ctxt_system);
  if (a.counters && b.counters) {
    std::map<std::string, uint64_t> before(a.counters->begin(), a.counters->end());
    Counters d;
    for (const auto& [name, value] : *b.counters) {
      auto it = before.find(name);
      d.emplace_back(name, static_cast<int64_t>(value - (it == before.end() ? 0 : it->second)));
    }
    p.counters = std::move(d);
  }
  return p;
}

int64_t get(const Counters& c, const std::string& name) {
  for (const auto& [n, v] : c)
    if (n == name) return v;
  return 0;
}

std::string fuse_options(const RunConfig& cfg, const std::string& policy) {
  std::string o = cfg.rw ? "rw" : "ro";
  o += ",vmap=" + policy + ",vmap_batch=" + std::to_string(cfg.batch);
  if (cfg.vmap_all) o += ",vmap_all";
  if (cfg.cache_mb != 0) o += ",cache_mb=" + std::to_string(cfg.cache_mb);
  return o;
}

int run_fuse(const RunConfig& cfg, const std::string& policy, const std::atomic<bool>* stop, Progress* progress,
             uint64_t* expected_entries, Run* run) {
  run->policy = policy;
  run->mount_options = fuse_options(cfg, policy);
  progress->show(policy + ": mounting");
  FuseDaemon daemon;
  std::string err;
  if (int e = daemon.start(cfg.xfsfuse, cfg.image, cfg.mnt, run->mount_options, cfg.workdir + "/xfsfuse-" + policy + ".log",
                           kMountTimeout, stop, &err)) {
    run->error = "mount: " + err;
    return e;
  }
  nlohmann::json stats;
  if (int e = daemon.ctl().stats(&stats, &err)) {
    run->error = "stats: " + err;
    return e;
  }
  run->daemon_options = stats.value("options", nlohmann::json());
  int rc = traverse_all(cfg, &daemon, stop, progress, expected_entries, run);
  progress->show(policy + ": unmounting");
  if (int e = daemon.stop(&err)) {
    run->error += (run->error.empty() ? "" : "; ") + err;
    if (rc == 0) rc = e;
  }
  return rc;
}

int run_kernel(const RunConfig& cfg, const std::atomic<bool>* stop, Progress* progress, uint64_t* expected_entries,
               Run* run) {
  run->policy = "kernel";
  run->mount_options = "ro,loop";
  progress->show("kernel: mounting");
  KernelMount m;
  std::string err;
  if (int e = m.mount(cfg.image, cfg.mnt, "ro,loop", &err)) {
    run->error = err;
    return e;
  }
  int rc = traverse_all(cfg, nullptr, stop, progress, expected_entries, run);
  if (int e = m.unmount(&err)) {
    run->error += (run->error.empty() ? "" : "; ") + err;
    if (rc == 0) rc = e;
  }
  return rc;
}

}  // namespace xfsfuse::tools::churn
