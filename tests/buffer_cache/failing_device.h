// tests/buffer_cache/failing_device.h — a BlockDevice that dies on cue.
//
// Test support for buffer_cache/ and fs/ tests (a disk failing under a
// mount).  Forwards every call to another device, except: once armed with
// fail_writes_after(n), it lets n more pwritev calls through and fails every
// later one with EIO (nothing reaches the device); with fail_sync(true),
// sync() fails with EIO.  heal() lets writes through again.  Thread-safe.
#pragma once

#include <atomic>
#include <cerrno>
#include <cstdint>

#include "buffer_cache/block_device.h"

namespace xfsfuse::bc::test {

class FailingDevice : public BlockDevice {
 public:
  explicit FailingDevice(BlockDevice* d) : d_(d) {}
  /// Lets n more writes through, then fails every write with EIO.
  void fail_writes_after(uint64_t n) { limit_.store(attempts_.load() + n); }
  void heal() { limit_.store(UINT64_MAX); }
  void fail_sync(bool on) { fail_sync_.store(on); }
  uint64_t writes() const { return writes_.load(); }            ///< writes that reached the device
  uint64_t failed_writes() const { return failed_writes_.load(); }
  uint64_t syncs() const { return syncs_.load(); }              ///< syncs that reached the device
  uint64_t failed_syncs() const { return failed_syncs_.load(); }

  int preadv(const iovec* iov, int n, uint64_t off) override { return d_->preadv(iov, n, off); }
  int pwritev(const iovec* iov, int n, uint64_t off) override {
    if (attempts_.fetch_add(1) >= limit_.load()) {
      failed_writes_++;
      return EIO;
    }
    writes_++;
    return d_->pwritev(iov, n, off);
  }
  int sync() override {
    if (fail_sync_.load()) {
      failed_syncs_++;
      return EIO;
    }
    syncs_++;
    return d_->sync();
  }
  uint64_t size_bytes() const override { return d_->size_bytes(); }
  bool writable() const override { return d_->writable(); }

 private:
  BlockDevice* const d_;
  std::atomic<uint64_t> attempts_{0}, limit_{UINT64_MAX}, writes_{0}, failed_writes_{0}, syncs_{0}, failed_syncs_{0};
  std::atomic<bool> fail_sync_{false};
};

}  // namespace xfsfuse::bc::test
