// The VMA budget and slot exhaustion: checked against /proc/self/maps.
#include <catch2/catch.hpp>

#include "tests/vmap/test_util.h"
#include "vmap/vmap.h"

using namespace xfsfuse::vmap;

namespace {

std::unique_ptr<Vmap> make_vmap(PagePool* pool, ShrinkerRegistry* reg, UnmapPolicy policy, uint32_t nslots,
                                size_t budget) {
  VmapOptions o;
  o.policy = policy;
  o.nslots = nslots;
  o.vma_budget = budget;
  o.timer_period = std::chrono::milliseconds(0);
  std::unique_ptr<Vmap> vm;
  REQUIRE(Vmap::create(pool, reg, o, &vm) == 0);
  return vm;
}

}  // namespace

TEST_CASE("vmap budget: default is half of vm.max_map_count", "[vmap][budget]") {
  ShrinkerRegistry reg;
  std::unique_ptr<PagePool> pool;
  REQUIRE(PagePool::create(64 * kPageSize, &reg, &pool) == 0);
  auto vm = make_vmap(pool.get(), &reg, UnmapPolicy::kLazy, 16, 0);
  std::ifstream f("/proc/sys/vm/max_map_count");
  size_t max = 0;
  REQUIRE(static_cast<bool>(f >> max));
  REQUIRE(vm->stats().vma_budget == max / 2);
  vm.reset();
  auto capped = make_vmap(pool.get(), &reg, UnmapPolicy::kLazy, 16, max);  // asks for more: capped
  REQUIRE(capped->stats().vma_budget == max / 2);
  std::unique_ptr<Vmap> second;
  REQUIRE(Vmap::create(pool.get(), &reg, VmapOptions{}, &second) == EBUSY);  // one Vmap per pool
  REQUIRE(second == nullptr);
}

TEST_CASE("vmap budget: live scattered maps stop at the budget with ENOMEM", "[vmap][budget]") {
  const size_t budget = 100;
  ShrinkerRegistry reg;
  std::unique_ptr<PagePool> pool;
  REQUIRE(PagePool::create(8192 * kPageSize, &reg, &pool) == 0);
  auto vm = make_vmap(pool.get(), &reg, UnmapPolicy::kEager, 512, budget);
  std::vector<std::vector<pfn_t>> held;
  std::vector<void*> addrs;
  int err = 0;
  while (err == 0) {
    held.push_back(test::scattered_pages(*pool, 16));  // 16 runs: 16 VMAs each
    void* a = nullptr;
    err = vm->vmap(held.back(), &a);
    if (err == 0) addrs.push_back(a);
    size_t real = test::vmas_in_range(vm->range_start(), vm->range_bytes());
    REQUIRE(real <= budget);
    REQUIRE(vm->stats().vmas_in_use <= budget);
  }
  REQUIRE(err == ENOMEM);
  REQUIRE(addrs.size() == (budget - 1) / 32);  // 2 * 16 runs each, + 1
  REQUIRE(addrs.size() < 512);                 // the budget, not the slots, ran out
  for (void* a : addrs) REQUIRE(vm->vunmap(a) == 0);
  REQUIRE(test::vmas_in_range(vm->range_start(), vm->range_bytes()) == 1);
  for (auto& v : held) pool->put(v);
}

TEST_CASE("vmap budget: lazy churn purges for the budget and for slots, never over", "[vmap][budget]") {
  const size_t budget = 200;
  ShrinkerRegistry reg;
  std::unique_ptr<PagePool> pool;
  REQUIRE(PagePool::create(8192 * kPageSize, &reg, &pool) == 0);
  SECTION("VMA budget runs out first") {
    auto vm = make_vmap(pool.get(), &reg, UnmapPolicy::kLazy, 512, budget);
    for (int i = 0; i < 300; i++) {
      auto v = test::scattered_pages(*pool, 16);
      void* a = nullptr;
      REQUIRE(vm->vmap(v, &a) == 0);
      REQUIRE(vm->vunmap(a) == 0);
      pool->put(v);
      REQUIRE(test::vmas_in_range(vm->range_start(), vm->range_bytes()) <= budget);
    }
    VmapStats s = vm->stats();
    REQUIRE(s.purges[size_t(PurgeReason::kBudget)] > 0);
    REQUIRE(s.purges[size_t(PurgeReason::kEveryN)] == 0);  // 6 areas fit, never 64
    REQUIRE(s.map_failures == 0);
    REQUIRE(s.stale_alias_reuse == 0);
  }
  SECTION("slots run out first") {
    auto vm = make_vmap(pool.get(), &reg, UnmapPolicy::kLazy, 16, 0);
    for (int i = 0; i < 300; i++) {
      auto v = test::scattered_pages(*pool, 4);
      void* a = nullptr;
      REQUIRE(vm->vmap(v, &a) == 0);
      REQUIRE(vm->vunmap(a) == 0);
      pool->put(v);
    }
    VmapStats s = vm->stats();
    REQUIRE(s.purges[size_t(PurgeReason::kBudget)] == 300 / 16);
    REQUIRE(s.map_failures == 0);
    // Every slot live at once: the next map has nowhere to go.
    std::vector<std::vector<pfn_t>> held;
    std::vector<void*> addrs;
    for (int i = 0; i < 16; i++) {
      held.push_back(test::scattered_pages(*pool, 4));
      void* a = nullptr;
      REQUIRE(vm->vmap(held.back(), &a) == 0);
      addrs.push_back(a);
    }
    auto v = test::scattered_pages(*pool, 4);
    void* a = nullptr;
    REQUIRE(vm->vmap(v, &a) == ENOMEM);
    for (void* x : addrs) REQUIRE(vm->vunmap(x) == 0);
    for (auto& h : held) pool->put(h);
    pool->put(v);
  }
}
