// tools/dirstress_run.cc — run_dirstress: starts the workers (forked processes
// or threads), draws the progress line, reaps them and sums their counters.
#include "tools/dirstress_run.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>
#include <vector>

namespace xfsfuse::tools::dirstress {

namespace {

using Clock = std::chrono::steady_clock;

/// The workers' counters in one MAP_SHARED anonymous mapping, so forked
/// workers write into the parent's view.
class SharedStats {
 public:
  explicit SharedStats(uint32_t n) : n_(n), bytes_(sizeof(WorkerStats) * n) {
    void* p = ::mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return;
    stats_ = static_cast<WorkerStats*>(p);
    for (uint32_t i = 0; i < n_; i++) new (&stats_[i]) WorkerStats();
  }
  ~SharedStats() {
    if (!stats_) return;
    for (uint32_t i = 0; i < n_; i++) stats_[i].~WorkerStats();
    ::munmap(stats_, bytes_);
  }
  SharedStats(const SharedStats&) = delete;
  SharedStats& operator=(const SharedStats&) = delete;
  WorkerStats* get() const { return stats_; }

 private:
  uint32_t n_;
  size_t bytes_;
  WorkerStats* stats_ = nullptr;
};

void draw_progress(const WorkerStats* st, uint32_t n, uint32_t ended, Clock::time_point t0) {
  uint64_t calls = 0;
  for (uint32_t i = 0; i < n; i++) calls += st[i].progress.load(std::memory_order_relaxed);
  double s = std::chrono::duration<double>(Clock::now() - t0).count();
  std::fprintf(stderr, "\rxfsfuse-dirstress: %llu calls, %u/%u workers done, %.1f s, %.0f calls/s   ",
               static_cast<unsigned long long>(calls), ended, n, s, s > 0 ? static_cast<double>(calls) / s : 0.0);
}

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

constexpr auto kTick = std::chrono::milliseconds(200);

/// Forks the workers and reaps them; *status_sum and *failed from their exits.
int run_processes(const Options& o, int basefd, WorkerStats* st, bool progress, Clock::time_point t0,
                  int* status_sum, uint32_t* failed) {
  std::fflush(stdout);
  std::fflush(stderr);
  std::vector<pid_t> pids;
  for (uint32_t i = 0; i < o.nprocs; i++) {
    pid_t pid = ::fork();
    if (pid < 0) {
      int e = errno;
      for (pid_t p : pids) ::waitpid(p, nullptr, 0);
      return e;
    }
    if (pid == 0) {
      int r = run_worker(o, i, basefd, &st[i]);
      st[i].end_ns = now_ns();
      std::fflush(stderr);
      ::_exit(r);
    }
    pids.push_back(pid);
  }
  uint32_t ended = 0;
  while (ended < o.nprocs) {
    int ws = 0;
    pid_t pid = ::waitpid(-1, &ws, progress ? WNOHANG : 0);
    if (pid < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (pid == 0) {
      draw_progress(st, o.nprocs, ended, t0);
      std::this_thread::sleep_for(kTick);
      continue;
    }
    ended++;
    if (WIFEXITED(ws)) {
      *status_sum += WEXITSTATUS(ws);
      if (WEXITSTATUS(ws) != 0) ++*failed;
    } else {
      std::fprintf(stderr, "xfsfuse-dirstress: worker %d killed by signal %d\n", pid, WTERMSIG(ws));
      *status_sum += 1;
      ++*failed;
    }
  }
  return 0;
}

int run_threads(const Options& o, int basefd, WorkerStats* st, bool progress, Clock::time_point t0, int* status_sum,
                uint32_t* failed) {
  std::vector<std::thread> threads;
  threads.reserve(o.nprocs);
  for (uint32_t i = 0; i < o.nprocs; i++)
    threads.emplace_back([&o, i, basefd, st] {
      st[i].status = run_worker(o, i, basefd, &st[i]);
      st[i].end_ns = now_ns();
      st[i].done.store(1, std::memory_order_release);
    });
  for (;;) {
    uint32_t ended = 0;
    for (uint32_t i = 0; i < o.nprocs; i++) ended += static_cast<uint32_t>(st[i].done.load(std::memory_order_acquire));
    if (ended == o.nprocs || !progress) break;
    draw_progress(st, o.nprocs, ended, t0);
    std::this_thread::sleep_for(kTick);
  }
  for (auto& t : threads) t.join();
  for (uint32_t i = 0; i < o.nprocs; i++) {
    *status_sum += st[i].status;
    if (st[i].status != 0) ++*failed;
  }
  return 0;
}

}  // namespace

int run_dirstress(const Options& o, bool progress, std::unique_ptr<RunResult>* out) {
  int basefd = ::open(o.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (basefd < 0) return errno;
  SharedStats shared(o.nprocs);
  WorkerStats* st = shared.get();
  if (!st) {
    int e = errno;
    ::close(basefd);
    return e;
  }
  auto res = std::make_unique<RunResult>();
  int status_sum = 0;
  auto t0 = Clock::now();
  int err = o.threads ? run_threads(o, basefd, st, progress, t0, &status_sum, &res->failed_workers)
                      : run_processes(o, basefd, st, progress, t0, &status_sum, &res->failed_workers);
  ::close(basefd);
  if (err != 0) return err;
  // The workers' own end times: the progress line's polling must not count.
  int64_t last = 0;
  for (uint32_t i = 0; i < o.nprocs; i++) last = std::max(last, st[i].end_ns);
  int64_t start = std::chrono::duration_cast<std::chrono::nanoseconds>(t0.time_since_epoch()).count();
  res->seconds = static_cast<double>(last - start) / 1e9;
  if (progress) {
    draw_progress(st, o.nprocs, o.nprocs, t0);
    std::fputc('\n', stderr);
  }
  res->exit_status = status_sum > 255 ? 255 : status_sum;
  for (uint32_t i = 0; i < o.nprocs; i++) {
    res->verify_failed += static_cast<uint32_t>(st[i].verify_failed);
    for (int k = 0; k < kOpKinds; k++) res->totals[k].merge(st[i].kinds[k]);
  }
  *out = std::move(res);
  return 0;
}

}  // namespace xfsfuse::tools::dirstress
