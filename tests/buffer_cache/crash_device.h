// tests/buffer_cache/crash_device.h — a power cut on cue.
//
// Test support for crash tests (tests/fs/recovery_crash_test.cc): a disk with a
// volatile write cache over a base device.  Writes since the last sync() are
// held in memory, in order (reads see them); sync() puts them onto the base.
// crash_at(n) arms the cut at the write numbered n (pwritev calls counted
// from 0 since construction): when it arrives, each write still unsynced
// reaches the base or not (a coin from the seed, in order, so a later one
// that lands covers an earlier one), write n itself lands torn — only its
// first k 512-byte sectors, k drawn from [0, its sectors) — or, with
// set_torn(false), whole or not at all (a coin), and from then on
// every write and sync is accepted and dropped, as a disk that lost power
// while its host had not noticed yet; reads then see the base alone.  Without
// crash_at, the device is a disk that never fails (writes land at sync).
// Thread-safe (one mutex).
#pragma once

#include <sys/uio.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <random>
#include <utility>
#include <vector>

#include "buffer_cache/block_device.h"

namespace xfsfuse::bc::test {

class CrashDevice : public BlockDevice {
 public:
  /// base must outlive the device; seed draws which unsynced writes land and
  /// where the crashing write tears.
  CrashDevice(BlockDevice* base, uint64_t seed) : base_(base), rng_(seed) {}
  /// Whether the cut tears its write at a sector boundary (the default) or
  /// lets it land whole or not at all.  XFS metadata survives any subset of
  /// whole buffer writes, not a buffer torn inside (its header sector new,
  /// the rest old: log recovery skips it as up to date — in the kernel too);
  /// log records survive tears (their CRCs find them).
  void set_torn(bool on) {
    std::lock_guard<std::mutex> g(mu_);
    torn_ = on;
  }
  /// Tears the cut write only if it starts in bytes [begin, end) (the log:
  /// its records' CRCs find tears); elsewhere it lands whole or not.
  /// Applies while set_torn(true).
  void set_torn_range(uint64_t begin, uint64_t end) {
    std::lock_guard<std::mutex> g(mu_);
    torn_begin_ = begin;
    torn_end_ = end;
  }
  /// Arms the power cut at write number n (UINT64_MAX: never).
  void crash_at(uint64_t n) {
    std::lock_guard<std::mutex> g(mu_);
    crash_at_ = n;
  }
  uint64_t writes() const {  ///< pwritev calls seen, the dropped ones included
    std::lock_guard<std::mutex> g(mu_);
    return writes_;
  }
  /// (byte offset, length) of every write seen, in order: which structure
  /// a crash point cut, for failure messages.
  std::vector<std::pair<uint64_t, size_t>> history() const {
    std::lock_guard<std::mutex> g(mu_);
    return history_;
  }
  bool crashed() const {
    std::lock_guard<std::mutex> g(mu_);
    return crashed_;
  }

  int preadv(const iovec* iov, int n, uint64_t off) override {
    std::lock_guard<std::mutex> g(mu_);
    if (int e = base_->preadv(iov, n, off)) return e;
    for (const Pending& p : pending_) overlay(p, iov, n, off);
    return 0;
  }
  int pwritev(const iovec* iov, int n, uint64_t off) override {
    std::lock_guard<std::mutex> g(mu_);
    const uint64_t nr = writes_++;
    Pending p{off, {}};
    for (int i = 0; i < n; i++) {
      const auto* b = static_cast<const std::byte*>(iov[i].iov_base);
      p.bytes.insert(p.bytes.end(), b, b + iov[i].iov_len);
    }
    history_.emplace_back(off, p.bytes.size());
    if (crashed_) return 0;
    if (off + p.bytes.size() > base_->size_bytes()) return EIO;
    if (nr != crash_at_) {
      pending_.push_back(std::move(p));
      return 0;
    }
    // The cut: some of the cache reaches the disk, this write only in part.
    crashed_ = true;
    for (const Pending& q : pending_)
      if (rng_() % 2 == 0) land(q.off, q.bytes.data(), q.bytes.size());
    pending_.clear();
    const size_t sectors = (p.bytes.size() + 511) / 512;
    const bool tear = torn_ && p.off >= torn_begin_ && p.off < torn_end_;
    const size_t keep = tear ? std::min(p.bytes.size(), size_t{rng_() % sectors} * 512)
                              : (rng_() % 2 == 0 ? p.bytes.size() : 0);
    if (keep != 0) land(p.off, p.bytes.data(), keep);
    return 0;
  }
  int sync() override {
    std::lock_guard<std::mutex> g(mu_);
    if (crashed_) return 0;
    for (const Pending& p : pending_)
      if (int e = land(p.off, p.bytes.data(), p.bytes.size())) return e;
    pending_.clear();
    return base_->sync();
  }
  uint64_t size_bytes() const override { return base_->size_bytes(); }
  bool writable() const override { return base_->writable(); }

 private:
  struct Pending {
    uint64_t off;
    std::vector<std::byte> bytes;
  };
  int land(uint64_t off, const std::byte* p, size_t len) {
    iovec v{const_cast<std::byte*>(p), len};
    return base_->pwritev(&v, 1, off);
  }
  // Copies the part of p inside [off, off + the iovecs' length) into them.
  static void overlay(const Pending& p, const iovec* iov, int n, uint64_t off) {
    for (int i = 0; i < n; off += iov[i].iov_len, i++) {
      const uint64_t lo = std::max(off, p.off), hi = std::min(off + iov[i].iov_len, p.off + p.bytes.size());
      if (lo < hi) std::memcpy(static_cast<std::byte*>(iov[i].iov_base) + (lo - off), p.bytes.data() + (lo - p.off), hi - lo);
    }
  }

  BlockDevice* const base_;
  mutable std::mutex mu_;
  std::mt19937_64 rng_;
  std::vector<Pending> pending_;
  std::vector<std::pair<uint64_t, size_t>> history_;
  uint64_t writes_ = 0, crash_at_ = UINT64_MAX;
  uint64_t torn_begin_ = 0, torn_end_ = UINT64_MAX;
  bool crashed_ = false, torn_ = true;
};

}  // namespace xfsfuse::bc::test
