// tests/buffer_cache/bc_test_util.h — fixtures for the buffer_cache tests.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "buffer_cache/buffer_cache.h"

namespace xfsfuse::bc::test {

/// A temporary image file of `sectors` 512-byte sectors in which byte i of
/// sector d is (d * 7 + i) & 0xff, removed on destruction.
class TempImage {
 public:
  explicit TempImage(uint64_t sectors) {
    char name[] = "/tmp/xfsfuse-bc-XXXXXX";
    fd_ = mkstemp(name);
    path_ = name;
    std::vector<uint8_t> s(512);
    for (uint64_t d = 0; d < sectors; d++) {
      for (size_t i = 0; i < 512; i++) s[i] = expected(d, i);
      if (pwrite(fd_, s.data(), 512, static_cast<off_t>(d * 512)) != 512) std::abort();
    }
  }
  ~TempImage() {
    close(fd_);
    unlink(path_.c_str());
  }
  static uint8_t expected(uint64_t daddr, size_t i) { return static_cast<uint8_t>(daddr * 7 + i); }
  const std::string& path() const { return path_; }
  /// Bytes on disk now.
  std::vector<uint8_t> read(uint64_t daddr, size_t sectors) const {
    std::vector<uint8_t> b(sectors * 512);
    if (pread(fd_, b.data(), b.size(), static_cast<off_t>(daddr * 512)) != static_cast<ssize_t>(b.size()))
      std::abort();
    return b;
  }
  void write(uint64_t daddr, const void* p, size_t n) {
    if (pwrite(fd_, p, n, static_cast<off_t>(daddr * 512)) != static_cast<ssize_t>(n)) std::abort();
  }

 private:
  int fd_;
  std::string path_;
};

/// A device that forwards to another and can fail reads on demand.
class FaultyDevice : public BlockDevice {
 public:
  explicit FaultyDevice(BlockDevice* d) : d_(d) {}
  std::atomic<int> fail_reads{0};  ///< errno returned by reads while non-zero
  std::atomic<uint64_t> reads{0};
  int preadv(const iovec* iov, int n, uint64_t off) override {
    reads++;
    if (int e = fail_reads.load()) return e;
    return d_->preadv(iov, n, off);
  }
  int pwritev(const iovec* iov, int n, uint64_t off) override { return d_->pwritev(iov, n, off); }
  int sync() override { return d_->sync(); }
  uint64_t size_bytes() const override { return d_->size_bytes(); }
  bool writable() const override { return d_->writable(); }

 private:
  BlockDevice* d_;
};

/// Pool + vmap + cache over a device.  The budget-only form has no flusher
/// thread, so write counts in tests are exact.
struct Stack {
  vmap::ShrinkerRegistry reg;
  std::unique_ptr<vmap::PagePool> pool;
  std::unique_ptr<vmap::Vmap> vm;
  std::unique_ptr<BufferCache> cache;
  Stack(BlockDevice* dev, size_t budget, size_t pool_pages = 4096,
        vmap::UnmapPolicy policy = vmap::UnmapPolicy::kLazy)
      : Stack(dev, no_flusher(budget), pool_pages, policy) {}
  Stack(BlockDevice* dev, const CacheOptions& co, size_t pool_pages = 4096,
        vmap::UnmapPolicy policy = vmap::UnmapPolicy::kLazy) {
    if (vmap::PagePool::create(pool_pages * vmap::kPageSize, &reg, &pool) != 0) std::abort();
    vmap::VmapOptions o;
    o.policy = policy;
    o.timer_period = std::chrono::milliseconds(0);
    if (vmap::Vmap::create(pool.get(), &reg, o, &vm) != 0) std::abort();
    if (BufferCache::create(dev, pool.get(), vm.get(), &reg, co, &cache) != 0) std::abort();
  }
  static CacheOptions no_flusher(size_t budget) {
    CacheOptions co;
    co.budget_bytes = budget;
    co.flush_interval = std::chrono::milliseconds(0);
    return co;
  }
  ~Stack() { cache.reset(); }  // before vm and pool
};

/// Captures what is written to stderr (fd 2) between construction and text().
class StderrCapture {
 public:
  StderrCapture() {
    fflush(stderr);
    char name[] = "/tmp/xfsfuse-err-XXXXXX";
    fd_ = mkstemp(name);
    unlink(name);
    saved_ = dup(2);
    dup2(fd_, 2);
  }
  ~StderrCapture() { restore(); }
  std::string text() {
    restore();
    std::string s;
    char buf[4096];
    ssize_t n;
    off_t off = 0;
    while ((n = pread(fd_, buf, sizeof buf, off)) > 0) {
      s.append(buf, static_cast<size_t>(n));
      off += n;
    }
    return s;
  }

 private:
  void restore() {
    if (saved_ < 0) return;
    fflush(stderr);
    dup2(saved_, 2);
    close(saved_);
    saved_ = -1;
  }
  int fd_ = -1, saved_ = -1;
};

/// Polls until cond() holds (a test that never gets there hits ctest's timeout).
template <class F>
void wait_until(F cond) {
  while (!cond()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

inline size_t count_lines(const std::string& s, const std::string& needle) {
  size_t n = 0;
  for (size_t p = s.find(needle); p != std::string::npos; p = s.find(needle, p + 1)) n++;
  return n;
}

/// Gets maps exclusively, fills them with v and marks them dirty.
inline void dirty_buffer(BufferCache& c, const std::vector<DiskRange>& maps, uint8_t v) {
  BufHandle h;
  REQUIRE(c.get(maps, nullptr, kAnyOwner, kGetExclusive, &h) == 0);
  std::memset(h.data(), v, h.size());
  REQUIRE(c.mark_dirty(h, 0, h.size()) == 0);
}

/// Changes maps as a transaction would (gets them exclusively with ops,
/// fills them with v, marks them dirty) and pins them; the handle goes.
inline PinRef dirty_pinned(BufferCache& c, const std::vector<DiskRange>& maps, uint8_t v,
                           const BufOps* ops = nullptr) {
  BufHandle h;
  REQUIRE(c.get(maps, ops, kAnyOwner, kGetExclusive, &h) == 0);
  std::memset(h.data(), v, h.size());
  REQUIRE(c.mark_dirty(h, 0, h.size()) == 0);
  PinRef p;
  REQUIRE(c.pin(h, &p) == 0);
  return p;
}

}  // namespace xfsfuse::bc::test
