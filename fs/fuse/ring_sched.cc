// fs/fuse/ring_sched.cc — the queue threads' scheduling policy (see ring_sched.h).
#include "fs/fuse/ring_sched.h"

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>

namespace xfsfuse::fuse {

bool parse_task_sample(std::string_view stat, std::string_view schedstat, TaskSample* out) {
  const size_t close = stat.rfind(')');
  if (close == std::string_view::npos || close + 2 >= stat.size() || stat[close + 1] != ' ') return false;
  uint64_t runtime = 0;
  uint64_t delay = 0;
  const char* end = schedstat.data() + schedstat.size();
  const auto r = std::from_chars(schedstat.data(), end, runtime);
  if (r.ec != std::errc() || r.ptr == end || *r.ptr != ' ') return false;
  const auto d = std::from_chars(r.ptr + 1, end, delay);
  if (d.ec != std::errc()) return false;
  out->runnable = stat[close + 2] == 'R';
  out->runtime_ns = runtime;
  out->run_delay_ns = delay;
  return true;
}

bool starved(const TaskSample& before, const TaskSample& after, int64_t period_ns) {
  if (before.runnable && after.runnable && after.runtime_ns == before.runtime_ns) return true;
  return after.run_delay_ns >= before.run_delay_ns + static_cast<uint64_t>(period_ns);
}

bool RingSchedController::on_requests(int64_t now) {
  if (policy_ == Policy::kIdle || now < held_until_) return false;
  policy_ = Policy::kIdle;
  idle_since_ = now;
  quiet_ = 0;
  idle_turns++;
  return true;
}

bool RingSchedController::on_period(int64_t now, bool any_starved, bool requests) {
  if (policy_ != Policy::kIdle) return false;
  if (any_starved) {
    policy_ = Policy::kNormal;
    held_until_ = now + hold_;
    hold_ = std::min(2 * hold_, kMaxHoldNs);
    starvations++;
    return true;
  }
  if (!requests) {
    if (++quiet_ < kQuietPeriods) return false;
    policy_ = Policy::kNormal;
    quiet_turns++;
    return true;
  }
  quiet_ = 0;
  if (now - idle_since_ >= kCalmNs) hold_ = kBaseHoldNs;
  return false;
}

namespace {

int64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// Reads a small /proc file whole, from its start, into buf: such a file is
// made anew by each read at offset 0, so one descriptor serves every look.
// The bytes read (empty on an error: the thread has gone).
std::string_view read_proc(int fd, char* buf, size_t cap) {
  if (fd < 0) return {};
  const ssize_t n = ::pread(fd, buf, cap, 0);
  return n > 0 ? std::string_view(buf, static_cast<size_t>(n)) : std::string_view();
}

int open_proc(const std::string& path) { return ::open(path.c_str(), O_RDONLY | O_CLOEXEC); }

int set_policy(pid_t tid, int policy) {
  const sched_param p{};
  return sched_setscheduler(tid, policy, &p) == 0 ? 0 : errno;
}

}  // namespace

RingSched::~RingSched() {
  stop();
  for (const Watched& w : threads_) {
    if (w.stat_fd >= 0) ::close(w.stat_fd);
    if (w.schedstat_fd >= 0) ::close(w.schedstat_fd);
  }
}

bool RingSched::start(std::function<uint64_t()> requests) {
  // Whether a thread of this process may come back from SCHED_IDLE: an
  // unprivileged one may not at nice 0 (sched(7)); a throw-away thread asks.
  int rc = 0;
  std::thread([&rc] {
    rc = set_policy(0, SCHED_IDLE);
    if (rc == 0) rc = set_policy(0, SCHED_OTHER);
  }).join();
  std::lock_guard<std::mutex> g(mu_);
  if (rc != 0) {
    unavailable_ = true;
    return false;
  }
  requests_ = std::move(requests);
  started_ = true;
  guard_ = std::thread([this] { run(); });
  return true;
}

void RingSched::stop() {
  {
    std::lock_guard<std::mutex> g(mu_);
    if (!started_ || stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (guard_.joinable()) guard_.join();
  std::lock_guard<std::mutex> g(mu_);
  apply(false);
}

void RingSched::add_thread(pid_t tid) {
  const std::string dir = "/proc/self/task/" + std::to_string(tid);
  const Watched w{tid, open_proc(dir + "/stat"), open_proc(dir + "/schedstat")};
  std::lock_guard<std::mutex> g(mu_);
  threads_.push_back(w);
  if (idle_.load(std::memory_order_relaxed)) (void)set_policy(tid, SCHED_IDLE);
}

void RingSched::wake() {
  std::lock_guard<std::mutex> g(mu_);  // the guard is either before its wait's check or inside the wait
  cv_.notify_one();
}

void RingSched::apply(bool idle) {
  // ESRCH: a queue thread that has ended (unmount); nothing else can fail
  // after start()'s check.
  for (const Watched& w : threads_) (void)set_policy(w.tid, idle ? SCHED_IDLE : SCHED_OTHER);
  idle_.store(idle, std::memory_order_relaxed);
}

void RingSched::sample(std::vector<TaskSample>* out, std::vector<bool>* ok) {
  out->assign(threads_.size(), TaskSample{});
  ok->assign(threads_.size(), false);
  char stat[1024];
  char schedstat[128];
  for (size_t i = 0; i < threads_.size(); i++) {
    const std::string_view a = read_proc(threads_[i].stat_fd, stat, sizeof stat);
    const std::string_view b = read_proc(threads_[i].schedstat_fd, schedstat, sizeof schedstat);
    (*ok)[i] = parse_task_sample(a, b, &(*out)[i]);
  }
}

void RingSched::run() {
  pthread_setname_np(pthread_self(), "xfsfuse-rsched");
  std::vector<TaskSample> prev, cur;
  std::vector<bool> prev_ok, cur_ok;
  uint64_t seen = 0;
  std::unique_lock<std::mutex> l(mu_);
  while (!stopping_) {
    if (ctl_.policy() == RingSchedController::Policy::kNormal) {
      const int64_t wait = ctl_.held_until() - monotonic_ns();
      if (wait > 0) {
        cv_.wait_for(l, std::chrono::nanoseconds(wait), [this] { return stopping_; });
        continue;
      }
      cv_.wait(l, [this] { return stopping_ || wanted_.load(std::memory_order_acquire); });
      if (stopping_ || !ctl_.on_requests(monotonic_ns())) continue;
      apply(true);
      sample(&prev, &prev_ok);
      seen = requests_();
      continue;
    }
    cv_.wait_for(l, std::chrono::nanoseconds(kPeriodNs), [this] { return stopping_; });
    if (stopping_) break;
    sample(&cur, &cur_ok);
    bool any = false;
    for (size_t i = 0; i < cur.size() && i < prev.size(); i++)
      if (prev_ok[i] && cur_ok[i] && starved(prev[i], cur[i], kPeriodNs)) any = true;
    prev.swap(cur);
    prev_ok.swap(cur_ok);
    const uint64_t now_seen = requests_();
    const bool moved = now_seen != seen;
    seen = now_seen;
    if (ctl_.on_period(monotonic_ns(), any, moved)) {
      wanted_.store(false, std::memory_order_relaxed);  // before apply: a request from here on wakes the guard
      apply(false);
    }
  }
}

RingSchedStats RingSched::stats() const {
  std::lock_guard<std::mutex> g(mu_);
  RingSchedStats s;
  s.state = unavailable_ ? "unavailable" : started_ ? "guarded" : "off";
  s.idle_now = idle_.load(std::memory_order_relaxed);
  s.idle_turns = ctl_.idle_turns;
  s.starvations = ctl_.starvations;
  s.quiet_turns = ctl_.quiet_turns;
  return s;
}

}  // namespace xfsfuse::fuse
