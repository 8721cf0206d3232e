// bench/buffer_cache_bench.cc — cost of BufferCache::get() on a hit, on a
// miss, and the mapping syscalls a miss makes, on a 256 MiB image file.
//
// BM_Hit: get() + release() of a cached 64 KiB buffer made of 16 maps of 8
// sectors (4 KiB) at scattered daddrs (map i at base + i * 64), shared access,
// owner not checked.  ops = nullptr ("null") or a HeaderBufOps ("header",
// magic + CRC over the whole 64 KiB + blkno + uuid): verification runs only
// on the miss that first read the buffer (in main(), before any benchmark),
// so both should cost the same.  1 and 2 threads on the same buffer
// ("shared"), and 2 threads each on its own buffer ("own").  Target: < 200 ns.
//
// BM_MissDrop: a cold get() + release() of a 64 KiB buffer of 1, 2, 4, 8 or 16
// maps (128 / maps sectors each, every map in its own 64 KiB region of the
// image), ops = nullptr; drop_caches() after each one.  Manual time: only the
// get() + release() is timed, not the drop.  BM_MissEvict: the same gets
// without drop_caches(), cycling through 64 buffers in a cache whose budget
// holds 32, so every get() misses and evicts one buffer on its way (the
// steady state of a cache at its budget).
//
// The image is a regular file in /tmp, written once at setup, so every read
// is served from the host's page cache: these numbers are our overhead per
// map (one preadv syscall and a 4-64 KiB copy each, plus allocation, mapping
// and hashing), not disk latency.
//
// BM_ColdRead: cold get()s of single-map 64 KiB buffers, cycling through 256
// buffers in a cache whose budget holds 64 (every get() misses and evicts),
// under vmap policies eager and lazy (batch 64), with a pool that can give
// contiguous 16-page runs ("contig": the buffer is a pointer into the pool's
// linear mapping, no syscall) or a fragmented one ("frag": every page
// allocated, then every odd pfn released, so no two free pages are adjacent
// and a buffer's 16 pages need 16 mmap calls).  Expected: contig 0 map and 0
// unmap syscalls per read; frag 16 map syscalls per read, and 1 unmap
// syscall per read (eager) or about 1/64 (lazy: one purge per 64 parked).
//
// Each case has its own pool, Vmap (timer off) and cache, built in main()
// before any benchmark runs; all share one read-only FileDevice.  Times are
// wall-clock (UseRealTime, or manual time for BM_MissDrop); with 2 threads
// "Time" is wall time / total operations of both threads.
//
// Counters are CacheStats deltas over the whole timed loop (all threads),
// divided by the iterations of all threads (".../op"):
//   misses/op          BM_Hit: must be 0 (else the case is an error)
//   reads/op           preadv calls: maps per get() on a miss
//   ns/map             BM_Miss*: time per get() / maps
//   map_syscalls/op    mmap(MAP_FIXED) calls made by vmap()
//   unmap_syscalls/op  mmap(PROT_NONE) calls: eager vunmap() + purges
//   contig_maps/op     vmap() calls served from the linear mapping
//   evictions/op       buffers reclaimed
// Thread 0 takes both snapshots: before the loop's start barrier (no thread
// calls into the cache before it) and after its end barrier.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "buffer_cache/block_device.h"
#include "buffer_cache/buf_ops.h"
#include "buffer_cache/buffer_cache.h"
#include "buffer_cache/crc32c.h"
#include "vmap/page_pool.h"
#include "vmap/shrinker.h"
#include "vmap/vmap.h"

