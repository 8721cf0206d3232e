// tests/fuse/ring_sched_test.cc — the io_uring queue threads' scheduling guard
// (fs/fuse/ring_sched.h): its /proc parsing, its decisions on made-up times,
// and the guard itself on real threads (a starved SCHED_IDLE thread must get
// its CPU back).
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <ctime>
#include <thread>

#include "fs/fuse/ring_sched.h"

using xfsfuse::fuse::parse_task_sample;
using xfsfuse::fuse::RingSched;
using xfsfuse::fuse::RingSchedController;
using xfsfuse::fuse::starved;
using xfsfuse::fuse::TaskSample;
using Policy = RingSchedController::Policy;

namespace {

constexpr int64_t kMs = 1'000'000;

TaskSample sample(bool runnable, uint64_t runtime_ms, uint64_t delay_ms) {
  return TaskSample{runnable, runtime_ms * kMs, delay_ms * kMs};
}

}  // namespace

TEST_CASE("ring_sched: a thread's state and times from /proc", "[ring_sched]") {
  TaskSample s;
  // The name may hold ") R (" itself: the state is after the last ')'.
  REQUIRE(parse_task_sample("4242 (x) S (y) R 1 4242 4242 0 -1", "123456 789 10\n", &s));
  CHECK(s.runnable);
  CHECK(s.runtime_ns == 123456);
  CHECK(s.run_delay_ns == 789);
  REQUIRE(parse_task_sample("4242 (xfsfuse-ring0) S 1 4242", "5 6 7\n", &s));
  CHECK_FALSE(s.runnable);
  CHECK(s.run_delay_ns == 6);
  CHECK_FALSE(parse_task_sample("", "1 2 3\n", &s));                 // the thread has gone
  CHECK_FALSE(parse_task_sample("4242 (x) R 1", "", &s));
  CHECK_FALSE(parse_task_sample("4242 (x)", "1 2 3\n", &s));         // cut short
  CHECK_FALSE(parse_task_sample("4242 (x) R 1", "12\n", &s));        // no run_delay
  CHECK_FALSE(parse_task_sample("4242 (x) R 1", "x 2 3\n", &s));
}

TEST_CASE("ring_sched: what counts as starved", "[ring_sched]") {
  const int64_t period = 10 * kMs;
  // Runnable at both looks and no CPU time between them.
  CHECK(starved(sample(true, 50, 3), sample(true, 50, 3), period));
  // Ran a little: not starved, unless it first waited a whole period.
  CHECK_FALSE(starved(sample(true, 50, 3), sample(true, 51, 5), period));
  CHECK(starved(sample(true, 50, 3), sample(true, 51, 93), period));
  // Asleep at either look (waiting for a request): not starved.
  CHECK_FALSE(starved(sample(false, 50, 3), sample(true, 50, 3), period));
  CHECK_FALSE(starved(sample(true, 50, 3), sample(false, 50, 3), period));
  // What `cp -a` with nothing else running showed: 5 ms run, 1-3 ms waited.
  CHECK_FALSE(starved(sample(true, 100, 10), sample(true, 105, 13), period));
}

TEST_CASE("ring_sched: the controller's turns, holds and quiet", "[ring_sched]") {
  RingSchedController c;
  int64_t t = 1'000 * kMs;
  REQUIRE(c.policy() == Policy::kNormal);
  CHECK_FALSE(c.on_period(t, true, true));  // periods count only under idle
  REQUIRE(c.on_requests(t));
  CHECK(c.policy() == Policy::kIdle);
  CHECK_FALSE(c.on_requests(t));  // already idle
  CHECK(c.idle_turns == 1);

  SECTION("a starved thread sends all back, and the holds double up to the cap") {
    int64_t hold = RingSchedController::kBaseHoldNs;
    for (int i = 0; i < 8; i++) {
      t += 10 * kMs;
      REQUIRE(c.on_period(t, true, true));
      CHECK(c.policy() == Policy::kNormal);
      CHECK(c.held_until() == t + hold);
      CHECK_FALSE(c.on_requests(t + hold - 1));  // held
      t += hold;
      REQUIRE(c.on_requests(t));
      hold = std::min(2 * hold, RingSchedController::kMaxHoldNs);
    }
    CHECK(c.hold_ns() == RingSchedController::kMaxHoldNs);
    CHECK(c.starvations == 8);
    // Long enough under idle with nothing starved: the hold is back to its base.
    for (int64_t end = t + RingSchedController::kCalmNs; t < end;) {
      t += 10 * kMs;
      REQUIRE_FALSE(c.on_period(t, false, true));
    }
    CHECK(c.hold_ns() == RingSchedController::kBaseHoldNs);
  }

  SECTION("no request for kQuietPeriods periods: back to normal, no hold") {
    for (unsigned i = 1; i < RingSchedController::kQuietPeriods; i++) {
      t += 10 * kMs;
      REQUIRE_FALSE(c.on_period(t, false, false));
    }
    t += 10 * kMs;
    CHECK_FALSE(c.on_period(t, false, true));  // a request: the count starts again
    for (unsigned i = 1; i < RingSchedController::kQuietPeriods; i++) {
      t += 10 * kMs;
      REQUIRE_FALSE(c.on_period(t, false, false));
    }
    t += 10 * kMs;
    REQUIRE(c.on_period(t, false, false));
    CHECK(c.policy() == Policy::kNormal);
    CHECK(c.quiet_turns == 1);
    CHECK(c.starvations == 0);
    CHECK(c.on_requests(t));  // the next request: idle again at once
  }
}

