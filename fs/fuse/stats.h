// fs/fuse/stats.h — the counters a mount writes at unmount (-o stats_file).
//
// Format: one "name value" line per counter, grouped by layer with dotted
// names: fuse.* (requests served, OpCounters), cache.* (bc::CacheStats),
// vmap.* (vmap::VmapStats, purges as vmap.purges.REASON) and pool.*
// (vmap::PoolStats).  Written to PATH.tmp and renamed, so a reader never
// sees half a file.
#pragma once

#include <string>

#include "buffer_cache/buffer_cache.h"
#include "fs/fuse/fuse_fs.h"

namespace xfsfuse::fuse {

/// Writes ops and cache to path (see the file comment).  Returns 0 or an errno.
int write_stats(const std::string& path, const OpCounters& ops, const bc::CacheStats& cache);

}  // namespace xfsfuse::fuse
