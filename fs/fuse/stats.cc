#include "fs/fuse/stats.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "fs/fuse/uring.h"
#include "fs/log/log.h"

namespace xfsfuse::fuse {

namespace {

using Json = nlohmann::ordered_json;

Json ops_json(const OpCounters& o) {
  return Json{{"lookup", o.lookup.load()},
              {"lookup_negative", o.lookup_negative.load()},
              {"forget", o.forget.load()},
              {"forget_requests", o.forget_requests.load()},
              {"getattr", o.getattr.load()},
              {"readlink", o.readlink.load()},
              {"opendir", o.opendir.load()},
              {"readdir", o.readdir.load()},
              {"readdir_entries", o.readdir_entries.load()},
              {"readdirplus", o.readdirplus.load()},
              {"readdirplus_entries", o.readdirplus_entries.load()},
              {"readdirplus_bare", o.readdirplus_bare.load()},
              {"readdirplus_switches", o.readdirplus_switches.load()},
              {"readdirplus_attrs_first", o.readdirplus_attrs_first.load()},
              {"listing_drops", o.listing_drops.load()},
              {"open", o.open.load()},
              {"read", o.read.load()},
              {"read_bytes", o.read_bytes.load()},
              {"statfs", o.statfs.load()},
              {"getxattr", o.getxattr.load()},
              {"listxattr", o.listxattr.load()},
              {"access", o.access.load()},
              {"ioctl", o.ioctl.load()},
              {"create", o.create.load()},
              {"tmpfile", o.tmpfile.load()},
              {"remove", o.remove.load()},
              {"rename", o.rename.load()},
              {"link", o.link.load()},
              {"symlink", o.symlink.load()},
              {"setattr", o.setattr.load()},
              {"write", o.write.load()},
              {"write_bytes", o.write_bytes.load()},
              {"fallocate", o.fallocate.load()},
              {"fsync", o.fsync.load()},
              {"setxattr", o.setxattr.load()},
              {"removexattr", o.removexattr.load()},
              {"erofs", o.erofs.load()},
              {"errors", o.errors.load()},
              {"nodata", o.nodata.load()},
              {"euclean", o.euclean.load()}};
}

Json log_json(const fs::xlog::LogStats& l) {
  return Json{{"log_blocks", l.log_blocks},
              {"head_lsn", l.head_lsn},
              {"tail_lsn", l.tail_lsn},
              {"ail_tail_lsn", l.ail_tail_lsn},
              {"used_blocks", l.used_blocks},
              {"reserved_blocks", l.reserved_blocks},
              {"transactions", l.transactions},
              {"written_transactions", l.written_transactions},
              {"records", l.records},
              {"blocks_written", l.blocks_written},
              {"bytes", l.bytes},
              {"group_commits", l.writes},
              {"largest_group", l.largest_group},
              {"forces", l.forces},
              {"busy_forces", l.busy_forces},
              {"pushes", l.pushes},
              {"tail_records", l.tail_records},
              {"reserve_waits", l.reserve_waits},
              {"largest_trans_blocks", l.largest_trans_blocks},
              {"reservation_blocks", l.reservation_blocks}};
}

Json cache_json(const bc::CacheStats& c) {
  return Json{{"lookups", c.lookups},
              {"hits", c.hits},
              {"misses", c.misses},
              {"reads", c.reads},
              {"bytes_read", c.bytes_read},
              {"read_errors", c.read_errors},
              {"readahead", c.readahead},
              {"readahead_dropped", c.readahead_dropped},
              {"evictions", c.evictions},
              {"shrinker_calls", c.shrinker_calls},
              {"verifier_failures", c.verifier_failures},
              {"other_ops_checks", c.other_ops_checks},
              {"buffers", c.buffers},
              {"bytes_cached", c.bytes_cached},
              {"undo_bytes", c.undo_bytes},
              {"budget_bytes", c.budget_bytes}};
}

Json vmap_json(const vmap::VmapStats& v) {
  Json purges = Json::object();
  for (size_t r = 0; r < vmap::kPurgeReasons; r++)
    purges[vmap::purge_reason_name(static_cast<vmap::PurgeReason>(r))] = v.purges[r];
  return Json{{"maps", v.maps},
              {"contiguous_maps", v.contiguous_maps},
              {"scattered_maps", v.scattered_maps},
              {"map_syscalls", v.map_syscalls},
              {"map_failures", v.map_failures},
              {"unmaps", v.unmaps},
              {"lazy_unmaps", v.lazy_unmaps},
              {"alias_reuses", v.alias_reuses},
              {"purges", purges},
              {"purge_syscalls", v.purge_syscalls},
              {"unmap_syscalls", v.unmap_syscalls},
              {"pages_pinned_by_parked_aliases", v.pages_pinned_by_parked_aliases},
              {"pages_pinned_peak", v.pages_pinned_peak},
              {"parked_areas", v.parked_areas},
              {"live_areas", v.live_areas},
              {"vmas_in_use", v.vmas_in_use},
              {"vma_budget", v.vma_budget},
              {"stale_alias_reuse", v.stale_alias_reuse}};
}

Json pool_json(const vmap::PoolStats& p) {
  return Json{{"allocs", p.allocs},
              {"contig_allocs", p.contig_allocs},
              {"scattered_allocs", p.scattered_allocs},
              {"alloc_failures", p.alloc_failures},
              {"shrink_calls", p.shrink_calls},
              {"alias_flushes", p.alias_flushes},
              {"pages_total", p.pages_total},
              {"pages_free", p.pages_free}};
}

// One "prefix.key value" line per number under j, nested objects as more dots.
void put_flat(FILE* f, const std::string& prefix, const Json& j) {
  for (const auto& [key, value] : j.items()) {
    const std::string name = prefix + "." + key;
    if (value.is_object())
      put_flat(f, name, value);
    else if (value.is_number_unsigned())
      std::fprintf(f, "%s %llu\n", name.c_str(), static_cast<unsigned long long>(value.get<uint64_t>()));
  }
}

}  // namespace

nlohmann::ordered_json stats_json(FuseFs& fs) {
  fs::Mount& m = fs.mount();
  const Options& o = fs.options();
  const bc::CacheStats c = m.cache().stats();
  Json j;
  j["version"] = kStatsVersion;
  j["image"] = o.image;
  j["pid"] = static_cast<int64_t>(getpid());
  j["uptime_s"] = fs.uptime_s();
  j["options"] = Json{{"cache_mb", o.mount.cache_bytes >> 20},
                      {"vmap", vmap::policy_name(o.mount.vmap_policy)},
                      {"vmap_batch", m.vm().batch()},
                      {"vmap_all", o.mount.vmap_all},
                      {"rw", o.mount.writable},
                      {"writeback_cache", o.writeback_cache},
                      {"io_uring", o.io_uring},
                      {"ring_sched", o.ring_sched_idle ? "idle" : "normal"},
                      {"acl", o.acl},
                      {"norecovery", o.mount.norecovery},
                      {"log", o.mount.writable && o.mount.write_log},
                      {"readdirplus", readdirplus_name(o.readdirplus)}};
  j["fuse"] = ops_json(fs.counters());
  const UringStats u = fs.uring() != nullptr ? fs.uring()->stats() : UringStats{};
  j["fuse"]["uring_queues"] = u.queues;
  j["fuse"]["uring_requests"] = u.requests;
  j["fuse"]["uring_handed_off"] = u.handed_off;
  j["fuse"]["ring_sched"] = Json{{"state", u.sched.state},
                                 {"idle_now", u.sched.idle_now},
                                 {"idle_turns", u.sched.idle_turns},
                                 {"starvations", u.sched.starvations},
                                 {"quiet_turns", u.sched.quiet_turns}};
  j["cache"] = cache_json(c);
  j["vmap"] = vmap_json(c.vmap);
  j["pool"] = pool_json(c.pool);
  const fs::InodeGcStats gc = m.inodegc().stats();
  j["inodes"] = Json{{"cached", static_cast<uint64_t>(m.inodes_cached())},
                     {"cache_limit", o.mount.inode_cache},
                     {"held", static_cast<uint64_t>(fs.nodes().size())},
                     {"gc_queued", gc.queued},
                     {"gc_pending", gc.pending},
                     {"gc_batches", gc.batches},
                     {"gc_flushes", gc.flushes}};
  if (fs::xlog::Log* l = m.log()) j["log"] = log_json(l->stats());
  return j;
}

int write_stats(const std::string& path, const nlohmann::ordered_json& stats) {
  const std::string tmp = path + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "w");
  if (f == nullptr) return errno;
  for (const char* section : {"fuse", "cache", "vmap", "pool", "inodes"})
    if (stats.contains(section)) put_flat(f, section, stats[section]);
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
