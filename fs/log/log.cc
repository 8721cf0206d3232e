#include "fs/log/log.h"

#include <pthread.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "fs/corrupt.h"
#include "fs/log/checkpoint.h"
#include "fs/log/format.h"
#include "fs/log/record.h"
#include "fs/log/unmount.h"

namespace xfsfuse::fs::xlog {

namespace {

constexpr uint32_t kRecordSize = 32768;            // h_size: one header block per record, as the kernel's default
constexpr uint32_t kNoPrevBlock = 0xffffffff;      // h_prev_block of a log's first record
// Queued transactions whose estimates (each alone, before merging) reach
// this many log blocks start a group commit: 8 MiB, at most an eighth of the log.
constexpr uint64_t kGroupBlocks = 16384;
constexpr auto kWriteInterval = std::chrono::milliseconds(50);  // ...and so does this much time
constexpr auto kPushRetry = std::chrono::milliseconds(10);      // a push that moved nothing waits this long

// Log blocks the records of `bytes` op bytes take at most: their data
// blocks, a header block per record and the padding of the last block of
// each record (records hold 32 KiB less their header block).
uint64_t blocks_for(uint64_t bytes) { return (bytes + kBlock - 1) / kBlock + 2 * (bytes / 32000 + 1) + 1; }

uint64_t op_bytes(const std::vector<LogOp>& ops) {
  uint64_t n = 0;
  for (const LogOp& op : ops) n += sizeof(xd_log_op_header) + op.payload.size();
  return n;
}

}  // namespace

Log::Log(bc::BlockDevice* dev, bc::BufferCache* cache, const Superblock& sb) : dev_(dev), cache_(cache), sb_(sb) {}

int Log::start(bc::BlockDevice* dev, bc::BufferCache* cache, const Superblock& sb, uint64_t log_start,
               uint32_t log_blocks, const LogEnds& ends, std::function<void(const std::string&)> shut_down,
               std::unique_ptr<Log>* out, std::string* why) {
  if (!ends.clean) {
    *why = "the log is not clean";
    return EINVAL;
  }
  if (log_blocks < 256 || ends.head_block >= log_blocks) {
    *why = "a log of " + std::to_string(log_blocks) + " log blocks is too small to write";
    return EINVAL;
  }
  std::unique_ptr<Log> l(new Log(dev, cache, sb));
  l->place_.log_start = log_start;
  l->place_.log_blocks = log_blocks;
  l->place_.uuid = sb.uuid;
  l->place_.head_block = ends.head_block;
  l->place_.head_cycle = ends.head_cycle;
  l->place_.prev_block = ends.empty ? kNoPrevBlock : lsn_block(ends.last_lsn);
  l->place_.record_size = kRecordSize;
  l->place_.limit_lsn = ends.head_lsn();  // clean: nothing before the head is needed
  l->head_lsn_ = l->disk_tail_lsn_ = ends.head_lsn();
  l->last_lsn_ = ends.last_lsn;
  // The most one transaction may log: its directory blocks (a split or a
  // conversion touches a handful), its btree and header blocks, a new inode
  // chunk; at most a quarter of the log, so four can always run.
  const uint64_t dirblk = uint64_t{sb.blocksize} << sb.dirblklog;
  const uint64_t bytes = 6 * dirblk + 32 * uint64_t{sb.blocksize} + 96 * uint64_t{sb.inodesize} + 16384;
  l->reservation_ = std::min<uint64_t>(blocks_for(bytes) + bytes / 4096, log_blocks / 4);
  l->slack_ = 64;
  l->group_blocks_ = std::min<uint64_t>(kGroupBlocks, log_blocks / 8);
  l->st_.log_blocks = log_blocks;
  l->st_.reservation_blocks = l->reservation_;
  l->shut_down_cb_ = std::move(shut_down);
  l->thread_ = std::thread([p = l.get()] { p->thread_main(); });
  *out = std::move(l);
  return 0;
}

Log::~Log() {
  {
    std::lock_guard<std::mutex> g(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::lock_guard<std::mutex> g(mu_);
  queue_.clear();  // shut down: dropped with their pins
}

uint64_t Log::used_blocks_locked() const {
  const uint32_t n = place_.log_blocks;
  const uint32_t tc = lsn_cycle(disk_tail_lsn_), tb = lsn_block(disk_tail_lsn_);
  const uint32_t hc = lsn_cycle(head_lsn_), hb = lsn_block(head_lsn_);
  if (tc == hc) return hb >= tb ? hb - tb : 0;
  return uint64_t{n} - tb + hb;
}

int64_t Log::free_blocks_locked() const {
  return int64_t{place_.log_blocks} - static_cast<int64_t>(used_blocks_locked() + reserved_ + slack_);
}

int Log::reserve(uint64_t* blocks) {
  std::unique_lock<std::mutex> l(mu_);
  if (dead_) return EIO;
  if (free_blocks_locked() < static_cast<int64_t>(reservation_)) {
    st_.reserve_waits++;
    while (!dead_ && free_blocks_locked() < static_cast<int64_t>(reservation_)) {
      push_wanted_ = true;
      cv_.notify_one();
      done_cv_.wait(l);
    }
    if (dead_) return EIO;
  }
  reserved_ += reservation_;
  *blocks = reservation_;
  return 0;
}

void Log::unreserve(uint64_t blocks) {
  {
    std::lock_guard<std::mutex> g(mu_);
    reserved_ -= std::min(reserved_, blocks);
  }
  done_cv_.notify_all();
}

void Log::commit(CommittedTrans ct, std::vector<bc::PinRef> pins, std::span<const bc::DiskRange> freed,
                 uint64_t reservation, uint64_t* seq) {
  if (ct.bufs.empty() && ct.inodes.empty()) {
    // Nothing changed that the log carries (a truncate to the same size):
    // no transaction at all, as the kernel writes none; the kernel refuses
    // to replay one without items ("committed log item has no regions").
    {
      std::lock_guard<std::mutex> g(mu_);
      reserved_ -= std::min(reserved_, reservation);
      *seq = next_seq_ - 1;
    }
    done_cv_.notify_all();  // space for a waiting reservation
    return;
  }
  Queued q;
  q.blocks = blocks_for(estimate_log_bytes(ct, sb_));
  q.ct = std::move(ct);
  q.pins = std::move(pins);
  bool kick;
  {
    std::lock_guard<std::mutex> g(mu_);
    q.seq = *seq = next_seq_++;
    reserved_ = reserved_ - std::min(reserved_, reservation) + q.blocks;
    queued_blocks_ += q.blocks;
    st_.transactions++;
    st_.largest_trans_blocks = std::max(st_.largest_trans_blocks, q.blocks);
    for (const bc::DiskRange& r : freed) {
      if (r.len == 0) continue;
      busy_.emplace(r.daddr, Busy{r.len, q.seq});
      busy_max_len_ = std::max(busy_max_len_, r.len);
    }
    queue_.push_back(std::move(q));
    kick = queued_blocks_ >= group_blocks_;
  }
  if (kick) cv_.notify_one();
}

uint64_t Log::last_seq() const {
  std::lock_guard<std::mutex> g(mu_);
  return next_seq_ - 1;
}

int Log::force(uint64_t seq) {
  std::unique_lock<std::mutex> l(mu_);
  if (durable_seq_ >= seq) return 0;
  if (dead_) return EIO;
  st_.forces++;
  force_seq_ = std::max(force_seq_, seq);
  cv_.notify_one();
  done_cv_.wait(l, [&] { return durable_seq_ >= seq || dead_; });
  return durable_seq_ >= seq ? 0 : EIO;
}

int Log::force_all() {
  uint64_t seq;
  {
    std::lock_guard<std::mutex> g(mu_);
    seq = next_seq_ - 1;
  }
  return force(seq);
}

int Log::wait_busy(bc::DiskRange r) {
  uint64_t seq = 0;
  {
    std::lock_guard<std::mutex> g(mu_);
    if (busy_.empty()) return 0;
    const uint64_t from = r.daddr > busy_max_len_ ? r.daddr - busy_max_len_ : 0;
    for (auto it = busy_.lower_bound(from); it != busy_.end() && it->first < r.daddr + r.len; ++it)
      if (it->first + it->second.len > r.daddr && it->second.seq > durable_seq_) seq = std::max(seq, it->second.seq);
    if (seq == 0) return 0;
    st_.busy_forces++;
  }
  return force(seq);
}

void Log::thread_main() {
  pthread_setname_np(pthread_self(), "xfsfuse-log");  // names in ps -T, perf, gdb
  std::unique_lock<std::mutex> l(mu_);
  auto last_push = std::chrono::steady_clock::now();
  for (;;) {
    cv_.wait_for(l, kWriteInterval, [&] {
      return stop_ || dead_ || push_wanted_ || force_seq_ > durable_seq_ || queued_blocks_ >= group_blocks_;
    });
    if (dead_) return;
    if (!queue_.empty()) {  // any wake-up, the interval included, writes what is queued
      l.unlock();
      write_queued();
      l.lock();
      if (dead_) return;
    }
    if (stop_ && queue_.empty()) return;
    // Push when a reservation waits, and now and then once a quarter of
    // the log is in use (the flusher writes back but never syncs, so only
    // a push lets the tail move).
    const auto now = std::chrono::steady_clock::now();
    const bool due = used_blocks_locked() > place_.log_blocks / 4 && now - last_push > std::chrono::seconds(1);
    if (push_wanted_ || due) {
      push_wanted_ = false;
      last_push = now;
      l.unlock();
      const bool moved = push() > 0;
      l.lock();
      done_cv_.notify_all();
      if (!moved && !dead_) cv_.wait_for(l, kPushRetry, [&] { return stop_ || dead_ || force_seq_ > durable_seq_; });
    }
  }
}

int Log::write_at_head(const std::vector<LogOp>& ops, Written* w) {
  LogPlace at = place_;
  const uint64_t ail = cache_->ail_tail();
  // Nothing waits for write-back: the records' own first LSN is the tail.
  at.tail_lsn = ail == 0 ? 0 : std::max(ail, place_.limit_lsn);
  std::string why;
  int e = write_ops(*dev_, at, ops, w, &why);
  if (e == ENOSPC) {  // only if a transaction outgrew its reservation: make room and retry once
    push();
    at = place_;
    const uint64_t again = cache_->ail_tail();
    at.tail_lsn = again == 0 ? 0 : std::max(again, place_.limit_lsn);
    e = write_ops(*dev_, at, ops, w, &why);
  }
  if (e) {
    fail("writing the log: " + why);
    return e;
  }
  place_.head_block = w->head_block;
  place_.head_cycle = w->head_cycle;
  place_.prev_block = lsn_block(w->last_lsn);
  place_.limit_lsn = at.tail_lsn ? at.tail_lsn : w->first_lsn;
  std::lock_guard<std::mutex> g(mu_);
  head_lsn_ = make_lsn(w->head_cycle, w->head_block);
  disk_tail_lsn_ = place_.limit_lsn;
  last_lsn_ = w->last_lsn;
  wrote_ = true;
  st_.records += w->records;
  st_.blocks_written += w->blocks;
  return 0;
}

int Log::write_queued() {
  // Sealed before the queue is taken: every transaction that invalidated a
  // buffer of this generation was queued before, so it is written now.
  const uint64_t gen = cache_->ail_seal_stale();
  std::deque<Queued> items;
  uint64_t est = 0;
  {
    std::lock_guard<std::mutex> g(mu_);
    items.swap(queue_);
    est = queued_blocks_;
    queued_blocks_ = 0;
  }
  if (items.empty()) return 0;
  // One checkpoint per run of transactions that merge (CheckpointBuilder),
  // formatted here: the head's LSN is a safe one to stamp (the records
  // land at or after it).
  std::vector<LogOp> ops;
  std::vector<size_t> first_op;       // per checkpoint: its start op
  std::vector<size_t> checkpoint_of;  // per transaction
  uint64_t lsn;
  {
    std::lock_guard<std::mutex> g(mu_);
    lsn = head_lsn_;
  }
  CheckpointBuilder cb;
  auto flush = [&]() -> int {
    if (cb.empty()) return 0;
    uint32_t tid;
    {
      std::lock_guard<std::mutex> g(mu_);
      tid = ++next_tid_;
    }
    first_op.push_back(ops.size());
    std::string why;
    if (int e = format_trans(cb.take(), sb_, tid, lsn, &ops, nullptr, &why)) {
      fail("formatting a log transaction: " + why);
      return e;
    }
    return 0;
  };
  for (Queued& q : items) {
    if (!cb.fits(q.ct))
      if (int e = flush()) return e;
    cb.add(std::move(q.ct));
    checkpoint_of.push_back(first_op.size());
  }
  if (int e = flush()) return e;
  const uint64_t bytes = op_bytes(ops);
  Written w;
  if (int e = write_at_head(ops, &w)) return e;  // shut down: the pins go with items
  for (size_t i = 0; i < items.size(); i++)
    for (bc::PinRef& p : items[i].pins) p.unpin_logged(w.op_lsn[first_op[checkpoint_of[i]]]);
  cache_->ail_release_stale(gen);
  {
    std::lock_guard<std::mutex> g(mu_);
    durable_seq_ = items.back().seq;
    reserved_ -= std::min(reserved_, est);
    for (auto it = busy_.begin(); it != busy_.end();) it = it->second.seq <= durable_seq_ ? busy_.erase(it) : std::next(it);
    if (busy_.empty()) busy_max_len_ = 0;
    st_.writes++;
    st_.written_transactions += items.size();
    st_.bytes += bytes;
    st_.largest_group = std::max<uint64_t>(st_.largest_group, items.size());
  }
  done_cv_.notify_all();
  return 0;
}

void Log::release_stale_if_idle() {
  // Sealed first: a freeing that comes later is tagged with a later
  // generation.  Every one tagged with this one or before belongs to a
  // transaction committed before, which is on the disk once every
  // committed transaction is.
  const uint64_t gen = cache_->ail_seal_stale();
  {
    std::lock_guard<std::mutex> g(mu_);
    if (durable_seq_ + 1 != next_seq_) return;
  }
  cache_->ail_release_stale(gen);
}

int Log::push() {
  uint64_t before;
  {
    std::lock_guard<std::mutex> g(mu_);
    if (dead_) return -1;
    st_.pushes++;
    before = disk_tail_lsn_;
  }
  release_stale_if_idle();
  if (cache_->push() != 0) return 0;  // the write-error handler shuts the mount down
  const uint64_t ail = cache_->ail_tail();
  if (ail != 0 && ail <= before) return 0;
  // Record the new tail on the disk with a transaction that logs the
  // primary superblock as it is (the kernel covers its log the same way;
  // it refuses an empty transaction: "committed log item has no
  // regions").  Read from the disk: a logged mount never changes the
  // superblock before its unmount, so this is its current contents, and
  // replaying it changes nothing (recovery recomputes its counters).
  CommittedTrans ct;
  CommittedTrans::Buf& b = ct.bufs.emplace_back();
  b.maps = {{0, static_cast<uint32_t>(sb_.sectsize >> 9)}};
  b.data.resize(sb_.sectsize);
  iovec v{b.data.data(), b.data.size()};
  if (dev_->preadv(&v, 1, 0) != 0) return 0;
  b.ranges = {{0, sb_.sectsize}};
  b.blft = buf_log_type(b.data);
  std::vector<LogOp> ops;
  std::string why;
  uint32_t tid;
  {
    std::lock_guard<std::mutex> g(mu_);
    tid = ++next_tid_;
  }
  if (format_trans(ct, sb_, tid, 0, &ops, nullptr, &why) != 0) return 0;
  Written w;
  if (write_at_head(ops, &w) != 0) return -1;
  std::lock_guard<std::mutex> g(mu_);
  st_.tail_records++;
  return 1;
}

int Log::write_unmount(std::string* why) {
  {
    std::lock_guard<std::mutex> g(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();  // place_ is this thread's from now on
  release_stale_if_idle();
  std::lock_guard<std::mutex> g(mu_);
  if (dead_) {
    *why = "the log was shut down";
    return EIO;
  }
  if (!queue_.empty() || cache_->ail_tail() != 0) {
    *why = "changes are still waiting to be written back";
    return EBUSY;
  }
  if (!wrote_) return 0;  // still the clean log the mount found
  LogEnds before;
  before.clean = false;
  before.head_block = place_.head_block;
  before.head_cycle = place_.head_cycle;
  before.tail_lsn = head_lsn_;  // everything is in place
  before.last_lsn = last_lsn_;
  LogEnds after;
  if (int e = write_unmount_record(*dev_, place_.log_start, place_.log_blocks, place_.uuid, before, &after, why))
    return e;
  place_.head_block = after.head_block;
  place_.head_cycle = after.head_cycle;
  place_.prev_block = lsn_block(after.last_lsn);
  place_.limit_lsn = after.tail_lsn;
  head_lsn_ = disk_tail_lsn_ = after.head_lsn();
  last_lsn_ = after.last_lsn;
  wrote_ = false;
  return 0;
}

void Log::fail(const std::string& why) {
  // Nothing a dropped transaction changed may reach the disk now.
  cache_->stop_writeback();
  {
    std::lock_guard<std::mutex> g(mu_);
    if (dead_) return;
  }
  if (shut_down_cb_) shut_down_cb_(why);
  shut_down();
}

void Log::shut_down() {
  std::deque<Queued> dropped;
  {
    std::lock_guard<std::mutex> g(mu_);
    dead_ = true;
    dropped.swap(queue_);
  }
  cv_.notify_all();
  done_cv_.notify_all();
}

LogStats Log::stats() const {
  std::lock_guard<std::mutex> g(mu_);
  LogStats s = st_;
  s.head_lsn = head_lsn_;
  s.tail_lsn = disk_tail_lsn_;
  s.ail_tail_lsn = cache_->ail_tail();
  s.used_blocks = used_blocks_locked();
  s.reserved_blocks = reserved_;
  return s;
}

}  // namespace xfsfuse::fs::xlog
