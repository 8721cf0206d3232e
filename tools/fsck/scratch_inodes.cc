// The InodeTable of --scratch: RocksDB rows of 64 inodes (an inode chunk's
// worth, aligned on ino), behind a bounded write-back cache of rows.
//
// The phases reach inodes in runs: the AG phase a chunk at a time, the inode
// phase cluster by cluster, a directory's entries mostly in creation order.
// With one key per inode every table call was a RocksDB Get (and update() a
// Put as well); with rows, one Get serves the calls on up to 64 inodes while
// the row is cached, and one Put writes back all their changes on eviction.
//
// Row key 'R' row(be64, = ino >> 6) -> present(be64, bit i: inode row*64+i is
// in the table) then 64 packed InodeRecs of kRecBytes each.
#include <rocksdb/db.h>

#include <array>
#include <atomic>
#include <list>
#include <unordered_map>

#include "tools/fsck/scratch_internal.h"

namespace xfsfuse::fsck::scratch {

namespace {

constexpr int kRowShift = 6;
constexpr uint64_t kRowInodes = uint64_t{1} << kRowShift;
// flags(1) mode(2) nlink(4) links_seen(4) subdirs(4) parent(8) holder(8)
constexpr size_t kRecBytes = 31;
constexpr size_t kRowBytes = 8 + kRowInodes * kRecBytes;
// A cached row: its bytes, the hash node and the LRU node.
constexpr size_t kRowCost = kRowBytes + 96;

void pack(const InodeRec& r, char* p) {
  p[0] = static_cast<char>(r.inobt_free | r.in_use << 1 | r.bad << 2 | r.reachable << 3);
  store_be(p + 1, r.mode, 2);
  store_be(p + 3, r.nlink, 4);
  store_be(p + 7, r.links_seen, 4);
  store_be(p + 11, r.subdirs, 4);
  store_be(p + 15, r.parent, 8);
  store_be(p + 23, r.holder, 8);
}

InodeRec unpack(const char* p) {
  InodeRec r;
  const uint8_t f = static_cast<uint8_t>(p[0]);
  r.inobt_free = f & 1;
  r.in_use = f & 2;
  r.bad = f & 4;
  r.reachable = f & 8;
  r.mode = static_cast<uint16_t>(get_be(p + 1, 2));
  r.nlink = static_cast<uint32_t>(get_be(p + 3, 4));
  r.links_seen = static_cast<uint32_t>(get_be(p + 7, 4));
  r.subdirs = static_cast<uint32_t>(get_be(p + 11, 4));
  r.parent = get_be(p + 15, 8);
  r.holder = get_be(p + 23, 8);
  return r;
}

std::string row_key(uint64_t row) {
  std::string k(1, 'R');
  put_be64(&k, row);
  return k;
}

class RocksInodeTable final : public InodeTable {
 public:
  RocksInodeTable(rocksdb::DB* db, size_t cache_bytes, Errors* errors) : db_(db), errors_(errors) {
    wo_.disableWAL = true;
    rows_per_shard_ = std::max<size_t>(4, cache_bytes / kRowCost / kShards);
  }

  bool add(uint64_t ino, bool inobt_free) override {
    Shard& s = shard(ino);
    std::lock_guard<std::mutex> g(s.mu);
    Row& r = row(s, ino >> kRowShift);
    if (in_row(r, ino)) return false;
    store_be(r.bytes.data(), get_be(r.bytes.data(), 8) | uint64_t{1} << (ino & (kRowInodes - 1)), 8);
    InodeRec rec;
    rec.inobt_free = inobt_free;
    pack(rec, rec_at(r, ino));
    r.dirty = true;
    count_.fetch_add(1, std::memory_order_relaxed);
    return true;
  }

  std::optional<InodeRec> get(uint64_t ino) const override {
    Shard& s = shard(ino);
    std::lock_guard<std::mutex> g(s.mu);
    Row& r = row(s, ino >> kRowShift);
    if (!in_row(r, ino)) return std::nullopt;
    return unpack(rec_at(r, ino));
  }

  void update(uint64_t ino, const std::function<void(InodeRec&)>& fn) override {
    Shard& s = shard(ino);
    std::lock_guard<std::mutex> g(s.mu);
    Row& r = row(s, ino >> kRowShift);
    if (!in_row(r, ino)) return;
    InodeRec rec = unpack(rec_at(r, ino));
    fn(rec);
    pack(rec, rec_at(r, ino));
    r.dirty = true;
  }

