// fs/dir against xfs_db and the image manifests: every directory of the demo,
// bigdir and kernel images (short form, block, leaf, node; hash families; a
// 2,000-name hash run; 64 KiB blocks in 16 extents), short form with 8-byte
// inode numbers (a 3 TiB sparse image whose third AG starts at inode 2^32),
// and the name hash.
#include <catch2/catch.hpp>
#include <set>

#include "tests/fs/dir_test_util.h"
#include "tests/fs/fs_test_util.h"

namespace xfsfuse::fs::test {
namespace {

// Checks the directory at path against xfs_db ls and the manifest's children:
// iteration, cookies, lookups of every name and of missing ones, resumption.
void check_dir(Mount& m, const std::string& img, const Children& man, const std::string& path) {
  INFO("directory " << path);
  InodeRef d;
  REQUIRE(resolve(m, path, &d) == 0);
  int err;
  const std::vector<Got> all = iterate(m, *d, 0, SIZE_MAX, &err);
  REQUIRE(err == 0);
  const std::vector<XdbEntry> want = xfs_db_ls(img, path);
  REQUIRE(all.size() == want.size());
  REQUIRE(all.size() >= 2);
  CHECK(all[0].name == ".");
  CHECK(all[0].ino == d->core.ino);
  CHECK(all[1].name == "..");
  std::map<std::string, std::string> children;
  for (size_t i = 0; i < all.size(); i++) {
    const Got& g = all[i];
    INFO("entry " << i << " " << g.name);
    REQUIRE(g.name == want[i].name);
    CHECK(g.ino == want[i].ino);
    CHECK(xdb_type(g.ftype) == want[i].type);
    CHECK(da_hashname(g.name) == want[i].hash);
    // xfs_db prints data-space offsets >> 3: each entry's own for short-form
    // and block directories ("." at 8), the one after it for leaf and node
    // directories ("." at 10), where it walks like the kernel's getdents.
    const uint64_t entsize = (8 + 1 + g.name.size() + 1 + 2 + 7) / 8;
    CHECK(g.next == (want[0].off == 8 ? want[i].off + entsize : want[i].off));
    if (i >= 2) children[g.name] = manifest_type(g.ftype);
  }
  CHECK(children == man.at(path));

  // Lookups of every name give what iteration gave.
  for (const Got& g : all) {
    uint64_t ino = 0;
    uint8_t ftype = 0;
    INFO("lookup " << g.name);
    REQUIRE(dir_lookup(m, *d, g.name, &ino, &ftype) == 0);
    CHECK(ino == g.ino);
    CHECK(ftype == g.ftype);
  }
  uint64_t ino;
  for (const std::string& missing : {std::string("no-such-name"), all.back().name + "x", all.back().name.substr(1)})
    if (!children.count(missing) && missing != "." && missing != "..")
      CHECK(dir_lookup(m, *d, missing, &ino) == ENOENT);
  CHECK(dir_lookup(m, *d, std::string(256, 'a'), &ino) == ENAMETOOLONG);

  // Resuming from a sample of cookies continues exactly where it stopped.
  for (size_t k = 0; k < all.size(); k += (k + 97 < all.size() ? 97 : std::max<size_t>(all.size() - 1 - k, 1))) {
    INFO("resume after entry " << k);
    const std::vector<Got> rest = iterate(m, *d, all[k].next, 40, &err);
    REQUIRE(err == 0);
    const size_t n = std::min<size_t>(40, all.size() - k - 1);
    REQUIRE(rest.size() == n);
    CHECK(std::equal(rest.begin(), rest.end(), all.begin() + static_cast<long>(k) + 1));
  }
  // readdir-style: chunks of 97 entries, each resumed from the last one taken.
  std::vector<Got> chunked;
  for (uint64_t cookie = 0;;) {
    std::vector<Got> part = iterate(m, *d, cookie, 97, &err);
    REQUIRE(err == 0);
    if (part.empty()) break;
    chunked.insert(chunked.end(), part.begin(), part.end());
    cookie = part.back().next;
  }
  CHECK(chunked == all);
}

void check_image(const std::string& img, const std::vector<std::string>& only = {}) {
  auto m = open_mount(img);
  const Children man = read_manifest(img);
  for (const auto& [path, kids] : man)
    if (only.empty() || std::find(only.begin(), only.end(), path) != only.end()) check_dir(*m, img, man, path);
}

}  // namespace

TEST_CASE("dir: da_hashname matches xfs_db hash", "[fs][dir]") {
  if (!have_xfsprogs()) {
    WARN("SKIP: mkfs.xfs/xfs_db not installed (Debian package xfsprogs)");
    return;
  }
  MkfsImage img;
  const std::vector<std::string> names = {"a",          "ab",   "abc",    "abcd",         "abcde",
                                          "lost+found", "café", "日本語", "\xff\xfe\x80", std::string(255, 'z'),
                                          "with:colon", "-dash"};
  std::string cmd = "xfs_db -r";
  for (const std::string& n : names) cmd += " -c \"hash " + n + "\"";  // no quotes: xfs_db would hash them
  std::istringstream out(run(cmd + " " + img.path));
  for (const std::string& n : names) {
    std::string line;
    REQUIRE(std::getline(out, line));
    INFO(n);
    CHECK(da_hashname(n) == std::stoul(line, nullptr, 16));
  }
  CHECK(da_hashname("") == 0);
}

TEST_CASE("dir: every directory of the demo image, in every format, as xfs_db and the manifest have it", "[fs][dir]") {
  const std::string& img = image("demo");
  REQUIRE(!img.empty());
  check_image(img);
}

TEST_CASE("dir: the bigdir image's 100,000-entry node directory", "[fs][dir]") {
  const std::string& img = image("bigdir");
  REQUIRE(!img.empty());
  check_image(img);
}

TEST_CASE("dir: the kernel image, /frag's 64 KiB blocks in 16 extents each", "[fs][dir]") {
  const std::string& img = image("kernel");
  if (img.empty()) {
    WARN("SKIP: no kernel image (make-kernel-image needs root, loop devices and XFS in the kernel)");
    return;
  }
  auto m = open_mount(img);
  InodeRef frag;
  REQUIRE(resolve(*m, "/frag", &frag) == 0);
  CHECK(frag->df.extents.size() >= 6 * 16);  // every directory block in one-block extents
  check_image(img);
}

TEST_CASE("dir: hash-collision families all resolve to their own inodes", "[fs][dir]") {
  const std::string& img = image("demo");
  REQUIRE(!img.empty());
  auto m = open_mount(img);
  for (const char* path : {"/block", "/leaf", "/node", "/hashrun"}) {
    INFO(path);
    InodeRef d;
    REQUIRE(resolve(*m, path, &d) == 0);
    int err;
    std::map<uint32_t, std::vector<Got>> by_hash;
    for (const Got& g : iterate(*m, *d, 0, SIZE_MAX, &err)) by_hash[da_hashname(g.name)].push_back(g);
    REQUIRE(err == 0);
    size_t biggest = 0;
    for (const auto& [hash, family] : by_hash) {
      biggest = std::max(biggest, family.size());
      std::set<uint64_t> inos;
      for (const Got& g : family) {
        uint64_t ino;
        REQUIRE(dir_lookup(*m, *d, g.name, &ino) == 0);
        CHECK(ino == g.ino);
        inos.insert(ino);
      }
      CHECK(inos.size() == family.size());
    }
    CHECK(biggest >= 16);  // the family the image was built with (2,000 in /hashrun)
  }
}

TEST_CASE("dir: short form with 8-byte inode numbers (i8count)", "[fs][dir]") {
  if (!have_xfsprogs()) {
    WARN("SKIP: mkfs.xfs/xfs_db not installed (Debian package xfsprogs)");
    return;
  }
  // Three AGs of 2^28 - 1 blocks: agblklog 28, so AG 2's inodes start at
  // 2 << 31 = 2^32.  mkfs spreads directories over the AGs: /b lands in AG 2,
  // and /, /b (an entry each: b, y) and /b/x (its parent) need 8-byte inode numbers.
  struct TempDir {
    char path[32] = "/tmp/xfsfuse-i8-XXXXXX";
    TempDir() { REQUIRE(mkdtemp(path)); }
    ~TempDir() { std::system((std::string("rm -rf ") + path).c_str()); }
  } dir;
  const std::string img = std::string(dir.path) + "/i8.img", proto = std::string(dir.path) + "/proto";
  std::ofstream(proto) << "/dummy\n0 0\nd--755 0 0\na d--755 0 0\n$\nb d--755 0 0\nx d--755 0 0\n$\n"
                          "y ---644 0 0 /dev/null\n$\nc d--755 0 0\n$\nf ---644 0 0 /dev/null\n$\n";
  const uint64_t blocks = 3ull * ((1u << 28) - 1);
  REQUIRE(system(("truncate -s " + std::to_string(blocks * 4096) + " " + img).c_str()) == 0);
  REQUIRE(system(("mkfs.xfs -q -f -K -b size=4096 -d agcount=3,size=" + std::to_string(blocks) +
                  "b -l size=64m -n size=65536 -p " + proto + " " + img)
                     .c_str()) == 0);
  auto m = open_mount(img);
  const Children man = {{"/", {{"a", "dir"}, {"b", "dir"}, {"c", "dir"}, {"f", "reg"}}},
                        {"/b", {{"x", "dir"}, {"y", "reg"}}},
                        {"/b/x", {}}};
  for (const auto& [path, kids] : man) {
    InodeRef d;
    REQUIRE(resolve(*m, path, &d) == 0);
    REQUIRE(d->core.format == ForkFormat::kLocal);
    CHECK(std::to_integer<uint8_t>(d->fork_bytes(false)[1]) == 1);  // i8count
    check_dir(*m, img, man, path);
  }
  InodeRef b;
  REQUIRE(resolve(*m, "/b", &b) == 0);
  CHECK(b->core.ino > 0xffffffffull);
}

}  // namespace xfsfuse::fs::test
