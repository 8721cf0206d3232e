#include "fs/fuse/stats.h"

#include <cerrno>
#include <cstdio>

namespace xfsfuse::fuse {

namespace {

void put(FILE* f, const char* name, uint64_t v) {
  std::fprintf(f, "%s %llu\n", name, static_cast<unsigned long long>(v));
}

void put_ops(FILE* f, const OpCounters& o) {
  put(f, "fuse.lookup", o.lookup);
  put(f, "fuse.lookup_negative", o.lookup_negative);
  put(f, "fuse.forget", o.forget);
  put(f, "fuse.getattr", o.getattr);
  put(f, "fuse.readlink", o.readlink);
  put(f, "fuse.opendir", o.opendir);
  put(f, "fuse.readdir", o.readdir);
  put(f, "fuse.readdir_entries", o.readdir_entries);
  put(f, "fuse.readdirplus", o.readdirplus);
  put(f, "fuse.readdirplus_entries", o.readdirplus_entries);
  put(f, "fuse.open", o.open);
  put(f, "fuse.read", o.read);
  put(f, "fuse.read_bytes", o.read_bytes);
  put(f, "fuse.statfs", o.statfs);
  put(f, "fuse.getxattr", o.getxattr);
  put(f, "fuse.listxattr", o.listxattr);
  put(f, "fuse.access", o.access);
  put(f, "fuse.erofs", o.erofs);
  put(f, "fuse.errors", o.errors);
  put(f, "fuse.euclean", o.euclean);
}

void put_cache(FILE* f, const bc::CacheStats& c) {
  put(f, "cache.lookups", c.lookups);
  put(f, "cache.hits", c.hits);
  put(f, "cache.misses", c.misses);
  put(f, "cache.reads", c.reads);
  put(f, "cache.bytes_read", c.bytes_read);
  put(f, "cache.read_errors", c.read_errors);
  put(f, "cache.readahead", c.readahead);
  put(f, "cache.readahead_dropped", c.readahead_dropped);
  put(f, "cache.evictions", c.evictions);
  put(f, "cache.shrinker_calls", c.shrinker_calls);
  put(f, "cache.verifier_failures", c.verifier_failures);
  put(f, "cache.other_ops_checks", c.other_ops_checks);
  put(f, "cache.buffers", c.buffers);
  put(f, "cache.bytes_cached", c.bytes_cached);
  put(f, "cache.budget_bytes", c.budget_bytes);
}

void put_vmap(FILE* f, const vmap::VmapStats& v) {
  put(f, "vmap.maps", v.maps);
  put(f, "vmap.contiguous_maps", v.contiguous_maps);
  put(f, "vmap.scattered_maps", v.scattered_maps);
  put(f, "vmap.map_syscalls", v.map_syscalls);
  put(f, "vmap.map_failures", v.map_failures);
  put(f, "vmap.unmaps", v.unmaps);
  put(f, "vmap.lazy_unmaps", v.lazy_unmaps);
  put(f, "vmap.alias_reuses", v.alias_reuses);
  for (size_t r = 0; r < vmap::kPurgeReasons; r++) {
    const std::string name = std::string("vmap.purges.") + vmap::purge_reason_name(static_cast<vmap::PurgeReason>(r));
    put(f, name.c_str(), v.purges[r]);
  }
  put(f, "vmap.purge_syscalls", v.purge_syscalls);
  put(f, "vmap.unmap_syscalls", v.unmap_syscalls);
  put(f, "vmap.pages_pinned_by_parked_aliases", v.pages_pinned_by_parked_aliases);
  put(f, "vmap.pages_pinned_peak", v.pages_pinned_peak);
  put(f, "vmap.parked_areas", v.parked_areas);
  put(f, "vmap.live_areas", v.live_areas);
  put(f, "vmap.vmas_in_use", v.vmas_in_use);
  put(f, "vmap.vma_budget", v.vma_budget);
  put(f, "vmap.stale_alias_reuse", v.stale_alias_reuse);
}

void put_pool(FILE* f, const vmap::PoolStats& p) {
  put(f, "pool.allocs", p.allocs);
  put(f, "pool.contig_allocs", p.contig_allocs);
  put(f, "pool.scattered_allocs", p.scattered_allocs);
  put(f, "pool.alloc_failures", p.alloc_failures);
  put(f, "pool.shrink_calls", p.shrink_calls);
  put(f, "pool.alias_flushes", p.alias_flushes);
  put(f, "pool.pages_total", p.pages_total);
  put(f, "pool.pages_free", p.pages_free);
}

}  // namespace

int write_stats(const std::string& path, const OpCounters& ops, const bc::CacheStats& cache) {
  const std::string tmp = path + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "w");
  if (f == nullptr) return errno;
  put_ops(f, ops);
  put_cache(f, cache);
  put_vmap(f, cache.vmap);
  put_pool(f, cache.pool);
  const bool write_failed = std::ferror(f) != 0;
  if (std::fclose(f) != 0 || write_failed) {
    std::remove(tmp.c_str());
    return EIO;
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    std::remove(tmp.c_str());
    return e;
  }
  return 0;
}

}  // namespace xfsfuse::fuse