  void for_each(const std::function<void(uint64_t, const InodeRec&)>& fn) const override {
    // Write every dirty row back (they stay cached, clean), then read the
    // database in key order: ascending rows, ascending inodes within a row.
    for (Shard& s : shards_) {
      std::lock_guard<std::mutex> g(s.mu);
      for (auto& [row, r] : s.rows)
        if (r.dirty) write_back(row, &r);
    }
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro_));
    for (it->Seek(row_key(0)); it->Valid() && it->key().size() == 9 && it->key()[0] == 'R'; it->Next()) {
      if (it->value().size() != kRowBytes) {
        errors_->check(rocksdb::Status::Corruption("inode row of " + std::to_string(it->value().size()) + " bytes"),
                       "reading the inode table");
        continue;
      }
      const uint64_t row = get_be(it->key().data() + 1, 8);
      const uint64_t present = get_be(it->value().data(), 8);
      for (uint64_t i = 0; i < kRowInodes; i++)
        if (present >> i & 1) fn(row << kRowShift | i, unpack(it->value().data() + 8 + i * kRecBytes));
    }
    errors_->check(it->status(), "reading the inode table");
  }

  uint64_t size() const override { return count_.load(std::memory_order_relaxed); }

 private:
  static constexpr size_t kShards = 16;
  struct Row {
    std::string bytes;  // kRowBytes: present, then the records
    bool dirty = false;
    std::list<uint64_t>::iterator lru;
  };
  struct Shard {
    std::mutex mu;
    std::unordered_map<uint64_t, Row> rows;  // GUARDED_BY(mu)
    std::list<uint64_t> lru;                 // GUARDED_BY(mu): front = most recent
  };

  Shard& shard(uint64_t ino) const { return shards_[((ino >> kRowShift) * 0x9e3779b97f4a7c15ull) >> 60]; }
  static char* rec_at(Row& r, uint64_t ino) { return r.bytes.data() + 8 + (ino & (kRowInodes - 1)) * kRecBytes; }
  // Whether ino (of row r) is in the table: its bit of the row's present word.
  static bool in_row(const Row& r, uint64_t ino) { return get_be(r.bytes.data(), 8) >> (ino & (kRowInodes - 1)) & 1; }

  // The cached row, read from the database (or empty) on a miss; s.mu held.
  Row& row(Shard& s, uint64_t n) const {
    auto it = s.rows.find(n);
    if (it != s.rows.end()) {
      s.lru.splice(s.lru.begin(), s.lru, it->second.lru);
      return it->second;
    }
    while (s.rows.size() >= rows_per_shard_) {
      auto victim = s.rows.find(s.lru.back());
      if (victim->second.dirty) write_back(victim->first, &victim->second);
      s.rows.erase(victim);
      s.lru.pop_back();
    }
    Row r;
    const rocksdb::Status st = db_->Get(ro_, row_key(n), &r.bytes);
    if (st.ok() && r.bytes.size() != kRowBytes)  // (nothing but this file writes rows)
      errors_->check(rocksdb::Status::Corruption("inode row of " + std::to_string(r.bytes.size()) + " bytes"),
                     "reading an inode row");
    if (!st.ok() || r.bytes.size() != kRowBytes) {
      errors_->check(st, "reading an inode row");  // NotFound: a row not written yet
      r.bytes.assign(kRowBytes, '\0');
    }
    s.lru.push_front(n);
    r.lru = s.lru.begin();
    return s.rows.emplace(n, std::move(r)).first->second;
  }

  void write_back(uint64_t row, Row* r) const {
    errors_->check(db_->Put(wo_, row_key(row), r->bytes), "writing an inode row");
    r->dirty = false;
  }

  rocksdb::DB* const db_;
  Errors* const errors_;
  rocksdb::ReadOptions ro_;
  rocksdb::WriteOptions wo_;
  size_t rows_per_shard_;
  // The cache is state of the table's storage, not of its contents: get()
  // and for_each() fill and write it back, hence mutable.
  mutable std::array<Shard, kShards> shards_;
  std::atomic<uint64_t> count_{0};
};

}  // namespace

std::unique_ptr<InodeTable> make_rocks_inode_table(rocksdb::DB* db, size_t cache_bytes, Errors* errors) {
  return std::make_unique<RocksInodeTable>(db, cache_bytes, errors);
}

}  // namespace xfsfuse::fsck::scratch
