// Many threads reading, writing, flushing and reclaiming at once (run under
// TSan by ./test.sh).  No update may be lost: dirty buffers are never
// reclaimed and write-back lands every increment on disk.
#include <atomic>
#include <catch2/catch.hpp>
#include <random>
#include <thread>

#include "tests/buffer_cache/bc_test_util.h"

using namespace xfsfuse;
using namespace xfsfuse::bc;
using bc::test::TempImage;

namespace {

constexpr int kBuffers = 32;
constexpr size_t kWords = 8192 / sizeof(uint64_t);

std::vector<DiskRange> maps_of(int i) {  // 8 KiB in 2 maps, the second before the first on disk
  const uint64_t base = 64 + uint64_t(i) * 64;
  return {{base + 32, 8}, {base, 8}};
}

uint64_t* words(const BufHandle& h) { return reinterpret_cast<uint64_t*>(h.data()); }

// Runs the workload over a cache with room for 8 buffers (reclaim all the
// time), its flusher every flush_interval (0: none).
void stress(std::chrono::milliseconds flush_interval) {
  TempImage img(64 + kBuffers * 64 + 64);
  std::unique_ptr<BlockDevice> dev;
  REQUIRE(FileDevice::open(img.path(), true, &dev) == 0);
  CacheOptions co = test::Stack::no_flusher(64 << 10);
  co.flush_interval = flush_interval;
  test::Stack st(dev.get(), co, 1024);
  for (int i = 0; i < kBuffers; i++) {
    BufHandle h;
    REQUIRE(st.cache->get(maps_of(i), nullptr, kAnyOwner, kGetExclusive | kGetNoRead, &h) == 0);
    REQUIRE(st.cache->mark_dirty(h, 0, h.size()) == 0);
    REQUIRE(st.cache->write(h) == 0);
  }
  st.cache->drop_caches();

  const int threads = 4, ops = 4000;
  std::atomic<uint64_t> torn{0}, errors{0};
  std::vector<std::array<uint64_t, kBuffers>> incs(threads);
  auto worker = [&](int t) {
    std::mt19937 rng(77 + t);
    incs[t].fill(0);
    for (int op = 0; op < ops; op++) {
      const int i = static_cast<int>(rng() % kBuffers);
      const unsigned r = rng() % 100;
      BufHandle h;
      if (r < 30) {
        if (st.cache->get(maps_of(i), nullptr, kAnyOwner, kGetExclusive, &h) != 0) {
          errors++;
          continue;
        }
        uint64_t* w = words(h);
        const uint64_t v = w[0];
        for (size_t k = 0; k < kWords; k++) {
          if (w[k] != v) torn++;
          w[k] = v + 1;
        }
        if (st.cache->mark_dirty(h, 0, h.size()) != 0) errors++;
        incs[t][i]++;
      } else if (r < 98) {
        if (st.cache->get(maps_of(i), nullptr, kAnyOwner, kGetShared, &h) != 0) {
          errors++;
          continue;
        }
        const uint64_t* w = words(h);
        for (size_t k = 1; k < kWords; k++)
          if (w[k] != w[0]) torn++;
      } else if (r < 99) {
        if (st.cache->flush_all() != 0) errors++;
      } else {
        st.cache->drop_caches();
      }
    }
  };
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; t++) ts.emplace_back(worker, t);
  for (auto& t : ts) t.join();
  REQUIRE(errors == 0);
  REQUIRE(torn == 0);
  REQUIRE(st.cache->flush_all() == 0);
  if (flush_interval.count() != 0) {
    // A flusher pass that collected a buffer before flush_all() cleaned it
    // still holds it for a moment, and drop_caches() passes over held
    // buffers.  Passes run one after another and count themselves as they
    // start (here only the flusher makes passes): once a pass has started
    // after this point, the one in flight is over, and the new one finds
    // nothing dirty (no writers are left).
    const uint64_t passes = st.cache->stats().flusher_passes;
    while (st.cache->stats().flusher_passes == passes) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  st.cache->drop_caches();
  REQUIRE(st.cache->stats().buffers == 0);
  for (int i = 0; i < kBuffers; i++) {
    uint64_t want = 0;
    for (int t = 0; t < threads; t++) want += incs[t][i];
    auto second = img.read(maps_of(i)[0].daddr, 8), first = img.read(maps_of(i)[1].daddr, 8);
    uint64_t got_first, got_last;
    std::memcpy(&got_first, second.data(), 8);  // word 0 lives in the first map
    std::memcpy(&got_last, first.data() + 4088, 8);  // the last word in the second map
    INFO("buffer " << i);
    REQUIRE(got_first == want);
    REQUIRE(got_last == want);
  }
  CacheStats s = st.cache->stats();
  REQUIRE(s.evictions > 0);
  REQUIRE(s.writes > 0);
  REQUIRE(s.dirty_bytes == 0);
}

}  // namespace

TEST_CASE("bc: concurrent readers, writers, flushes and reclaim lose nothing", "[bc][concurrency]") {
  stress(std::chrono::milliseconds(0));
}

TEST_CASE("bc: the same with the flusher running every millisecond", "[bc][concurrency][flusher]") {
  stress(std::chrono::milliseconds(1));
}
