// fs/attr against the kernel image's xattrs (images/README.md: short form,
// leaf, node, remote values, hash collisions, every namespace), as listed
// with their SHA-1s in kernel.img.xattrs, and against corrupted copies.
#include "fs/attr.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstddef>
#include <map>
#include <sstream>

#include "fs/bmap.h"
#include "fs/format/attr.h"
#include "fs/format/endian.h"
#include "fs/format/inode.h"
#include "tests/fs/attr_test_util.h"

using namespace xfsfuse;
using namespace xfsfuse::fs;
using namespace xfsfuse::fs::attrtest;

namespace {

constexpr size_t kInodeCrcOff = offsetof(xd_dinode, di_crc);
constexpr size_t kDaCrcOff = offsetof(xd_da3_blkinfo, crc);
constexpr size_t kRmtCrcOff = offsetof(xd_attr3_rmt_hdr, rm_crc);
constexpr size_t kLeafEntries = sizeof(xd_attr3_leaf_hdr);  // entry i at kLeafEntries + 8 * i

struct Expected {
  std::string name;
  size_t length;
  std::string sha1;
};

// kernel.img.xattrs: path -> its attrs.
std::map<std::string, std::vector<Expected>> expected_xattrs(const Image& img) {
  std::map<std::string, std::vector<Expected>> by_path;
  for (const auto& f : read_tsv(img.xattrs())) by_path[f.at(0)].push_back({f.at(1), std::stoul(f.at(2)), f.at(3)});
  return by_path;
}

// SHA-1 (hex) of each value, by one sha1sum run.
std::vector<std::string> sha1s(const std::vector<std::vector<std::byte>>& values) {
  const std::string dir = temp_dir();
  std::string cmd = "sha1sum";
  for (size_t i = 0; i < values.size(); i++) {
    const std::string f = dir + "/" + std::to_string(i);
    std::ofstream(f, std::ios::binary).write(reinterpret_cast<const char*>(values[i].data()),
                                             static_cast<std::streamsize>(values[i].size()));
    cmd += " " + f;
  }
  std::istringstream out(run(cmd));
  std::vector<std::string> sums;
  std::string line;
  while (std::getline(out, line)) sums.push_back(line.substr(0, 40));
  REQUIRE(system(("rm -rf " + dir).c_str()) == 0);
  return sums;
}

std::vector<std::string> list_names(Mount& m, const CachedInode& ip, int* rc) {
  std::vector<std::string> names;
  *rc = attr_list(m, ip, [&](std::string_view n) { names.emplace_back(n); });
  return names;
}

// The outcome of one call on a fresh mount: errno and corruption lines logged.
struct Outcome {
  int rc = 0;
  size_t lines = 0;
  std::string log;
};

Outcome get_fresh(const std::string& img, uint64_t ino, const std::string& name, std::vector<std::byte>* value) {
  auto m = open_image(img);
  InodeRef ip = iget_ok(*m, ino);
  bc::test::StderrCapture cap;
  Outcome o;
  o.rc = attr_get(*m, *ip, name, value);
  o.log = cap.text();
  o.lines = corruption_lines(o.log);
  return o;
}

Outcome list_fresh(const std::string& img, uint64_t ino) {
  auto m = open_image(img);
  InodeRef ip = iget_ok(*m, ino);
  bc::test::StderrCapture cap;
  Outcome o;
  list_names(*m, *ip, &o.rc);
  o.log = cap.text();
  o.lines = corruption_lines(o.log);
  return o;
}

#define SKIP_WITHOUT_KERNEL_IMAGE(img)              \
  if (!(img).skip.empty()) {                        \
    WARN("SKIP: no kernel image: " + (img).skip);   \
    return;                                         \
  }

}  // namespace

