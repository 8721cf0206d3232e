// tests/fs/log_kernel_test_util.h — the log against the kernel and
// xfsprogs: xfs_logprint -t's summary line and running a script in a kernel
// loop mount (optionally ending in a forced shutdown: a dirty log).
#pragma once

#include <unistd.h>

#include <catch2/catch.hpp>
#include <regex>
#include <string>

#include "tests/fs/fs_test_util.h"

namespace xfsfuse::fs::test {

struct LogPrint {
  uint32_t tail = 0, head = 0;
  std::string state;
};

/// xfs_logprint -t's "log tail: T head: H state: <S>" line for img (through
/// a loop device: it wants a block device).  False if there is none.
inline bool logprint(const std::string& img, LogPrint* out) {
  const std::string out_text =
      run("L=$(losetup -f --show " + img + ") && { xfs_logprint -t $L 2>&1 | grep 'log tail:'; losetup -d $L; }");
  std::smatch m;
  static const std::regex re(R"(log tail: (\d+) head: (\d+) state: <(\w+)>)");
  if (!std::regex_search(out_text, m, re)) return false;
  out->tail = static_cast<uint32_t>(std::stoul(m[1]));
  out->head = static_cast<uint32_t>(std::stoul(m[2]));
  out->state = m[3];
  return true;
}

/// Whether the kernel-log tests can run: root (loop mounts), xfs_logprint,
/// xfs_io (shutdown -f) and xfs_repair.
inline bool have_log_tools() {
  return geteuid() == 0 && system("command -v xfs_logprint >/dev/null && command -v xfs_io >/dev/null &&"
                                  " command -v xfs_repair >/dev/null") == 0;
}

/// Runs script in a kernel loop mount of img at mnt; with shutdown, ends
/// with a forced shutdown (the log stays dirty).  False if mounting failed.
inline bool kernel_run(const std::string& img, const std::string& mnt, const std::string& script, bool shutdown) {
  if (system(("mount -o loop " + img + " " + mnt + " 2>/dev/null").c_str()) != 0) return false;
  if (system(("mountpoint -q " + mnt).c_str()) != 0) return false;
  const int rc = system(("cd " + mnt + " && (" + script + ")").c_str());
  const int down = shutdown ? system(("xfs_io -x -c 'shutdown -f' " + mnt).c_str()) : 0;
  for (int i = 0; i < 20 && system(("umount " + mnt + " 2>/dev/null").c_str()) != 0; i++) usleep(100000);
  REQUIRE(rc == 0);
  REQUIRE(down == 0);
  return true;
}

/// What a kernel mount of img (at mnt) shows: every path with its type, size
/// and link count, then every regular file's md5, each list sorted.
inline std::string kernel_view(const std::string& img, const std::string& mnt) {
  const std::string out = img + ".view";
  REQUIRE(kernel_run(img, mnt,
                     "find . -printf '%P %y %s %n\\n' | sort > " + out +
                         " && find . -type f -exec md5sum {} + | sort >> " + out,
                     false));
  std::string v = run("cat " + out);
  ::unlink(out.c_str());
  return v;
}

}  // namespace xfsfuse::fs::test
