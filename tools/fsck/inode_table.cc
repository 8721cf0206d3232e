// The in-memory InodeTable: one sorted map under a mutex.  (Phases touch
// each inode a few times; a map of 1,000,000 inodes is ~80 MB — the
// --scratch RocksDB table exists for when that is too much.)
#include "tools/fsck/inode_table.h"

#include <map>
#include <mutex>
#include <vector>

namespace xfsfuse::fsck {

namespace {

class MemoryInodeTable final : public InodeTable {
 public:
  bool add(uint64_t ino, bool inobt_free) override {
    std::lock_guard<std::mutex> g(mu_);
    InodeRec r;
    r.inobt_free = inobt_free;
    return map_.emplace(ino, r).second;
  }
  std::optional<InodeRec> get(uint64_t ino) const override {
    std::lock_guard<std::mutex> g(mu_);
    auto it = map_.find(ino);
    if (it == map_.end()) return std::nullopt;
    return it->second;
  }
  void update(uint64_t ino, const std::function<void(InodeRec&)>& fn) override {
    std::lock_guard<std::mutex> g(mu_);
    auto it = map_.find(ino);
    if (it != map_.end()) fn(it->second);
  }
  void for_each(const std::function<void(uint64_t, const InodeRec&)>& fn) const override {
    // Copy out in slices so fn runs without the lock (it may read other tables).
    uint64_t next = 0;
    std::vector<std::pair<uint64_t, InodeRec>> slice;
    while (true) {
      slice.clear();
      {
        std::lock_guard<std::mutex> g(mu_);
        for (auto it = map_.lower_bound(next); it != map_.end() && slice.size() < 4096; ++it) slice.emplace_back(*it);
      }
      if (slice.empty()) return;
      for (const auto& [ino, rec] : slice) fn(ino, rec);
      next = slice.back().first + 1;
      if (next == 0) return;
    }
  }
  uint64_t size() const override {
    std::lock_guard<std::mutex> g(mu_);
    return map_.size();
  }

 private:
  mutable std::mutex mu_;
  std::map<uint64_t, InodeRec> map_;  // GUARDED_BY(mu_)
};

}  // namespace

std::unique_ptr<InodeTable> make_memory_inode_table() { return std::make_unique<MemoryInodeTable>(); }

}  // namespace xfsfuse::fsck
