// fs/fuse/uring.cc — FUSE over io_uring: the transport (see uring.h and
// docs/fuse-io-uring.md for the ABI and the kernel's rules).
#include "fs/fuse/uring.h"

#include <linux/fuse.h>
#include <liburing.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "fs/fuse/tmpfile.h"

namespace xfsfuse::fuse {

namespace {

// The FUSE-over-io_uring ABI, protocol 7.42 (docs/fuse-io-uring.md).  Debian
// 12's <linux/fuse.h> (7.38) predates it, so the parts used are spelled here.
constexpr uint64_t kOverIoUring = 1ull << 41;  // INIT flag, in flags2 (bit 9)
constexpr uint32_t kInitExt = 1u << 30;        // INIT flag: flags2 is meant
constexpr uint32_t kOpInit = 26;               // FUSE_INIT
constexpr uint32_t kOpForget = 2;              // FUSE_FORGET
constexpr uint32_t kOpBatchForget = 42;        // FUSE_BATCH_FORGET
constexpr uint32_t kOpFsync = 20;              // FUSE_FSYNC
constexpr uint32_t kOpFsyncdir = 30;           // FUSE_FSYNCDIR
constexpr uint32_t kCmdRegister = 1;           // FUSE_IO_URING_CMD_REGISTER
constexpr uint32_t kCmdCommitAndFetch = 2;     // FUSE_IO_URING_CMD_COMMIT_AND_FETCH
constexpr size_t kInOutArea = 128;             // fuse_in_header in, fuse_out_header out
constexpr size_t kOpArea = 128;                // the op's own header (its first argument)

struct EntInOut {      // fuse_uring_ent_in_out
  uint64_t flags;
  uint64_t commit_id;  // the request's unique: named again in the commit
  uint32_t payload_sz; // bytes of the payload buffer in use, either way
  uint32_t padding;
  uint64_t reserved;
};
struct ReqHeader {     // fuse_uring_req_header: an entry's first iovec
  unsigned char in_out[kInOutArea];
  unsigned char op_in[kOpArea];
  EntInOut ent;
};
struct CmdReq {        // fuse_uring_cmd_req, in the SQE128's command area
  uint64_t flags;
  uint64_t commit_id;
  uint16_t qid;
  uint8_t padding[6];
};
static_assert(sizeof(EntInOut) == 32 && sizeof(ReqHeader) == 288 && sizeof(CmdReq) == 24);

constexpr unsigned kEntriesPerQueue = 2;
// Room in front of an entry's payload for the request's fuse_in_header and op
// header, copied there so libfuse sees one contiguous request as read(2)
// gives it; the payload itself stays page aligned.
constexpr size_t kFront = 4096;
static_assert(kFront >= sizeof(fuse_in_header) + kOpArea);
constexpr uint64_t kStopTag = 1;  // user_data of the stop eventfd's poll
constexpr uint64_t kDoneTag = 2;  // user_data of the done eventfd's poll

// Requests that wait for the disk as a rule: an fsync waits for the log's
// write and the image's sync, milliseconds to seconds.  A queue thread hands
// them to a helper thread, so that the requests queued behind them on the
// same CPU do not wait too (docs/fuse-io-uring.md, "Requests that wait").
bool waits_for_disk(uint32_t opcode) { return opcode == kOpFsync || opcode == kOpFsyncdir; }

struct Entry {
  ReqHeader hdr{};
  unsigned char* area = nullptr;  // kFront + payload_cap bytes (mmap)
  size_t area_len = 0;
  iovec iov[2]{};
  uint64_t unique = 0;  // the request being served
  bool replied = false;
  unsigned char* payload() const { return area + kFront; }
};

struct Queue {
  unsigned qid = 0;
  io_uring ring{};
  bool ring_made = false;
  int stop_fd = -1;
  int done_fd = -1;          // eventfd: a helper has put a reply in one of this queue's entries
  std::mutex done_mu;
  std::vector<Entry*> done;  // GUARDED_BY(done_mu): entries whose replies wait to be committed
  Entry entries[kEntriesPerQueue];
  std::thread thread;
  std::atomic<uint64_t> requests{0};
};

thread_local Entry* t_current = nullptr;  // the ring request this thread is serving

// Number of possible CPUs (the kernel makes one queue per possible CPU).
unsigned possible_cpus() {
  std::ifstream f("/sys/devices/system/cpu/possible");
  std::string s;
  unsigned n = 0;
  if (std::getline(f, s)) {
    // "0-3,6,8-9": count every CPU named.
    size_t i = 0;
    while (i < s.size()) {
      const size_t comma = s.find(',', i);
      const std::string part = s.substr(i, comma == std::string::npos ? std::string::npos : comma - i);
      const size_t dash = part.find('-');
      if (dash == std::string::npos) n += 1;
      else n += static_cast<unsigned>(std::stoul(part.substr(dash + 1)) - std::stoul(part.substr(0, dash)) + 1);
      if (comma == std::string::npos) break;
      i = comma + 1;
    }
  }
  return n != 0 ? n : static_cast<unsigned>(std::max(1u, std::thread::hardware_concurrency()));
}

// The 128-byte slot of an SQE128 ring: the SQE, then its command area.
// GCC sizes the slot by io_uring_sqe (64 bytes) and would warn on the rest.
[[gnu::noinline]] void sqe128_write(io_uring_sqe* sqe, size_t at, const void* src, size_t len) {
  std::memcpy(reinterpret_cast<unsigned char*>(sqe) + at, src, len);
}
constexpr size_t kCmdOffset = offsetof(io_uring_sqe, cmd);

void prep_cmd(io_uring_sqe* sqe, int fd, uint32_t op, const Queue& q, Entry* e, uint64_t commit_id) {
  static constexpr unsigned char kZero[2 * sizeof(io_uring_sqe)] = {};
  sqe128_write(sqe, 0, kZero, sizeof kZero);
  sqe->opcode = IORING_OP_URING_CMD;
  sqe->fd = fd;
  sqe->cmd_op = op;
  if (op == kCmdRegister) {
    sqe->addr = reinterpret_cast<uintptr_t>(e->iov);
    sqe->len = 2;
  }
  CmdReq req{};
  req.commit_id = commit_id;
  req.qid = static_cast<uint16_t>(q.qid);
  static_assert(kCmdOffset + sizeof req <= 2 * sizeof(io_uring_sqe));
  sqe128_write(sqe, kCmdOffset, &req, sizeof req);
  io_uring_sqe_set_data(sqe, e);
}

}  // namespace

struct UringTransport::Impl {
  fuse_session* se = nullptr;
  int dev_fd = -1;
  std::vector<std::unique_ptr<Queue>> queues;

