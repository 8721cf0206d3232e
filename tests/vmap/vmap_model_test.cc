// Randomized multi-threaded model test: under eager and lazy no page with a
// live or parked alias is ever on the free list; lazy-noref is caught by the
// pool's stale_alias_reuse audit.
#include <atomic>
#include <catch2/catch.hpp>
#include <cstring>
#include <random>
#include <thread>

#include "tests/sanitizer.h"
#include "tests/vmap/test_util.h"
#include "vmap/vmap.h"

using namespace xfsfuse::vmap;

namespace {

// Smaller than what 64 parked 16-page areas pin: pressure purges must happen.
constexpr size_t kPoolPages = 768;
// Ops per worker thread (4 workers): 120,000 in all; a quarter under TSan
// (tests/sanitizer.h), where one case took 220 s.
constexpr int kOpsPerThread = xfsfuse::test::kUnderTsan ? 7500 : 30000;
constexpr uint64_t kOps = 4 * kOpsPerThread;

struct ModelResult {
  uint64_t ops = 0;
  uint64_t data_errors = 0;        // mapping did not show the pages written
  uint64_t ref_errors = 0;         // a live mapping's page lacked the mapping's reference
  uint64_t aliased_allocs = 0;     // pages that came from alloc() still aliased
  uint64_t alloc_failures = 0;
  size_t max_free_with_aliases = 0;  // worst audit of the free lists
  VmapStats stats;
};

// Each thread holds up to 3 page vectors and, at random: allocates one
// (scattered or contiguous; 30%), maps one, writes a tag through the mapping,
// checks it through the linear mapping and unmaps it (40%), or releases one
// (30%), so pages go back to the pool while parked aliases may map them.
ModelResult run_model(UnmapPolicy policy, int threads, int ops_per_thread) {
  ShrinkerRegistry reg;
  std::unique_ptr<PagePool> pool;
  REQUIRE(PagePool::create(kPoolPages * kPageSize, &reg, &pool) == 0);
  VmapOptions o;
  o.policy = policy;
  o.nslots = 256;
  o.timer_period = std::chrono::milliseconds(5);
  std::unique_ptr<Vmap> vm;
  REQUIRE(Vmap::create(pool.get(), &reg, o, &vm) == 0);

  std::atomic<uint64_t> ops{0}, data_errors{0}, ref_errors{0}, aliased{0}, alloc_failures{0};
  std::atomic<bool> done{false};
  std::atomic<int64_t> held_pages{0};  // pages the workers hold, for failure reports
  std::atomic<size_t> worst{0};
  std::thread auditor([&] {
    while (!done.load()) {
      size_t n = pool->free_pages_with_aliases();
      if (n > worst.load()) worst.store(n);
      std::this_thread::yield();
    }
  });

  auto worker = [&](int tid) {
    std::mt19937 rng(1000 + tid);
    std::vector<std::vector<pfn_t>> held;
    std::vector<pfn_t> one;
    for (int op = 0; op < ops_per_thread; op++) {
      unsigned r = rng() % 10;
      if (held.size() < 3 && (r < 3 || held.empty())) {
        uint32_t k = 1 + rng() % 16;
        std::vector<pfn_t> v;
        int err = 0;
        if (rng() % 4 == 0) {
          err = pool->alloc(k, kAllocDefault, &v);
        } else {
          for (uint32_t i = 0; i < k && err == 0; i++)
            if ((err = pool->alloc(1, kAllocDefault, &one)) == 0) v.push_back(one[0]);
        }
        if (err != 0) {
          if (alloc_failures++ == 0) {
            PoolStats ps = pool->stats();
            VmapStats vs = vm->stats();
            std::fprintf(stderr, "model: alloc(%u) failed: free=%llu pinned=%llu parked=%llu held=%lld\n", k,
                         (unsigned long long)ps.pages_free, (unsigned long long)vs.pages_pinned_by_parked_aliases,
                         (unsigned long long)vs.parked_areas, (long long)held_pages.load());
          }
          pool->put(v);
          continue;
        }
        for (pfn_t p : v)
          if (pool->alias_count(p) != 0) aliased++;
        held_pages += v.size();
        held.push_back(std::move(v));
      } else if (r < 7) {
        const std::vector<pfn_t>& v = held[rng() % held.size()];
        void* addr = nullptr;
        if (int e = vm->vmap(v, &addr); e != 0) {
          if (data_errors++ == 0) std::fprintf(stderr, "model: vmap of %zu pages failed: errno %d\n", v.size(), e);
          continue;
        }
        if (!pool->in_linear(addr))
          for (pfn_t p : v)
            if (pool->refcount(p) < 2) ref_errors++;
        auto* a = static_cast<uint8_t*>(addr);
        uint8_t tag = static_cast<uint8_t>(rng());
        for (size_t i = 0; i < v.size(); i++) {
          a[i * kPageSize] = static_cast<uint8_t>(tag + i);
          a[i * kPageSize + kPageSize - 1] = static_cast<uint8_t>(tag ^ i);
        }
        for (size_t i = 0; i < v.size(); i++) {
          auto* lin = reinterpret_cast<uint8_t*>(pool->page_address(v[i]));
          if (lin[0] != uint8_t(tag + i) || lin[kPageSize - 1] != uint8_t(tag ^ i)) data_errors++;
        }
        if (int e = vm->vunmap(addr); e != 0 && data_errors++ == 0) std::fprintf(stderr, "model: vunmap failed: errno %d\n", e);
      } else {
        size_t i = rng() % held.size();
        held_pages -= held[i].size();
        pool->put(held[i]);
        held.erase(held.begin() + static_cast<long>(i));
      }
      ops++;
    }
    for (auto& v : held) pool->put(v);
  };
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; t++) ts.emplace_back(worker, t);
  for (auto& t : ts) t.join();
  done = true;
  auditor.join();

