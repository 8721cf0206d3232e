// bench/vmap_bench.cc — cost of vmap() + vunmap() of one 16-page (64 KiB)
// buffer, the size of a directory block, under each way the vmap layer can
// serve it:
//
//   contig       one contiguous run of the pool (PagePool::alloc(16,
//                kAllocContig)): vmap() returns a pointer into the pool's
//                linear mapping, no syscall, no reference taken;
//   eager        16 scattered pages, UnmapPolicy::kEager: 16 mmap calls to map
//                (one per run), one mmap(PROT_NONE) per vunmap();
//   lazy         16 scattered pages, UnmapPolicy::kLazy, batch 64: 16 mmap
//                calls to map, vunmap() parks the area, one purge (normally
//                one syscall) per 64 vunmap() calls;
//   alias_reuse  kLazy, the same page vector mapped again and again: every
//                vmap() after the first finds its parked area and reuses it,
//                no syscall at all.
//
// BM_MapTouchUnmap: vmap(), write one byte to each 4 KiB page through the
// returned address ("touch": this is what makes a fresh mapping fault its
// page table entries in), vunmap().  BM_MapUnmapNoTouch: the same without the
// writes: for contig and alias_reuse the bare bookkeeping path (targets
// < 100 ns and < 300 ns); for eager and lazy it separates the cost of the
// mmap calls from that of the page faults the touch takes.
//
// Scattered pages: each thread allocates 32 single pages (alloc(1) each),
// sorts them and keeps every other one, so no two of its 16 pages are
// adjacent in the memfd and each map needs 16 mmap calls.  For eager and lazy
// the thread cycles through 128 different orderings of those 16 pages: under
// kLazy, mapping the vector of an area still parked would be an alias reuse
// (the alias_reuse case), and a vector comes round again only after 127 other
// vunmap() calls, by which time a batch purge has unmapped its old area.
// Eager uses the same orderings so the two differ only by policy.
//
// Each benchmark runs at 1 and 2 threads; every thread uses its own pages.
// One pool and one Vmap per case (timer off, 4096 slots, 64 MiB pool) are
// created in main() before any benchmark runs.  Times are wall-clock
// (UseRealTime): with 2 threads "Time" is wall time / total operations of both
// threads, i.e. inverse throughput, and "CPU" is CPU time per operation.
//
// Counters, from Vmap::stats() deltas over the whole timed loop (all threads)
// divided by the total iterations of all threads:
//   map_syscalls/op    mmap(MAP_FIXED) calls made to map runs
//   unmap_syscalls/op  mmap(PROT_NONE) calls: eager vunmap() + purges
//   purges/op          purges that unmapped something (any reason)
//   alias_reuses/op    vmap() calls served by a parked area
//   tlb_shootdowns/op  TLB-shootdown IPIs (the TLB row of /proc/interrupts,
//                      whole machine), what munmap costs with threads on
//                      other CPUs
// Thread 0 takes both snapshots: the "before" one before the loop's start
// barrier (no thread calls into the Vmap before it), the "after" one after the
// loop's end barrier (every thread is out of its loop; afterwards threads only
// drop their own page references, which the Vmap counters do not see).
// Areas still parked at the end are purged after the "after" snapshot, so at
// most one batch purge per run goes uncounted.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <string>
#include <vector>

#include "vmap/page_pool.h"
#include "vmap/shrinker.h"
#include "vmap/vmap.h"

