#include "tools/fsck/scratch.h"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>
#include <rocksdb/write_buffer_manager.h>
#include <stdlib.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <mutex>

#include "tools/fsck/range_store.h"

#if defined(__SANITIZE_THREAD__)
// Debian's librocksdb is not built with -fsanitize=thread: its own threads
// (flush, compaction) synchronize through atomics TSan cannot see, so TSan
// reports races inside RocksDB that are not races (seen: Version::Unref
// freeing file metadata a Get had compared, under RocksDB's refcount).  Only
// reports with a rocksdb:: frame are suppressed; races in our code still fail.
// The sanitizer runtime reads this hook at start-up.
extern "C" const char* __tsan_default_suppressions() { return "race:rocksdb::\n"; }
#endif

namespace xfsfuse::fsck {

namespace {

void put_be32(std::string* s, uint32_t v) {
  for (int i = 3; i >= 0; i--) s->push_back(static_cast<char>(v >> (8 * i)));
}
void put_be64(std::string* s, uint64_t v) {
  for (int i = 7; i >= 0; i--) s->push_back(static_cast<char>(v >> (8 * i)));
}
uint64_t get_be(const char* p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; i++) v = v << 8 | static_cast<uint8_t>(p[i]);
  return v;
}

std::string range_key(uint32_t agno, uint32_t start) {
  std::string k(1, 'S');
  put_be32(&k, agno);
  put_be32(&k, start);
  return k;
}

// Key 'S' agno start -> end(4) owner(1) ino(8).
std::string range_value(const Range& r) {
  std::string v;
  put_be32(&v, r.end);
  v.push_back(static_cast<char>(r.owner));
  put_be64(&v, r.ino);
  return v;
}

bool decode_range(const rocksdb::Slice& k, const rocksdb::Slice& v, uint32_t agno, Range* r) {
  if (k.size() != 9 || k[0] != 'S' || get_be(k.data() + 1, 4) != agno || v.size() != 13) return false;
  r->start = static_cast<uint32_t>(get_be(k.data() + 5, 4));
  r->end = static_cast<uint32_t>(get_be(v.data(), 4));
  r->owner = static_cast<Owner>(static_cast<uint8_t>(v[4]));
  r->ino = get_be(v.data() + 5, 8);
  return true;
}

class RocksRangeStore final : public RangeStore {
 public:
  explicit RocksRangeStore(rocksdb::DB* db) : db_(db) { wo_.disableWAL = true; }

  void overlapping(uint32_t agno, uint32_t start, uint32_t end, std::vector<Range>* out) override {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro_));
    Range r;
    // The range starting at or before start may reach into [start, end).
    it->SeekForPrev(range_key(agno, start));
    if (it->Valid() && decode_range(it->key(), it->value(), agno, &r) && r.end > start) out->push_back(r);
    for (it->Seek(range_key(agno, start)); it->Valid(); it->Next()) {
      if (!decode_range(it->key(), it->value(), agno, &r) || r.start >= end) break;
      if (!out->empty() && out->back().start == r.start) continue;
      out->push_back(r);
    }
  }
  std::optional<Range> ending_at(uint32_t agno, uint32_t at) override {
    if (at == 0) return std::nullopt;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro_));
    it->SeekForPrev(range_key(agno, at - 1));
    Range r;
    if (it->Valid() && decode_range(it->key(), it->value(), agno, &r) && r.end == at) return r;
    return std::nullopt;
  }
  std::optional<Range> starting_at(uint32_t agno, uint32_t at) override {
    std::string v;
    if (!db_->Get(ro_, range_key(agno, at), &v).ok()) return std::nullopt;
    Range r;
    if (!decode_range(range_key(agno, at), v, agno, &r)) return std::nullopt;
    return r;
  }
  void put(uint32_t agno, const Range& r) override { db_->Put(wo_, range_key(agno, r.start), range_value(r)); }
  void erase(uint32_t agno, uint32_t start) override { db_->Delete(wo_, range_key(agno, start)); }
  void for_each(uint32_t agno, const std::function<void(const Range&)>& fn) override {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro_));
    Range r;
    for (it->Seek(range_key(agno, 0)); it->Valid() && decode_range(it->key(), it->value(), agno, &r); it->Next()) fn(r);
  }

 private:
  rocksdb::DB* const db_;
  rocksdb::ReadOptions ro_;
  rocksdb::WriteOptions wo_;
};

std::string inode_key(uint64_t ino) {
  std::string k(1, 'I');
  put_be64(&k, ino);
  return k;
}

// InodeRec packed: flags(1) mode(2) nlink(4) links_seen(4) subdirs(4) parent(8).
std::string pack(const InodeRec& r) {
  std::string v;
  v.push_back(static_cast<char>(r.inobt_free | r.in_use << 1 | r.bad << 2 | r.reachable << 3));
  v.push_back(static_cast<char>(r.mode >> 8));
  v.push_back(static_cast<char>(r.mode));
  put_be32(&v, r.nlink);
  put_be32(&v, r.links_seen);
  put_be32(&v, r.subdirs);
  put_be64(&v, r.parent);
  return v;
}

