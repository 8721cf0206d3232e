// tests/btree/cursor_harness.h — a btree cursor over an in-memory device and a
// real buffer cache, with a std::map model of the records and a whole-tree
// check (the read-only walkers plus the cursor's own invariants and a block
// leak check against the test allocator).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "btree/cursor.h"
#include "tests/buffer_cache/bc_test_util.h"

namespace xfsfuse::btree::test {

/// A device in memory (pread/pwrite semantics under a mutex).
class MemDevice : public bc::BlockDevice {
 public:
  explicit MemDevice(uint64_t bytes) : bytes_(bytes) {}
  int preadv(const iovec* iov, int iovcnt, uint64_t off) override;
  int pwritev(const iovec* iov, int iovcnt, uint64_t off) override;
  int sync() override { return 0; }
  uint64_t size_bytes() const override { return bytes_.size(); }
  bool writable() const override { return true; }

 private:
  std::mutex mu_;
  std::vector<uint8_t> bytes_;
};

/// A host whose blocks are numbered from 1 (agbno or fsblock: the same here,
/// daddr = ptr * blocksize / 512), allocated from a free list, with the
/// outstanding set kept for the leak check.
class TestHost : public BtreeHost {
 public:
  TestHost(bc::BufferCache* cache, BtreeKind kind, uint32_t blocksize, uint64_t owner, uint64_t blocks);
  uint64_t daddr_of(uint64_t ptr) const override { return ptr * (blocksize() / 512); }
  int alloc_block(uint64_t near, uint64_t* ptr) override;
  int free_block(uint64_t ptr) override;
  void log(bc::BufHandle& h, size_t off, size_t len) override;
  void log_iroot(size_t off, size_t len) override;
  void set_root(uint64_t ptr, unsigned levels) override;
  void lastrec_changed(const std::byte* rec) override;

  std::set<uint64_t> outstanding;      ///< allocated, not freed
  uint64_t root = 0;                   ///< from set_root
  unsigned levels = 0;
  std::vector<std::byte> last;         ///< from lastrec_changed; empty: tree empty
  size_t iroot_bytes = 0;              ///< the fork's size (bmbt): log_iroot ranges must fit
  std::string errors;                  ///< misuse seen (bad log ranges, double frees)

 private:
  uint64_t next_ = 1;
  const uint64_t blocks_;
  std::vector<uint64_t> free_;
};

/// One tree, its cursor, and the model.
class Harness {
 public:
  /// blocksize bytes per block; fork_bytes: the bmbt root's fork size (bmbt only).
  Harness(BtreeKind kind, uint32_t blocksize, size_t fork_bytes, uint64_t seed);
  ~Harness();

  /// Runs ops random operations; insert_pct of them insert (the rest remove,
  /// update, look up and move), checking every answer against the model and
  /// the whole tree every check_every operations.
  void run(int ops, int insert_pct, int check_every);
  /// Removes every record, checking as run() does.
  void drain(int check_every);
  /// The whole-tree check; REQUIREs (Catch2) inside.
  void check_tree();
  /// Writes every buffer back, empties the cache and checks again: every
  /// block is read from the device and its CRC verified.
  void flush_and_check();

  unsigned levels() const { return cur_->levels(); }
  unsigned max_levels = 0;  ///< the deepest the tree got
  size_t records() const { return model_.size(); }
  BtreeCursor& cursor() { return *cur_; }
  TestHost& host() { return *host_; }
  /// The bmbt's inode root.
  std::span<std::byte> fork() { return fork_; }
  /// A record of this tree's kind with key k and random other fields,
  /// encoded by fs/format/records.h; inobt / finobt records in the sparse
  /// inodes layout (be16 holemask, u8 count, u8 freecount), count 64 with a
  /// random holemask: the cursor reads only startino, the key, so the rest
  /// need only come back byte for byte.
  std::vector<std::byte> make_record(const BtreeKey& k);
  BtreeKey random_key();

 private:
  void op_insert();
  void op_remove(const BtreeKey& k);
  void op_update();
  void op_lookup();
  void check_position(bool found, std::map<BtreeKey, std::vector<std::byte>>::const_iterator want);
  void check_lastrec();
  // Walks the tree from the root with shared reads, checking the invariants;
  // fills recs (in order) and blocks.
  void walk(std::vector<std::vector<std::byte>>* recs, std::set<uint64_t>* blocks);

  const BtreeKind kind_;
  const uint32_t blocksize_;
  std::mt19937_64 rng_;
  std::unique_ptr<MemDevice> dev_;
  std::unique_ptr<bc::test::Stack> stack_;
  std::unique_ptr<TestHost> host_;
  std::vector<std::byte> fork_;  // the bmbt's inode root
  std::unique_ptr<BtreeCursor> cur_;
  std::map<BtreeKey, std::vector<std::byte>> model_;
};

}  // namespace xfsfuse::btree::test