  std::mutex mu;
  std::condition_variable cv;
  enum class Phase { kWait, kGo, kStop } phase = Phase::kWait;
  unsigned rings_reported = 0;  // queues that tried to make their ring
  bool rings_ok = true;
  size_t payload_cap = 0;       // set at the INIT reply

  std::atomic<uint64_t> init_unique{0};
  std::atomic<bool> offered{false};
  std::atomic<unsigned> registered{0};
  std::atomic<bool> stray_logged{false};
  std::atomic<bool> ring_served{false};   // a request came through a ring: the kernel switched
  std::atomic<bool> ring_refused{false};  // the kernel refused an entry: everything stays on /dev/fuse
  bool report = true;                       // tell stderr why the rings are not used (attach's report)
  std::atomic<int64_t> dev_quiet_until{0};  // CLOCK_MONOTONIC ns: no /dev/fuse read before (read_hook)
  std::mutex dev_read_mu;                   // held by the one thread reading the side channel
  RingSched sched;                          // the queue threads' policy (-o ring_sched; inert unless started)

  // Helpers (waits_for_disk): a queue thread hands such a request over and
  // serves the next; the helper runs it and gives the entry back through its
  // queue's done list and done_fd, and the queue thread commits the reply.
  std::mutex work_mu;
  std::condition_variable work_cv;
  std::deque<std::pair<Queue*, Entry*>> work;  // GUARDED_BY(work_mu)
  bool helpers_stop = false;                    // GUARDED_BY(work_mu)
  std::vector<std::thread> helpers;
  std::atomic<uint64_t> handed_off{0};

