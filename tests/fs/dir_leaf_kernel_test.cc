// fs/dir_write's leaf form against the kernel (tests/fs/dir_kernel_test_util.h):
// a directory grown from short form through block form into leaf form with
// thousands of entries of names of 1 to 60 bytes, its leaf filled until the
// kernel would go to node form (stale entries squeezed out on the way),
// entries removed in patterns (every other one, every entry of a middle data
// block so it is freed, then of the last one so bests are trimmed) and
// re-added, then emptied back to block form and short form; after every
// stage both images hold the same directory byte for byte, and at the end
// xfs_repair -n (and xfsfuse-fsck -n, if built) find ours clean.  Directory blocks of 64 KiB and 4 KiB.
// Needs root and loop devices ("SKIP:" otherwise).
#include <set>

#include "fs/dir_internal.h"
#include "tests/fs/dir_kernel_test_util.h"

namespace xfsfuse::fs::test {
namespace {

struct LeafFixture {
  std::unique_ptr<Mount>& mp;  // ours (reopened by checkpoint())
  const std::string& ours_img;
  KernelSide& kernel;
  const std::vector<uint64_t>& targets;
  DirModel links;
  std::set<std::string> used;  // every name ever added (names are never reused)
  std::mt19937 rng;

  Mount& m() { return *mp; }
  uint32_t blksize() { return m().sb().blocksize << m().sb().dirblklog; }
  InodeRef dir() {
    InodeRef d;
    REQUIRE(resolve(m(), "/L", &d) == 0);
    return d;
  }
  std::vector<std::string> names() const {
    std::vector<std::string> v;
    for (const auto& [path, t] : links) v.push_back(path.substr(2));
    return v;
  }
  std::string fresh_name(size_t minlen, size_t maxlen) {
    std::string n;
    do n = name_of(rng, minlen, maxlen);
    while (!used.insert(n).second);
    return n;
  }
  Op add(size_t minlen, size_t maxlen) {
    return {kAdd, "L", fresh_name(minlen, maxlen), static_cast<int>(rng() % targets.size())};
  }
  // Runs ops on both sides (an add that would take the directory to node
  // form on neither: cancelled on ours) and compares.
  // Returns how many ran.
  size_t stage(const std::string& what, const std::vector<Op>& ops) {
    INFO(what);
    const std::vector<Op> done = run_ours(m(), ops, targets, &links, true, /*stay_leaf=*/true);
    kernel.run(done);
    compare_dir(m(), kernel.img, "L");
    check_leaf_order();
    return done.size();
  }
  // Our LEAF1 block's count and stale.
  std::pair<size_t, size_t> leaf_counts() {
    bc::BufHandle h;
    REQUIRE(m().read_dablk(*dir(), false, dir::geometry(m().sb()).leaf_dablk, &dir3_leaf_ops(), &h) == 0);
    return {bc::load_be(h.data() + 56, 2), bc::load_be(h.data() + 58, 2)};
  }
  // Runs ops on our side one at a time until the directory's format changes
  // (or they run out), then the same prefix on the kernel, and compares.
  // Returns how many ran.
  size_t stage_until_form_change(const std::string& what, const std::vector<Op>& ops) {
    INFO(what);
    dir::Form before, now;
    REQUIRE(dir::dir_form(m(), *dir(), &before) == 0);
    std::vector<Op> done;
    for (const Op& op : ops) {
      const std::vector<Op> one = run_ours(m(), {op}, targets, &links, true, true);
      done.insert(done.end(), one.begin(), one.end());
      REQUIRE(dir::dir_form(m(), *dir(), &now) == 0);
      if (now != before) break;
    }
    kernel.run(done);
    compare_dir(m(), kernel.img, "L");
    check_leaf_order();
    return done.size();
  }
  dir::Form form() {
    dir::Form f;
    REQUIRE(dir::dir_form(m(), *dir(), &f) == 0);
    return f;
  }
  // Our LEAF1 block: hashes in order, one live entry per name (and "." "..").
  void check_leaf_order() {
    if (form() != dir::Form::kLeaf) return;
    InodeRef d = dir();
    bc::BufHandle h;
    REQUIRE(m().read_dablk(*d, false, dir::geometry(m().sb()).leaf_dablk, &dir3_leaf_ops(), &h) == 0);
    const size_t count = bc::load_be(h.data() + 56, 2), stale = bc::load_be(h.data() + 58, 2);
    size_t live = 0;
    uint32_t prev = 0;
    for (size_t i = 0; i < count; i++) {
      const uint32_t hash = static_cast<uint32_t>(bc::load_be(h.data() + 64 + 8 * i, 4));
      REQUIRE(hash >= prev);
      prev = hash;
      live += bc::load_be(h.data() + 68 + 8 * i, 4) != 0;
    }
    REQUIRE(live == count - stale);
    REQUIRE(live == links.size() + 2);
  }
  // The names whose entries sit in data block db of our directory.
  std::vector<std::string> names_in_block(uint64_t db) {
    InodeRef d = dir();
    int err;
    std::vector<std::string> v;
    for (const Got& g : iterate(m(), *d, 0, SIZE_MAX, &err))
      if (g.name != "." && g.name != ".." && (g.next * 8 - dir::entsize(g.name.size())) / blksize() == db)
        v.push_back(g.name);
    REQUIRE(err == 0);
    return v;
  }
  std::vector<uint64_t> data_blocks() {
    std::vector<uint64_t> v;
    const uint32_t per = 1u << m().sb().dirblklog;
    for (uint64_t dablk : dir_dablks(m(), *dir()))
      if (dablk < dir::geometry(m().sb()).leaf_dablk) v.push_back(dablk / per);
    return v;
  }
  // Our image written out and checked (xfs_repair -n, xfsfuse-fsck -n, the
  // directory's inode as xfs_db prints it against the kernel's: core format,
  // size, nblocks and the fork offsets mapped), then mounted again.
  void checkpoint(const std::string& what) {
    INFO(what);
    const uint64_t ino = dir()->core.ino;
    for (uint64_t t : targets) {
      uint32_t n = 1;
      for (const auto& [name, v] : links) n += v.first == t;
      set_nlink(m(), t, n);
    }
    unmount_and_repair_check(mp, ours_img);
    fsck_check(ours_img);
    const std::string ours = db_inode_summary(ours_img, ino);
    CHECK(ours.find("core.nblocks = ") != std::string::npos);
    CHECK(ours.find("mapped 0+") != std::string::npos);
    CHECK(ours == db_inode_summary(kernel.img, ino));
    mp = open_rw(ours_img);
  }
  std::vector<Op> removals(const std::vector<std::string>& names) {
    std::vector<Op> ops;
    for (const std::string& n : names) ops.push_back({kRemove, "L", n, 0});
    return ops;
  }
};

}  // namespace

TEST_CASE("dir_write: the kernel lays out the same leaf-form directories", "[dir_write][kernel]") {
  if (!have_xfsprogs()) {
    WARN("SKIP: mkfs.xfs/xfs_db not installed (Debian package xfsprogs)");
    return;
  }
  const unsigned dirblk = GENERATE(65536u, 4096u);
  INFO("directory blocks of " << dirblk << " bytes");
  ProtoImage img(
      "/dummy\n0 0\nd--755 0 0\nL d--755 0 0\n$\n"
      "p d--755 0 0\np0 ---644 0 0 /dev/null\np1 ---644 0 0 /dev/null\np2 ---644 0 0 /dev/null\n$\n$\n",
      dirblk);
  std::string why;
  if (!can_loop_mount(img.path, &why)) {
    WARN("SKIP: " << why);
    return;
  }
  KernelSide kernel(img.path);
  kernel.targets = {"p/p0", "p/p1", "p/p2"};
  std::string ours_img;
  std::vector<uint64_t> targets;
  auto m = open_ours(img.path, kernel, &ours_img, &targets);
  LeafFixture f{m, ours_img, kernel, targets, {}, {}, std::mt19937(dirblk)};
  const bool big = dirblk == 65536;
  std::vector<Op> ops;

  // Short form -> block form -> leaf form, each conversion compared.
  for (int i = 0; i < 3000; i++) ops.push_back(f.add(1, 40));
  size_t n = f.stage_until_form_change("short form to block form", ops);
  ops.erase(ops.begin(), ops.begin() + static_cast<long>(n));
  REQUIRE(f.form() == dir::Form::kBlock);
  n = f.stage_until_form_change("block form to leaf form", ops);
  ops.erase(ops.begin(), ops.begin() + static_cast<long>(n));
  REQUIRE(f.form() == dir::Form::kLeaf);
  // Thousands of entries (4 KiB blocks: a few hundred, what one LEAF1 holds).
  if (!big) ops.resize(std::min<size_t>(ops.size(), 150));
  for (int i = 0; i < (big ? 3000 : 100); i++) ops.push_back(f.add(1, 60));
  f.stage("leaf form: many data blocks", ops);
  REQUIRE(f.form() == dir::Form::kLeaf);
  REQUIRE(f.data_blocks().size() >= 3);
  f.checkpoint("on disk in leaf form");
  {
    ops.clear();
    const std::vector<std::string> names = f.names();
    for (size_t i = 0; i < names.size(); i += 37) {
      const int t = static_cast<int>(std::find(targets.begin(), targets.end(), f.links.at("L/" + names[i]).first) -
                                     targets.begin());
      ops.push_back({kReplace, "L", names[i], (t + 1) % 3});
    }
    f.stage("replaces", ops);
  }
  {
    std::vector<std::string> every_other;
    const std::vector<std::string> names = f.names();
    for (size_t i = 0; i < names.size(); i += 2) every_other.push_back(names[i]);
    std::shuffle(every_other.begin(), every_other.end(), f.rng);
    f.stage("every other entry removed: stale leaf entries, holes", f.removals(every_other));
  }
  ops.clear();
  for (int i = 0; i < (big ? 800 : 40); i++) ops.push_back(f.add(1, 30));
  f.stage("stale leaf entries reused", ops);

  // A middle data block emptied (freed: its best becomes 0xffff), refilled
  // (the new block goes into the hole), then the last one emptied (bests
  // trimmed).
  {
    std::vector<uint64_t> dbs = f.data_blocks();
    REQUIRE(dbs.size() >= 3);
    f.stage("a middle data block emptied", f.removals(f.names_in_block(1)));
    dbs = f.data_blocks();
    CHECK(std::find(dbs.begin(), dbs.end(), 1) == dbs.end());
    ops.clear();
    for (int i = 0; i < (big ? 3000 : 150); i++) ops.push_back(f.add(40, 60));
    f.stage("data blocks filled again, the hole too", ops);
    dbs = f.data_blocks();
    CHECK(std::find(dbs.begin(), dbs.end(), 1) != dbs.end());
    const uint64_t last = dbs.back();
    f.stage("the last data block emptied", f.removals(f.names_in_block(last)));
    dbs = f.data_blocks();
    REQUIRE(dbs.back() < last);
    // Two blocks below the last emptied: the last one's removal trims both.
    REQUIRE(dbs.size() >= 4);
    {
      const uint64_t mid = dbs[dbs.size() - 2], top = dbs.back();
      f.stage("the block below the last emptied", f.removals(f.names_in_block(mid)));
      f.stage("the last emptied: bests trimmed past the missing block", f.removals(f.names_in_block(top)));
      dbs = f.data_blocks();
      REQUIRE(dbs.back() < mid);
    }
    f.checkpoint("on disk after data blocks were freed");
  }

  // The LEAF1 block filled: stale entries squeezed out when a new data block
  // needs a best, up to where the kernel goes to node form (such adds left out here).
  {
    std::vector<std::string> names = f.names();
    std::shuffle(names.begin(), names.end(), f.rng);
    names.resize(names.size() / 3);
    f.stage("a third removed", f.removals(names));
    const size_t capacity = (dirblk - 64 - 4) / 8;
    ops.clear();
    for (size_t i = 0; i < capacity; i++) ops.push_back(f.add(30, 60));
    CHECK(f.stage("the leaf filled to node form's threshold", ops) < ops.size());
    CHECK(f.leaf_counts().second <= 1);
    // Every other entry out, in data-block order (many stale entries, holes
    // too small for what comes), then names of 200 bytes and more in: once
    // the data blocks are full, a new one needs a best and the full leaf
    // squeezes its stale entries out (its count drops).
    const size_t count_full = f.leaf_counts().first;
    std::vector<std::string> alternate;
    for (uint64_t db : f.data_blocks()) {
      const std::vector<std::string> in = f.names_in_block(db);
      for (size_t i = 0; i < in.size(); i += 2) alternate.push_back(in[i]);
    }
    f.stage("every other entry removed from the full leaf", f.removals(alternate));
    for (int round = 0; round < 40 && f.leaf_counts().first == count_full; round++) {
      ops.clear();
      for (int i = 0; i < (big ? 100 : 8); i++) ops.push_back(f.add(200, 255));
      f.stage("long names added until stale leaf entries are squeezed out", ops);
    }
    CHECK(f.leaf_counts().first < count_full);
    f.checkpoint("on disk with a full leaf");
  }

  // Emptied back to block form (the other data blocks first, then data block
  // 0 from its end, so that its last free region soon holds the leaf), then
  // short form.  Removed in random order, a leaf-form directory tends to go
  // to short form in one step (checked too: by the last stage's first op).
  {
    std::vector<std::string> names, zero = f.names_in_block(0);
    for (const std::string& nm : f.names())
      if (std::find(zero.begin(), zero.end(), nm) == zero.end()) names.push_back(nm);
    std::shuffle(names.begin(), names.end(), f.rng);
    names.insert(names.end(), zero.rbegin(), zero.rend());
    ops = f.removals(names);
    n = f.stage_until_form_change("removals back to block form", ops);
    ops.erase(ops.begin(), ops.begin() + static_cast<long>(n));
    REQUIRE(f.form() == dir::Form::kBlock);
    n = f.stage_until_form_change("removals back to short form", ops);
    ops.erase(ops.begin(), ops.begin() + static_cast<long>(n));
    REQUIRE(f.form() == dir::Form::kShort);
    f.stage("the rest removed", ops);
  }
  // Leaf form straight back to short form: a few long names in leaf form
  // (4 KiB blocks), or a leaf form whose data block 0 keeps few entries.
  {
    ops.clear();
    for (int i = 0; i < (big ? 2500 : 120); i++) ops.push_back(f.add(20, 60));
    f.stage("leaf form again", ops);
    REQUIRE(f.form() == dir::Form::kLeaf);
    std::vector<std::string> names = f.names();
    std::shuffle(names.begin(), names.end(), f.rng);
    ops = f.removals(names);
    n = f.stage_until_form_change("random removals out of leaf form", ops);
    ops.erase(ops.begin(), ops.begin() + static_cast<long>(n));
    f.stage("the rest removed again", ops);
    REQUIRE(f.form() == dir::Form::kShort);
  }
  for (uint64_t t : targets) {
    uint32_t links_to = 1;
    for (const auto& [name, v] : f.links) links_to += v.first == t;
    set_nlink(*m, t, links_to);
  }
  unmount_and_repair_check(m, ours_img);
  fsck_check(ours_img);
  unlink(ours_img.c_str());
}

}  // namespace xfsfuse::fs::test
