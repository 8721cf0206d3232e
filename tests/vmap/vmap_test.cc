// Behaviour of Vmap under each policy: paths, faults, batching, reuse, pressure.
#include "vmap/vmap.h"

#include <catch2/catch.hpp>
#include <cstring>
#include <thread>

#include "tests/vmap/test_util.h"

using namespace xfsfuse::vmap;
using test::scattered_pages;

namespace {

struct Fixture {
  ShrinkerRegistry reg;
  std::unique_ptr<PagePool> pool;
  std::unique_ptr<Vmap> vm;
  explicit Fixture(UnmapPolicy policy, uint32_t batch = 64, size_t pool_pages = 4096, uint32_t nslots = 1024,
                   bool map_contiguous = false) {
    REQUIRE(PagePool::create(pool_pages * kPageSize, &reg, &pool) == 0);
    VmapOptions o;
    o.policy = policy;
    o.map_contiguous = map_contiguous;
    o.batch = batch;
    o.nslots = nslots;
    o.timer_period = std::chrono::milliseconds(0);
    REQUIRE(Vmap::create(pool.get(), &reg, o, &vm) == 0);
  }
};

// Writes a pattern through the mapping and checks it page by page through the
// pool's linear mapping: the mapping really shows these pages in this order.
void check_mapping(PagePool& pool, void* addr, const std::vector<pfn_t>& pages, uint8_t tag) {
  auto* a = static_cast<uint8_t*>(addr);
  for (size_t i = 0; i < pages.size(); i++) std::memset(a + i * kPageSize, tag + i, kPageSize);
  for (size_t i = 0; i < pages.size(); i++) {
    auto* lin = reinterpret_cast<uint8_t*>(pool.page_address(pages[i]));
    REQUIRE(lin[0] == uint8_t(tag + i));
    REQUIRE(lin[kPageSize - 1] == uint8_t(tag + i));
  }
}

}  // namespace

TEST_CASE("vmap: contiguous pages map through the linear mapping with no syscall", "[vmap]") {
  Fixture f(UnmapPolicy::kLazy);
  std::vector<pfn_t> v;
  REQUIRE(f.pool->alloc(16, kAllocContig, &v) == 0);
  void* addr = nullptr;
  REQUIRE(f.vm->vmap(v, &addr) == 0);
  REQUIRE(addr == f.pool->page_address(v[0]));
  check_mapping(*f.pool, addr, v, 1);
  REQUIRE(f.vm->vunmap(addr) == 0);
  VmapStats s = f.vm->stats();
  REQUIRE(s.contiguous_maps == 1);
  REQUIRE(s.map_syscalls == 0);
  REQUIRE(s.unmaps == 1);
  REQUIRE(s.lazy_unmaps == 0);
  f.pool->put(v);
}

TEST_CASE("vmap: scattered pages get one mmap per contiguous run and a reference each", "[vmap]") {
  Fixture f(UnmapPolicy::kEager);
  std::vector<pfn_t> v = scattered_pages(*f.pool, 4);  // 4 runs
  std::vector<pfn_t> w;
  REQUIRE(f.pool->alloc(4, kAllocContig, &w) == 0);
  v.insert(v.end(), w.begin(), w.end());  // one more run of 4
  void* addr = nullptr;
  REQUIRE(f.vm->vmap(v, &addr) == 0);
  REQUIRE_FALSE(f.pool->in_linear(addr));
  REQUIRE(f.vm->stats().map_syscalls == 5);
  for (pfn_t p : v) REQUIRE(f.pool->refcount(p) == 2);
  check_mapping(*f.pool, addr, v, 7);
  REQUIRE(f.vm->vunmap(addr) == 0);
  for (pfn_t p : v) REQUIRE(f.pool->refcount(p) == 1);
  REQUIRE(f.vm->stats().unmap_syscalls == 1);
  REQUIRE(test::in_child([&] { (void)*static_cast<volatile char*>(addr); }) == "segv");
  f.pool->put(v);
}

