// fs/fuse/ring_sched.h — the scheduling policy of the io_uring queue threads
// (-o ring_sched=idle|normal; docs/fuse-io-uring.md, "Scheduling").
//
// Why: with FUSE over io_uring a request is served on its caller's CPU, but
// the reply wakes the caller while the queue thread is still running there.
// The scheduler then sees that CPU busy and the other one idle, and wakes the
// caller on the idle CPU: an interrupt to a halted virtual CPU, and the next
// request goes to that CPU's ring, whose thread must be woken as well.  A CPU
// that runs only SCHED_IDLE threads counts as idle when the scheduler places a
// woken thread (select_idle_sibling's sched_idle_cpu), and a SCHED_OTHER
// thread preempts a SCHED_IDLE one at once: with the queue threads under
// SCHED_IDLE the caller stays on the CPU its reply came from.  `cp -a` of
// /usr/include through the rings took 1.2-1.4 s that way against 1.8-2.0 s,
// the option alternated (docs/performance.md, "The ring threads under
// SCHED_IDLE").
//
// The danger: a SCHED_IDLE thread gets almost no CPU while SCHED_OTHER
// threads want it (measured: a copy that took 0.5 s beside six CPU-bound
// loops did not finish in 120 s).  So RingSched keeps the queue threads
// under SCHED_IDLE only while requests flow and none of them starves: a
// guard thread looks at each every kPeriodNs (its state, CPU time and wait
// for a CPU in /proc) and puts all of them back under SCHED_OTHER when one
// was runnable through a whole period without getting the CPU, or waited
// longer than a period, for a hold time that doubles while it keeps
// happening; and, until the next request, when none came for kQuietPeriods
// periods (the guard then sleeps).
// Leaving SCHED_IDLE needs CAP_SYS_NICE (or RLIMIT_NICE >= 20): without it
// the threads stay under SCHED_OTHER and stats say "unavailable".
// A RingSched that was never started (ring_sched=normal, no CAP_SYS_NICE)
// is inert: add_thread() only records (and opens the thread's two /proc
// files, which each look reads with one pread apiece), note_request() wakes
// nobody after its first call, stop() does nothing.
// Thread safety: add_thread() and note_request() from any thread; start()
// and stop() from one thread; stats() from any thread.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string_view>
#include <thread>
#include <vector>

namespace xfsfuse::fuse {

/// One look at a thread: whether it was runnable (state R), the CPU time it
/// has had and the time it has waited runnable for a CPU, in ns.
struct TaskSample {
  bool runnable = false;
  uint64_t runtime_ns = 0;
  uint64_t run_delay_ns = 0;
};

/// Parses a thread's /proc/.../stat line (the state is the field after the
/// last ')': the name in parentheses may hold anything) and its schedstat
/// line (the first two fields: CPU time and time waited on a run queue, in
/// ns; the kernel's Documentation/scheduler/sched-stats).
/// Returns false when either does not parse.
bool parse_task_sample(std::string_view stat, std::string_view schedstat, TaskSample* out);

/// Whether a thread seen at `before` and, period_ns later, at `after` was
/// starved: runnable both times with no CPU time between them, or it waited
/// for a CPU longer than the period (it got a sliver after a long wait; the
/// kernel adds a wait to run_delay when the wait ends).  Measured beside
/// `cp -a` with no other load, a queue thread under SCHED_IDLE waits 1-3 ms
/// of every 10; beside six CPU-bound loops, it waited 90 ms at a time.
bool starved(const TaskSample& before, const TaskSample& after, int64_t period_ns);

/// The guard's decisions, apart from threads, clocks and /proc (the tests
/// drive it with made-up times).  Times are CLOCK_MONOTONIC ns.
class RingSchedController {
 public:
  static constexpr int64_t kBaseHoldNs = 250'000'000;    ///< first hold after a starvation
  static constexpr int64_t kMaxHoldNs = 8'000'000'000;   ///< the doubling stops here
  static constexpr int64_t kCalmNs = 10'000'000'000;     ///< idle this long unstarved: hold back to base
  static constexpr unsigned kQuietPeriods = 10;          ///< periods without a request: back to normal

