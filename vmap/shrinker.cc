#include "vmap/shrinker.h"

#include <algorithm>
#include <cstdint>

namespace xfsfuse::vmap {

int ShrinkerRegistry::add(Shrinker s) {
  std::lock_guard<std::mutex> g(mu_);
  int id = next_id_++;
  entries_.push_back(Entry{id, std::move(s)});
  return id;
}

void ShrinkerRegistry::remove(int id) {
  std::lock_guard<std::mutex> g(mu_);
  std::erase_if(entries_, [id](const Entry& e) { return e.id == id; });
}

size_t ShrinkerRegistry::shrink(size_t nr) {
  std::lock_guard<std::mutex> g(mu_);
  stats_.shrink_calls++;
  size_t freed = 0;
  for (Entry& e : entries_) {
    if (freed >= nr) break;
    if (e.s.count && e.s.count() == 0) continue;
    size_t want = nr == SIZE_MAX ? SIZE_MAX : nr - freed;
    size_t got = e.s.scan(want);
    stats_.scan_calls++;
    stats_.pages_freed += got;
    freed += got;
  }
  return freed;
}

ShrinkerStats ShrinkerRegistry::stats() const {
  std::lock_guard<std::mutex> g(mu_);
  return stats_;
}

}  // namespace xfsfuse::vmap
