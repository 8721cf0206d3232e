// fs/attr_check.h, the attr fork checks xfsfuse-fsck runs (tools/fsck/attr_check.cc):
// short-form forks and leaf blocks built here byte by byte, each check met
// once; and every inode of the kernel image (attrs of every format, made by
// the kernel) passing clean.  The whole fsck against xfs_repair -n on
// corrupted attr forks is tests/fsck/corpus.sh's (attr.* and trash.attr*).
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "fs/attr_check.h"
#include "fs/dir.h"
#include "fs/mount.h"
#include "tests/fs/dir_test_util.h"
#include "tests/fsck/fsck_test_util.h"

namespace xfsfuse::fs {
namespace {

void put_be(std::vector<std::byte>* b, size_t off, uint64_t v, unsigned n) {
  for (unsigned i = 0; i < n; i++) (*b)[off + i] = static_cast<std::byte>(v >> (8 * (n - 1 - i)));
}

// A short-form attr fork of fork_size bytes (room enough for the entries):
// (namespace flags, name, value) entries.
struct SfEntry {
  uint8_t flags;
  std::string name, value;
};
std::vector<std::byte> sf_fork(const std::vector<SfEntry>& ents, size_t fork_size = 100) {
  std::vector<std::byte> b(fork_size);
  size_t off = 4;
  for (const SfEntry& e : ents) {
    b[off] = static_cast<std::byte>(e.name.size());
    b[off + 1] = static_cast<std::byte>(e.value.size());
    b[off + 2] = static_cast<std::byte>(e.flags);
    std::memcpy(b.data() + off + 3, e.name.data(), e.name.size());
    std::memcpy(b.data() + off + 3 + e.name.size(), e.value.data(), e.value.size());
    off += 3 + e.name.size() + e.value.size();
  }
  put_be(&b, 0, off, 2);
  b[2] = static_cast<std::byte>(ents.size());
  return b;
}

// A 4096-byte attr leaf block holding local attrs "alpha" (value 5 bytes),
// "beta" (12 bytes) and a remote "gamma" of 5000 bytes at attr block 1, as
// the kernel lays one out: entries in hash order, records packed at the end
// (a remote record takes 11 + namelen bytes rounded to 4), freemap[0] the
// gap between them.
std::vector<std::byte> leaf_block() {
  struct Rec {
    std::string name;
    uint32_t valuelen;
    bool remote;
  };
  std::vector<Rec> recs = {{"alpha", 5, false}, {"beta", 12, false}, {"gamma", 5000, true}};
  std::sort(recs.begin(), recs.end(), [](const Rec& a, const Rec& b) { return da_hashname(a.name) < da_hashname(b.name); });
  std::vector<std::byte> b(4096);
  put_be(&b, 8, 0x3bee, 2);
  size_t firstused = b.size(), used = 0;
  for (size_t i = 0; i < recs.size(); i++) {
    const Rec& r = recs[i];
    const size_t size = r.remote ? (11 + r.name.size() + 3) & ~size_t{3} : (3 + r.name.size() + r.valuelen + 3) & ~size_t{3};
    firstused -= size;
    used += size;
    const size_t e = 80 + 8 * i;
    put_be(&b, e, da_hashname(r.name), 4);
    put_be(&b, e + 4, firstused, 2);
    b[e + 6] = static_cast<std::byte>(r.remote ? 0 : 1);
    if (r.remote) {
      put_be(&b, firstused, 1, 4);
      put_be(&b, firstused + 4, r.valuelen, 4);
      b[firstused + 8] = static_cast<std::byte>(r.name.size());
      std::memcpy(b.data() + firstused + 9, r.name.data(), r.name.size());
    } else {
      put_be(&b, firstused, r.valuelen, 2);
      b[firstused + 2] = static_cast<std::byte>(r.name.size());
      std::memcpy(b.data() + firstused + 3, r.name.data(), r.name.size());
    }
  }
  put_be(&b, 56, recs.size(), 2);
  put_be(&b, 58, used, 2);
  put_be(&b, 60, firstused, 2);
  const size_t base = 80 + 8 * recs.size();
  put_be(&b, 64, base, 2);
  put_be(&b, 66, firstused - base, 2);
  return b;
}

// The faults of one leaf block check with a fork of fork_blocks blocks.
std::vector<AttrFault> leaf_faults(const std::vector<std::byte>& b, uint64_t fork_blocks = 3) {
  std::vector<AttrFault> f;
  attr_leaf_block_check(b, fork_blocks, &f);
  return f;
}

}  // namespace

TEST_CASE("attr check: short form", "[fsck][attr]") {
  std::vector<AttrFault> f;
  SECTION("distinct names, and one name in two namespaces, are sound") {
    attr_sf_check(sf_fork({{0, "a", "1"}, {0, "b", "22"}, {2, "a", ""}, {4, "a", "x"}}), 7, &f);
    CHECK(f.empty());
  }
  SECTION("a name twice in one namespace: a finding xfs_repair -n does not count") {
    attr_sf_check(sf_fork({{2, "same", "1"}, {0, "other", ""}, {2, "same", "2"}}), 7, &f);
    REQUIRE(f.size() == 1);
    CHECK(f[0].daddr == 7);
    CHECK(f[0].repair_silent);
    CHECK(f[0].why.find("entry 2 repeats the name \"same\"") != std::string::npos);
  }
  SECTION("totsize past the fork") {
    auto b = sf_fork({{0, "a", "1"}});  // totsize 9
    b.resize(8);
    attr_sf_check(b, 7, &f);
    REQUIRE(f.size() == 1);
    CHECK_FALSE(f[0].repair_silent);
    CHECK(f[0].why.find("totsize") != std::string::npos);
  }
  SECTION("an entry running past totsize") {
    auto b = sf_fork({{0, "a", "1"}, {0, "b", "2"}});
    b[4 + 4 + 1] = std::byte{9};  // the second entry's valuelen
    attr_sf_check(b, 7, &f);
    REQUIRE(f.size() == 1);
    CHECK(f[0].why.find("runs past totsize") != std::string::npos);
  }
}

TEST_CASE("attr check: leaf block", "[fsck][attr]") {
  const std::vector<std::byte> good = leaf_block();
  REQUIRE(leaf_faults(good).empty());
  auto b = good;
  const auto one = [](const std::vector<AttrFault>& f, const char* what, bool silent = false) {
    INFO(what);
    REQUIRE(f.size() == 1);
    INFO(f[0].why);
    CHECK(f[0].why.find(what) != std::string::npos);
    CHECK(f[0].repair_silent == silent);
  };
  SECTION("a hashval that is not the name's hash (order kept)") {
    put_be(&b, 80, 0, 4);
    one(leaf_faults(b), "but its name hashes to");
  }
  SECTION("usedbytes") {
    put_be(&b, 58, 8, 2);
    one(leaf_faults(b), "usedbytes 8 but the entries' records take");
  }
  SECTION("freemap outside the block, and unaligned") {
    put_be(&b, 66, 4096, 2);
    one(leaf_faults(b), "freemap[0]");
    b = good;
    put_be(&b, 70, 2, 2);
    one(leaf_faults(b), "freemap[1] (base 0, size 2)");
  }
  SECTION("a remote value past the fork, at block 0, and empty") {
    one(leaf_faults(b, 2), "inside the fork's 2 blocks");
    for (size_t i = 0; i < 3; i++) {
      const size_t idx = static_cast<size_t>(std::to_integer<uint8_t>(b[80 + 8 * i + 4])) << 8 |
                         std::to_integer<uint8_t>(b[80 + 8 * i + 5]);
      if (std::to_integer<uint8_t>(b[80 + 8 * i + 6]) != 0) continue;  // local
      put_be(&b, idx, 0, 4);
      one(leaf_faults(b), "at attr block 0, not 1..65536 bytes");
      b = good;
      put_be(&b, idx + 4, 0, 4);
      one(leaf_faults(b), "has an empty remote value", true);
    }
  }
  SECTION("an entry table the reader refuses: one finding, nothing more") {
    put_be(&b, 56, 600, 2);
    one(leaf_faults(b), "count 600");
  }
}

TEST_CASE("attr check: every attr fork of the kernel image is sound", "[fsck][attr]") {
  const std::string& img = test::image("kernel");
  if (img.empty()) {
    WARN("no kernel image");
    return;
  }
  auto m = test::open_mount(img);
  size_t forks = 0;
  for (uint64_t ino : fsck::test::tree_inodes(img)) {
    InodeRef ip;
    REQUIRE(m->iget(ino, &ip) == 0);
    std::vector<AttrFault> f;
    REQUIRE(attr_deep_check(*m, *ip, &f) == 0);
    forks += ip->has_attr_fork();
    std::string text;
    for (const AttrFault& x : f) text += x.why + "\n";
    INFO("inode " << ino << ":\n" << text);
    CHECK(f.empty());
  }
  CHECK(forks > 0);
}

}  // namespace xfsfuse::fs
