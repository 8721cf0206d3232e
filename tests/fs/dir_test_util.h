// tests/fs/dir_test_util.h — images, manifests and xfs_db listings for the
// directory tests.
#pragma once

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "fs/dir.h"
#include "fs/mount.h"
#include "tests/fs/fs_test_util.h"

namespace xfsfuse::fs::test {

/// The image `name` (demo, bigdir, kernel) with its manifest: the one
/// tests/images built into XFSFUSE_IMAGES_DIR if it is there, else one built
/// once per test process into a temporary directory.  "" if it cannot be
/// built (the kernel image needs root and loop devices).
inline const std::string& image(const std::string& name) {
  static std::map<std::string, std::string> built;
  // Temporary directories of the images built here, removed at exit.
  static struct TempDirs {
    std::vector<std::string> dirs;
    ~TempDirs() {
      for (const std::string& d : dirs) std::system(("rm -rf " + d).c_str());
    }
  } temp;
  auto it = built.find(name);
  if (it != built.end()) return it->second;
  std::string path = std::string(XFSFUSE_IMAGES_DIR) + "/" + name + ".img";
  if (!exists(path) || !exists(path + ".manifest")) {
    char dir[] = "/tmp/xfsfuse-dir-XXXXXX";
    REQUIRE(mkdtemp(dir));
    temp.dirs.push_back(dir);
    path = std::string(dir) + "/" + name + ".img";
    const std::string tool = name == "kernel" ? "make-kernel-image" : "make-image";
    const std::string log = std::string(dir) + "/build.log";
    int rc = system(
        (std::string(XFSFUSE_SOURCE_DIR) + "/images/" + tool + " " + name + " " + path + " >" + log + " 2>&1").c_str());
    if (rc != 0) {
      WARN(tool << " " << name << " failed (exit " << WEXITSTATUS(rc) << "): " << run("tail -n 3 " + log));
      path.clear();
    }
  }
  return built[name] = path;
}

/// A sparse copy of img, removed on destruction.
struct ImageCopy {
  std::string path;
  explicit ImageCopy(const std::string& img) {
    char name[] = "/tmp/xfsfuse-dircopy-XXXXXX";
    int fd = mkstemp(name);
    close(fd);
    path = name;
    REQUIRE(system(("cp --sparse=always " + img + " " + path).c_str()) == 0);
  }
  ~ImageCopy() { ::unlink(path.c_str()); }
};

/// Directory path -> (child name -> manifest type: dir, reg, lnk, chr, blk, fifo, sock).
using Children = std::map<std::string, std::map<std::string, std::string>>;

inline Children read_manifest(const std::string& img) {
  Children c;
  std::ifstream in(img + ".manifest");
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream f(line);
    std::string path, type;
    std::getline(f, path, '\t');
    std::getline(f, type, '\t');
    if (type == "dir") c[path];
    if (path == "/") continue;
    auto slash = path.rfind('/');
    c[slash == 0 ? "/" : path.substr(0, slash)][path.substr(slash + 1)] = type;
  }
  return c;
}

/// One line of `xfs_db ls`: data-space offset >> 3, inode, type, hash, name.
struct XdbEntry {
  uint64_t off = 0, ino = 0;
  std::string type;
  uint32_t hash = 0;
  std::string name;
};

inline std::vector<XdbEntry> xfs_db_ls(const std::string& img, const std::string& path) {
  std::istringstream in(run("xfs_db -r -c 'ls " + path + "' " + img));
  std::vector<XdbEntry> v;
  std::string line;
  while (std::getline(in, line)) {
    XdbEntry e;
    char type[32];
    unsigned long long off, ino;
    unsigned hash, namelen;
    int used = 0;
    if (std::sscanf(line.c_str(), "%llu %llu %31s %x %u %n", &off, &ino, type, &hash, &namelen, &used) != 5) continue;
    e.off = off;
    e.ino = ino;
    e.type = type;
    e.hash = hash;
    e.name = line.substr(static_cast<size_t>(used), namelen);
    v.push_back(e);
  }
  return v;
}

/// xfs_db's and the manifest's names for an ftype.
inline std::string xdb_type(uint8_t ftype) {
  static const char* names[] = {"unknown", "regular", "directory", "chardev", "blkdev", "fifo", "socket", "symlink"};
  return ftype < 8 ? names[ftype] : "?";
}
inline std::string manifest_type(uint8_t ftype) {
  static const char* names[] = {"?", "reg", "dir", "chr", "blk", "fifo", "sock", "lnk"};
  return ftype < 8 ? names[ftype] : "?";
}

inline std::unique_ptr<Mount> open_mount(const std::string& img, const MountOptions& o = {}) {
  std::unique_ptr<Mount> m;
  std::string err;
  int rc = Mount::open(img, o, &m, &err);
  INFO(err);
  REQUIRE(rc == 0);
  return m;
}

/// A read-write Mount of img (MountOptions::writable).
inline std::unique_ptr<Mount> open_rw(const std::string& img) {
  std::unique_ptr<Mount> m;
  std::string err;
  MountOptions o;
  o.writable = true;
  INFO(err);
  REQUIRE(Mount::open(img, o, &m, &err) == 0);
  return m;
}

/// Unmounts m cleanly (Mount::unmount_clean, then closes it) and checks that
/// xfs_repair -n finds img clean, showing its report when it does not.
inline void unmount_and_repair_check(std::unique_ptr<Mount>& m, const std::string& img) {
  REQUIRE(m->unmount_clean() == 0);
  m.reset();
  INFO(run("xfs_repair -n " + img + " 2>&1"));
  CHECK(system(("xfs_repair -n " + img + " >/dev/null 2>&1").c_str()) == 0);
}

/// An entry as dir_iterate gave it.
struct Got {
  std::string name;
  uint64_t ino = 0;
  uint8_t ftype = 0;
  uint64_t next = 0;
  bool operator==(const Got&) const = default;
};

/// Up to limit entries from cookie on; *err = dir_iterate's result.
inline std::vector<Got> iterate(Mount& m, const CachedInode& d, uint64_t cookie, size_t limit, int* err) {
  std::vector<Got> v;
  *err = dir_iterate(m, d, cookie, [&](const DirEntry& e) {
    if (v.size() == limit) return false;
    v.push_back(Got{std::string(e.name), e.ino, e.ftype, e.next});
    return true;
  });
  return v;
}

/// The inode of an absolute path, looked up one component at a time.
inline int resolve(Mount& m, const std::string& path, InodeRef* out) {
  if (int err = m.iget(m.sb().rootino, out)) return err;
  std::istringstream in(path);
  std::string part;
  while (std::getline(in, part, '/')) {
    if (part.empty()) continue;
    uint64_t ino;
    if (int err = dir_lookup(m, **out, part, &ino)) return err;
    if (int err = m.iget(ino, out)) return err;
  }
  return 0;
}

}  // namespace xfsfuse::fs::test
