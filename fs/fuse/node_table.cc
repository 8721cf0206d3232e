#include "fs/fuse/node_table.h"

#include <algorithm>

namespace xfsfuse::fuse {

fs::InodeRef NodeTable::settle_locked(Shard& s, std::unordered_map<uint64_t, Node>::iterator it) {
  if (it->second.nlookup != 0 || it->second.nopen != 0) return nullptr;
  fs::InodeRef ip = std::move(it->second.ip);
  s.map.erase(it);
  return ip;
}

void NodeTable::lookup(const fs::InodeRef& ip) {
  Shard& s = shard_for(ip->core.ino);
  std::lock_guard<std::mutex> g(s.mu);
  Node& n = s.map[ip->core.ino];
  if (!n.ip) n.ip = ip;
  n.nlookup++;
}

void NodeTable::forget(uint64_t ino, uint64_t count) {
  Shard& s = shard_for(ino);
  fs::InodeRef last;  // handed on and released after the mutex
  {
    std::lock_guard<std::mutex> g(s.mu);
    auto it = s.map.find(ino);
    if (it == s.map.end() || it->second.nlookup < count) s.mismatches++;
    if (it == s.map.end()) return;
    it->second.nlookup -= std::min(count, it->second.nlookup);
    last = settle_locked(s, it);
  }
  dropped(last);
}

void NodeTable::open(const fs::InodeRef& ip) {
  Shard& s = shard_for(ip->core.ino);
  std::lock_guard<std::mutex> g(s.mu);
  Node& n = s.map[ip->core.ino];
  if (!n.ip) n.ip = ip;
  n.nopen++;
}

void NodeTable::release(uint64_t ino) {
  Shard& s = shard_for(ino);
  fs::InodeRef last;
  {
    std::lock_guard<std::mutex> g(s.mu);
    auto it = s.map.find(ino);
    if (it == s.map.end() || it->second.nopen == 0) {
      s.mismatches++;
      return;
    }
    it->second.nopen--;
    last = settle_locked(s, it);
  }
  dropped(last);
}

bool NodeTable::child_lookup(uint64_t dir_ino) {
  Shard& s = shard_for(dir_ino);
  bool counted = false, stale = false;
  {
    std::lock_guard<std::mutex> g(s.mu);
    auto it = s.map.find(dir_ino);
    if (it == s.map.end()) return false;
    Node& n = it->second;
    n.child_lookups++;
    if (n.verdict_lookups < n.verdict_names) {
      n.verdict_lookups++;
      counted = true;
    }
    if (n.bare_listed && ++n.lookups_since_bare >= kStaleListingLookups) {
      n.bare_listed = false;
      stale = true;
    }
  }
  if (counted) verdict_add(0, 1);
  return stale;
}

void NodeTable::listed_bare(uint64_t dir_ino, bool from_start, uint64_t entries) {
  Shard& s = shard_for(dir_ino);
  uint64_t more = 0;
  {
    std::lock_guard<std::mutex> g(s.mu);
    auto it = s.map.find(dir_ino);
    if (it == s.map.end()) return;
    Node& n = it->second;
    n.bare_listed = true;
    n.lookups_since_bare = 0;
    if (from_start) n.pass_bare = 0;
    n.pass_bare += entries;
    if (n.pass_bare > n.verdict_names) {
      more = n.pass_bare - n.verdict_names;
      n.verdict_names = n.pass_bare;
    }
  }
  if (more != 0) verdict_add(more, 0);
}

void NodeTable::verdict_add(uint64_t names, uint64_t lookups) {
  std::lock_guard<std::mutex> g(verdict_mu_);
  verdict_names_ += names;
  verdict_lookups_ += lookups;
  if (verdict_names_ > kVerdictWindow) {
    verdict_names_ /= 2;
    verdict_lookups_ /= 2;
  }
}

bool NodeTable::attrs_first() {
  std::lock_guard<std::mutex> g(verdict_mu_);
  if (verdict_names_ < kVerdictMinNames ||
      static_cast<double>(verdict_lookups_) < kVerdictLookupShare * static_cast<double>(verdict_names_))
    return false;
  return ++verdict_opens_ % kVerdictProbe != 0;
}

uint64_t NodeTable::child_lookups(uint64_t dir_ino) {
  Shard& s = shard_for(dir_ino);
  std::lock_guard<std::mutex> g(s.mu);
  auto it = s.map.find(dir_ino);
  return it == s.map.end() ? 0 : it->second.child_lookups;
}

bool NodeTable::held(uint64_t ino) {
  Shard& s = shard_for(ino);
  std::lock_guard<std::mutex> g(s.mu);
  return s.map.count(ino) != 0;
}

size_t NodeTable::size() {
  size_t n = 0;
  for (Shard& s : shards_) {
    std::lock_guard<std::mutex> g(s.mu);
    n += s.map.size();
  }
  return n;
}

uint64_t NodeTable::mismatches() {
  uint64_t n = 0;
  for (Shard& s : shards_) {
    std::lock_guard<std::mutex> g(s.mu);
    n += s.mismatches;
  }
  return n;
}

}  // namespace xfsfuse::fuse
