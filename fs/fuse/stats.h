// fs/fuse/stats.h — every counter of a running mount, as one JSON object.
//
// stats_json() is the one place the counters are named; the control
// channel's XFSFUSE_IOC_STATS returns it and -o stats_file writes its counter
// sections flattened.  Keys (stable; README "Control channel"):
//   version (1), image, pid, uptime_s,
//   options  {cache_mb, vmap, vmap_batch (current), vmap_all, norecovery, readdirplus, inode_cache},
//   fuse     requests served (OpCounters),
//   cache    bc::CacheStats without its vmap/pool parts,
//   vmap     vmap::VmapStats, purges as {every_n, pressure, timer, budget, explicit},
//   pool     vmap::PoolStats,
//   inodes   {cached}.
// The stats file has one "section.name value" line per number of the counter
// sections (fuse, cache, vmap, pool, inodes; vmap.purges.REASON), written to
// PATH.tmp and renamed, so a reader never sees half a file.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "fs/fuse/fuse_fs.h"

namespace xfsfuse::fuse {

/// The JSON format version stats_json() writes.
inline constexpr int kStatsVersion = 1;

/// Every counter, the mount options and the uptime of fs (see the file comment).
nlohmann::ordered_json stats_json(FuseFs& fs);

/// Writes the counter sections of stats (from stats_json) to path, one line
/// per number.  Returns 0 or an errno.
int write_stats(const std::string& path, const nlohmann::ordered_json& stats);

}  // namespace xfsfuse::fuse