  ModelResult res;
  res.ops = ops;
  res.data_errors = data_errors;
  res.ref_errors = ref_errors;
  res.aliased_allocs = aliased;
  res.alloc_failures = alloc_failures;
  res.max_free_with_aliases = worst;
  res.stats = vm->stats();
  vm->unmap_aliases();
  REQUIRE(pool->free_pages_with_aliases() == 0);
  REQUIRE(pool->stats().pages_free == kPoolPages);  // every reference came back
  return res;
}

}  // namespace

TEST_CASE("vmap model: lazy never frees an aliased page (4 threads)", "[vmap][model]") {
  ModelResult r = run_model(UnmapPolicy::kLazy, 4, kOpsPerThread);
  WARN("lazy model: purges every_n=" << r.stats.purges[0] << " pressure=" << r.stats.purges[1] << " timer=" << r.stats.purges[2]
                         << " budget=" << r.stats.purges[3] << " reuses=" << r.stats.alias_reuses << " lazy_unmaps=" << r.stats.lazy_unmaps << " maps=" << r.stats.maps << " scattered=" << r.stats.scattered_maps);
  REQUIRE(r.ops >= kOps * 5 / 6);
  REQUIRE(r.data_errors == 0);
  REQUIRE(r.ref_errors == 0);
  REQUIRE(r.alloc_failures == 0);
  REQUIRE(r.aliased_allocs == 0);
  REQUIRE(r.max_free_with_aliases == 0);
  REQUIRE(r.stats.stale_alias_reuse == 0);
  REQUIRE(r.stats.lazy_unmaps > kOps / 12);
  REQUIRE(r.stats.purges_total() > 0);
  REQUIRE(r.stats.alias_reuses > 0);
}

TEST_CASE("vmap model: eager never frees an aliased page (4 threads)", "[vmap][model]") {
  ModelResult r = run_model(UnmapPolicy::kEager, 4, kOpsPerThread);
  REQUIRE(r.ops >= kOps * 5 / 6);
  REQUIRE(r.data_errors == 0);
  REQUIRE(r.ref_errors == 0);
  REQUIRE(r.aliased_allocs == 0);
  REQUIRE(r.max_free_with_aliases == 0);
  REQUIRE(r.stats.stale_alias_reuse == 0);
  REQUIRE(r.stats.lazy_unmaps == 0);
  REQUIRE(r.stats.unmap_syscalls > 0);
}

TEST_CASE("vmap model: lazy-noref is caught by the stale_alias_reuse audit", "[vmap][model]") {
  ModelResult r = run_model(UnmapPolicy::kLazyNoref, 4, kOpsPerThread);
  REQUIRE(r.ops >= kOps * 5 / 6);
  REQUIRE(r.data_errors == 0);  // nobody writes through stale aliases here
  REQUIRE(r.stats.stale_alias_reuse > 0);
  REQUIRE(r.aliased_allocs > 0);
  REQUIRE(r.stats.pages_pinned_peak == 0);  // parked areas hold no references
}

TEST_CASE("vmap: kAllocNoAlias shoots the stale aliases down first (lazy-noref)", "[vmap]") {
  ShrinkerRegistry reg;
  std::unique_ptr<PagePool> pool;
  REQUIRE(PagePool::create(64 * kPageSize, &reg, &pool) == 0);
  VmapOptions o;
  o.policy = UnmapPolicy::kLazyNoref;
  o.timer_period = std::chrono::milliseconds(0);
  std::unique_ptr<Vmap> vm;
  REQUIRE(Vmap::create(pool.get(), &reg, o, &vm) == 0);
  auto v = test::scattered_pages(*pool, 16);
  void* a = nullptr;
  REQUIRE(vm->vmap(v, &a) == 0);
  REQUIRE(vm->vunmap(a) == 0);
  pool->put(v);  // freed while the parked alias still maps them: the 2007 bug
  REQUIRE(pool->free_pages_with_aliases() == 16);
  std::vector<pfn_t> w;
  REQUIRE(pool->alloc(64, kAllocNoAlias, &w) == 0);
  REQUIRE(pool->stats().alias_flushes == 1);
  REQUIRE(vm->stats().stale_alias_reuse == 0);
  REQUIRE(vm->stats().purges[size_t(PurgeReason::kExplicit)] == 1);
  REQUIRE(test::in_child([&] { (void)*static_cast<volatile char*>(a); }) == "segv");
  pool->put(w);
  // Same again without the flag: the audit counts every page.
  auto u = test::scattered_pages(*pool, 3);
  REQUIRE(vm->vmap(u, &a) == 0);
  REQUIRE(vm->vunmap(a) == 0);
  pool->put(u);
  REQUIRE(pool->alloc(64, kAllocDefault, &w) == 0);
  REQUIRE(vm->stats().stale_alias_reuse == 3);
  pool->put(w);
}
