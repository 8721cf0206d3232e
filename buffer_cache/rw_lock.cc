// buffer_cache/rw_lock.cc — see rw_lock.h.
#include "buffer_cache/rw_lock.h"

namespace xfsfuse::bc {

void RwLock::lock() {
  std::unique_lock<std::mutex> l(mu_);
  if (writer_ || readers_ != 0) {
    writers_waiting_++;
    writers_cv_.wait(l, [this] { return !writer_ && readers_ == 0; });
    writers_waiting_--;
  }
  writer_ = true;
}

bool RwLock::try_lock() {
  std::lock_guard<std::mutex> g(mu_);
  if (writer_ || readers_ != 0) return false;
  writer_ = true;
  return true;
}

void RwLock::unlock() {
  bool wake_writer, wake_readers;
  {
    std::lock_guard<std::mutex> g(mu_);
    writer_ = false;
    wake_writer = writers_waiting_ != 0;
    wake_readers = !wake_writer && readers_waiting_ != 0;
  }
  if (wake_writer) writers_cv_.notify_one();
  if (wake_readers) readers_cv_.notify_all();
}

void RwLock::lock_shared() {
  std::unique_lock<std::mutex> l(mu_);
  if (writer_ || writers_waiting_ != 0) {
    readers_waiting_++;
    readers_cv_.wait(l, [this] { return !writer_ && writers_waiting_ == 0; });
    readers_waiting_--;
  }
  readers_++;
}

bool RwLock::try_lock_shared() {
  std::lock_guard<std::mutex> g(mu_);
  if (writer_ || writers_waiting_ != 0) return false;
  readers_++;
  return true;
}

void RwLock::unlock_shared() {
  bool wake_writer;
  {
    std::lock_guard<std::mutex> g(mu_);
    readers_--;
    wake_writer = readers_ == 0 && writers_waiting_ != 0;
  }
  if (wake_writer) writers_cv_.notify_one();
}

uint32_t RwLock::writers_waiting() {
  std::lock_guard<std::mutex> g(mu_);
  return writers_waiting_;
}

}  // namespace xfsfuse::bc