TEST_CASE("attr: every xattr of the kernel image lists and reads back exactly", "[fs][attr]") {
  const Image& img = kernel_image();
  SKIP_WITHOUT_KERNEL_IMAGE(img);
  const auto want = expected_xattrs(img);
  std::vector<std::string> paths;
  for (const auto& [path, attrs] : want) paths.push_back(path);
  const auto inos = inode_numbers(img.path, paths);
  auto m = open_image(img.path);
  std::vector<std::vector<std::byte>> values;
  std::vector<std::string> sums;
  std::vector<std::string> what;
  for (size_t i = 0; i < paths.size(); i++) {
    INFO(paths[i]);
    InodeRef ip = iget_ok(*m, inos[i]);
    int rc;
    auto listed = list_names(*m, *ip, &rc);
    REQUIRE(rc == 0);
    std::sort(listed.begin(), listed.end());
    std::vector<std::string> names;
    for (const Expected& e : want.at(paths[i])) names.push_back(e.name);
    CHECK(listed == names);
    for (const Expected& e : want.at(paths[i])) {
      INFO(e.name);
      std::vector<std::byte> v{std::byte{0x55}};
      REQUIRE(attr_get(*m, *ip, e.name, &v) == 0);
      CHECK(v.size() == e.length);
      values.push_back(std::move(v));
      sums.push_back(e.sha1);
      what.push_back(paths[i] + " " + e.name);
    }
  }
  const auto got = sha1s(values);
  REQUIRE(got.size() == sums.size());
  for (size_t i = 0; i < sums.size(); i++) {
    INFO(what[i]);
    CHECK(got[i] == sums[i]);
  }
}

TEST_CASE("attr: the kernel image holds every attr format", "[fs][attr]") {
  const Image& img = kernel_image();
  SKIP_WITHOUT_KERNEL_IMAGE(img);
  const auto inos = inode_numbers(img.path, {"/xattr/shortform", "/xattr/leaf", "/xattr/node", "/xattr/remote"});
  auto m = open_image(img.path);
  CHECK(static_cast<ForkFormat>(iget_ok(*m, inos[0])->core.aformat) == ForkFormat::kLocal);
  {
    // Raw magics of attr fork block 0, read unverified, so on a mount of their own.
    auto raw = open_image(img.path);
    const uint16_t magics[] = {kAttr3LeafMagic, kDa3NodeMagic, kAttr3LeafMagic};
    for (int i = 0; i < 3; i++) {
      InodeRef ip = iget_ok(*raw, inos[i + 1]);
      bc::BufHandle h;
      REQUIRE(raw->read_dablk(*ip, true, 0, nullptr, &h) == 0);
      CHECK(bc::load_be(h.data() + 8, 2) == magics[i]);
    }
  }
  std::vector<std::byte> v;
  REQUIRE(attr_get(*m, *iget_ok(*m, inos[3]), "trusted.remote-65536", &v) == 0);
  CHECK(v.size() == 65536);
}

TEST_CASE("attr: absent names are ENODATA, other prefixes EOPNOTSUPP", "[fs][attr]") {
  const Image& img = kernel_image();
  SKIP_WITHOUT_KERNEL_IMAGE(img);
  const auto want = expected_xattrs(img);
  std::vector<std::string> paths;
  for (const auto& [path, attrs] : want) paths.push_back(path);
  const std::vector<std::string> bare = {"/", "/files/sparse", "/symlinks/remote-337"};
  for (const std::string& p : bare) REQUIRE(want.count(p) == 0);
  paths.insert(paths.end(), bare.begin(), bare.end());
  const auto inos = inode_numbers(img.path, paths);
  auto m = open_image(img.path);
  std::vector<std::byte> v;
  for (size_t i = 0; i < paths.size(); i++) {
    INFO(paths[i]);
    InodeRef ip = iget_ok(*m, inos[i]);
    CHECK(attr_get(*m, *ip, "user.no-such-attr", &v) == ENODATA);
    CHECK(attr_get(*m, *ip, "trusted.no-such-attr", &v) == ENODATA);
    for (const char* name : {"system.posix_acl_access", "os2.x", "userx", "", "USER.a"})
      CHECK(attr_get(*m, *ip, name, &v) == EOPNOTSUPP);
    CHECK(attr_get(*m, *ip, "user.", &v) == EINVAL);
    CHECK(attr_get(*m, *ip, "user." + std::string(251, 'n'), &v) == ERANGE);
    if (i >= want.size()) {
      int rc;
      CHECK(list_names(*m, *ip, &rc).empty());
      CHECK(rc == 0);
    }
  }
  // Same name, other namespace; same hash (user.same / trusted.same), third namespace.
  const auto ino = [&](const std::string& p) { return inos[std::find(paths.begin(), paths.end(), p) - paths.begin()]; };
  InodeRef sf = iget_ok(*m, ino("/xattr/shortform"));
  CHECK(attr_get(*m, *sf, "trusted.a", &v) == ENODATA);
  CHECK(attr_get(*m, *sf, "user.t", &v) == ENODATA);
  InodeRef collide = iget_ok(*m, ino("/xattr/collide"));
  CHECK(attr_get(*m, *collide, "security.same", &v) == ENODATA);
  CHECK(attr_get(*m, *collide, "user.hcxabbbbbbbc", &v) == ENODATA);
  InodeRef node = iget_ok(*m, ino("/xattr/node"));
  CHECK(attr_get(*m, *node, "security.no-such-attr", &v) == ENODATA);
}