TEST_CASE("vmap: a lazy alias stays readable until purged, then faults", "[vmap]") {
  Fixture f(UnmapPolicy::kLazy);
  std::vector<pfn_t> v = scattered_pages(*f.pool, 16);
  void* addr = nullptr;
  REQUIRE(f.vm->vmap(v, &addr) == 0);
  check_mapping(*f.pool, addr, v, 3);
  REQUIRE(f.vm->vunmap(addr) == 0);
  f.pool->put(v);  // the caller is done: only the parked alias pins the pages now
  for (pfn_t p : v) {
    REQUIRE(f.pool->refcount(p) == 1);
    REQUIRE(f.pool->alias_count(p) == 1);
  }
  VmapStats s = f.vm->stats();
  REQUIRE(s.lazy_unmaps == 1);
  REQUIRE(s.pages_pinned_by_parked_aliases == 16);
  REQUIRE(s.parked_areas == 1);
  REQUIRE(test::in_child([&] { (void)*static_cast<volatile char*>(addr); }) == "ok");
  f.vm->unmap_aliases();
  s = f.vm->stats();
  REQUIRE(s.purges[size_t(PurgeReason::kExplicit)] == 1);
  REQUIRE(s.pages_pinned_by_parked_aliases == 0);
  REQUIRE(s.pages_pinned_peak == 16);
  for (pfn_t p : v) REQUIRE(f.pool->alias_count(p) == 0);
  REQUIRE(f.pool->stats().pages_free == 4096);
  REQUIRE(test::in_child([&] { (void)*static_cast<volatile char*>(addr); }) == "segv");
  REQUIRE(test::in_child([&] { (void)*(static_cast<volatile char*>(addr) + 15 * kPageSize); }) == "segv");
}

TEST_CASE("vmap: map_contiguous maps a contiguous run through a slot with one syscall", "[vmap]") {
  Fixture f(UnmapPolicy::kEager, 64, 4096, 1024, /*map_contiguous=*/true);
  std::vector<pfn_t> v;
  REQUIRE(f.pool->alloc(16, kAllocContig, &v) == 0);
  void* addr = nullptr;
  REQUIRE(f.vm->vmap(v, &addr) == 0);
  REQUIRE_FALSE(f.pool->in_linear(addr));
  check_mapping(*f.pool, addr, v, 3);
  // A single page still comes from the linear mapping.
  void* one = nullptr;
  REQUIRE(f.vm->vmap(std::span<const pfn_t>(v.data(), 1), &one) == 0);
  REQUIRE(one == f.pool->page_address(v[0]));
  REQUIRE(f.vm->vunmap(one) == 0);
  REQUIRE(f.vm->vunmap(addr) == 0);
  VmapStats s = f.vm->stats();
  REQUIRE(s.scattered_maps == 1);
  REQUIRE(s.contiguous_maps == 1);
  REQUIRE(s.map_syscalls == 1);
  REQUIRE(s.unmap_syscalls == 1);
  REQUIRE(test::in_child([&] { (void)*static_cast<volatile char*>(addr); }) == "segv");
  f.pool->put(v);
}

TEST_CASE("vmap: set_batch changes the purge batch at run time", "[vmap]") {
  Fixture f(UnmapPolicy::kLazy, 8);
  auto park = [&](int n) {
    for (int i = 0; i < n; i++) {
      std::vector<pfn_t> v = scattered_pages(*f.pool, 4);
      void* addr = nullptr;
      REQUIRE(f.vm->vmap(v, &addr) == 0);
      REQUIRE(f.vm->vunmap(addr) == 0);
      f.pool->put(v);
    }
  };
  uint32_t old = 0;
  REQUIRE(f.vm->set_batch(0, &old) == EINVAL);
  REQUIRE(f.vm->batch() == 8);
  park(5);
  REQUIRE(f.vm->stats().parked_areas == 5);
  // Raising it: nothing purges until 20 are parked.
  REQUIRE(f.vm->set_batch(20, &old) == 0);
  REQUIRE(old == 8);
  park(14);
  REQUIRE(f.vm->stats().parked_areas == 19);
  REQUIRE(f.vm->stats().purges_total() == 0);
  park(1);
  REQUIRE(f.vm->stats().parked_areas == 0);
  REQUIRE(f.vm->stats().purges[size_t(PurgeReason::kEveryN)] == 1);
  // Lowering it to or below what is parked purges at once.
  park(6);
  REQUIRE(f.vm->set_batch(4, &old) == 0);
  REQUIRE(old == 20);
  VmapStats s = f.vm->stats();
  REQUIRE(s.parked_areas == 0);
  REQUIRE(s.purges[size_t(PurgeReason::kEveryN)] == 2);
  REQUIRE(f.pool->free_pages_with_aliases() == 0);
}

