// find_log_ends (fs/log/ends.h, bisection) against the full scan it
// replaced (log_ends_oracle.h) on many synthetic logs from fixed seeds:
// records of random sizes written up to a random point of a random pass,
// then the last records in flight at a crash lost whole or in part, torn,
// or a cycle number no writes leave put among the blocks near the head.
// Also: how many log blocks the bisection reads on a large log.
#include <catch2/catch.hpp>
#include <cerrno>
#include <cstring>
#include <deque>
#include <random>
#include <string>
#include <vector>

#include "fs/log/ends.h"
#include "fs/log/record.h"
#include "tests/fs/log_ends_oracle.h"
#include "tests/fs/log_test_util.h"

namespace xfsfuse::fs::test {
namespace {

const bc::Uuid kUuid{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
constexpr uint32_t kWindow = 4096;     // the in-flight window (log blocks), docs/log.md
constexpr uint32_t kMaxRecBlocks = 520;  // a 256 KiB record: 8 header blocks and 512 of data

/// A device that counts the bytes read from it.
class CountingDevice : public MemDevice {
 public:
  using MemDevice::MemDevice;
  int preadv(const iovec* iov, int n, uint64_t off) override {
    for (int i = 0; i < n; i++) bytes_read += iov[i].iov_len;
    return MemDevice::preadv(iov, n, off);
  }
  uint64_t bytes_read = 0;
};

struct Written {
  uint64_t at = 0;  // T = cycle * n + block of its header
  uint32_t blocks = 0;
  std::vector<std::byte> before;  // what its blocks held before it was written
};

/// What a log generator made, and whether the oracle must find it corrupt in its cycles.
struct Synth {
  uint32_t n = 0;
  bool bad_cycle = false;
  std::string what;
};

uint32_t cycle_of(MemDevice& dev, uint32_t b) { return xlog::block_cycle(dev.at(size_t{b} * 512)); }

// Blocks written before position `from` as if by earlier passes (cycle
// stamps only): block b holds the last position before `from` it had.
void prestamp(LogBuilder& lb, uint32_t n, uint64_t from) {
  for (uint32_t b = 0; b < n; b++) {
    const uint64_t last = (from - 1 - b) / n * n + b;  // largest position < from of block b
    if (from >= 1 + b && last >= n) lb.stamp(b, static_cast<uint32_t>(last / n));
  }
}

Synth make_log(MemDevice& dev, uint32_t n, std::mt19937& rng) {
  Synth s;
  s.n = n;
  LogBuilder lb(dev, n, kUuid);
  auto pick = [&](uint64_t lo, uint64_t hi) { return std::uniform_int_distribution<uint64_t>(lo, hi)(rng); };
  if (pick(0, 19) == 0) {
    s.what = "empty";
    return s;
  }
  const uint64_t end = pick(n, 4ull * n);  // about where the writes stop
  const uint64_t start = std::max<uint64_t>(n, end - std::min<uint64_t>(end - n, pick(1, 3 * kWindow)));
  prestamp(lb, n, start);
  const uint32_t max_blocks = std::max<uint32_t>(2, std::min(kMaxRecBlocks, n / 4));
  std::deque<Written> recent;
  std::deque<uint64_t> starts;
  uint64_t t = start;
  while (t < end || recent.empty()) {
    uint32_t size = 32768;
    const uint64_t r = pick(0, 9);
    if (r == 0 && max_blocks >= 520) size = 262144;
    if (r == 1 && max_blocks >= 130) size = 65536;
    const uint32_t hblocks = size / 32768;
    uint32_t dblocks = static_cast<uint32_t>(pick(1, std::min<uint64_t>(size / 512, max_blocks - hblocks)));
    const uint64_t to_wrap = (t / n + 1) * n - t;  // sometimes end exactly at the log's end
    if (pick(0, 9) == 0 && to_wrap > hblocks && to_wrap - hblocks <= size / 512 && to_wrap <= max_blocks)
      dblocks = static_cast<uint32_t>(to_wrap - hblocks);
    std::vector<std::byte> data;
    uint32_t ops = 1;
    if (pick(0, 6) == 0) {
      data = LogBuilder::unmount();
    } else {
      data = LogBuilder::op(XD_LOG_CLIENT_TRANSACTION, XD_LOG_OP_START, dblocks * 512 - 12);
      ops = static_cast<uint32_t>(pick(1, 9));
    }
    // The tail: a record start not more than half a log back.
    while (!starts.empty() && t - starts.front() > n / 2) starts.pop_front();
    const uint64_t tail = starts.empty() || pick(0, 3) == 0 ? t : starts[pick(0, starts.size() - 1)];
    Written w;
    w.at = t;
    const uint32_t save = std::min(kMaxRecBlocks, n);
    w.before.resize(size_t{save} * 512);
    for (uint32_t i = 0; i < save; i++) std::memcpy(w.before.data() + size_t{i} * 512, dev.at((t + i) % n * 512), 512);
    w.blocks = lb.record(static_cast<uint32_t>(t % n), static_cast<uint32_t>(t / n),
                         xlog::make_lsn(static_cast<uint32_t>(tail / n), static_cast<uint32_t>(tail % n)), data, ops,
                         size);
    starts.push_back(t);
    t += w.blocks;
    recent.push_back(std::move(w));
    if (recent.size() > 8) recent.pop_front();
  }
  // The records in flight: up to 8 of the last, spanning less than the window (and the log).
  size_t k = pick(0, recent.size());
  while (k > 0 && t - recent[recent.size() - k].at >= std::min(kWindow, n)) k--;
  s.what = "end " + std::to_string(t) + " in flight " + std::to_string(k);
  for (size_t i = recent.size() - k; i < recent.size(); i++) {
    const Written& w = recent[i];
    auto lose = [&](uint32_t j) { std::memcpy(dev.at((w.at + j) % n * 512), w.before.data() + size_t{j} * 512, 512); };
    switch (pick(0, 9)) {
      case 0:
      case 1:
        for (uint32_t j = 0; j < w.blocks; j++) lose(j);
        s.what += " lost";
        break;
      case 2:
      case 3:
        for (uint32_t j = 0; j < w.blocks; j++)
          if (pick(0, 2) == 0) lose(j);
        s.what += " holes";
        break;
      case 4:
        lose(w.blocks - 1);
        s.what += " cut";
        break;
      case 5:
        lose(0);
        s.what += " headless";
        break;
      case 6:
        for (uint32_t j = 0; j < w.blocks; j++)
          if ((w.at + j) % n == 0) lose(j);  // the block at the wrap
        s.what += " wrap-lost";
        break;
      case 7:
        *dev.at((w.at + w.blocks - 1) % n * 512 + 100) ^= std::byte{1};  // past the stamp: the CRC fails
        s.what += " torn";
        break;
      default:
        s.what += " ok";
    }
  }
  if (pick(0, 11) == 0) {
    // A cycle no writes leave, among the blocks before the newest one.
    const uint32_t c0 = cycle_of(dev, 0);
    uint64_t newest = 0;
    for (uint32_t b = 0; b < n; b++)
      if (cycle_of(dev, b) != 0) newest = std::max<uint64_t>(newest, uint64_t{cycle_of(dev, b)} * n + b);
    if (c0 != 0) {
      const uint64_t back = pick(0, std::min<uint64_t>(kWindow, n) - 1);
      const auto b = static_cast<uint32_t>((newest - back) % n);
      lb.stamp(b, c0 >= 3 && pick(0, 1) ? 0 : c0 + 2);
      s.bad_cycle = true;
      s.what += " bad cycle at " + std::to_string(b);
    }
  }
  return s;
}

}  // namespace

TEST_CASE("log ends: bisection finds what the full scan finds on random logs", "[log][1thread]") {
  const uint32_t sizes[] = {64, 100, 777, 4095, 4096, 4097, 8192, 9001, 20000, 40000};
  uint32_t fewer = 0, cases = 0;
  for (uint32_t seed = 1; seed <= 600; seed++) {
    std::mt19937 rng(seed);
    const uint32_t n = sizes[std::uniform_int_distribution<size_t>(0, std::size(sizes) - 1)(rng)];
    MemDevice dev(size_t{n} * 512);
    const Synth s = make_log(dev, n, rng);
    const xlog::LogReader r(dev, 0, n);
    xlog::LogEnds want, got;
    std::string want_why, got_why;
    const int want_rc = oracle::find_log_ends(r, kUuid, &want, &want_why);
    const int got_rc = xlog::find_log_ends(r, kUuid, &got, &got_why);
    INFO("seed " << seed << " n " << n << " " << s.what << ": oracle " << want_rc << " " << want_why << ", bisection "
                 << got_rc << " " << got_why);
    REQUIRE(got_rc == want_rc);
    cases++;
    if (got.blocks_read < n) fewer++;
    if (want_rc != 0) {
      if (!s.bad_cycle) CHECK(got_why == want_why);
      continue;
    }
    CHECK(got.empty == want.empty);
    CHECK(got.clean == want.clean);
    CHECK(got.head_block == want.head_block);
    CHECK(got.head_cycle == want.head_cycle);
    CHECK(got.tail_lsn == want.tail_lsn);
    CHECK(got.last_lsn == want.last_lsn);
    CHECK(got.incomplete == want.incomplete);
    CHECK(got.torn == want.torn);
    if (n >= 4 * kWindow) CHECK(got.blocks_read < n / 2);
  }
  CHECK(fewer > cases / 5);
}

TEST_CASE("log ends: on a large log the bisection reads a few thousand blocks of it", "[log]") {
  constexpr uint32_t n = 1u << 17;  // a 64 MiB log
  CountingDevice dev(size_t{n} * 512);
  LogBuilder lb(dev, n, kUuid);
  xlog::LogEnds e;
  std::string why;

  SECTION("empty: block 0 only") {
    REQUIRE(xlog::find_log_ends(xlog::LogReader(dev, 0, n), kUuid, &e, &why) == 0);
    CHECK(e.empty);
    CHECK(e.blocks_read == 1);
  }
  SECTION("dirty in its third pass") {
    const uint64_t head = 2ull * n + 77777;  // pass 2, block 77777
    prestamp(lb, n, head - 2000);
    uint64_t t = head - 2000;
    while (t < head - 64) {
      t += lb.record(static_cast<uint32_t>(t % n), static_cast<uint32_t>(t / n), xlog::make_lsn(2, 75000),
                     LogBuilder::op(XD_LOG_CLIENT_TRANSACTION, XD_LOG_OP_START, 8000), 3);
    }
    REQUIRE(xlog::find_log_ends(xlog::LogReader(dev, 0, n), kUuid, &e, &why) == 0);
    CHECK_FALSE(e.clean);
    CHECK(e.head_cycle == 2);
    CHECK(e.head_block == t % n);
    INFO("blocks read " << e.blocks_read);
    CHECK(e.blocks_read <= 2 * kWindow + 512);  // the windows, the bisection and the last records
    CHECK(e.blocks_read * 512 == dev.bytes_read);
  }
}

}  // namespace xfsfuse::fs::test