bool unpack(const rocksdb::Slice& v, InodeRec* r) {
  if (v.size() != 23) return false;
  const uint8_t f = static_cast<uint8_t>(v[0]);
  r->inobt_free = f & 1;
  r->in_use = f & 2;
  r->bad = f & 4;
  r->reachable = f & 8;
  r->mode = static_cast<uint16_t>(get_be(v.data() + 1, 2));
  r->nlink = static_cast<uint32_t>(get_be(v.data() + 3, 4));
  r->links_seen = static_cast<uint32_t>(get_be(v.data() + 7, 4));
  r->subdirs = static_cast<uint32_t>(get_be(v.data() + 11, 4));
  r->parent = get_be(v.data() + 15, 8);
  return true;
}

class RocksInodeTable final : public InodeTable {
 public:
  explicit RocksInodeTable(rocksdb::DB* db) : db_(db) { wo_.disableWAL = true; }

  bool add(uint64_t ino, bool inobt_free) override {
    std::lock_guard<std::mutex> g(lock_for(ino));
    std::string v;
    if (db_->Get(ro_, inode_key(ino), &v).ok()) return false;
    InodeRec r;
    r.inobt_free = inobt_free;
    db_->Put(wo_, inode_key(ino), pack(r));
    count_.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  std::optional<InodeRec> get(uint64_t ino) const override {
    std::string v;
    InodeRec r;
    if (!db_->Get(ro_, inode_key(ino), &v).ok() || !unpack(v, &r)) return std::nullopt;
    return r;
  }
  void update(uint64_t ino, const std::function<void(InodeRec&)>& fn) override {
    std::lock_guard<std::mutex> g(lock_for(ino));
    std::string v;
    InodeRec r;
    if (!db_->Get(ro_, inode_key(ino), &v).ok() || !unpack(v, &r)) return;
    fn(r);
    db_->Put(wo_, inode_key(ino), pack(r));
  }
  void for_each(const std::function<void(uint64_t, const InodeRec&)>& fn) const override {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro_));
    InodeRec r;
    for (it->Seek(inode_key(0)); it->Valid() && it->key().size() == 9 && it->key()[0] == 'I'; it->Next())
      if (unpack(it->value(), &r)) fn(get_be(it->key().data() + 1, 8), r);
  }
  uint64_t size() const override { return count_.load(std::memory_order_relaxed); }

 private:
  std::mutex& lock_for(uint64_t ino) { return locks_[(ino * 0x9e3779b97f4a7c15ull) >> 58]; }

  rocksdb::DB* const db_;
  rocksdb::ReadOptions ro_;
  rocksdb::WriteOptions wo_;
  std::array<std::mutex, 64> locks_;  // read-modify-write per inode, striped
  std::atomic<uint64_t> count_{0};
};

}  // namespace

int Scratch::open(const std::string& dir, size_t mem_bytes, std::unique_ptr<Scratch>* out, std::string* err) {
  std::string templ = dir + "/xfsfuse-fsck.XXXXXX";
  if (mkdtemp(templ.data()) == nullptr) {
    const int e = errno;
    *err = "--scratch " + dir + ": " + std::strerror(e);
    return e;
  }
  std::unique_ptr<Scratch> s(new Scratch());
  s->path_ = templ;
  // One cache of mem_bytes holds the blocks and, charged to it, up to half of
  // it in memtables (two of a quarter each): small memtables mean many level-0
  // files, and every get() of update() probing them.
  auto cache = rocksdb::NewLRUCache(std::max<size_t>(mem_bytes, 2 << 20));
  rocksdb::BlockBasedTableOptions t;
  t.block_cache = cache;
  // Index and filter blocks stay in the table readers' memory (for 1,000,000
  // inodes about 2 MB) instead of the block cache: in a small cache they were
  // evicted and read and checksummed again on every lookup.
  t.cache_index_and_filter_blocks = false;
  // add() looks a new inode up before writing it: a Bloom filter answers
  // most of those misses without reading SST blocks.
  t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  rocksdb::Options o;
  o.create_if_missing = true;
  o.error_if_exists = true;
  o.write_buffer_size = std::max<size_t>(mem_bytes / 4, 1 << 20);
  o.max_write_buffer_number = 2;
  o.write_buffer_manager = std::make_shared<rocksdb::WriteBufferManager>(mem_bytes / 2, cache);
  o.max_open_files = 64;
  o.compression = rocksdb::kNoCompression;
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
  rocksdb::DB* db = nullptr;
  const rocksdb::Status st = rocksdb::DB::Open(o, templ, &db);
  if (!st.ok()) {
    *err = "--scratch " + templ + ": " + st.ToString();
    std::error_code ec;
    std::filesystem::remove_all(templ, ec);
    return EIO;
  }
  s->db_.reset(db);
  s->cache_ = cache;
  *out = std::move(s);
  return 0;
}

Scratch::~Scratch() {
  if (db_) db_->Close();
  db_.reset();
  std::error_code ec;
  if (!path_.empty()) std::filesystem::remove_all(path_, ec);
}

std::unique_ptr<SpaceMap> Scratch::space_map(const fs::Superblock& sb, Reporter* rep) {
  return make_space_map(sb, rep, std::make_unique<RocksRangeStore>(db_.get()));
}

std::unique_ptr<InodeTable> Scratch::inode_table() { return std::make_unique<RocksInodeTable>(db_.get()); }

}  // namespace xfsfuse::fsck