namespace {

using xfsfuse::bc::BlockDevice;
using xfsfuse::bc::BufferCache;
using xfsfuse::bc::BufHandle;
using xfsfuse::bc::BufOps;
using xfsfuse::bc::CacheOptions;
using xfsfuse::bc::CacheStats;
using xfsfuse::bc::DiskRange;
using xfsfuse::bc::FileDevice;
using xfsfuse::bc::HeaderBufOps;
using xfsfuse::bc::HeaderLayout;
using xfsfuse::bc::kAnyOwner;
using xfsfuse::bc::kGetShared;
using xfsfuse::bc::kSectorShift;
using xfsfuse::bc::Uuid;
using xfsfuse::vmap::kAllocContig;
using xfsfuse::vmap::PagePool;
using xfsfuse::vmap::pfn_t;
using xfsfuse::vmap::ShrinkerRegistry;
using xfsfuse::vmap::UnmapPolicy;
using xfsfuse::vmap::Vmap;
using xfsfuse::vmap::VmapOptions;

constexpr size_t kMiB = size_t{1} << 20;
constexpr uint64_t kDevBytes = 256 * kMiB;
constexpr uint32_t kBufSectors = 128;  // 64 KiB
constexpr size_t kBufBytes = size_t{kBufSectors} << kSectorShift;

// Hit buffers: 16 maps of 8 sectors, map i at base + i * 64.  Four of them,
// slot = 2 * (header ops ? 1 : 0) + (own buffer ? thread : 0), base 1000 + 8 * slot.
constexpr uint32_t kHitMaps = 16;
constexpr uint32_t kHitMapSectors = 8;
constexpr uint64_t kHitStride = 64;
constexpr uint64_t kHitBase = 1000;
constexpr uint32_t kHitSlots = 4;

// Miss buffers: buffer j's map i at kMissBase + (i * kMissBufs + j) * 128,
// 128 / maps sectors long.  The region [8 MiB, 72 MiB) is written at setup.
constexpr uint64_t kMissBase = (8 * kMiB) >> kSectorShift;
constexpr uint32_t kMissBufs = 64;
constexpr uint32_t kMissMaxMaps = 16;

// Cold-read buffers: buffer j at kRotBase + j * 128, one map; [128, 144) MiB.
constexpr uint64_t kRotBase = (128 * kMiB) >> kSectorShift;
constexpr uint32_t kRotBufs = 256;

constexpr uint32_t kMagic = 0x58424342;  // "XBCB"
constexpr Uuid kUuid = {0x5e, 0xb1, 0x7a, 0x01, 0x22, 0x43, 0x4c, 0x85,
                        0x96, 0xa7, 0xb8, 0xc9, 0xda, 0xeb, 0xfc, 0x0d};

HeaderLayout bench_layout() {
  HeaderLayout l;
  l.name = "bench block";
  l.magic_off = 0;
  l.magic_size = 4;
  l.magics = {kMagic};
  l.crc_off = 4;
  l.crc_len = 0;  // the whole 64 KiB
  l.blkno_off = 8;
  l.uuid_off = 16;
  l.owner_off = 32;
  l.owner_size = 8;
  return l;
}

// One pool, one Vmap over it (one per pool), one cache.  held: pages kept
// allocated to fragment the pool.
struct Fixture {
  ShrinkerRegistry shrinkers;
  std::unique_ptr<PagePool> pool;
  std::unique_ptr<Vmap> vmap;
  std::unique_ptr<BufferCache> cache;
  std::vector<pfn_t> held;
  uint32_t cursor = 0;  // BM_ColdRead: the next buffer, kept across runs