TEST_CASE("vmap: exactly one purge per batch of lazy unmaps, one syscall each", "[vmap]") {
  const uint32_t N = 8;
  Fixture f(UnmapPolicy::kLazy, N);
  for (uint32_t i = 1; i <= 10 * N; i++) {
    std::vector<pfn_t> v = scattered_pages(*f.pool, 4);
    void* addr = nullptr;
    REQUIRE(f.vm->vmap(v, &addr) == 0);
    REQUIRE(f.vm->vunmap(addr) == 0);
    f.pool->put(v);
    VmapStats s = f.vm->stats();
    REQUIRE(s.purges[size_t(PurgeReason::kEveryN)] == i / N);
    REQUIRE(s.purges_total() == i / N);
    REQUIRE(s.parked_areas == i % N);
  }
  VmapStats s = f.vm->stats();
  REQUIRE(s.lazy_unmaps == 10 * N);
  // Consecutive slots coalesce: one PROT_NONE mmap per purge.
  REQUIRE(s.purge_syscalls == 10);
  REQUIRE(s.unmap_syscalls == 0);
  REQUIRE(s.stale_alias_reuse == 0);
}

TEST_CASE("vmap: re-requesting a parked page vector reuses the alias with no syscall", "[vmap]") {
  Fixture f(UnmapPolicy::kLazy);
  std::vector<pfn_t> v = scattered_pages(*f.pool, 16);
  void* a1 = nullptr;
  void* a2 = nullptr;
  REQUIRE(f.vm->vmap(v, &a1) == 0);
  check_mapping(*f.pool, a1, v, 9);
  REQUIRE(f.vm->vunmap(a1) == 0);
  uint64_t syscalls = f.vm->stats().map_syscalls;
  REQUIRE(f.vm->vmap(v, &a2) == 0);
  REQUIRE(a2 == a1);
  VmapStats s = f.vm->stats();
  REQUIRE(s.map_syscalls == syscalls);
  REQUIRE(s.alias_reuses == 1);
  REQUIRE(s.parked_areas == 0);
  REQUIRE(s.live_areas == 1);
  REQUIRE(s.pages_pinned_by_parked_aliases == 0);
  for (pfn_t p : v) {
    REQUIRE(f.pool->refcount(p) == 2);
    REQUIRE(f.pool->alias_count(p) == 0);
  }
  check_mapping(*f.pool, a2, v, 40);
  // A different vector (same pages, other order) must not reuse it.
  REQUIRE(f.vm->vunmap(a2) == 0);
  std::vector<pfn_t> r(v.rbegin(), v.rend());
  REQUIRE(f.vm->vmap(r, &a2) == 0);
  REQUIRE(a2 != a1);
  check_mapping(*f.pool, a2, r, 50);
  REQUIRE(f.vm->stats().alias_reuses == 1);
  REQUIRE(f.vm->vunmap(a2) == 0);
  f.pool->put(v);
}

