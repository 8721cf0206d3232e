// xfsfuse-churn — mapping churn under directory traversals: the traversal
// experiment of the original XFS lazy-unmap discussion (64 KiB directory
// blocks, ~100,000 files in one directory, repeated walks with caches dropped
// in between) run through xfsfuse under each vmap unmap policy, and
// optionally through the kernel's XFS; or (--workload dirstress) xfstests'
// dirstress on fresh rw mounts, per page pool and policy.  README
// "xfsfuse-churn" documents the output.  Exit: 0 every run completed, 1 a run
// failed, 2 usage.
#include <ftw.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "tools/churn_dirstress.h"
#include "tools/churn_dsreport.h"
#include "tools/churn_image.h"
#include "tools/churn_options.h"
#include "tools/churn_plot.h"
#include "tools/churn_proc.h"
#include "tools/churn_progress.h"
#include "tools/churn_report.h"
#include "tools/churn_run.h"

using namespace xfsfuse::tools::churn;

namespace {

std::atomic<bool> g_stop{false};
static_assert(std::atomic<bool>::is_always_lock_free, "set from a signal handler");

void on_signal(int) { g_stop.store(true); }

void catch_signals() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaction(sig, &sa, nullptr);
}

bool executable(const std::string& p) { return ::access(p.c_str(), X_OK) == 0; }

std::string dir_of(const std::string& p) {
  const size_t slash = p.rfind('/');
  return slash == std::string::npos ? "." : p.substr(0, slash);
}

std::string absolute(const std::string& p) {
  char buf[PATH_MAX];
  if (::realpath(p.c_str(), buf) != nullptr) return buf;
  if (p.empty() || p[0] == '/') return p;
  return ::getcwd(buf, sizeof buf) ? std::string(buf) + "/" + p : p;
}

// given, else the first of `beside` (paths relative to this program's
// directory) that is executable, else name in PATH.  Returns "" if none is.
std::string find_program(const std::string& given, const std::vector<std::string>& beside, const std::string& name) {
  if (!given.empty()) return executable(given) ? absolute(given) : "";
  char self[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n > 0) {
    self[n] = '\0';
    for (const auto& rel : beside) {
      const std::string built = dir_of(self) + "/" + rel;
      if (executable(built)) return absolute(built);
    }
  }
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    const size_t colon = dirs.find(':', start);
    const std::string d = dirs.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    if (!d.empty() && executable(d + "/" + name)) return d + "/" + name;
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return "";
}

