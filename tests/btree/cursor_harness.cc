#include "tests/btree/cursor_harness.h"

#include <catch2/catch.hpp>
#include <cerrno>
#include <cstring>

#include "fs/format/records.h"

namespace xfsfuse::btree::test {

namespace {

constexpr uint64_t kBlocks = 16384;  // device size in blocks
constexpr uint64_t kAgno = 3, kIno = 1234;

using Model = std::map<BtreeKey, std::vector<std::byte>>;

std::vector<std::byte> bytes(std::span<const std::byte> s) { return {s.begin(), s.end()}; }


}  // namespace

int MemDevice::preadv(const iovec* iov, int iovcnt, uint64_t off) {
  std::lock_guard<std::mutex> g(mu_);
  for (int i = 0; i < iovcnt; i++) {
    if (off + iov[i].iov_len > bytes_.size()) return EIO;
    std::memcpy(iov[i].iov_base, bytes_.data() + off, iov[i].iov_len);
    off += iov[i].iov_len;
  }
  return 0;
}

int MemDevice::pwritev(const iovec* iov, int iovcnt, uint64_t off) {
  std::lock_guard<std::mutex> g(mu_);
  for (int i = 0; i < iovcnt; i++) {
    if (off + iov[i].iov_len > bytes_.size()) return EIO;
    std::memcpy(bytes_.data() + off, iov[i].iov_base, iov[i].iov_len);
    off += iov[i].iov_len;
  }
  return 0;
}

TestHost::TestHost(bc::BufferCache* cache, BtreeKind kind, uint32_t blocksize, uint64_t owner, uint64_t blocks)
    : BtreeHost(cache, kind, blocksize, owner, bc::Uuid{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}),
      blocks_(blocks) {}

int TestHost::alloc_block(uint64_t, uint64_t* ptr) {
  if (!free_.empty()) {
    *ptr = free_.back();
    free_.pop_back();
  } else if (next_ < blocks_) {
    *ptr = next_++;
  } else {
    return ENOSPC;
  }
  outstanding.insert(*ptr);
  return 0;
}

int TestHost::free_block(uint64_t ptr) {
  if (outstanding.erase(ptr) != 1) errors += "free of block " + std::to_string(ptr) + " not allocated\n";
  free_.push_back(ptr);
  return 0;
}

void TestHost::log(bc::BufHandle& h, size_t off, size_t len) {
  if (len == 0 || off + len > h.size()) errors += "bad log range\n";
  BtreeHost::log(h, off, len);
}

void TestHost::log_iroot(size_t off, size_t len) {
  if (len == 0 || off + len > iroot_bytes) errors += "bad inode root log range\n";
}

void TestHost::set_root(uint64_t ptr, unsigned l) {
  root = ptr;
  levels = l;
}

void TestHost::lastrec_changed(const std::byte* rec) {
  if (rec)
    last.assign(rec, rec + tree_ops(kind()).layout.rec);
  else
    last.clear();
}

Harness::Harness(BtreeKind kind, uint32_t blocksize, size_t fork_bytes, uint64_t seed)
    : kind_(kind), blocksize_(blocksize), rng_(seed) {
  dev_ = std::make_unique<MemDevice>(kBlocks * blocksize);
  stack_ = std::make_unique<bc::test::Stack>(dev_.get(), size_t{256} << 20, 8192);
  const bool bmbt = kind == BtreeKind::kBmbt;
  host_ = std::make_unique<TestHost>(stack_->cache.get(), kind, blocksize, bmbt ? kIno : kAgno, kBlocks);
  stack_->cache->set_uuid(host_->uuid());
  if (bmbt) {
    fork_.resize(fork_bytes);
    host_->iroot_bytes = fork_bytes;
    REQUIRE(bmbt_init_root(*host_, fork_, {}, 0) == 0);
    cur_ = std::make_unique<BtreeCursor>(host_.get(), std::span<std::byte>(fork_));
  } else {
    uint64_t root = 0;
    REQUIRE(host_->alloc_block(0, &root) == 0);
    bc::BufHandle h;
    REQUIRE(init_block(*host_, root, 0, &h) == 0);
    host_->set_root(root, 1);
    cur_ = std::make_unique<BtreeCursor>(host_.get(), root, 1);
  }
}

Harness::~Harness() { cur_.reset(); }

BtreeKey Harness::random_key() {
  switch (kind_) {
    case BtreeKind::kBnobt: return bnobt_key(static_cast<uint32_t>(rng_() % 100000));
    case BtreeKind::kCntbt: return cntbt_key(static_cast<uint32_t>(1 + rng_() % 64), static_cast<uint32_t>(rng_() % 100000));
    case BtreeKind::kBmbt: return bmbt_key(rng_() % 1000000);
    default: return inobt_key(static_cast<uint32_t>(rng_() % 200000) * 64);
  }
}

std::vector<std::byte> Harness::make_record(const BtreeKey& k) {
  std::vector<std::byte> r(tree_ops(kind_).layout.rec);
  switch (kind_) {
    case BtreeKind::kBnobt:
      fs::encode_alloc_rec({static_cast<uint32_t>(k.hi), static_cast<uint32_t>(1 + rng_() % 1000)}, r.data());
      break;
    case BtreeKind::kCntbt:
      fs::encode_alloc_rec({static_cast<uint32_t>(k.lo), static_cast<uint32_t>(k.hi)}, r.data());
      break;
    case BtreeKind::kBmbt:
      fs::encode_bmbt_rec({k.hi, rng_() & fs::kBmbtMaxStartblock, 1 + rng_() % fs::kBmbtMaxBlockcount, (rng_() & 1) != 0},
                          r.data());
      break;
    default:
      fs::encode_inobt_rec({static_cast<uint32_t>(k.hi), static_cast<uint16_t>(rng_()), 64,
                            static_cast<uint32_t>(rng_() % 65), rng_()},
                           /*sparse=*/true, r.data());
  }
  return r;
}

void Harness::check_position(bool found, Model::const_iterator want) {
  REQUIRE(found == (want != model_.end()));
  if (found) REQUIRE(bytes(cur_->record()) == want->second);
}

void Harness::check_lastrec() {
  if (kind_ != BtreeKind::kCntbt) return;
  if (model_.empty())
    REQUIRE(host_->last.empty());
  else
    REQUIRE(host_->last == model_.rbegin()->second);
}

void Harness::op_insert() {
  const BtreeKey k = random_key();
  const auto rec = make_record(k);
  const int err = cur_->insert(rec);
  if (model_.count(k)) {
    REQUIRE(err == EEXIST);
    return;
  }
  REQUIRE(err == 0);
  REQUIRE(bytes(cur_->record()) == rec);
  model_[k] = rec;
}

void Harness::op_remove(const BtreeKey& k) {
  bool found = false;
  REQUIRE(cur_->lookup(k, LookupMode::kGe, &found) == 0);
  auto it = model_.lower_bound(k);
  check_position(found, it);
  if (!found) return;
  REQUIRE(cur_->remove(&found) == 0);
  it = model_.erase(it);
  check_position(found, it);
}

void Harness::op_update() {
  bool found = false;
  REQUIRE(cur_->lookup(random_key(), LookupMode::kGe, &found) == 0);
  if (!found) return;
  const BtreeKey ck = tree_ops(kind_).rec_key(cur_->record().data());
  auto it = model_.find(ck);
  REQUIRE(it != model_.end());
  BtreeKey nk = ck;
  if (rng_() & 1) nk.hi = ck.hi < 2 ? ck.hi + rng_() % 3 : ck.hi + rng_() % 5 - 2;
  const auto rec = make_record(nk);
  bool ok = true;
  if (nk != ck) {
    if (it != model_.begin() && !(std::prev(it)->first < nk)) ok = false;
    if (std::next(it) != model_.end() && !(nk < std::next(it)->first)) ok = false;
  }
  const int err = cur_->update(rec);
  REQUIRE(err == (ok ? 0 : EINVAL));
  if (!ok) return;
  REQUIRE(bytes(cur_->record()) == rec);
  model_.erase(it);
  model_[nk] = rec;
}

void Harness::op_lookup() {
  const BtreeKey k = random_key();
  const int mode = static_cast<int>(rng_() % 3);
  bool found = false;
  Model::const_iterator want;
  if (mode == 0) {
    REQUIRE(cur_->lookup(k, LookupMode::kEq, &found) == 0);
    want = model_.find(k);
  } else if (mode == 1) {
    REQUIRE(cur_->lookup(k, LookupMode::kGe, &found) == 0);
    want = model_.lower_bound(k);
  } else {
    REQUIRE(cur_->lookup(k, LookupMode::kLe, &found) == 0);
    want = model_.upper_bound(k);
    want = want == model_.begin() ? model_.end() : std::prev(want);
  }
  check_position(found, want);
  const bool forward = rng_() & 1;
  for (int steps = static_cast<int>(rng_() % 5); found && steps > 0; steps--) {
    if (forward) {
      REQUIRE(cur_->increment(&found) == 0);
      ++want;
    } else {
      REQUIRE(cur_->decrement(&found) == 0);
      want = want == model_.begin() ? model_.end() : std::prev(want);
    }
    check_position(found, want);
  }
}

void Harness::run(int ops, int insert_pct, int check_every) {
  for (int i = 1; i <= ops; i++) {
    const int r = static_cast<int>(rng_() % 100);
    const int rest = r < insert_pct ? -1 : (r - insert_pct) * 3 / (100 - insert_pct);
    if (rest < 0)
      op_insert();
    else if (rest == 0)
      op_remove(random_key());
    else if (rest == 1)
      op_update();
    else
      op_lookup();
    check_lastrec();
    max_levels = std::max(max_levels, cur_->levels());
    if (i % check_every == 0) check_tree();
  }
  check_tree();
}

void Harness::drain(int check_every) {
  for (int i = 1; !model_.empty(); i++) {
    op_remove(random_key());
    check_lastrec();
    if (i % check_every == 0) check_tree();
    if (i % 4 == 0 && !model_.empty()) op_remove(model_.begin()->first);
  }
  check_tree();
}

}  // namespace xfsfuse::btree::test