namespace {

using xfsfuse::vmap::kAllocContig;
using xfsfuse::vmap::kAllocDefault;
using xfsfuse::vmap::kPageSize;
using xfsfuse::vmap::PagePool;
using xfsfuse::vmap::pfn_t;
using xfsfuse::vmap::PurgeReason;
using xfsfuse::vmap::ShrinkerRegistry;
using xfsfuse::vmap::UnmapPolicy;
using xfsfuse::vmap::Vmap;
using xfsfuse::vmap::VmapOptions;
using xfsfuse::vmap::VmapStats;

constexpr uint32_t kBufPages = 16;              // one 64 KiB buffer
constexpr uint32_t kScatterAlloc = 2 * kBufPages;  // single pages allocated, every other one used
constexpr size_t kOrderings = 128;              // > batch: no accidental alias reuse under kLazy
constexpr size_t kPoolBytes = size_t{64} << 20;
constexpr uint32_t kBatch = 64;
constexpr uint32_t kSlots = 4096;

enum Case : size_t { kContig, kEager, kLazy, kAliasReuse, kNumCases };

// One pool and one Vmap per case, so neither the counters nor the pool's
// single alias-flusher slot are shared between cases.  Members are destroyed
// in reverse order: the Vmap, then the pool, then the registry.
struct Fixture {
  ShrinkerRegistry shrinkers;
  std::unique_ptr<PagePool> pool;
  std::unique_ptr<Vmap> vmap;
};

std::array<std::unique_ptr<Fixture>, kNumCases> g_fixtures;

UnmapPolicy policy_for(Case c) { return c == kEager ? UnmapPolicy::kEager : UnmapPolicy::kLazy; }

const char* case_name(Case c) {
  switch (c) {
    case kContig: return "contig";
    case kEager: return "eager";
    case kLazy: return "lazy";
    case kAliasReuse: return "alias_reuse";
    case kNumCases: break;
  }
  return "?";
}

int make_fixture(Case c, std::unique_ptr<Fixture>* out) {
  auto fx = std::make_unique<Fixture>();
  int err = PagePool::create(kPoolBytes, &fx->shrinkers, &fx->pool);
  if (err != 0) return err;
  VmapOptions opts;
  opts.policy = policy_for(c);
  opts.batch = kBatch;
  opts.slot_pages = kBufPages;
  opts.nslots = kSlots;
  opts.timer_period = std::chrono::milliseconds(0);  // no timer: deterministic purges
  err = Vmap::create(fx->pool.get(), &fx->shrinkers, opts, &fx->vmap);
  if (err != 0) return err;
  *out = std::move(fx);
  return 0;
}

// The pages one benchmark thread owns (one reference each) and the page
// vectors it maps, in turn.
struct ThreadPages {
  std::vector<pfn_t> owned;
  std::vector<std::vector<pfn_t>> vecs;
};

bool has_adjacent_run(const std::vector<pfn_t>& v) {
  for (size_t i = 1; i < v.size(); i++)
    if (v[i] == v[i - 1] + 1) return true;
  return false;
}

// Fills *tp for case c; returns 0 or an errno, with *what naming the step.
int setup_pages(PagePool* pool, Case c, ThreadPages* tp, const char** what) {
  if (c == kContig) {
    *what = "PagePool::alloc(16, kAllocContig)";
    int err = pool->alloc(kBufPages, kAllocContig, &tp->owned);
    if (err != 0) return err;
    tp->vecs.push_back(tp->owned);
    return 0;
  }
  *what = "PagePool::alloc(1)";
  std::vector<pfn_t> one;
  for (uint32_t i = 0; i < kScatterAlloc; i++) {
    int err = pool->alloc(1, kAllocDefault, &one);
    if (err != 0) return err;
    tp->owned.push_back(one[0]);
  }
  // Sorted, every other page: any two kept pages are at least 2 pfns apart.
  std::vector<pfn_t> sorted = tp->owned;
  std::sort(sorted.begin(), sorted.end());
  std::vector<pfn_t> picks;
  for (uint32_t i = 0; i < kScatterAlloc; i += 2) picks.push_back(sorted[i]);

  if (c == kAliasReuse) {
    tp->vecs.push_back(picks);
  } else {
    // 128 distinct orderings: start r (16 choices) and odd stride k (8 choices).
    for (uint32_t k = 1; k < kBufPages; k += 2) {
      for (uint32_t r = 0; r < kBufPages; r++) {
        std::vector<pfn_t> v(kBufPages);
        for (uint32_t i = 0; i < kBufPages; i++) v[i] = picks[(r + i * k) % kBufPages];
        tp->vecs.push_back(std::move(v));
      }
    }
  }
  *what = "scattered page vector has adjacent pages";
  for (const auto& v : tp->vecs)
    if (has_adjacent_run(v)) return EINVAL;
  return 0;
}

void skip_errno(benchmark::State& state, const char* what, int err) {
  std::string msg = std::string(what) + ": " + std::strerror(err);
  state.SkipWithError(msg.c_str());
}

// Sum of the "TLB:" row of /proc/interrupts (TLB-shootdown IPIs received, all
// CPUs, whole machine); 0 where the row is missing.
uint64_t tlb_shootdowns() {
  std::ifstream f("/proc/interrupts");
  std::string line;
  while (std::getline(f, line)) {
    std::istringstream is(line);
    std::string label;
    if (!(is >> label) || label != "TLB:") continue;
    uint64_t sum = 0, n = 0;
    while (is >> n) sum += n;
    return sum;
  }
  return 0;
}

void set_counters(benchmark::State& state, const VmapStats& b, const VmapStats& a, uint64_t tlb) {
  using benchmark::Counter;
  auto per_op = [](uint64_t delta) { return Counter(static_cast<double>(delta), Counter::kAvgIterations); };
  state.counters["map_syscalls/op"] = per_op(a.map_syscalls - b.map_syscalls);
  state.counters["unmap_syscalls/op"] =
      per_op((a.unmap_syscalls - b.unmap_syscalls) + (a.purge_syscalls - b.purge_syscalls));
  state.counters["purges/op"] = per_op(a.purges_total() - b.purges_total());
  state.counters["alias_reuses/op"] = per_op(a.alias_reuses - b.alias_reuses);
  state.counters["tlb_shootdowns/op"] = per_op(tlb);
}

// The body of every benchmark.  Never returns before the timed loop: with 2
// threads the loop's start and end barriers must be reached by every thread.
void run_case(benchmark::State& state, Case c, bool touch) {
  Fixture* fx = g_fixtures[c].get();
  if (!fx) {
    state.SkipWithError("fixture not created");
    for (auto _ : state) {
    }
    return;
  }
  PagePool* pool = fx->pool.get();
  Vmap* vm = fx->vmap.get();
  const bool leader = state.thread_index() == 0;

  ThreadPages tp;
  const char* what = "";
  if (int err = setup_pages(pool, c, &tp, &what); err != 0) skip_errno(state, what, err);

  VmapStats before;
  uint64_t tlb_before = 0;
  if (leader) {
    before = vm->stats();
    tlb_before = tlb_shootdowns();
  }

  const size_t nvecs = tp.vecs.size();
  size_t next = 0;
  uint8_t val = 0;
  for (auto _ : state) {
    void* addr = nullptr;
    if (int err = vm->vmap(tp.vecs[next], &addr); err != 0) {
      skip_errno(state, "Vmap::vmap", err);
      break;
    }
    if (touch) {
      auto* p = static_cast<volatile uint8_t*>(addr);
      for (uint32_t i = 0; i < kBufPages; i++) p[i * kPageSize] = val;
      val++;
    }
    benchmark::DoNotOptimize(addr);
    if (int err = vm->vunmap(addr); err != 0) {
      skip_errno(state, "Vmap::vunmap", err);
      break;
    }
    if (++next == nvecs) next = 0;
  }

  if (leader && !state.error_occurred()) {
    VmapStats after = vm->stats();
    set_counters(state, before, after, tlb_shootdowns() - tlb_before);
    if (after.map_failures != before.map_failures)
      state.SkipWithError("Vmap::stats: map_failures grew");
    else if (after.stale_alias_reuse != before.stale_alias_reuse)
      state.SkipWithError("Vmap::stats: stale_alias_reuse grew");
    else if (c == kContig && after.contiguous_maps - before.contiguous_maps != after.maps - before.maps)
      state.SkipWithError("contig case: a map was not served from the linear mapping");
    else if (c == kAliasReuse && after.alias_reuses == before.alias_reuses && state.iterations() > 1)
      state.SkipWithError("alias_reuse case: alias_reuses did not grow");
  }

  // Drop this thread's references; pages still held by parked areas are freed
  // by the leader's purge (every loop is over: the end barrier is behind us).
  if (!tp.owned.empty()) pool->put(tp.owned);
  if (leader) vm->purge(PurgeReason::kExplicit);
}

void BM_MapTouchUnmap(benchmark::State& state, Case c) { run_case(state, c, true); }
void BM_MapUnmapNoTouch(benchmark::State& state, Case c) { run_case(state, c, false); }

BENCHMARK_CAPTURE(BM_MapTouchUnmap, contig, kContig)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK_CAPTURE(BM_MapTouchUnmap, eager, kEager)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK_CAPTURE(BM_MapTouchUnmap, lazy, kLazy)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK_CAPTURE(BM_MapTouchUnmap, alias_reuse, kAliasReuse)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK_CAPTURE(BM_MapUnmapNoTouch, contig, kContig)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK_CAPTURE(BM_MapUnmapNoTouch, eager, kEager)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK_CAPTURE(BM_MapUnmapNoTouch, lazy, kLazy)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK_CAPTURE(BM_MapUnmapNoTouch, alias_reuse, kAliasReuse)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  for (size_t c = 0; c < kNumCases; c++) {
    if (int err = make_fixture(static_cast<Case>(c), &g_fixtures[c]); err != 0) {
      std::fprintf(stderr, "xfsfuse-vmap-bench: cannot create the %s pool/vmap: %s\n",
                   case_name(static_cast<Case>(c)), std::strerror(err));
      return 1;
    }
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  for (auto& fx : g_fixtures) fx.reset();
  return 0;
}