  enum class Policy { kNormal, kIdle };
  Policy policy() const { return policy_; }
  /// When the policy is normal after a starvation, the time before which it
  /// stays so.
  int64_t held_until() const { return held_until_; }
  int64_t hold_ns() const { return hold_; }

  /// Requests arrived while normal: returns true if the threads go idle now
  /// (not while held).
  bool on_requests(int64_t now);
  /// One period under idle: any_starved from starved() over the threads,
  /// requests whether any request came in it.  Returns true if the policy
  /// went back to normal.
  bool on_period(int64_t now, bool any_starved, bool requests);

  uint64_t idle_turns = 0;   ///< normal -> idle
  uint64_t starvations = 0;  ///< idle -> normal because a thread starved
  uint64_t quiet_turns = 0;  ///< idle -> normal because no request came

 private:
  Policy policy_ = Policy::kNormal;
  int64_t held_until_ = 0;
  int64_t hold_ = kBaseHoldNs;
  int64_t idle_since_ = 0;
  unsigned quiet_ = 0;
};

/// Counters of the queue threads' scheduling (fuse.ring_sched in the stats).
struct RingSchedStats {
  const char* state = "off";  ///< off (ring_sched=normal, or no rings), unavailable (no CAP_SYS_NICE), guarded
  bool idle_now = false;      ///< the threads are under SCHED_IDLE now
  uint64_t idle_turns = 0;    ///< times they went under SCHED_IDLE
  uint64_t starvations = 0;   ///< times one starved and all went back
  uint64_t quiet_turns = 0;   ///< times they went back because no request came
};

/// The guard of the queue threads' policy (see the file comment).
class RingSched {
 public:
  static constexpr int64_t kPeriodNs = 10'000'000;  ///< how often the guard looks while idle

  RingSched() = default;
  ~RingSched();  ///< stop(), then closes the /proc files
  RingSched(const RingSched&) = delete;
  RingSched& operator=(const RingSched&) = delete;

  /// Checks that this process may leave SCHED_IDLE again (a thread of its
  /// own tries) and starts the guard; requests() counts the requests served
  /// so far (the guard calls it once a period, holding its lock).  Returns
  /// false, with nothing started, when it may not.
  bool start(std::function<uint64_t()> requests);
  /// Stops the guard and puts every thread back under SCHED_OTHER; safe to
  /// call twice.
  void stop();
  /// A queue thread, by its TID (gettid()), from that thread or any other.
  void add_thread(pid_t tid);
  /// A request came (call after serving it); one relaxed load while the
  /// threads are under SCHED_IDLE, else the first call wakes the guard.
  void note_request() {
    // acq_rel / the guard's acquire: what the caller did before (the queues
    // requests() reads were made) is visible to the guard even when it sees
    // the flag before wake() runs.
    if (!idle_.load(std::memory_order_relaxed) && !wanted_.exchange(true, std::memory_order_acq_rel)) wake();
  }
  RingSchedStats stats() const;

 private:
  void wake();
  void run();
  void apply(bool idle);                  // mu_ held
  void sample(std::vector<TaskSample>* out, std::vector<bool>* ok);  // mu_ held

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::thread guard_;
  bool stopping_ = false;
  bool started_ = false;
  bool unavailable_ = false;
  /// A guarded thread and its /proc/self/task/TID/stat and schedstat,
  /// opened by add_thread and read again at offset 0 each look (-1: did not
  /// open; that thread's looks fail).  Closed by the destructor.
  struct Watched {
    pid_t tid;
    int stat_fd;
    int schedstat_fd;
  };
  std::vector<Watched> threads_;
  RingSchedController ctl_;
  std::atomic<bool> idle_{false};
  std::atomic<bool> wanted_{false};
  std::function<uint64_t()> requests_;
};

}  // namespace xfsfuse::fuse
