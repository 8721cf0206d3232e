// tests/fs/attr_test_util.h — the demo and kernel images (images/README.md)
// for the attr and symlink tests: found in XFSFUSE_IMAGES_DIR or built into a
// temporary directory, xfs_db locations, editable copies.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "fs/mount.h"
#include "tests/buffer_cache/bc_test_util.h"
#include "tests/fs/fs_test_util.h"

namespace xfsfuse::fs::attrtest {

using test::exists;
using test::run;

/// An image with its manifests; skip says why it could not be had.  A copy
/// or build of its own lives in dir, removed with the Image at exit.
struct Image {
  std::string path, skip, dir;
  std::string manifest() const { return path + ".manifest"; }
  std::string xattrs() const { return path + ".xattrs"; }
  ~Image() {
    if (dir.empty()) return;
    [[maybe_unused]] int rc = system(("rm -rf " + dir).c_str());  // best effort, at exit
  }
};

inline std::string temp_dir() {
  char d[] = "/tmp/xfsfuse-attr-XXXXXX";
  REQUIRE(mkdtemp(d));
  return d;
}

/// The demo image: XFSFUSE_IMAGES_DIR's (mkfs.xfs -p builds are reproducible,
/// so a rebuild in place changes nothing these tests see), else built once
/// per process.
inline const Image& demo_image() {
  static Image img;
  if (!img.path.empty()) return img;
  const std::string built = std::string(XFSFUSE_IMAGES_DIR) + "/demo.img";
  if (exists(built) && exists(built + ".manifest")) {
    img.path = built;
    return img;
  }
  img.dir = temp_dir();
  REQUIRE(system((std::string(XFSFUSE_SOURCE_DIR) + "/images/make-image demo " + img.dir + "/demo.img >/dev/null")
                     .c_str()) == 0);
  img.path = img.dir + "/demo.img";
  return img;
}

/// The kernel image, once per process, as a private copy (the kernel's
/// allocator makes every build differ, and images.kernel may rebuild it
/// meanwhile): of XFSFUSE_IMAGES_DIR/kernel.img, else of
/// XFSFUSE_IMAGES_DIR/fs-tests/kernel.img, which the first test process to
/// need it builds with images/make-kernel-image (root + loop devices) under a
/// lock, so parallel test processes neither race for loop devices nor build
/// it twice.  Without it, skip holds make-kernel-image's reason.
inline const Image& kernel_image() {
  static Image img;
  if (!img.path.empty()) return img;
  auto complete = [](const std::string& p) { return exists(p) && exists(p + ".manifest") && exists(p + ".xattrs"); };
  std::string src = std::string(XFSFUSE_IMAGES_DIR) + "/kernel.img";
  if (!complete(src)) {
    const std::string dir = std::string(XFSFUSE_IMAGES_DIR) + "/fs-tests";
    src = dir + "/kernel.img";
    const std::string out =
        run("mkdir -p " + dir + " && flock " + dir + "/.lock sh -c 'test -e " + src + ".xattrs || " +
            XFSFUSE_SOURCE_DIR + "/images/make-kernel-image kernel " + src + "' 2>&1");
    if (!complete(src)) {
      const auto at = out.find("SKIP: ");
      img.skip = at != std::string::npos ? out.substr(at + 6, out.find('\n', at) - at - 6)
                                         : "images/make-kernel-image failed: " + out;
      img.path = src;
      return img;
    }
  }
  img.dir = temp_dir();
  REQUIRE(system(("cp --sparse=always " + src + " " + img.dir + "/kernel.img && cp " + src + ".manifest " + src +
                  ".xattrs " + img.dir).c_str()) == 0);
  img.path = img.dir + "/kernel.img";
  return img;
}

/// Lines of a manifest (TSV, '#' lines skipped), split at tabs.
inline std::vector<std::vector<std::string>> read_tsv(const std::string& path) {
  std::ifstream in(path);
  REQUIRE(in);
  std::vector<std::vector<std::string>> rows;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> f;
    std::istringstream s(line);
    std::string field;
    while (std::getline(s, field, '\t')) f.push_back(field);
    rows.push_back(f);
  }
  return rows;
}

