#include "fs/inodegc.h"

#include <pthread.h>

#include <cstdio>
#include <cstring>
#include <shared_mutex>
#include <utility>

#include "fs/ops/inactivate.h"

namespace xfsfuse::fs {

InodeGc::~InodeGc() { stop(); }

void InodeGc::queue(InodeRef ip) {
  std::unique_lock<std::mutex> l(mu_);
  if (!started_ && !stopping_) {
    started_ = true;
    thread_ = std::thread([this] { run(); });
  }
  // Back-pressure: wait for the thread rather than hold ever more inodes.
  done_cv_.wait(l, [&] { return queue_.size() < kMaxQueued || stopping_; });
  if (stopping_) {  // unmount: no thread to hand it to
    l.unlock();
    std::vector<InodeRef> one{std::move(ip)};
    free_batch(one);
    return;
  }
  if (queue_.empty()) first_at_ = std::chrono::steady_clock::now();
  queue_.push_back(std::move(ip));
  queued_seq_++;
  st_.queued++;
  if (queue_.size() == kBatch) work_cv_.notify_one();
}

void InodeGc::flush() {
  std::unique_lock<std::mutex> l(mu_);
  const uint64_t target = queued_seq_;
  if (done_seq_ >= target) return;
  st_.flushes++;
  flushers_++;
  work_cv_.notify_one();
  done_cv_.wait(l, [&] { return done_seq_ >= target; });
  flushers_--;
}

bool InodeGc::pending() const {
  std::lock_guard<std::mutex> g(mu_);
  return done_seq_ < queued_seq_;
}

void InodeGc::stop() {
  {
    std::lock_guard<std::mutex> g(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  work_cv_.notify_one();
  done_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

InodeGcStats InodeGc::stats() const {
  std::lock_guard<std::mutex> g(mu_);
  InodeGcStats s = st_;
  s.pending = queued_seq_ - done_seq_;
  return s;
}

void InodeGc::set_delay(std::chrono::milliseconds d) {
  {
    std::lock_guard<std::mutex> g(mu_);
    delay_ = d;
  }
  work_cv_.notify_one();
}

void InodeGc::run() {
  pthread_setname_np(pthread_self(), "xfsfuse-igc");  // names in ps -T, perf, gdb
  std::unique_lock<std::mutex> l(mu_);
  for (;;) {
    // A batch is due when full, when someone waits, at stop, or kDelay
    // after its first inode came.
    auto due = [&] { return queue_.size() >= kBatch || flushers_ != 0 || stopping_; };
    if (queue_.empty()) {
      if (stopping_) return;
      work_cv_.wait(l, [&] { return !queue_.empty() || stopping_; });
      continue;
    }
    if (!due()) work_cv_.wait_until(l, first_at_ + delay_, due);
    std::vector<InodeRef> batch;
    batch.swap(queue_);
    st_.batches++;
    done_cv_.notify_all();  // room for queue() waiters
    l.unlock();
    free_batch(batch);
    const size_t n = batch.size();
    batch.clear();  // the references go before anyone hears they are freed
    l.lock();
    done_seq_ += n;
    done_cv_.notify_all();
  }
}

void InodeGc::free_batch(std::vector<InodeRef>& batch) {
  // Newest first, as the kernel's inodegc takes its lock-free list: an
  // unlinked inode goes to the head of its bucket, so the last one queued
  // is nearest the head and taking it off walks no chain
  // (fs/alloc/iunlink.h); oldest first walked past every newer one.
  for (auto it = batch.rbegin(); it != batch.rend(); ++it) {
    const InodeRef& ip = *it;
    uint64_t ino;
    {
      std::shared_lock<std::shared_mutex> l(ip->lock);
      ino = ip->core.ino;
    }
    if (int e = inactivate(m_, ip))
      std::fprintf(stderr, "xfsfuse: freeing unlinked inode %llu: %s (it stays on its unlinked list)\n",
                   static_cast<unsigned long long>(ino), std::strerror(e));
  }
}

}  // namespace xfsfuse::fs
