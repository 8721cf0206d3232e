// xfsfuse-vmap-demo — the vmap/ layer on its own, before the driver can mount.
//
// Simulates what directory traversals do to the mapping layer: `--blocks`
// 64 KiB directory blocks, each built from 16 pool pages that are scattered
// (the pool is fragmented first, as a busy buffer cache leaves it), mapped
// contiguous with vmap(), read, and unmapped; every traversal ends by giving
// all pages back to the pool ("drop caches").  Runs once per policy and
// prints every counter side by side.
#include <getopt.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "vmap/vmap.h"

using namespace xfsfuse::vmap;

namespace {

struct Args {
  uint32_t blocks = 1024;
  uint32_t traversals = 5;
  uint32_t batch = 64;
  uint32_t cache_blocks = 32;
};

void usage(FILE* f) {
  std::fprintf(f,
               "usage: xfsfuse-vmap-demo [--blocks N] [--traversals K] [--batch B]\n"
               "  --blocks N      64 KiB directory blocks per traversal (default 1024)\n"
               "  --traversals K  traversals per policy, caches dropped in between (default 5)\n"
               "  --batch B       lazy purge batch: purge when B areas are parked (default 64)\n"
               "  --cache-blocks C  blocks the simulated buffer cache keeps resident (default 32)\n");
}

bool parse_u32(const char* s, uint32_t* out) {
  char* end = nullptr;
  unsigned long v = std::strtoul(s, &end, 10);
  if (!*s || *end || v == 0 || v > 1u << 20) return false;
  *out = static_cast<uint32_t>(v);
  return true;
}

struct Result {
  double seconds = 0;
  VmapStats vm;
  PoolStats pool;
};

// Returns 0 or an errno, printing what failed.
int run_policy(UnmapPolicy policy, const Args& a, Result* res) {
  const size_t block_pages = 16;
  // Room for: the fragmenting "other cache" (one page in two), one traversal's
  // blocks, and what parked aliases may pin.
  const size_t npages = 2 * (size_t{a.blocks} * block_pages + 64 * block_pages) + 1024;
  ShrinkerRegistry reg;
  std::unique_ptr<PagePool> pool;
  if (int e = PagePool::create(npages * kPageSize, &reg, &pool)) {
    std::fprintf(stderr, "xfsfuse-vmap-demo: page pool of %zu pages: %s\n", npages, std::strerror(e));
    return e;
  }
  VmapOptions o;
  o.policy = policy;
  o.batch = a.batch;
  o.timer_period = std::chrono::milliseconds(0);
  std::unique_ptr<Vmap> vm;
  if (int e = Vmap::create(pool.get(), &reg, o, &vm)) {
    std::fprintf(stderr, "xfsfuse-vmap-demo: vmap space: %s\n", std::strerror(e));
    return e;
  }
  // Fragment the pool: take every page, give back every other one.
  std::vector<pfn_t> all, other;
  if (int e = pool->alloc(static_cast<uint32_t>(npages), kAllocDefault, &all)) return e;
  for (size_t i = 0; i < all.size(); i++) (i % 2 ? other.push_back(all[i]) : (void)pool->put(all[i]));

  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::vector<pfn_t>> blocks(a.blocks);
  uint64_t sum = 0;
  for (uint32_t t = 0; t < a.traversals; t++) {
    for (uint32_t j = 0; j < a.blocks; j++) {
      std::vector<pfn_t>& b = blocks[j];
      if (j >= a.cache_blocks) {  // evict the oldest resident block
        std::vector<pfn_t>& old = blocks[j - a.cache_blocks];
        pool->put(old);
        old.clear();
      }
      if (int e = pool->alloc(block_pages, kAllocDefault, &b)) {
        std::fprintf(stderr, "xfsfuse-vmap-demo: %s: page alloc: %s\n", policy_name(policy), std::strerror(e));
        return e;
      }
      void* addr = nullptr;
      if (int e = vm->vmap(b, &addr)) {
        std::fprintf(stderr, "xfsfuse-vmap-demo: %s: vmap: %s\n", policy_name(policy), std::strerror(e));
        return e;
      }
      for (size_t off = 0; off < block_pages * kPageSize; off += 512)  // read every "sector"
        sum += static_cast<const volatile uint8_t*>(addr)[off];
      vm->vunmap(addr);
    }
    for (auto& b : blocks) {  // drop caches
      pool->put(b);
      b.clear();
    }
  }
  res->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  res->vm = vm->stats();
  res->pool = pool->stats();
  if (sum != 0) std::fprintf(stderr, "xfsfuse-vmap-demo: memfd pages were not zero\n");
  pool->put(other);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  static const option longopts[] = {{"blocks", required_argument, nullptr, 'b'},
                                     {"traversals", required_argument, nullptr, 't'},
                                     {"batch", required_argument, nullptr, 'n'},
                                     {"cache-blocks", required_argument, nullptr, 'c'},
                                     {"help", no_argument, nullptr, 'h'},
                                     {nullptr, 0, nullptr, 0}};
  for (int c; (c = getopt_long(argc, argv, "h", longopts, nullptr)) != -1;) {
    bool ok = true;
    switch (c) {
      case 'b': ok = parse_u32(optarg, &a.blocks); break;
      case 't': ok = parse_u32(optarg, &a.traversals); break;
      case 'n': ok = parse_u32(optarg, &a.batch); break;
      case 'c': ok = parse_u32(optarg, &a.cache_blocks); break;
      case 'h': usage(stdout); return 0;
      default: usage(stderr); return 2;
    }
    if (!ok) {
      std::fprintf(stderr, "xfsfuse-vmap-demo: bad number '%s' (1..1048576)\n", optarg);
      return 2;
    }
  }
  if (optind != argc) {
    usage(stderr);
    return 2;
  }

  const UnmapPolicy policies[] = {UnmapPolicy::kEager, UnmapPolicy::kLazy, UnmapPolicy::kLazyNoref};
  Result r[3];
  for (int i = 0; i < 3; i++)
    if (run_policy(policies[i], a, &r[i]) != 0) return 1;

  std::printf("vmap demo: %u traversals of %u scattered 64 KiB directory blocks, %u resident, purge batch %u\n\n",
              a.traversals, a.blocks, a.cache_blocks, a.batch);
  std::printf("%-32s %14s %14s %14s\n", "counter", "eager", "lazy", "lazy-noref");
  auto row = [&](const char* name, auto get) {
    std::printf("%-32s %14llu %14llu %14llu\n", name, static_cast<unsigned long long>(get(r[0])),
                static_cast<unsigned long long>(get(r[1])), static_cast<unsigned long long>(get(r[2])));
  };
  std::printf("%-32s %14.3f %14.3f %14.3f\n", "wall seconds", r[0].seconds, r[1].seconds, r[2].seconds);
  row("maps", [](const Result& x) { return x.vm.maps; });
  row("contiguous_maps", [](const Result& x) { return x.vm.contiguous_maps; });
  row("scattered_maps", [](const Result& x) { return x.vm.scattered_maps; });
  row("map_syscalls", [](const Result& x) { return x.vm.map_syscalls; });
  row("unmaps", [](const Result& x) { return x.vm.unmaps; });
  row("lazy_unmaps", [](const Result& x) { return x.vm.lazy_unmaps; });
  row("alias_reuses", [](const Result& x) { return x.vm.alias_reuses; });
  for (size_t i = 0; i < kPurgeReasons; i++) {
    std::string name = std::string("purges.") + purge_reason_name(static_cast<PurgeReason>(i));
    row(name.c_str(), [i](const Result& x) { return x.vm.purges[i]; });
  }
  row("unmap_syscalls (eager)", [](const Result& x) { return x.vm.unmap_syscalls; });
  row("purge_syscalls", [](const Result& x) { return x.vm.purge_syscalls; });
  row("pages_pinned_by_parked_aliases", [](const Result& x) { return x.vm.pages_pinned_by_parked_aliases; });
  row("pages_pinned_peak", [](const Result& x) { return x.vm.pages_pinned_peak; });
  row("stale_alias_reuse", [](const Result& x) { return x.vm.stale_alias_reuse; });
  std::printf("\nstale_alias_reuse counts pages handed out while a parked alias still mapped them:\n"
              "it must be 0 for eager and lazy; lazy-noref (the 2007 behaviour) shows the bug.\n");
  return 0;
}