/// Where xfs_db's `stack` says its current object is: inode, byte offset in
/// the image, length in bytes.
struct DbLoc {
  uint64_t ino = 0, offset = 0, length = 0;
};

/// Runs each command followed by `stack` in one xfs_db; one DbLoc per command.
inline std::vector<DbLoc> db_locate(const std::string& img, const std::vector<std::string>& cmds) {
  std::string cmd = "xfs_db -r";
  for (const std::string& c : cmds) cmd += " -c '" + c + "' -c stack";
  std::istringstream out(run(cmd + " " + img + " 2>&1"));
  std::vector<DbLoc> locs;
  std::string line;
  while (std::getline(out, line)) {
    unsigned long long a, b;
    if (std::sscanf(line.c_str(), " byte offset %llu, length %llu", &a, &b) == 2) locs.push_back({0, a, b});
    if (std::sscanf(line.c_str(), " inode %llu", &a) == 1 && !locs.empty()) locs.back().ino = a;
  }
  REQUIRE(locs.size() == cmds.size());
  return locs;
}

/// Inode numbers of paths, by one xfs_db run.
inline std::vector<uint64_t> inode_numbers(const std::string& img, const std::vector<std::string>& paths) {
  std::vector<std::string> cmds;
  for (const std::string& p : paths) cmds.push_back("path " + p);
  std::vector<uint64_t> inos;
  for (const DbLoc& l : db_locate(img, cmds)) inos.push_back(l.ino);
  return inos;
}

inline std::unique_ptr<Mount> open_image(const std::string& img) {
  std::unique_ptr<Mount> m;
  std::string err;
  const int rc = Mount::open(img, MountOptions{}, &m, &err);
  INFO(err);
  REQUIRE(rc == 0);
  return m;
}

inline InodeRef iget_ok(Mount& m, uint64_t ino) {
  InodeRef ip;
  REQUIRE(m.iget(ino, &ip) == 0);
  return ip;
}

/// A private copy of an image to corrupt, removed on destruction.
struct ScratchCopy {
  std::string dir = temp_dir(), path = dir + "/copy.img";
  explicit ScratchCopy(const std::string& img) {
    REQUIRE(system(("cp --sparse=always " + img + " " + path).c_str()) == 0);
  }
  ~ScratchCopy() {
    ::unlink(path.c_str());
    ::rmdir(dir.c_str());
  }
  std::vector<std::byte> read(uint64_t off, size_t len) const {
    std::vector<std::byte> b(len);
    int fd = open(path.c_str(), O_RDONLY);
    REQUIRE(pread(fd, b.data(), len, static_cast<off_t>(off)) == static_cast<ssize_t>(len));
    close(fd);
    return b;
  }
  void write(uint64_t off, const std::vector<std::byte>& b) const {
    int fd = open(path.c_str(), O_WRONLY);
    REQUIRE(pwrite(fd, b.data(), b.size(), static_cast<off_t>(off)) == static_cast<ssize_t>(b.size()));
    close(fd);
  }
  /// Inverts byte off (a CRC then no longer matches).
  void flip(uint64_t off) const {
    auto b = read(off, 1);
    b[0] = ~b[0];
    write(off, b);
  }
  /// Edits the block [off, off + len) with f(bytes), then refreshes its
  /// little-endian CRC at crc_off, so only the edit is wrong.
  template <typename F>
  void edit(uint64_t off, size_t len, size_t crc_off, F f) const {
    auto b = read(off, len);
    f(b);
    bc::xfs_cksum_update(b, crc_off);
    write(off, b);
  }
};

inline size_t corruption_lines(const std::string& log) {
  return bc::test::count_lines(log, "xfsfuse: metadata corruption");
}

/// Big-endian store into a byte vector.
inline void put_be(std::vector<std::byte>& b, size_t off, uint64_t v, unsigned n) {
  for (unsigned i = 0; i < n; i++) b[off + i] = static_cast<std::byte>(v >> (8 * (n - 1 - i)));
}

}  // namespace xfsfuse::fs::attrtest
