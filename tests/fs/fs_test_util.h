// tests/fs/fs_test_util.h — mkfs.xfs images and xfs_db queries for fs/ tests.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "buffer_cache/crc32c.h"

namespace xfsfuse::fs::test {

/// Everything the shell command cmd writes to stdout.
inline std::string run(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

inline bool exists(const std::string& path) { return access(path.c_str(), F_OK) == 0; }

inline bool have_xfsprogs() {
  return system("command -v mkfs.xfs >/dev/null 2>&1 && command -v xfs_db >/dev/null 2>&1") == 0;
}

/// A fresh sparse image of `bytes` (320 MiB by default: mkfs.xfs 6.x wants
/// >= 300 MB) made by mkfs.xfs with 64 KiB directory blocks and the given
/// extra arguments (for example "-p PROTOFILE").  Removed on destruction.
struct MkfsImage {
  std::string path;
  explicit MkfsImage(const std::string& extra = "", long long bytes = 320ll << 20) {
    char name[] = "/tmp/xfsfuse-fs-XXXXXX";
    int fd = mkstemp(name);
    close(fd);
    path = name;
    REQUIRE(truncate(path.c_str(), bytes) == 0);
    // Below 300 MiB mkfs.xfs only makes a filesystem when told it runs under
    // fstests (QA_CHECK_FS with TEST_DIR and TEST_DEV set).
    std::string cmd = std::string(bytes < (300ll << 20) ? "QA_CHECK_FS=1 TEST_DIR=/tmp TEST_DEV=" + path + " " : "") +
                      "mkfs.xfs -q -f -n size=65536 " + extra + " " + path;
    REQUIRE(system(cmd.c_str()) == 0);
  }
  ~MkfsImage() { ::unlink(path.c_str()); }
  std::vector<std::byte> read(uint64_t off, size_t len) const {
    std::vector<std::byte> b(len);
    int fd = open(path.c_str(), O_RDONLY);
    REQUIRE(pread(fd, b.data(), len, static_cast<off_t>(off)) == static_cast<ssize_t>(len));
    close(fd);
    return b;
  }
  /// The "name = value" lines xfs_db prints for these commands (TZ=UTC).
  std::map<std::string, std::string> xfs_db(const std::string& cmds) const {
    std::map<std::string, std::string> m;
    std::string cmd = "TZ=UTC xfs_db -r " + cmds + " " + path;
    FILE* p = popen(cmd.c_str(), "r");
    char line[1024];
    while (fgets(line, sizeof line, p)) {
      std::string l(line);
      auto eq = l.find(" = ");
      if (eq == std::string::npos) continue;
      m[l.substr(0, eq)] = l.substr(eq + 3, l.find_last_not_of("\n") - eq - 2);
    }
    pclose(p);
    return m;
  }
};

inline uint64_t num(const std::string& s) { return std::stoull(s, nullptr, 0); }

/// A copy of the on-disk bytes buf, edited as the struct T (f(T&)), with the
/// little-endian CRC at crc_off refreshed so only the edit is wrong.
template <typename T, typename Buf, typename F>
Buf edit_with_crc(Buf buf, size_t crc_off, F f) {
  T d;
  std::memcpy(&d, buf.data(), sizeof d);
  f(d);
  std::memcpy(buf.data(), &d, sizeof d);
  bc::xfs_cksum_update(buf, crc_off);
  return buf;
}

}  // namespace xfsfuse::fs::test