TEST_CASE("attr: a remote value split over two extents reads back, and a hole under it is EUCLEAN", "[fs][attr]") {
  const Image& img = kernel_image();
  SKIP_WITHOUT_KERNEL_IMAGE(img);
  const auto want = expected_xattrs(img).at("/xattr/remote");
  const auto locs = db_locate(img.path, {"path /xattr/remote"});
  const uint64_t ino = locs[0].ino, inode_off = locs[0].offset, isize = locs[0].length;
  ScratchCopy c(img.path);
  Superblock sb;
  InodeRef ip;
  {
    auto m = open_image(c.path);
    sb = m->sb();
    ip = iget_ok(*m, ino);
  }
  REQUIRE(ip->af.extents.size() == 1);
  const Extent old = ip->af.extents[0];
  REQUIRE(old.blockcount == 22);  // leaf, 12,345 bytes in blocks 1..4, 65,536 bytes in 5..21
  // A free run of 12 blocks in the last AG (xfs_db freesp -d: "agno agbno len").
  uint64_t target = 0;
  std::istringstream free_out(run("xfs_db -r -c 'freesp -d -a " + std::to_string(sb.agcount - 1) + "' " + c.path));
  std::string line;
  while (std::getline(free_out, line)) {
    unsigned long long agno, agbno, len;
    if (std::sscanf(line.c_str(), "%llu %llu %llu", &agno, &agbno, &len) == 3 && len >= 12) {
      target = agno << sb.agblklog | agbno;
      break;
    }
  }
  REQUIRE(target != 0);
  // Blocks 10..21 move to target: their blkno follows, the CRC is refreshed.
  for (uint64_t k = 10; k < 22; k++) {
    auto b = c.read(fsblock_to_daddr(sb, old.startblock + k) * 512, sb.blocksize);
    const uint64_t daddr = fsblock_to_daddr(sb, target + k - 10);
    put_be(b, offsetof(xd_attr3_rmt_hdr, rm_blkno), daddr, 8);
    bc::xfs_cksum_update(b, kRmtCrcOff);
    c.write(daddr * 512, b);
  }
  const size_t fork = sizeof(xd_dinode) + ip->core.forkoff * 8u;
  auto set_extents = [&](std::vector<Extent> ext) {
    c.edit(inode_off, isize, kInodeCrcOff, [&](std::vector<std::byte>& b) {
      for (size_t i = 0; i < ext.size(); i++) {
        const xd_bmbt_rec r = encode_bmbt_rec(ext[i]);
        std::memcpy(b.data() + fork + i * sizeof r, &r, sizeof r);
      }
      put_be(b, offsetof(xd_dinode, di_anextents), ext.size(), 2);
    });
  };
  set_extents({{0, old.startblock, 10, false}, {10, target, 12, false}});
  {
    auto m = open_image(c.path);
    InodeRef moved = iget_ok(*m, ino);
    REQUIRE(moved->af.extents.size() == 2);
    std::vector<std::vector<std::byte>> values;
    std::vector<std::string> sums;
    for (const Expected& e : want) {
      INFO(e.name);
      std::vector<std::byte> v;
      REQUIRE(attr_get(*m, *moved, e.name, &v) == 0);
      values.push_back(v);
      sums.push_back(e.sha1);
    }
    CHECK(sha1s(values) == sums);
  }
  set_extents({{0, old.startblock, 10, false}});
  std::vector<std::byte> v;
  Outcome o = get_fresh(c.path, ino, "trusted.remote-65536", &v);
  CHECK(o.rc == EUCLEAN);
  CHECK(o.lines == 1);
  CHECK(o.log.find("hole") != std::string::npos);
  CHECK(get_fresh(c.path, ino, "user.remote-12345", &v).rc == 0);
  CHECK(v.size() == 12345);
}

