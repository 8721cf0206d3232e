// fs/dir_write against a model: random adds, removes and replaces in one
// directory (each its own transaction) agree with a std::map after every
// operation (dir_lookup of the name touched, dir_iterate and every lookup
// periodically, the blocks through their read verifiers), across short form,
// block form, leaf form and the conversions both ways, with 64 KiB and 4 KiB directory
// blocks and with 8-byte inode numbers; xfs_repair -n passes at the end.
//
// The entries point at a few regular files the protofile made (hard links,
// in effect): the test sets their link counts to the number of entries
// naming them before the repair check, so xfs_repair sees a consistent tree
// without the test creating inodes.
#include <catch2/catch.hpp>
#include <random>
#include <set>
#include <tuple>

#include "fs/alloc/alloc.h"
#include "fs/dir_internal.h"
#include "fs/format/geometry.h"
#include "tests/fs/dir_write_test_util.h"

namespace xfsfuse::fs::test {
namespace {

std::string random_name(std::mt19937& rng, size_t maxlen) {
  static const char chars[] = "abcdefghijklmnopqrstuvwxyz0123456789_-.";
  std::string s;
  do {
    s.resize(1 + rng() % maxlen);
    for (char& c : s) c = chars[rng() % (sizeof chars - 1)];
  } while (s == "." || s == "..");
  return s;
}

uint64_t lookup_path(Mount& m, const std::string& path) {
  InodeRef ip;
  REQUIRE(resolve(m, path, &ip) == 0);
  return ip->core.ino;
}

// Random operations on directory dino (parent pino) whose entries point at
// targets; counts what happened in *stats.  maxn: the entry count the
// directory grows toward before it is emptied again.
struct Stats {
  int to_block = 0, to_sf = 0, enospc = 0;
  int to_leaf = 0, from_leaf = 0;  // into leaf form; out of it (to block or short form)
};
void run_model(Mount& m, uint64_t dino, uint64_t pino, const std::vector<uint64_t>& targets, int ops, size_t maxn,
               size_t maxlen, unsigned seed, DirModel* model, Stats* stats) {
  std::mt19937 rng(seed);
  bool growing = true;
  auto format = [&] {
    InodeRef dp;
    REQUIRE(m.iget(dino, &dp) == 0);
    return dp->core.format;
  };
  ForkFormat was = format();
  dir::Form was_form = dir::Form::kShort;
  for (int op = 0; op < ops; op++) {
    INFO("op " << op << ", " << model->size() << " entries");
    if (growing && model->size() >= maxn) growing = false;
    if (!growing && model->size() <= rng() % 4) growing = true;
    const unsigned what = rng() % 100;
    std::string name;
    if (model->empty() || what < (growing ? 65u : 25u)) {
      do name = random_name(rng, maxlen);
      while (model->count(name));
      const uint64_t ino = targets[rng() % targets.size()];
      const int rc = dir_op(m, dino, [&](Transaction& tp, CachedInode* dp) { return dir_add(tp, dp, name, ino, kFtReg); });
      INFO("add " << name);
      // ENOSPC: a node-form directory's one LEAFN block is full where the
      // kernel would split it.
      if (rc == ENOSPC) {
        stats->enospc++;
        growing = false;
      } else {
        REQUIRE(rc == 0);
        (*model)[name] = {ino, kFtReg};
      }
    } else if (what < 90) {
      auto it = std::next(model->begin(), static_cast<long>(rng() % model->size()));
      name = it->first;
      INFO("remove " << name);
      REQUIRE(dir_op(m, dino, [&](Transaction& tp, CachedInode* dp) { return dir_remove(tp, dp, name); }) == 0);
      model->erase(it);
    } else {
      auto it = std::next(model->begin(), static_cast<long>(rng() % model->size()));
      name = it->first;
      const uint64_t ino = targets[rng() % targets.size()];
      INFO("replace " << name);
      REQUIRE(dir_op(m, dino, [&](Transaction& tp, CachedInode* dp) { return dir_replace(tp, dp, name, ino, kFtReg); }) ==
              0);
      it->second = {ino, kFtReg};
    }
    {
      InodeRef dp;
      REQUIRE(m.iget(dino, &dp) == 0);
      uint64_t ino = 0;
      const int rc = dir_lookup(m, *dp, name, &ino);
      REQUIRE(rc == (model->count(name) ? 0 : ENOENT));
      if (rc == 0) REQUIRE(ino == model->at(name).first);
      verify_dir_block(m, *dp);
      if (dp->core.format != was) {
        (was == ForkFormat::kLocal ? stats->to_block : stats->to_sf)++;
        was = dp->core.format;
      }
      dir::Form form;
      REQUIRE(dir::dir_form(m, *dp, &form) == 0);
      if (form != was_form) {
        stats->to_leaf += form == dir::Form::kLeaf;
        stats->from_leaf += was_form == dir::Form::kLeaf;
        was_form = form;
      }
    }
    if (op % 50 == 49) check_model(m, dino, pino, *model, op % 500 == 499);
    if (op % 1000 == 999) {
      m.drop_caches(nullptr, nullptr);
      check_model(m, dino, pino, *model, true);
    }
  }
  check_model(m, dino, pino, *model, true);
}

// Gives every target one link for its protofile entry plus one per entry
// naming it.
void fix_links(Mount& m, const std::vector<uint64_t>& targets, const DirModel& model) {
  for (uint64_t t : targets) {
    uint32_t n = 1;
    for (const auto& [name, v] : model) n += v.first == t;
    set_nlink(m, t, n);
  }
}

const char* kProto =
    "/dummy\n0 0\nd--755 0 0\nd d--755 0 0\n$\nt0 ---644 0 0 /dev/null\nt1 ---644 0 0 /dev/null\n"
    "t2 ---644 0 0 /dev/null\nt3 ---644 0 0 /dev/null\n$\n";

}  // namespace

TEST_CASE("dir_write: random adds, removes and replaces agree with a model", "[dir_write][1thread]") {
  if (!have_xfsprogs()) {
    WARN("SKIP: mkfs.xfs/xfs_db not installed (Debian package xfsprogs)");
    return;
  }
  const unsigned dirblk = GENERATE(65536u, 4096u);
  INFO("directory blocks of " << dirblk << " bytes");
  ProtoImage img(kProto, dirblk);
  auto m = open_rw(img.path);
  const uint64_t d = lookup_path(*m, "/d");
  std::vector<uint64_t> targets;
  for (int i = 0; i < 4; i++) targets.push_back(lookup_path(*m, "/t" + std::to_string(i)));
  DirModel model;
  Stats stats;
  // 64 KiB blocks: up to 1500 names of 1..40 bytes, about what the block
  // holds, then a run up to 2500 (leaf form); 4 KiB blocks: up to 150 names,
  // leaf form from about 100 on, several times.
  if (dirblk == 65536) {
    run_model(*m, d, m->sb().rootino, targets, 9000, 1500, 40, 2024, &model, &stats);
    Stats more;
    run_model(*m, d, m->sb().rootino, targets, 12000, 2500, 40, 2025, &model, &more);
    CHECK(more.to_leaf >= 1);
    CHECK(more.from_leaf >= 1);
  } else {
    run_model(*m, d, m->sb().rootino, targets, 4000, 150, 40, 77, &model, &stats);
    CHECK(stats.to_leaf >= 2);
    CHECK(stats.from_leaf >= 2);
  }
  CHECK(stats.to_block >= 2);
  CHECK(stats.to_sf >= 2);
  CHECK(stats.enospc == 0);
  fix_links(*m, targets, model);
  unmount_and_repair_check(m, img.path);
  // What was written reads back the same through a fresh mount.
  auto ro = open_mount(img.path);
  check_model(*ro, d, ro->sb().rootino, model, true);
}

TEST_CASE("dir_write: 8-byte inode numbers convert short form both ways and survive block form", "[dir_write]") {
  if (!have_xfsprogs()) {
    WARN("SKIP: mkfs.xfs/xfs_db not installed (Debian package xfsprogs)");
    return;
  }
  // Three AGs of 2^28 - 1 blocks: AG 2's inodes are numbered from 2^32
  // (mkfs puts /b there, and /b/y with it).
  const uint64_t blocks = 3ull * ((1u << 28) - 1);
  ProtoImage img(
      "/dummy\n0 0\nd--755 0 0\na d--755 0 0\n$\nb d--755 0 0\ny ---644 0 0 /dev/null\n$\n"
      "t ---644 0 0 /dev/null\n$\n",
      65536, "-K -b size=4096 -d agcount=3,size=" + std::to_string(blocks) + "b -l size=64m",
      static_cast<long long>(blocks * 4096));
  auto m = open_rw(img.path);
  const uint64_t a = lookup_path(*m, "/a"), y = lookup_path(*m, "/b/y"), t = lookup_path(*m, "/t");
  REQUIRE(a <= 0xffffffffull);
  REQUIRE(y > 0xffffffffull);
  const std::vector<uint64_t> targets = {y, t};
  DirModel model;
  // One big entry converts the short form to 8-byte numbers, removing it
  // converts back.
  REQUIRE(dir_op(*m, a, [&](Transaction& tp, CachedInode* dp) { return dir_add(tp, dp, "small", t, kFtReg); }) == 0);
  REQUIRE(dir_op(*m, a, [&](Transaction& tp, CachedInode* dp) { return dir_add(tp, dp, "big", y, kFtReg); }) == 0);
  model = {{"small", {t, kFtReg}}, {"big", {y, kFtReg}}};
  auto i8count = [&] {
    InodeRef dp;
    REQUIRE(m->iget(a, &dp) == 0);
    REQUIRE(dp->core.format == ForkFormat::kLocal);
    return std::to_integer<int>(dp->fork_bytes(false)[1]);
  };
  CHECK(i8count() == 1);
  check_model(*m, a, m->sb().rootino, model, true);
  REQUIRE(dir_op(*m, a, [&](Transaction& tp, CachedInode* dp) { return dir_replace(tp, dp, "small", y, kFtReg); }) == 0);
  model["small"] = {y, kFtReg};
  CHECK(i8count() == 2);
  REQUIRE(dir_op(*m, a, [&](Transaction& tp, CachedInode* dp) { return dir_replace(tp, dp, "small", t, kFtReg); }) == 0);
  REQUIRE(dir_op(*m, a, [&](Transaction& tp, CachedInode* dp) { return dir_remove(tp, dp, "big"); }) == 0);
  model = {{"small", {t, kFtReg}}};
  CHECK(i8count() == 0);
  check_model(*m, a, m->sb().rootino, model, true);
  Stats stats;
  run_model(*m, a, m->sb().rootino, targets, 3000, 300, 20, 8, &model, &stats);
  CHECK(stats.to_block >= 2);
  CHECK(stats.to_sf >= 2);
  fix_links(*m, {t}, model);
  uint32_t ylinks = 1;
  for (const auto& [name, v] : model) ylinks += v.first == y;
  set_nlink(*m, y, ylinks);
  unmount_and_repair_check(m, img.path);
}

TEST_CASE("dir_write: a directory block in 16 pieces when free space is fragmented", "[dir_write]") {
  if (!have_xfsprogs()) {
    WARN("SKIP: mkfs.xfs/xfs_db not installed (Debian package xfsprogs)");
    return;
  }
  ProtoImage img(kProto, 65536);
  auto m = open_rw(img.path);
  const Superblock& sb = m->sb();
  const uint64_t d = lookup_path(*m, "/d");
  std::vector<uint64_t> targets;
  for (int i = 0; i < 4; i++) targets.push_back(lookup_path(*m, "/t" + std::to_string(i)));
  // Every free block of the directory's AG taken, every other block of its
  // first 2,000 given back, then every free block of the other AGs taken
  // (after the give-back, so that the blocks held back from reservations
  // can be had too): the longest free extent anywhere is one block.  With
  // 16 free blocks in one piece anywhere the directory block would go there
  // whole, as the kernel's first, contiguous try does.
  const uint32_t agno = ino_to_agno(sb, d);
  std::vector<std::pair<uint32_t, uint32_t>> taken;                    // in the directory's AG
  std::vector<std::tuple<uint32_t, uint32_t, uint32_t>> taken_others;  // (agno, agbno, len)
  auto fill = [&](uint32_t ag) {
    for (;;) {
      std::unique_ptr<Transaction> tp;
      REQUIRE(Transaction::begin(*m, &tp) == 0);
      // Near the end the filesystem's free count limits the reservation.
      uint32_t want = 4096;
      while (want > 1 && tp->reserve_blocks(want) == ENOSPC) want /= 2;
      if (want == 1 && tp->reserve_blocks(1) == ENOSPC) return;
      uint32_t bno, len;
      const int rc = alloc_extent(*tp, AllocRequest{ag, 0, 1, want, 1, false}, &bno, &len);
      if (rc == ENOSPC) return;
      REQUIRE(rc == 0);
      REQUIRE(tp->commit() == 0);
      if (ag == agno) taken.emplace_back(bno, len);
      else taken_others.emplace_back(ag, bno, len);
    }
  };
  fill(agno);
  std::set<uint32_t> given_back;
  {
    std::unique_ptr<Transaction> tp;
    REQUIRE(Transaction::begin(*m, &tp) == 0);
    for (const auto& [bno, len] : taken)
      for (uint32_t b = bno; b < bno + len && given_back.size() < 1000; b += 2) {
        REQUIRE(free_extent(*tp, agno, b, 1) == 0);
        given_back.insert(b);
      }
    REQUIRE(tp->commit() == 0);
  }
  for (uint32_t ag = 0; ag < sb.agcount; ag++)
    if (ag != agno) fill(ag);
  REQUIRE(given_back.size() == 1000);
  DirModel model;
  for (int i = 0; model.size() < 30; i++) {
    const std::string name = "a-name-long-enough-to-leave-short-form-" + std::to_string(i);
    REQUIRE(dir_op(*m, d, [&](Transaction& tp, CachedInode* dp) { return dir_add(tp, dp, name, targets[0], kFtReg); }) ==
            0);
    model[name] = {targets[0], kFtReg};
  }
  {
    InodeRef dp;
    REQUIRE(m->iget(d, &dp) == 0);
    REQUIRE(dp->core.format == ForkFormat::kExtents);
    CHECK(dp->df.extents.size() == 16);
    CHECK(dp->core.nextents == 16);
    CHECK(dp->core.nblocks == 16);
    bc::BufHandle h;
    REQUIRE(m->read_dablk(*dp, false, 0, &dir3_block_ops(), &h) == 0);
    CHECK(h.maps().size() == 16);
  }
  check_model(*m, d, sb.rootino, model, true);
  Stats stats;
  run_model(*m, d, sb.rootino, targets, 1500, 150, 30, 99, &model, &stats);
  CHECK(stats.to_sf >= 1);
  fix_links(*m, targets, model);
  // The rest back to free space.
  {
    std::unique_ptr<Transaction> tp;
    REQUIRE(Transaction::begin(*m, &tp) == 0);
    for (const auto& [ag, bno, len] : taken_others) REQUIRE(free_extent(*tp, ag, bno, len) == 0);
    for (const auto& [bno, len] : taken)
      for (uint32_t b = bno; b < bno + len;) {
        if (given_back.count(b)) {
          b++;
          continue;
        }
        uint32_t e = b;
        while (e < bno + len && !given_back.count(e)) e++;
        REQUIRE(free_extent(*tp, agno, b, e - b) == 0);
        b = e;
      }
    REQUIRE(tp->commit() == 0);
  }
  unmount_and_repair_check(m, img.path);
}

TEST_CASE("dir_write: '..' re-pointed in short and block form, dir_init and dir_is_empty", "[dir_write]") {
  if (!have_xfsprogs()) {
    WARN("SKIP: mkfs.xfs/xfs_db not installed (Debian package xfsprogs)");
    return;
  }
  ProtoImage img(kProto, 65536);
  auto m = open_rw(img.path);
  const uint64_t d = lookup_path(*m, "/d"), root = m->sb().rootino, t0 = lookup_path(*m, "/t0");
  bool empty = false;
  {
    InodeRef dp;
    REQUIRE(m->iget(d, &dp) == 0);
    REQUIRE(dir_is_empty(*m, *dp, &empty) == 0);
    CHECK(empty);
    InodeRef tp0;
    REQUIRE(m->iget(t0, &tp0) == 0);
    CHECK(dir_is_empty(*m, *tp0, &empty) == ENOTDIR);
  }
  DirModel model;
  for (int n : {1, 40}) {  // short form, then block form
    while (model.size() < static_cast<size_t>(n)) {
      const std::string name = "entry-with-a-long-name-" + std::to_string(model.size());
      REQUIRE(dir_op(*m, d, [&](Transaction& tp, CachedInode* dp) { return dir_add(tp, dp, name, t0, kFtReg); }) == 0);
      model[name] = {t0, kFtReg};
    }
    {
      InodeRef dp;
      REQUIRE(m->iget(d, &dp) == 0);
      CHECK((dp->core.format == ForkFormat::kLocal) == (n == 1));
      REQUIRE(dir_is_empty(*m, *dp, &empty) == 0);
      CHECK(!empty);
    }
    // ".." at t0's number and back: only lookups see it, the tree is whole again after.
    REQUIRE(dir_op(*m, d, [&](Transaction& tp, CachedInode* dp) { return dir_replace(tp, dp, "..", t0, kFtReg); }) == 0);
    check_model(*m, d, t0, model, true);
    REQUIRE(dir_op(*m, d, [&](Transaction& tp, CachedInode* dp) { return dir_replace(tp, dp, "..", root, kFtDir); }) == 0);
    check_model(*m, d, root, model, true);
  }
  // Emptied: back to short form, empty again.
  for (const auto& [name, v] : model)
    REQUIRE(dir_op(*m, d, [&](Transaction& tp, CachedInode* dp) { return dir_remove(tp, dp, name); }) == 0);
  model.clear();
  {
    InodeRef dp;
    REQUIRE(m->iget(d, &dp) == 0);
    CHECK(dp->core.format == ForkFormat::kLocal);
    CHECK(dp->core.size == 6);
    CHECK(dp->core.nblocks == 0);
    REQUIRE(dir_is_empty(*m, *dp, &empty) == 0);
    CHECK(empty);
  }
  // dir_init lays out the same empty short form (parent 4 bytes, no entries).
  REQUIRE(dir_op(*m, d, [&](Transaction& tp, CachedInode* dp) {
            dir_init(tp, dp, root);
            return 0;
          }) == 0);
  check_model(*m, d, root, model, true);
  // Names refused before anything changes.
  for (const std::string& bad : {std::string(""), std::string("."), std::string(".."), std::string("a/b"),
                                std::string(256, 'x')})
    CHECK(dir_op(*m, d, [&](Transaction& tp, CachedInode* dp) { return dir_add(tp, dp, bad, t0, kFtReg); }) == EINVAL);
  set_nlink(*m, t0, 1);
  unmount_and_repair_check(m, img.path);
}

}  // namespace xfsfuse::fs::test
