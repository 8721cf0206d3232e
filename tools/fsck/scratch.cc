// The --scratch database (scratch.h): opening and sizing it, the record of
// its first failure, and the SpaceMap's RangeStore in it.  The InodeTable's
// rows are in scratch_inodes.cc.
#include "tools/fsck/scratch.h"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>
#include <rocksdb/write_buffer_manager.h>
#include <stdlib.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>

#include "tools/fsck/range_store.h"
#include "tools/fsck/scratch_internal.h"

#if defined(__SANITIZE_THREAD__)
#include <rocksdb/listener.h>
// Debian's librocksdb is not built with -fsanitize=thread: its background
// threads (flush, compaction) synchronize with ours through atomics TSan
// cannot see, so TSan reports races inside RocksDB that are not races (seen:
// Version::Unref on a compaction thread freeing file metadata a Get had
// compared; a flush thread copying a memtable entry a Put had written).
// Those threads run nothing of ours, so TSan is told to ignore their memory
// accesses from the moment RocksDB announces their first job until the
// thread exits (their locks still count; TSan insists the ignore ends before
// the thread does), and reports with a rocksdb:: frame are suppressed.  Races
// in our code, on our threads, still fail.
extern "C" void __tsan_ignore_thread_begin();
extern "C" void __tsan_ignore_thread_end();
extern "C" const char* __tsan_default_suppressions() { return "race:rocksdb::\n"; }

namespace {

class TsanIgnoreRocksThreads final : public rocksdb::EventListener {
 public:
  void OnFlushBegin(rocksdb::DB*, const rocksdb::FlushJobInfo&) override { ignore_this_thread(); }
  void OnCompactionBegin(rocksdb::DB*, const rocksdb::CompactionJobInfo&) override { ignore_this_thread(); }
  void OnSubcompactionBegin(const rocksdb::SubcompactionJobInfo&) override { ignore_this_thread(); }

 private:
  struct Ignored {
    Ignored() { __tsan_ignore_thread_begin(); }
    ~Ignored() { __tsan_ignore_thread_end(); }  // thread_local: runs as the thread exits
  };
  static void ignore_this_thread() { thread_local Ignored ignored; }
};

}  // namespace
#endif

namespace xfsfuse::fsck {

namespace scratch {

bool Errors::check(const rocksdb::Status& st, const char* what) {
  if (st.ok() || st.IsNotFound()) return st.ok();
  std::lock_guard<std::mutex> g(mu_);
  if (first_.empty()) {
    first_ = std::string(what) + ": " + st.ToString();
    // Said at once: the problems printed after this line are not to be trusted.
    std::fprintf(stderr, "xfsfuse-fsck: --scratch database failed: %s\n", first_.c_str());
  }
  return false;
}

std::string Errors::first() const {
  std::lock_guard<std::mutex> g(mu_);
  return first_;
}

}  // namespace scratch

namespace {

using scratch::get_be;
using scratch::put_be32;
using scratch::put_be64;

// Ranges are keyed by their end, 'S' agno(be32) end(be32) -> start(be32)
// owner(u8) ino(be64), so that every lookup is a forward Seek or a Get.  (Keyed
// by start, the lookups of the range before a block were SeekForPrev calls,
// which step through every version of a key: a range extended by thousands
// of adjacent claims, as an AG's inode chunks are, made each claim slower.)
std::string range_key(uint32_t agno, uint32_t end) {
  std::string k(1, 'S');
  put_be32(&k, agno);
  put_be32(&k, end);
  return k;
}

std::string range_value(const Range& r) {
  std::string v;
  put_be32(&v, r.start);
  v.push_back(static_cast<char>(r.owner));
  put_be64(&v, r.ino);
  return v;
}

bool decode_range(const rocksdb::Slice& k, const rocksdb::Slice& v, uint32_t agno, Range* r) {
  if (k.size() != 9 || k[0] != 'S' || get_be(k.data() + 1, 4) != agno || v.size() != 13) return false;
  r->end = static_cast<uint32_t>(get_be(k.data() + 5, 4));
  r->start = static_cast<uint32_t>(get_be(v.data(), 4));
  r->owner = static_cast<Owner>(static_cast<uint8_t>(v[4]));
  r->ino = get_be(v.data() + 5, 8);
  return true;
}

class RocksRangeStore final : public RangeStore {
 public:
  RocksRangeStore(rocksdb::DB* db, scratch::Errors* errors) : db_(db), errors_(errors) { wo_.disableWAL = true; }