TEST_CASE("attr: corrupt leaf, node, remote and short-form attrs are EUCLEAN, other inodes keep working",
          "[fs][attr]") {
  const Image& img = kernel_image();
  SKIP_WITHOUT_KERNEL_IMAGE(img);
  const auto locs = db_locate(img.path, {"path /xattr/leaf", "ablock 0", "path /xattr/node", "ablock 0",
                                         "path /xattr/remote", "ablock 1", "path /xattr/shortform"});
  const uint64_t leaf_ino = locs[0].ino, leaf_blk = locs[1].offset;
  const uint64_t node_ino = locs[2].ino, node_blk = locs[3].offset;
  const uint64_t rmt_ino = locs[4].ino, rmt_blk = locs[5].offset;
  const uint64_t sf_ino = locs[6].ino, sf_inode = locs[6].offset, isize = locs[6].length;
  const size_t bs = locs[1].length;
  std::vector<std::byte> v;
  // Other inodes still read after each corruption.
  auto others_work = [&](const std::string& copy, uint64_t broken) {
    auto m = open_image(copy);
    for (auto [ino, name] : {std::pair{leaf_ino, "user.leaf-07"}, std::pair{node_ino, "user.node-attribute-0123"},
                             std::pair{rmt_ino, "user.small"}, std::pair{sf_ino, "user.bb"}}) {
      if (ino == broken) continue;
      INFO(name);
      CHECK(attr_get(*m, *iget_ok(*m, ino), name, &v) == 0);
    }
  };
  auto broken_both = [&](const std::string& copy, uint64_t ino, const std::string& name, const std::string& why) {
    Outcome g = get_fresh(copy, ino, name, &v);
    CHECK(g.rc == EUCLEAN);
    CHECK(g.lines == 1);
    CHECK(g.log.find(why) != std::string::npos);
    Outcome l = list_fresh(copy, ino);
    CHECK(l.rc == EUCLEAN);
    CHECK(l.lines == 1);
    others_work(copy, ino);
  };

  SECTION("leaf: a flipped name byte fails the CRC") {
    ScratchCopy c(img.path);
    c.flip(leaf_blk + bs - 20);
    broken_both(c.path, leaf_ino, "user.leaf-07", "CRC");
  }
  SECTION("leaf: hashes out of order") {
    ScratchCopy c(img.path);
    c.edit(leaf_blk, bs, kDaCrcOff, [](std::vector<std::byte>& b) { put_be(b, kLeafEntries + 8, 0, 4); });
    broken_both(c.path, leaf_ino, "user.leaf-07", "is below the one before it");
  }
  SECTION("leaf: a nameidx past the block") {
    ScratchCopy c(img.path);
    c.edit(leaf_blk, bs, kDaCrcOff, [&](std::vector<std::byte>& b) { put_be(b, kLeafEntries + 8 * 3 + 4, bs - 4, 2); });
    broken_both(c.path, leaf_ino, "user.leaf-07", "does not fit");
  }
  SECTION("leaf: a count beyond firstused") {
    ScratchCopy c(img.path);
    c.edit(leaf_blk, bs, kDaCrcOff,
           [&](std::vector<std::byte>& b) { put_be(b, offsetof(xd_attr3_leaf_hdr, count), bs / 8, 2); });
    broken_both(c.path, leaf_ino, "user.leaf-07", "do not fit");
  }
  SECTION("leaf: both namespace bits") {
    ScratchCopy c(img.path);
    c.edit(leaf_blk, bs, kDaCrcOff, [&](std::vector<std::byte>& b) { b[kLeafEntries + 6] |= std::byte{6}; });
    broken_both(c.path, leaf_ino, "user.leaf-07", "flags");
  }
  SECTION("leaf: a bad block the cache let in unverified for another reader is still caught") {
    // The header (count) is checked by get and list, every entry (a nameidx) by list.
    const std::pair<size_t, const char*> edits[] = {{offsetof(xd_attr3_leaf_hdr, count), "do not fit"},
                                                    {kLeafEntries + 8 * 3 + 4, "does not fit"}};
    for (const auto& [field, why] : edits) {
      ScratchCopy c(img.path);
      c.edit(leaf_blk, bs, kDaCrcOff, [&](std::vector<std::byte>& b) { put_be(b, field, bs - 4, 2); });
      for (bool list : {false, true}) {
        if (!list && field != offsetof(xd_attr3_leaf_hdr, count)) continue;
        INFO(why << (list ? " (list)" : " (get)"));
        auto m = open_image(c.path);
        InodeRef ip = iget_ok(*m, leaf_ino);
        {
          bc::BufHandle h;
          REQUIRE(m->read_dablk(*ip, true, 0, nullptr, &h) == 0);
        }
        bc::test::StderrCapture cap;
        int rc = 0;
        if (list) list_names(*m, *ip, &rc);
        else rc = attr_get(*m, *ip, "user.leaf-07", &v);
        const std::string log = cap.text();
        CHECK(rc == EUCLEAN);
        CHECK(corruption_lines(log) == 1);
        CHECK(log.find(why) != std::string::npos);
      }
    }
  }
  SECTION("node: hashes out of order") {
    ScratchCopy c(img.path);
    c.edit(node_blk, bs, kDaCrcOff, [](std::vector<std::byte>& b) { put_be(b, sizeof(xd_da3_node_hdr) + 8, 0, 4); });
    broken_both(c.path, node_ino, "user.node-attribute-0123", "below");
  }
  SECTION("node: a child pointer into a hole") {
    ScratchCopy c(img.path);
    c.edit(node_blk, bs, kDaCrcOff, [](std::vector<std::byte>& b) {
      for (size_t i = 0; i < 11; i++) put_be(b, sizeof(xd_da3_node_hdr) + 8 * i + 4, 1000, 4);
    });
    broken_both(c.path, node_ino, "user.node-attribute-0123", "hole");
  }
  SECTION("remote: a flipped value byte fails that block's CRC, the rest of the inode reads") {
    ScratchCopy c(img.path);
    c.flip(rmt_blk + 1000);
    Outcome g = get_fresh(c.path, rmt_ino, "user.remote-12345", &v);
    CHECK(g.rc == EUCLEAN);
    CHECK(g.lines == 1);
    CHECK(g.log.find("attr3 remote value") != std::string::npos);
    CHECK(list_fresh(c.path, rmt_ino).rc == 0);
    CHECK(get_fresh(c.path, rmt_ino, "trusted.remote-65536", &v).rc == 0);
    others_work(c.path, 0);
  }
  SECTION("remote: a header whose offset does not continue the value") {
    ScratchCopy c(img.path);
    c.edit(rmt_blk, bs, kRmtCrcOff,
           [](std::vector<std::byte>& b) { put_be(b, offsetof(xd_attr3_rmt_hdr, rm_offset), 4040, 4); });
    Outcome g = get_fresh(c.path, rmt_ino, "user.remote-12345", &v);
    CHECK(g.rc == EUCLEAN);
    CHECK(g.lines == 1);
    CHECK(g.log.find("expected [0, +4040)") != std::string::npos);
    CHECK(get_fresh(c.path, rmt_ino, "user.small", &v).rc == 0);
  }
  SECTION("short form: totsize past the fork") {
    ScratchCopy c(img.path);
    auto m = open_image(img.path);
    const size_t fork = sizeof(xd_dinode) + iget_ok(*m, sf_ino)->core.forkoff * 8u;
    c.edit(sf_inode, isize, kInodeCrcOff, [&](std::vector<std::byte>& b) { put_be(b, fork, isize, 2); });
    broken_both(c.path, sf_ino, "user.bb", "totsize");
  }
  SECTION("short form: an entry with both namespace bits") {
    ScratchCopy c(img.path);
    auto m = open_image(img.path);
    const size_t fork = sizeof(xd_dinode) + iget_ok(*m, sf_ino)->core.forkoff * 8u;
    c.edit(sf_inode, isize, kInodeCrcOff, [&](std::vector<std::byte>& b) { b[fork + 4 + 2] = std::byte{6}; });
    broken_both(c.path, sf_ino, "user.bb", "flags");
  }
}