  ~Fixture() {
    cache.reset();
    if (pool && !held.empty()) pool->put(held);
    vmap.reset();
    pool.reset();
  }
};

struct FixtureSpec {
  size_t pool_bytes;
  size_t budget_bytes;
  UnmapPolicy policy;
  bool fragment;
};

std::unique_ptr<BlockDevice> g_dev;
std::unique_ptr<HeaderBufOps> g_header_ops;
std::unique_ptr<Fixture> g_hit;
std::unique_ptr<Fixture> g_miss;
// [policy: 0 eager, 1 lazy][0 contig, 1 frag]
std::array<std::array<std::unique_ptr<Fixture>, 2>, 2> g_cold;

// Returns 0 or an errno, with *what naming the step that failed.
int fragment_pool(PagePool* pool, std::vector<pfn_t>* held, const char** what) {
  std::vector<pfn_t> all, run;
  const pfn_t n = pool->npages();
  for (pfn_t done = 0; done < n;) {
    const uint32_t k = std::min<uint32_t>(1024, n - done);
    *what = "PagePool::alloc(1024, kAllocContig) while taking every page";
    if (int err = pool->alloc(k, kAllocContig, &run); err != 0) return err;
    all.insert(all.end(), run.begin(), run.end());
    done += k;
  }
  std::vector<pfn_t> release;
  for (pfn_t p : all) (p % 2 ? release : *held).push_back(p);
  pool->put(release);
  *what = "fragmented pool: wrong number of free pages";
  if (pool->stats().pages_free != release.size()) return EINVAL;
  return 0;
}

int make_fixture(const FixtureSpec& spec, std::unique_ptr<Fixture>* out, const char** what) {
  auto fx = std::make_unique<Fixture>();
  *what = "PagePool::create";
  if (int err = PagePool::create(spec.pool_bytes, &fx->shrinkers, &fx->pool); err != 0) return err;
  VmapOptions vo;
  vo.policy = spec.policy;
  vo.timer_period = std::chrono::milliseconds(0);  // no timer: deterministic purges
  *what = "Vmap::create";
  if (int err = Vmap::create(fx->pool.get(), &fx->shrinkers, vo, &fx->vmap); err != 0) return err;
  if (spec.fragment) {
    if (int err = fragment_pool(fx->pool.get(), &fx->held, what); err != 0) return err;
  }
  CacheOptions co;
  co.budget_bytes = spec.budget_bytes;
  *what = "BufferCache::create";
  if (int err = BufferCache::create(g_dev.get(), fx->pool.get(), fx->vmap.get(), &fx->shrinkers, co, &fx->cache);
      err != 0)
    return err;
  fx->cache->set_uuid(kUuid);
  *out = std::move(fx);
  return 0;
}

// --- the image -------------------------------------------------------------

std::vector<DiskRange> hit_maps(uint32_t slot) {
  std::vector<DiskRange> m;
  for (uint32_t i = 0; i < kHitMaps; i++) m.push_back({kHitBase + 8 * slot + i * kHitStride, kHitMapSectors});
  return m;
}

std::vector<DiskRange> miss_maps(uint32_t buf, uint32_t nmaps) {
  std::vector<DiskRange> m;
  for (uint32_t i = 0; i < nmaps; i++)
    m.push_back({kMissBase + (uint64_t{i} * kMissBufs + buf) * kBufSectors, kBufSectors / nmaps});
  return m;
}

std::vector<DiskRange> rot_maps(uint32_t buf) { return {{kRotBase + uint64_t{buf} * kBufSectors, kBufSectors}}; }

void fill_pattern(std::byte* p, size_t n, uint64_t off) {
  for (size_t i = 0; i < n; i++) p[i] = static_cast<std::byte>(((off + i) * 2654435761u) >> 24);
}

void store_be(std::byte* p, uint64_t v, unsigned n) {
  for (unsigned i = 0; i < n; i++) p[i] = static_cast<std::byte>(v >> (8 * (n - 1 - i)));
}

int pwrite_all(int fd, const std::byte* p, size_t n, uint64_t off) {
  while (n > 0) {
    ssize_t w = pwrite(fd, p, n, static_cast<off_t>(off));
    if (w < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (w == 0) return EIO;
    p += w;
    n -= static_cast<size_t>(w);
    off += static_cast<uint64_t>(w);
  }
  return 0;
}

// Writes the regions the benchmarks read: real bytes, not holes.
int write_image(int fd) {
  std::vector<std::byte> chunk(kMiB);
  auto fill_region = [&](uint64_t start, size_t bytes) {
    for (size_t done = 0; done < bytes; done += kMiB) {
      fill_pattern(chunk.data(), kMiB, start + done);
      if (int err = pwrite_all(fd, chunk.data(), kMiB, start + done); err != 0) return err;
    }
    return 0;
  };
  if (int err = fill_region(kMissBase << kSectorShift, size_t{kMissMaxMaps} * kMissBufs * kBufBytes); err != 0)
    return err;
  if (int err = fill_region(kRotBase << kSectorShift, size_t{kRotBufs} * kBufBytes); err != 0) return err;

  // Hit buffers: a valid self-describing header (blkno = first map's daddr),
  // CRC over the whole 64 KiB as assembled from its 16 maps.
  std::vector<std::byte> img(kBufBytes);
  for (uint32_t s = 0; s < kHitSlots; s++) {
    const auto maps = hit_maps(s);
    fill_pattern(img.data(), img.size(), s * kBufBytes);
    store_be(img.data() + 0, kMagic, 4);
    store_be(img.data() + 8, maps[0].daddr, 8);
    std::memcpy(img.data() + 16, kUuid.data(), kUuid.size());
    store_be(img.data() + 32, 128 + s, 8);
    xfsfuse::bc::xfs_cksum_update(img, 4);
    size_t off = 0;
    for (const DiskRange& m : maps) {
      const size_t len = size_t{m.len} << kSectorShift;
      if (int err = pwrite_all(fd, img.data() + off, len, m.daddr << kSectorShift); err != 0) return err;
      off += len;
    }
  }
  return 0;
}

int make_device(const char** what) {
  char path[] = "/tmp/xfsfuse-bc-bench.XXXXXX";
  *what = "mkstemp";
  int fd = mkstemp(path);
  if (fd < 0) return errno;
  int err = 0;
  *what = "ftruncate";
  if (ftruncate(fd, static_cast<off_t>(kDevBytes)) != 0) err = errno;
  if (err == 0) {
    *what = "writing the image";
    err = write_image(fd);
  }
  close(fd);
  if (err == 0) {
    *what = "FileDevice::open";
    err = FileDevice::open(path, false, &g_dev);
  }
  unlink(path);  // the open descriptor keeps the file
  return err;
}

// --- benchmarks ------------------------------------------------------------

void skip_errno(benchmark::State& state, const char* what, int err) {
  std::string msg = std::string(what) + ": " + std::strerror(err);
  state.SkipWithError(msg.c_str());
}

bool missing(benchmark::State& state, const Fixture* fx) {
  if (fx) return false;
  state.SkipWithError("fixture not created");
  for (auto _ : state) {
  }
  return true;
}

benchmark::Counter per_op(uint64_t delta) {
  return benchmark::Counter(static_cast<double>(delta), benchmark::Counter::kAvgIterations);
}

enum HitOps { kNullOps, kHeaderOps };

void BM_Hit(benchmark::State& state, HitOps o, bool own) {
  Fixture* fx = g_hit.get();
  if (missing(state, fx)) return;
  BufferCache* cache = fx->cache.get();
  const bool leader = state.thread_index() == 0;
  const uint32_t slot = 2 * (o == kHeaderOps ? 1 : 0) + (own ? static_cast<uint32_t>(state.thread_index()) : 0);
  const auto maps = hit_maps(slot);
  const BufOps* ops = o == kHeaderOps ? g_header_ops.get() : nullptr;

  CacheStats before;
  if (leader) before = cache->stats();
  BufHandle h;
  for (auto _ : state) {
    if (int err = cache->get(maps, ops, kAnyOwner, kGetShared, &h); err != 0) {
      skip_errno(state, "BufferCache::get", err);
      break;
    }
    benchmark::DoNotOptimize(h.data());
    h.release();
  }
  if (leader && !state.error_occurred()) {
    CacheStats after = cache->stats();
    state.counters["misses/op"] = per_op(after.misses - before.misses);
    if (after.misses != before.misses) state.SkipWithError("a hit benchmark missed");
  }
}

// The counters of the miss and cold-read benchmarks.
void set_miss_counters(benchmark::State& state, const CacheStats& b, const CacheStats& a) {
  state.counters["reads/op"] = per_op(a.reads - b.reads);
  state.counters["map_syscalls/op"] = per_op(a.vmap.map_syscalls - b.vmap.map_syscalls);
  state.counters["unmap_syscalls/op"] =
      per_op((a.vmap.unmap_syscalls - b.vmap.unmap_syscalls) + (a.vmap.purge_syscalls - b.vmap.purge_syscalls));
  state.counters["contig_maps/op"] = per_op(a.vmap.contiguous_maps - b.vmap.contiguous_maps);
  state.counters["evictions/op"] = per_op(a.evictions - b.evictions);
}

// Checks that every iteration was one miss of nmaps reads and nothing failed.
void check_misses(benchmark::State& state, const CacheStats& b, const CacheStats& a, uint32_t nmaps) {
  const uint64_t iters = state.iterations();
  if (a.misses - b.misses != iters)
    state.SkipWithError("not every get() missed");
  else if (a.reads - b.reads != iters * nmaps)
    state.SkipWithError("reads != maps per miss");
  else if (a.read_errors != b.read_errors || a.vmap.map_failures != b.vmap.map_failures)
    state.SkipWithError("read errors or map failures");
  else if (a.pool.stale_alias_reuse != b.pool.stale_alias_reuse)
    state.SkipWithError("PoolStats::stale_alias_reuse grew");
}

void BM_MissDrop(benchmark::State& state) {
  Fixture* fx = g_miss.get();
  if (missing(state, fx)) return;
  BufferCache* cache = fx->cache.get();
  const auto nmaps = static_cast<uint32_t>(state.range(0));
  std::vector<std::vector<DiskRange>> bufs;
  for (uint32_t j = 0; j < kMissBufs; j++) bufs.push_back(miss_maps(j, nmaps));
  cache->drop_caches();

  const CacheStats before = cache->stats();
  BufHandle h;
  uint32_t next = 0;
  double total_ns = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    int err = cache->get(bufs[next], nullptr, kAnyOwner, kGetShared, &h);
    if (err == 0) {
      benchmark::DoNotOptimize(h.data());
      h.release();
    }
    const auto t1 = std::chrono::steady_clock::now();
    if (err != 0) {
      skip_errno(state, "BufferCache::get", err);
      break;
    }
    const double ns = std::chrono::duration<double, std::nano>(t1 - t0).count();
    state.SetIterationTime(ns * 1e-9);
    total_ns += ns;
    if (cache->drop_caches() != 1) {
      state.SkipWithError("drop_caches() did not evict the buffer");
      break;
    }
    if (++next == kMissBufs) next = 0;
  }
  if (!state.error_occurred()) {
    const CacheStats after = cache->stats();
    set_miss_counters(state, before, after);
    state.counters["ns/map"] = total_ns / static_cast<double>(state.iterations() * nmaps);
    check_misses(state, before, after, nmaps);
  }
}

void BM_MissEvict(benchmark::State& state) {
  Fixture* fx = g_miss.get();
  if (missing(state, fx)) return;
  BufferCache* cache = fx->cache.get();
  const auto nmaps = static_cast<uint32_t>(state.range(0));
  std::vector<std::vector<DiskRange>> bufs;
  for (uint32_t j = 0; j < kMissBufs; j++) bufs.push_back(miss_maps(j, nmaps));
  cache->drop_caches();  // the previous case cached the same daddrs with other maps

  const CacheStats before = cache->stats();
  BufHandle h;
  uint32_t next = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (auto _ : state) {
    if (int err = cache->get(bufs[next], nullptr, kAnyOwner, kGetShared, &h); err != 0) {
      skip_errno(state, "BufferCache::get", err);
      break;
    }
    benchmark::DoNotOptimize(h.data());
    h.release();
    if (++next == kMissBufs) next = 0;
  }
  const auto t1 = std::chrono::steady_clock::now();
  if (!state.error_occurred()) {
    const CacheStats after = cache->stats();
    set_miss_counters(state, before, after);
    state.counters["ns/map"] = std::chrono::duration<double, std::nano>(t1 - t0).count() /
                               static_cast<double>(state.iterations() * nmaps);
    check_misses(state, before, after, nmaps);
  }
  cache->drop_caches();
}

void BM_ColdRead(benchmark::State& state, int policy, int frag) {
  Fixture* fx = g_cold[policy][frag].get();
  if (missing(state, fx)) return;
  BufferCache* cache = fx->cache.get();
  std::vector<std::vector<DiskRange>> bufs;
  for (uint32_t j = 0; j < kRotBufs; j++) bufs.push_back(rot_maps(j));

  // Google Benchmark calls this several times per case: the cycle goes on
  // where the last run left it, so the 64 buffers still cached are the 64
  // read last and every get() misses (and, past the first 64, evicts one).
  const CacheStats before = cache->stats();
  BufHandle h;
  uint32_t next = fx->cursor;
  for (auto _ : state) {
    if (int err = cache->get(bufs[next], nullptr, kAnyOwner, kGetShared, &h); err != 0) {
      skip_errno(state, "BufferCache::get", err);
      break;
    }
    benchmark::DoNotOptimize(h.data());
    h.release();
    if (++next == kRotBufs) next = 0;
  }
  fx->cursor = next;
  if (!state.error_occurred()) {
    const CacheStats after = cache->stats();
    set_miss_counters(state, before, after);
    check_misses(state, before, after, 1);
  }
}

BENCHMARK_CAPTURE(BM_Hit, null_shared, kNullOps, false)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK_CAPTURE(BM_Hit, null_own, kNullOps, true)->Threads(2)->UseRealTime();
BENCHMARK_CAPTURE(BM_Hit, header_shared, kHeaderOps, false)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK_CAPTURE(BM_Hit, header_own, kHeaderOps, true)->Threads(2)->UseRealTime();
BENCHMARK(BM_MissDrop)->ArgName("maps")->Arg(1)->Arg(2)->Arg(4)->Arg(8)->Arg(16)->UseManualTime();
BENCHMARK(BM_MissEvict)->ArgName("maps")->Arg(1)->Arg(2)->Arg(4)->Arg(8)->Arg(16)->UseRealTime();
BENCHMARK_CAPTURE(BM_ColdRead, eager_contig, 0, 0)->UseRealTime();
BENCHMARK_CAPTURE(BM_ColdRead, eager_frag, 0, 1)->UseRealTime();
BENCHMARK_CAPTURE(BM_ColdRead, lazy_contig, 1, 0)->UseRealTime();
BENCHMARK_CAPTURE(BM_ColdRead, lazy_frag, 1, 1)->UseRealTime();

int setup(const char** what, std::string* which) {
  *which = "device";
  if (int err = make_device(what); err != 0) return err;
  g_header_ops = std::make_unique<HeaderBufOps>(bench_layout());

  *which = "hit";
  if (int err = make_fixture({64 * kMiB, 16 * kMiB, UnmapPolicy::kLazy, false}, &g_hit, what); err != 0) return err;
  // Read every hit buffer once (the header ones verified) so BM_Hit only hits.
  for (uint32_t s = 0; s < kHitSlots; s++) {
    BufHandle h;
    *what = "BufferCache::get of a hit buffer";
    const auto maps = hit_maps(s);
    if (int err = g_hit->cache->get(maps, s >= 2 ? g_header_ops.get() : nullptr, kAnyOwner, kGetShared, &h);
        err != 0)
      return err;
  }
  *what = "BufferCache::stats: hit buffers not read as 4 verified misses";
  const CacheStats hs = g_hit->cache->stats();
  if (hs.misses != kHitSlots || hs.verifier_failures != 0 || hs.buffers != kHitSlots) return EINVAL;

  *which = "miss";
  if (int err = make_fixture({64 * kMiB, 2 * kMiB, UnmapPolicy::kLazy, false}, &g_miss, what); err != 0) return err;

  for (int p = 0; p < 2; p++) {
    for (int f = 0; f < 2; f++) {
      *which = std::string("cold-read ") + (p ? "lazy" : "eager") + (f ? " frag" : " contig");
      const FixtureSpec spec{32 * kMiB, 4 * kMiB, p ? UnmapPolicy::kLazy : UnmapPolicy::kEager, f != 0};
      if (int err = make_fixture(spec, &g_cold[p][f], what); err != 0) return err;
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  const char* what = "";
  std::string which;
  if (int err = setup(&what, &which); err != 0) {
    std::fprintf(stderr, "xfsfuse-bc-bench: cannot set up the %s fixture: %s: %s\n", which.c_str(), what,
                 std::strerror(err));
    return 1;
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  for (auto& row : g_cold)
    for (auto& fx : row) fx.reset();
  g_miss.reset();
  g_hit.reset();
  g_dev.reset();
  return 0;
}