// Removes the work directory; FTW_MOUNT keeps it out of anything still mounted
// there (whose mount point then stays, with a message).
bool remove_tree(const std::string& dir) {
  auto rm = [](const char* p, const struct stat*, int, FTW*) {
    ::remove(p);  // what cannot go shows in the access() below
    return 0;
  };
  ::nftw(dir.c_str(), rm, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
  return ::access(dir.c_str(), F_OK) != 0;
}

Host read_host() {
  Host h;
  h.nproc = ::sysconf(_SC_NPROCESSORS_ONLN);
  struct utsname u;
  if (::uname(&u) == 0) h.kernel = u.release;
  read_loadavg(h.loadavg);
  return h;
}

// "" if an output file can be written at path (its directory exists and is
// writable, and the file, if there, is writable), else why not: checked
// before the runs, so a bad --json or --plot path loses no measurement.
std::string unwritable(const std::string& path) {
  const std::string abs = absolute(path);
  const std::string dir = abs.substr(0, abs.rfind('/') + 1);
  if (::access(abs.c_str(), F_OK) == 0) return ::access(abs.c_str(), W_OK) == 0 ? "" : path + ": " + std::strerror(errno);
  return ::access(dir.c_str(), W_OK | X_OK) == 0 ? "" : path + ": directory " + dir + ": " + std::strerror(errno);
}

// Builds or checks the image; returns 0 or 1 (message printed).
int prepare_image(const Options& o, const std::string& workdir, Progress* progress, ReportContext* ctx) {
  std::string err;
  struct stat st;
  if (!o.image.empty() && ::stat(o.image.c_str(), &st) == 0) {
    progress->show("checking " + o.image);
    if (check_image(o.image, o.files, &err) != 0) {
      progress->message(err);
      return 1;
    }
    ctx->image = absolute(o.image);
    return 0;
  }
  const std::string path = o.image.empty() ? workdir + "/churn.img" : o.image;
  progress->show("building " + path + " (" + std::to_string(o.files) + " files in /d)");
  if (build_image(path, o.files, &err) != 0) {
    progress->message(err);
    return 1;
  }
  ctx->image = absolute(path);
  ctx->image_temporary = o.image.empty();
  return 0;
}

// Runs every policy, then the kernel; returns 0, or 1 if any run failed.
int run_all(const Options& o, const RunConfig& cfg, Progress* progress, std::vector<Run>* runs) {
  uint64_t expected = 0;  // the entries every traversal must see: set by the first
  int rc = 0;
  auto one = [&](const std::string& policy) {
    Run r;
    const int e = policy == "kernel" ? run_kernel(cfg, &g_stop, progress, &expected, &r)
                                     : run_fuse(cfg, policy, &g_stop, progress, &expected, &r);
    if (e != 0) {
      progress->message(policy + ": " + (g_stop.load() ? std::string("interrupted") : r.error));
      rc = 1;
    }
    runs->push_back(std::move(r));
  };
  for (const auto& p : o.policies) {
    if (g_stop.load()) break;
    one(p);
  }
  if (o.kernel && !g_stop.load()) one("kernel");
  progress->clear();
  return g_stop.load() ? 1 : rc;
}

// Table, JSON, plot; returns 0 or 1.
int report(const Options& o, const ReportContext& ctx, const std::vector<Run>& runs, const std::string& workdir,
           Progress* progress) {
  progress->clear();
  std::printf("\n");
  print_table(stdout, runs);
  std::fflush(stdout);
  int rc = 0;
  std::string err;
  if (!o.json_out.empty() && write_json(o.json_out, report_json(ctx, runs), &err) != 0) {
    progress->message("--json: " + err);
    rc = 1;
  }
  if (!o.plot_out.empty()) {
    const std::string title = "xfsfuse-churn: " + std::to_string(o.files) + " files, batch " +
                              std::to_string(o.batch) + ", " + std::to_string(o.threads) + " walker thread(s)" +
                              (o.vmap_all ? ", vmap_all" : "");
    if (write_plot(runs, title, workdir, absolute(o.plot_out), &err) != 0) {
      progress->message("--plot: " + err);
      rc = 1;
    }
  }
  return rc;
}

// The dirstress workload: every pool x policy, then the kernel; table, JSON,
// plot.  Returns 0, or 1 if a run or an output failed.
int dirstress_all(const Options& o, const DirstressConfig& cfg, const ReportContext& ctx, Progress* progress) {
  std::vector<DirstressRun> runs;
  int rc = 0;
  auto one = [&](const std::string& pool, const std::string& policy) {
    DirstressRun r;
    const int e = policy == "kernel" ? run_dirstress_kernel(cfg, &g_stop, progress, &r)
                                     : run_dirstress_fuse(cfg, pool, policy, &g_stop, progress, &r);
    if (e != 0) {
      progress->message(policy + (pool.empty() ? "" : "/" + pool) + ": " +
                        (g_stop.load() ? std::string("interrupted") : r.error));
      rc = 1;
    }
    runs.push_back(std::move(r));
  };
  for (const auto& pool : o.pools)
    for (const auto& p : o.policies)
      if (!g_stop.load()) one(pool, p);
  if (o.kernel && !g_stop.load()) one("", "kernel");
  progress->clear();
  std::printf("\n");
  print_dirstress_table(stdout, runs);
  std::fflush(stdout);
  std::string err;
  if (!o.json_out.empty() && write_json(o.json_out, dirstress_json(ctx, cfg.fsck, runs), &err) != 0) {
    progress->message("--json: " + err);
    rc = 1;
  }
  if (!o.plot_out.empty()) {
    const auto& d = o.dirstress;
    const std::string title = "xfsfuse-churn --workload dirstress: -p " + std::to_string(d.nprocs) + " -n " +
                              std::to_string(d.procs_per_dir) + " -f " + std::to_string(d.nfiles) +
                              (d.create_only ? " -C" : "") + ", batch " + std::to_string(o.batch) +
                              ", 64 KiB directory blocks";
    if (write_dirstress_plot(runs, title, cfg.run.workdir, absolute(o.plot_out), &err) != 0) {
      progress->message("--plot: " + err);
      rc = 1;
    }
  }
  return g_stop.load() ? 1 : rc;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  std::string err;
  switch (parse_options(argc, argv, &o, &err)) {
    case 0:
      break;
    case 1:
      return 0;
    default:
      if (!err.empty()) std::fprintf(stderr, "xfsfuse-churn: %s\n", err.c_str());
      return 2;
  }
  Progress progress;
  for (const auto& [flag, path] : {std::pair{"--json", o.json_out}, std::pair{"--plot", o.plot_out}}) {
    if (path.empty()) continue;
    if (const std::string why = unwritable(path); !why.empty()) {
      progress.message(std::string(flag) + " " + why + " (nothing was measured)");
      return 2;
    }
  }
  const bool root = ::geteuid() == 0;
  if (o.kernel && !root) {
    progress.message("--kernel needs root (it loop-mounts the image through the kernel's XFS)");
    return 2;
  }
  ReportContext ctx;
  ctx.options = &o;
  ctx.uid = ::getuid();
  ctx.host = read_host();
  ctx.xfsfuse = find_program(o.xfsfuse, {"../fs/fuse/xfsfuse"}, "xfsfuse");
  if (ctx.xfsfuse.empty()) {
    progress.message(o.xfsfuse.empty() ? "xfsfuse not found next to this program nor in PATH (pass --xfsfuse PATH)"
                                       : o.xfsfuse + ": not an executable");
    return 1;
  }
  if (!root && o.workload == "traverse")
    progress.message("not root: kernel caches not dropped; traversals after the first may be served from the kernel's dcache");

  catch_signals();
  const char* tmp = std::getenv("TMPDIR");
  std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/xfsfuse-churn.XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) {
    progress.message(tmpl + ": " + std::strerror(errno));
    return 1;
  }
  const std::string workdir = tmpl;
  RunConfig cfg;
  cfg.mnt = workdir + "/mnt";
  ::mkdir(cfg.mnt.c_str(), 0755);

  int rc = 0;
  if (o.workload == "dirstress") {
    DirstressConfig dc;
    dc.run.xfsfuse = ctx.xfsfuse;
    dc.run.mnt = cfg.mnt;
    dc.run.workdir = workdir;
    dc.run.batch = o.batch;
    dc.run.cache_mb = o.cache_mb;
    dc.run.root = root;
    dc.workload = o.dirstress;
    dc.fsck = find_program(o.fsck, {"fsck/xfsfuse-fsck", "xfsfuse-fsck"}, "xfsfuse-fsck");
    dc.template_image = workdir + "/empty.img";
    progress.show("mkfs.xfs -n size=65536 " + dc.template_image);
    if (dc.fsck.empty()) {
      progress.message(o.fsck.empty() ? "xfsfuse-fsck not found next to this program nor in PATH (pass --fsck PATH)"
                                      : o.fsck + ": not an executable");
      rc = 1;
    } else if (make_dirstress_image(dc.template_image, &err) != 0) {
      progress.message(err);
      rc = 1;
    } else {
      rc = dirstress_all(o, dc, ctx, &progress);
    }
  } else if (rc = prepare_image(o, workdir, &progress, &ctx); rc == 0 && !g_stop.load()) {
    std::vector<Run> runs;
    cfg.xfsfuse = ctx.xfsfuse;
    cfg.image = ctx.image;
    cfg.workdir = workdir;
    cfg.traversals = o.traversals;
    cfg.batch = o.batch;
    cfg.threads = o.threads;
    cfg.cache_mb = o.cache_mb;
    cfg.vmap_all = o.vmap_all;
    cfg.root = root;
    rc = run_all(o, cfg, &progress, &runs);
    if (report(o, ctx, runs, workdir, &progress) != 0) rc = 1;
  }
  if (g_stop.load()) {
    progress.message("interrupted");
    rc = 1;
  }
  progress.clear();
  if (!remove_tree(workdir)) progress.message("could not remove " + workdir + " (is " + cfg.mnt + " still mounted?)");
  return rc;
}
