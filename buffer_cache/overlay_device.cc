#include "buffer_cache/overlay_device.h"

#include <algorithm>
#include <climits>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <vector>

namespace xfsfuse::bc {

namespace {

constexpr uint64_t kSector = 512;

uint64_t total_len(const iovec* iov, int iovcnt) {
  uint64_t n = 0;
  for (int i = 0; i < iovcnt; i++) n += iov[i].iov_len;
  return n;
}

// Calls fn(byte offset within the request, pointer into the iovecs, bytes)
// for the request bytes [from, from + len).
template <typename Fn>
void for_range(const iovec* iov, int iovcnt, uint64_t from, uint64_t len, Fn fn) {
  uint64_t pos = 0;
  for (int i = 0; i < iovcnt && len > 0; i++) {
    const uint64_t l = iov[i].iov_len;
    if (from < pos + l) {
      const uint64_t skip = from - pos;
      const uint64_t n = std::min(l - skip, len);
      fn(from, static_cast<std::byte*>(iov[i].iov_base) + skip, n);
      from += n;
      len -= n;
    }
    pos += l;
  }
}

}  // namespace

size_t OverlayDevice::sectors() const {
  std::shared_lock lk(mu_);
  return sectors_.size();
}

int OverlayDevice::preadv(const iovec* iov, int iovcnt, uint64_t off) {
  if (int e = base_.preadv(iov, iovcnt, off)) return e;
  const uint64_t len = total_len(iov, iovcnt);
  if (len == 0) return 0;
  std::shared_lock lk(mu_);
  for (auto it = sectors_.lower_bound(off / kSector); it != sectors_.end() && it->first * kSector < off + len; ++it) {
    const uint64_t s0 = std::max(off, it->first * kSector), s1 = std::min(off + len, (it->first + 1) * kSector);
    uint64_t done = 0;
    for_range(iov, iovcnt, s0 - off, s1 - s0, [&](uint64_t, std::byte* p, uint64_t n) {
      std::memcpy(p, it->second.data() + (s0 - it->first * kSector) + done, n);
      done += n;
    });
  }
  return 0;
}

int OverlayDevice::pwritev(const iovec* iov, int iovcnt, uint64_t off) {
  const uint64_t len = total_len(iov, iovcnt);
  if (off > base_.size_bytes() || len > base_.size_bytes() - off) return EIO;
  if (len == 0) return 0;
  const uint64_t first = off / kSector, last = (off + len - 1) / kSector;
  std::unique_lock lk(mu_);
  for (uint64_t s = first; s <= last; s++) {
    auto it = sectors_.find(s);
    const uint64_t s0 = std::max(off, s * kSector), s1 = std::min(off + len, (s + 1) * kSector);
    if (it == sectors_.end()) {
      Sector sec{};
      if (s1 - s0 != kSector) {  // partly written: the rest comes from the base
        iovec v{sec.data(), kSector};
        if (int e = base_.preadv(&v, 1, s * kSector)) return e;
      }
      it = sectors_.emplace(s, sec).first;
    }
    uint64_t done = 0;
    for_range(iov, iovcnt, s0 - off, s1 - s0, [&](uint64_t, std::byte* p, uint64_t n) {
      std::memcpy(it->second.data() + (s0 - s * kSector) + done, p, n);
      done += n;
    });
  }
  return 0;
}

int OverlayDevice::write_back() {
  std::shared_lock lk(mu_);
  std::vector<iovec> run;
  uint64_t run_start = 0;
  auto flush = [&]() -> int {
    if (run.empty()) return 0;
    int e = 0;
    for (size_t i = 0; i < run.size() && e == 0; i += IOV_MAX) {
      const int n = static_cast<int>(std::min<size_t>(IOV_MAX, run.size() - i));
      e = base_.pwritev(run.data() + i, n, (run_start + i) * kSector);
    }
    run.clear();
    return e;
  };
  for (auto& [s, sec] : sectors_) {
    if (!run.empty() && s != run_start + run.size())
      if (int e = flush()) return e;
    if (run.empty()) run_start = s;
    run.push_back({sec.data(), kSector});
  }
  if (int e = flush()) return e;
  return base_.sync();
}

}  // namespace xfsfuse::bc