TEST_CASE("vmap: a memory-pressure callback frees pages pinned by parked aliases", "[vmap]") {
  Fixture f(UnmapPolicy::kLazy, 64, 64);
  std::vector<pfn_t> v = scattered_pages(*f.pool, 16);
  void* addr = nullptr;
  REQUIRE(f.vm->vmap(v, &addr) == 0);
  REQUIRE(f.vm->vunmap(addr) == 0);
  f.pool->put(v);
  REQUIRE(f.pool->stats().pages_free == 48);  // pinned by the parked alias
  std::vector<pfn_t> all;
  REQUIRE(f.pool->alloc(64, kAllocDefault, &all) == 0);  // short: the registry asks vmap to purge
  VmapStats s = f.vm->stats();
  REQUIRE(s.purges[size_t(PurgeReason::kPressure)] == 1);
  REQUIRE(s.pages_pinned_by_parked_aliases == 0);
  REQUIRE(s.stale_alias_reuse == 0);
  REQUIRE(f.reg.stats().pages_freed == 16);
  f.pool->put(all);
}

TEST_CASE("vmap: the timer purges parked areas", "[vmap]") {
  ShrinkerRegistry reg;
  std::unique_ptr<PagePool> pool;
  REQUIRE(PagePool::create(256 * kPageSize, &reg, &pool) == 0);
  VmapOptions o;
  o.timer_period = std::chrono::milliseconds(20);
  std::unique_ptr<Vmap> vm;
  REQUIRE(Vmap::create(pool.get(), &reg, o, &vm) == 0);
  std::vector<pfn_t> v = scattered_pages(*pool, 8);
  void* addr = nullptr;
  REQUIRE(vm->vmap(v, &addr) == 0);
  REQUIRE(vm->vunmap(addr) == 0);
  // A purge is counted when it has finished (parked_areas drops earlier).
  for (int i = 0; i < 500 && vm->stats().purges[size_t(PurgeReason::kTimer)] == 0; i++)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  VmapStats s = vm->stats();
  REQUIRE(s.parked_areas == 0);
  REQUIRE(s.purges[size_t(PurgeReason::kTimer)] == 1);
  REQUIRE(s.pages_pinned_by_parked_aliases == 0);
  pool->put(v);
}

TEST_CASE("vmap: areas larger than one slot and bad addresses", "[vmap]") {
  Fixture f(UnmapPolicy::kLazy);
  std::vector<pfn_t> v = scattered_pages(*f.pool, 40);  // 3 slots of 16 + guard
  void* addr = nullptr;
  REQUIRE(f.vm->vmap(v, &addr) == 0);
  check_mapping(*f.pool, addr, v, 60);
  REQUIRE(f.vm->vunmap(static_cast<char*>(addr) + kPageSize) == EINVAL);
  int x = 0;
  REQUIRE(f.vm->vunmap(&x) == EINVAL);
  REQUIRE(f.vm->vunmap(addr) == 0);
  REQUIRE(f.vm->vunmap(addr) == EINVAL);  // already unmapped (parked)
  std::vector<pfn_t> bad = {0, 5, f.pool->npages()};
  REQUIRE(f.vm->vmap(bad, &addr) == EINVAL);
  REQUIRE(f.vm->vmap(std::span<const pfn_t>(), &addr) == EINVAL);
  std::vector<pfn_t> huge(1024 * 20);  // more than nslots slots hold
  for (size_t i = 0; i < huge.size(); i++) huge[i] = static_cast<pfn_t>((i * 2) % 4096);
  REQUIRE(f.vm->vmap(huge, &addr) == EINVAL);
  f.pool->put(v);
}

TEST_CASE("vmap: policy names parse and print", "[vmap]") {
  UnmapPolicy p;
  for (auto q : {UnmapPolicy::kEager, UnmapPolicy::kLazy, UnmapPolicy::kLazyNoref}) {
    REQUIRE(parse_policy(policy_name(q), &p) == 0);
    REQUIRE(p == q);
  }
  REQUIRE(parse_policy("lazy-ish", &p) == EINVAL);
  REQUIRE(std::string(purge_reason_name(PurgeReason::kBudget)) == "budget");
}