  // Whether /dev/fuse now carries only what the rings do not (FORGETs,
  // INTERRUPTs): then a read of it may wait.
  bool dev_is_side_channel() const {
    return ring_served.load(std::memory_order_relaxed) && !ring_refused.load(std::memory_order_relaxed);
  }

  void run(Queue* q);
  void process(Queue* q, Entry* e);
  void commit(Queue* q, Entry* e);
  void commit_done(Queue* q);
  void hand_off(Queue* q, Entry* e);
  void helper_loop();
  ssize_t fill(Entry* e, const iovec* iov, int count);
  ssize_t init_reply(int fd, const iovec* iov, int count);
};

namespace {

UringTransport::Impl* g_impl = nullptr;  // the hooks' transport (one per process)

// How long /dev/fuse is left unread after a FORGET once the rings carry the
// requests.  The kernel queues forgets and sends every one queued as one
// BATCH_FORGET when more than one waits (fs/fuse/dev.c, fuse_read_forget);
// read at once, each unlinked or evicted inode costs this thread a wakeup of
// its own (`rm -rf`: one per file; docs/fuse-io-uring.md, "Forgets").  A
// FORGET needs no reply and an INTERRUPT is best effort, so neither minds
// the wait.
constexpr int64_t kForgetPauseNs = 1'000'000;

int64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// Sleeps until im's quiet time is over.
void wait_dev_quiet(const UringTransport::Impl& im) {
  const int64_t wait = im.dev_quiet_until.load(std::memory_order_relaxed) - monotonic_ns();
  if (wait <= 0) return;
  const timespec ts{static_cast<time_t>(wait / 1'000'000'000), static_cast<long>(wait % 1'000'000'000)};
  nanosleep(&ts, nullptr);
}

ssize_t read_hook(int fd, void* buf, size_t len, void*) {
  UringTransport::Impl* im = g_impl;
  // Side channel: one reader at a time (libfuse's loop may run several), so
  // that the pause holds for all of them.
  const bool side = im != nullptr && im->dev_is_side_channel();
  std::unique_lock<std::mutex> one_reader;
  if (side) {
    one_reader = std::unique_lock<std::mutex>(im->dev_read_mu);
    wait_dev_quiet(*im);
  }
  const ssize_t n = ::read(fd, buf, len);
  if (n > 0) tmpfile_as_create(buf, static_cast<size_t>(n));  // libfuse 3.14 knows no FUSE_TMPFILE
  if (im != nullptr && n >= static_cast<ssize_t>(sizeof(fuse_in_header))) {
    const auto* in = static_cast<const fuse_in_header*>(buf);
    if (side && (in->opcode == kOpForget || in->opcode == kOpBatchForget))
      im->dev_quiet_until.store(monotonic_ns() + kForgetPauseNs, std::memory_order_relaxed);
    if (in->opcode == kOpInit &&
        n >= static_cast<ssize_t>(sizeof(fuse_in_header) + offsetof(fuse_init_in, flags2) + sizeof(uint32_t))) {
      fuse_init_in ii{};
      std::memcpy(&ii, in + 1, std::min(sizeof ii, static_cast<size_t>(n) - sizeof(fuse_in_header)));
      uint64_t flags = ii.flags;
      if (flags & kInitExt) flags |= static_cast<uint64_t>(ii.flags2) << 32;
      im->offered.store((flags & kOverIoUring) != 0);
      im->init_unique.store(in->unique);
    }
  }
  return n;
}

ssize_t writev_hook(int fd, struct iovec* iov, int count, void*) {
  UringTransport::Impl* im = g_impl;
  if (im == nullptr || count < 1 || iov[0].iov_len < sizeof(fuse_out_header)) return ::writev(fd, iov, count);
  const auto* out = static_cast<const fuse_out_header*>(iov[0].iov_base);
  if (Entry* e = t_current; e != nullptr && out->unique == e->unique && !e->replied) return im->fill(e, iov, count);
  if (out->unique != 0 && out->unique == im->init_unique.load()) return im->init_reply(fd, iov, count);
  return ::writev(fd, iov, count);
}

}  // namespace

ssize_t UringTransport::Impl::fill(Entry* e, const iovec* iov, int count) {
  size_t total = 0;
  for (int i = 0; i < count; i++) total += iov[i].iov_len;
  const size_t body = total - sizeof(fuse_out_header);
  if (body > e->area_len - kFront) {
    errno = EINVAL;  // libfuse logs the failed reply; serve() answers EIO
    return -1;
  }
  std::memcpy(e->hdr.in_out, iov[0].iov_base, sizeof(fuse_out_header));
  unsigned char* p = e->payload();
  for (int i = 0; i < count; i++) {
    const size_t skip = i == 0 ? sizeof(fuse_out_header) : 0;
    const size_t n = iov[i].iov_len - skip;
    if (n != 0) std::memcpy(p, static_cast<const unsigned char*>(iov[i].iov_base) + skip, n);
    p += n;
  }
  e->hdr.ent.payload_sz = static_cast<uint32_t>(body);
  e->replied = true;
  return static_cast<ssize_t>(total);
}

ssize_t UringTransport::Impl::init_reply(int fd, const iovec* iov, int count) {
  init_unique.store(0);
  const auto* out = static_cast<const fuse_out_header*>(iov[0].iov_base);
  bool ok;
  {
    std::lock_guard<std::mutex> g(mu);
    ok = rings_ok && phase == Phase::kWait;
  }
  // Patched only as the fuse_init_out this file knows (a libfuse with a
  // longer one, or an error reply, passes through untouched).
  if (!offered.load() || !ok || out->error != 0 || count != 2 ||
      iov[1].iov_len < offsetof(fuse_init_out, flags2) + sizeof(uint32_t) || iov[1].iov_len > sizeof(fuse_init_out)) {
    if (!offered.load() && report)
      std::fprintf(stderr,
                   "xfsfuse: io_uring: the kernel does not offer FUSE over io_uring (it needs Linux 6.14+ and "
                   "/sys/module/fuse/parameters/enable_uring set to Y); serving through /dev/fuse\n");
    return ::writev(fd, const_cast<iovec*>(iov), count);
  }
  fuse_init_out io{};
  std::memcpy(&io, iov[1].iov_base, iov[1].iov_len);
  io.flags |= kInitExt;
  io.flags2 |= static_cast<uint32_t>(kOverIoUring >> 32);
  // The kernel refuses a payload buffer smaller than the largest request it
  // may send: max(8 KiB, max_write, max_pages pages).
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const size_t max_pages = (io.flags & FUSE_MAX_PAGES) != 0 ? io.max_pages : 32;
  const size_t cap = std::max({size_t{8192}, size_t{io.max_write}, max_pages * page});
  iovec v[2] = {iov[0], {&io, iov[1].iov_len}};
  const ssize_t n = ::writev(fd, v, 2);
  if (n >= 0) {
    std::lock_guard<std::mutex> g(mu);
    payload_cap = cap;
    phase = Phase::kGo;
  }
  cv.notify_all();
  return n;
}

// Runs the request in e through libfuse's decoder and the op, whose reply
// lands in e (writev_hook); a request that got none is answered EIO.
void UringTransport::Impl::process(Queue* q, Entry* e) {
  const auto* in = reinterpret_cast<const fuse_in_header*>(e->hdr.in_out);
  const size_t psz = e->hdr.ent.payload_sz;
  const size_t cap = e->area_len - kFront;
  e->unique = in->unique;
  e->replied = false;
  if (psz <= cap && in->len >= sizeof(fuse_in_header) + psz && in->len - sizeof(fuse_in_header) - psz <= kOpArea) {
    const size_t oplen = in->len - sizeof(fuse_in_header) - psz;
    unsigned char* start = e->payload() - oplen - sizeof(fuse_in_header);
    std::memcpy(start, in, sizeof(fuse_in_header));
    std::memcpy(start + sizeof(fuse_in_header), e->hdr.op_in, oplen);
    tmpfile_as_create(start, in->len);  // as read_hook does
    fuse_buf b{};
    b.size = in->len;
    b.mem = start;
    t_current = e;
    fuse_session_process_buf(se, &b);
    t_current = nullptr;
    q->requests.fetch_add(1, std::memory_order_relaxed);
  } else {
    std::fprintf(stderr, "xfsfuse: io_uring: queue %u: request %llu has bad sizes (len %u, payload %zu); answered EIO\n",
                 q->qid, static_cast<unsigned long long>(in->unique), in->len, psz);
  }
  if (!e->replied) {
    // No reply reached this entry (a bad request, a reply that did not fit,
    // or one sent from another thread): the caller gets EIO rather than a
    // request that never ends.
    if (!stray_logged.exchange(true))
      std::fprintf(stderr, "xfsfuse: io_uring: request %llu (opcode %u) got no reply on its queue; answered EIO\n",
                   static_cast<unsigned long long>(e->unique), in->opcode);
    fuse_out_header oh{};
    oh.len = sizeof oh;
    oh.error = -EIO;
    oh.unique = e->unique;
    std::memcpy(e->hdr.in_out, &oh, sizeof oh);
    e->hdr.ent.payload_sz = 0;
  }
}

// Queues the commit of e's reply (and the fetch of its next request); the
// queue thread only.
void UringTransport::Impl::commit(Queue* q, Entry* e) {
  io_uring_sqe* sqe = io_uring_get_sqe(&q->ring);
  if (sqe == nullptr) return;  // cannot happen: one SQE per entry and one per poll, submitted each turn
  prep_cmd(sqe, dev_fd, kCmdCommitAndFetch, *q, e, e->hdr.ent.commit_id);
}

// The queue thread, woken by done_fd: commits what the helpers finished and
// polls done_fd again.
void UringTransport::Impl::commit_done(Queue* q) {
  uint64_t n;
  (void)!read(q->done_fd, &n, sizeof n);  // resets the count (nonblocking: the poll said it is set)
  std::vector<Entry*> ready;
  {
    std::lock_guard<std::mutex> g(q->done_mu);
    ready.swap(q->done);
  }
  for (Entry* e : ready) commit(q, e);
  io_uring_sqe* sqe = io_uring_get_sqe(&q->ring);
  if (sqe == nullptr) return;  // cannot happen (as in commit)
  io_uring_prep_poll_add(sqe, q->done_fd, POLLIN);
  io_uring_sqe_set_data64(sqe, kDoneTag);
}

void UringTransport::Impl::hand_off(Queue* q, Entry* e) {
  handed_off.fetch_add(1, std::memory_order_relaxed);
  {
    std::lock_guard<std::mutex> g(work_mu);
    work.emplace_back(q, e);
  }
  work_cv.notify_one();
}

void UringTransport::Impl::helper_loop() {
  pthread_setname_np(pthread_self(), "xfsfuse-rwait");  // ps -T, perf, gdb
  for (;;) {
    std::pair<Queue*, Entry*> job;
    {
      std::unique_lock<std::mutex> l(work_mu);
      work_cv.wait(l, [this] { return helpers_stop || !work.empty(); });
      if (helpers_stop) return;  // what is left is never answered: the connection is going away
      job = work.front();
      work.pop_front();
    }
    auto [q, e] = job;
    process(q, e);
    {
      std::lock_guard<std::mutex> g(q->done_mu);
      q->done.push_back(e);
    }
    const uint64_t one = 1;
    (void)!write(q->done_fd, &one, sizeof one);
  }
}

void UringTransport::Impl::run(Queue* q) {
  const std::string name = "xfsfuse-ring" + std::to_string(q->qid);  // ps -T, perf, gdb (15 bytes at most)
  pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(q->qid, &set);
  (void)pthread_setaffinity_np(pthread_self(), sizeof set, &set);  // an offline CPU: stay unpinned
  sched.add_thread(gettid());

  // The ring is made on this thread, before INIT: the INIT reply offers
  // io_uring only if every queue has one.
  const int rc = io_uring_queue_init(2 * kEntriesPerQueue + 2, &q->ring, IORING_SETUP_SQE128);
  {
    std::lock_guard<std::mutex> g(mu);
    q->ring_made = rc == 0;
    if (rc != 0) rings_ok = false;
    rings_reported++;
  }
  cv.notify_all();
  if (rc != 0) return;

  size_t cap;
  {
    std::unique_lock<std::mutex> l(mu);
    cv.wait(l, [&] { return phase != Phase::kWait; });
    if (phase == Phase::kStop) return;
    cap = payload_cap;
  }
  io_uring_sqe* sqe = io_uring_get_sqe(&q->ring);
  io_uring_prep_poll_add(sqe, q->stop_fd, POLLIN);
  io_uring_sqe_set_data64(sqe, kStopTag);
  sqe = io_uring_get_sqe(&q->ring);
  io_uring_prep_poll_add(sqe, q->done_fd, POLLIN);
  io_uring_sqe_set_data64(sqe, kDoneTag);
  for (Entry& e : q->entries) {
    e.area_len = kFront + cap;
    void* p = mmap(nullptr, e.area_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    // Without memory the entry registers a payload buffer too small on
    // purpose: the kernel refuses it and falls back to /dev/fuse for the
    // whole connection, instead of waiting for a ring that never comes.
    e.area = p == MAP_FAILED ? nullptr : static_cast<unsigned char*>(p);
    e.iov[0] = {&e.hdr, sizeof e.hdr};
    e.iov[1] = {e.area != nullptr ? e.payload() : e.hdr.op_in, e.area != nullptr ? cap : 1};
    prep_cmd(io_uring_get_sqe(&q->ring), dev_fd, kCmdRegister, *q, &e, 0);
  }
  registered.fetch_add(1);
  unsigned live = kEntriesPerQueue;
  bool stopping = false;
  bool refused = false;  // the kernel refused an entry: this queue does not count as registered
  while (!stopping && live != 0) {
    const int r = io_uring_submit_and_wait(&q->ring, 1);
    if (r < 0 && r != -EINTR) {
      std::fprintf(stderr, "xfsfuse: io_uring: queue %u: %s; the queue stops\n", q->qid, std::strerror(-r));
      break;
    }
    io_uring_cqe* cqe;
    while (io_uring_peek_cqe(&q->ring, &cqe) == 0) {
      const uint64_t tag = io_uring_cqe_get_data64(cqe);
      const int res = cqe->res;
      io_uring_cqe_seen(&q->ring, cqe);
      if (tag == kStopTag) {
        stopping = true;
        break;
      }
      if (tag == kDoneTag) {
        commit_done(q);
        if (io_uring_cq_ready(&q->ring) != 0) io_uring_submit(&q->ring);
        continue;
      }
      auto* e = reinterpret_cast<Entry*>(tag);
      if (res < 0) {
        // ENOTCONN: the connection ended (unmount); anything else is the
        // kernel refusing the entry, and then the connection falls back.
        if (res != -ENOTCONN && res != -ECANCELED) {
          std::fprintf(stderr, "xfsfuse: io_uring: queue %u: the kernel gave an entry back: %s\n", q->qid,
                       std::strerror(-res));
          refused = true;
          ring_refused.store(true);
        }
        live--;
        continue;
      }
      if (!ring_served.load(std::memory_order_relaxed)) ring_served.store(true);
      sched.note_request();
      if (waits_for_disk(reinterpret_cast<const fuse_in_header*>(e->hdr.in_out)->opcode)) {
        hand_off(q, e);  // an entry in a helper's hands stays live: its commit comes through done_fd
        continue;
      }
      process(q, e);
      commit(q, e);
      // Commit now, so that this reply does not wait for the next request.
      if (io_uring_cq_ready(&q->ring) != 0) io_uring_submit(&q->ring);
    }
  }
  io_uring_submit(&q->ring);  // a reply made before the stop still reaches its caller
  if (refused) registered.fetch_sub(1);
}

UringTransport::UringTransport() : impl_(std::make_unique<Impl>()) {}

UringTransport::~UringTransport() { stop(); }

bool UringTransport::kernel_enabled() {
  std::ifstream f("/sys/module/fuse/parameters/enable_uring");
  char c = 0;
  return f.get(c) && c == 'Y';
}

int UringTransport::attach(fuse_session* se, bool sched_idle, bool report) {
  Impl& im = *impl_;
  im.se = se;
  im.report = report;
  im.dev_fd = fuse_session_fd(se);
  if (sched_idle) {
    const bool started = im.sched.start([&im] {
      uint64_t n = 0;
      for (const auto& q : im.queues) n += q->requests.load(std::memory_order_relaxed);
      return n;
    });
    if (!started && report)
      std::fprintf(stderr, "xfsfuse: io_uring: ring_sched=idle needs CAP_SYS_NICE (to leave SCHED_IDLE again); "
                           "the queue threads stay under SCHED_OTHER\n");
  }
  const unsigned n = possible_cpus();
  for (unsigned i = 0; i < n; i++) {
    auto q = std::make_unique<Queue>();
    q->qid = i;
    q->stop_fd = eventfd(0, EFD_CLOEXEC);
    q->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    const int e = errno;
    const bool made = q->stop_fd >= 0 && q->done_fd >= 0;
    im.queues.push_back(std::move(q));  // stop() closes what was made
    if (!made) {
      stop();
      return e;
    }
  }
  for (auto& q : im.queues) q->thread = std::thread([&im, qp = q.get()] { im.run(qp); });
  // As many helpers as queues: every CPU's caller can have one fsync under
  // way without waiting for another CPU's.  Made here, under SCHED_OTHER
  // (a ring thread may be under SCHED_IDLE, which its children would inherit).
  for (size_t i = 0; i < im.queues.size(); i++) im.helpers.emplace_back([&im] { im.helper_loop(); });
  bool ok;
  {
    std::unique_lock<std::mutex> l(im.mu);
    im.cv.wait(l, [&] { return im.rings_reported == im.queues.size(); });
    ok = im.rings_ok;
  }
  if (!ok) {
    stop();
    return ENOSYS;  // io_uring_setup failed (disabled, or an old kernel)
  }
  g_impl = &im;
  fuse_custom_io io{};
  io.read = read_hook;
  io.writev = writev_hook;
  if (int e = fuse_session_custom_io(se, &io, im.dev_fd); e != 0) {
    g_impl = nullptr;
    stop();
    return -e;
  }
  return 0;
}

void UringTransport::stop() {
  Impl& im = *impl_;
  im.sched.stop();
  {
    std::lock_guard<std::mutex> g(im.mu);
    im.phase = Impl::Phase::kStop;
  }
  im.cv.notify_all();
  for (auto& q : im.queues) {
    if (q->stop_fd >= 0) {
      const uint64_t one = 1;
      (void)!write(q->stop_fd, &one, sizeof one);
    }
    if (q->thread.joinable()) q->thread.join();
  }
  // A helper may still run a request in an entry: wait for it before the
  // entries go (it tells a done_fd nobody polls now, which is harmless).
  {
    std::lock_guard<std::mutex> g(im.work_mu);
    im.helpers_stop = true;
  }
  im.work_cv.notify_all();
  for (auto& h : im.helpers)
    if (h.joinable()) h.join();
  im.helpers.clear();
  for (auto& q : im.queues) {
    if (q->ring_made) io_uring_queue_exit(&q->ring);  // cancels what the kernel still holds
    q->ring_made = false;
    for (Entry& e : q->entries) {
      if (e.area != nullptr) munmap(e.area, e.area_len);
      e.area = nullptr;
    }
    if (q->stop_fd >= 0) close(q->stop_fd);
    if (q->done_fd >= 0) close(q->done_fd);
    q->stop_fd = q->done_fd = -1;
  }
  // The hooks stay installed in the session (libfuse owns them until
  // fuse_session_destroy); with no INIT pending and no ring request on any
  // thread they pass everything through.
}

UringStats UringTransport::stats() const {
  UringStats s;
  s.queues = impl_->registered.load();
  for (const auto& q : impl_->queues) s.requests += q->requests.load(std::memory_order_relaxed);
  s.handed_off = impl_->handed_off.load(std::memory_order_relaxed);
  s.sched = impl_->sched.stats();
  if (s.queues == 0) s.sched.state = "off";  // the kernel did not take the rings: nothing to guard
  return s;
}

}  // namespace xfsfuse::fuse