  void overlapping(uint32_t agno, uint32_t start, uint32_t end, std::vector<Range>* out) override {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro_));
    Range r;
    // Ascending ends are ascending starts (the ranges do not overlap): from
    // the first range ending after start, until one starts at or after end.
    for (it->Seek(range_key(agno, start + 1)); it->Valid(); it->Next()) {
      if (!decode_range(it->key(), it->value(), agno, &r) || r.start >= end) break;
      out->push_back(r);
    }
    errors_->check(it->status(), "reading block ranges");
  }
  std::optional<Range> ending_at(uint32_t agno, uint32_t at) override {
    std::string v;
    Range r;
    if (at == 0 || !errors_->check(db_->Get(ro_, range_key(agno, at), &v), "reading a block range") ||
        !decode_range(range_key(agno, at), v, agno, &r))
      return std::nullopt;
    return r;
  }
  std::optional<Range> starting_at(uint32_t agno, uint32_t at) override {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro_));
    Range r;
    it->Seek(range_key(agno, at + 1));
    if (it->Valid() && decode_range(it->key(), it->value(), agno, &r) && r.start == at) return r;
    errors_->check(it->status(), "reading block ranges");
    return std::nullopt;
  }
  void put(uint32_t agno, const Range& r) override {
    errors_->check(db_->Put(wo_, range_key(agno, r.end), range_value(r)), "writing a block range");
  }
  void erase(uint32_t agno, const Range& r) override {
    errors_->check(db_->Delete(wo_, range_key(agno, r.end)), "deleting a block range");
  }
  void for_each(uint32_t agno, const std::function<void(const Range&)>& fn) override {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro_));
    Range r;
    for (it->Seek(range_key(agno, 0)); it->Valid() && decode_range(it->key(), it->value(), agno, &r); it->Next()) fn(r);
    errors_->check(it->status(), "reading block ranges");
  }

 private:
  rocksdb::DB* const db_;
  scratch::Errors* const errors_;
  rocksdb::ReadOptions ro_;
  rocksdb::WriteOptions wo_;
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
  s->errors_ = std::make_unique<scratch::Errors>();
  // A quarter of mem_bytes caches the inode table's rows (scratch_inodes.cc);
  // one block cache of the rest holds the blocks and, charged to it, up to
  // half of it in memtables (two of a quarter each): small memtables mean many
  // level-0 files, and every row read probing them.
  s->row_cache_bytes_ = mem_bytes / 4;
  mem_bytes -= s->row_cache_bytes_;
  auto cache = rocksdb::NewLRUCache(std::max<size_t>(mem_bytes, 2 << 20));
  rocksdb::BlockBasedTableOptions t;
  t.block_cache = cache;
  // Index and filter blocks stay in the table readers' memory (for 1,000,000
  // inodes about 2 MB) instead of the block cache: in a small cache they were
  // evicted and read and checksummed again on every lookup.
  t.cache_index_and_filter_blocks = false;
  // The first touch of a row looks it up before it exists: a Bloom filter
  // answers most of those misses without reading SST blocks.
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
#if defined(__SANITIZE_THREAD__)
  o.listeners.push_back(std::make_shared<TsanIgnoreRocksThreads>());
#endif
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
  return make_space_map(sb, rep, std::make_unique<RocksRangeStore>(db_.get(), errors_.get()));
}

std::unique_ptr<InodeTable> Scratch::inode_table() {
  return scratch::make_rocks_inode_table(db_.get(), row_cache_bytes_, errors_.get());
}

std::string Scratch::error() const { return errors_->first(); }

}  // namespace xfsfuse::fsck