namespace {

// Whether this process may leave SCHED_IDLE again (root, CAP_SYS_NICE).
bool may_leave_idle() {
  bool ok = false;
  std::thread([&ok] {
    const sched_param p{};
    ok = sched_setscheduler(0, SCHED_IDLE, &p) == 0 && sched_setscheduler(0, SCHED_OTHER, &p) == 0;
  }).join();
  return ok;
}

double thread_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// Pins the calling thread to CPU 0; false if it could not.  (Called from
// the test's own threads: Catch2's assertions belong on the main thread.)
bool pin_to_cpu0() {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(0, &set);
  return pthread_setaffinity_np(pthread_self(), sizeof set, &set) == 0;
}

template <class Pred>
bool wait_for(Pred pred) {
  for (int i = 0; i < 500; i++) {  // 5 s: the guard looks every 10 ms
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pred();
}

}  // namespace

TEST_CASE("ring_sched: the guard on real threads", "[ring_sched]") {
  if (!may_leave_idle()) {
    WARN("SKIP: this process may not leave SCHED_IDLE (no CAP_SYS_NICE): the guard stays off");
    RingSched g;
    CHECK_FALSE(g.start([] { return uint64_t{0}; }));
    CHECK(std::string(g.stats().state) == "unavailable");
    return;
  }
  std::atomic<uint64_t> requests{0};
  std::atomic<pid_t> tid{0};
  std::atomic<bool> spin{false}, stop{false};
  std::atomic<double> cpu{0};
  RingSched g;
  REQUIRE(g.start([&] { return requests.load(); }));
  CHECK(std::string(g.stats().state) == "guarded");
  // The "queue thread": serves a request when told, or spins (a long one).
  std::atomic<bool> pinned{true};
  std::thread worker([&] {
    if (!pin_to_cpu0()) pinned = false;
    tid = gettid();
    while (!stop) {
      if (spin) {
        requests++;
        g.note_request();
        cpu = thread_cpu_s();
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    }
  });
  REQUIRE(wait_for([&] { return tid.load() != 0; }));
  g.add_thread(tid);
  CHECK(sched_getscheduler(tid) == SCHED_OTHER);

  SECTION("requests put it under SCHED_IDLE; silence puts it back") {
    for (int i = 0; i < 5; i++) {
      requests++;
      g.note_request();
    }
    // Counters, not a look at the policy: on a loaded host (CI runs tests
    // side by side) the idle spell may be too short for a 10 ms poll to see.
    REQUIRE(wait_for([&] { return g.stats().idle_turns >= 1; }));
    // Back after 10 looks without a request, or sooner if other processes'
    // load on CPU 0 starved the (mostly sleeping) thread: both are the guard's.
    REQUIRE(wait_for([&] {
      const auto s = g.stats();
      return !s.idle_now && s.quiet_turns + s.starvations >= 1;
    }));
    CHECK(sched_getscheduler(tid) == SCHED_OTHER);
    CHECK(g.stats().idle_turns == 1);  // no request since: it stays under SCHED_OTHER
  }

  SECTION("a thread starved by a CPU-bound one on its CPU gets its share back") {
    std::atomic<double> hog_cpu{0};
    std::atomic<bool> hog_stop{false};
    spin = true;  // the worker now spins, sending requests: under SCHED_IDLE
    REQUIRE(wait_for([&] { return g.stats().idle_turns >= 1; }));
    std::thread hog([&] {  // SCHED_OTHER, same CPU: alone it would take all but ~0.3% (weight 1024 vs 3)
      if (!pin_to_cpu0()) pinned = false;
      while (!hog_stop) hog_cpu = thread_cpu_s();
    });
    const double w0 = cpu.load();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const double h0 = hog_cpu.load();
    std::this_thread::sleep_for(std::chrono::seconds(2));
    const double worker_s = cpu.load() - w0, hog_s = hog_cpu.load() - h0;
    hog_stop = true;
    hog.join();
    REQUIRE(pinned);
    INFO("worker " << worker_s << " s of CPU, the CPU-bound thread " << hog_s << " s");
    CHECK(g.stats().starvations >= 1);
    // Under SCHED_OTHER the two share the CPU evenly; the guard's looks under
    // SCHED_IDLE (10-20 ms, then a doubling hold) cost the worker little.
    CHECK(worker_s >= 0.25 * hog_s);
  }
  stop = true;
  worker.join();
  g.stop();
  CHECK(pinned);
}
