// tests/fs/attr_kernel_test_util.h — for the attr write tests against the
// kernel: loop-mounting an image and running a python3 script on it.
#pragma once

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <string>

namespace xfsfuse::fs::test::attrwtest {

/// Unmounts mnt, retrying while it is busy (2 s at most).
inline bool umount(const std::string& mnt) {
  for (int i = 0; i < 20; i++) {
    if (system(("umount " + mnt + " 2>/dev/null").c_str()) == 0) return true;
    usleep(100000);
  }
  return false;
}

/// Loop-mounts img at mnt with the kernel's XFS.
inline bool kernel_mount(const std::string& img, const std::string& mnt) {
  return system(("mount -o loop " + img + " " + mnt + " 2>/dev/null").c_str()) == 0;
}

/// Runs a python3 script (argv[1] = the mount point) on a kernel mount of img.
inline void kernel_run(const std::string& img, const std::string& mnt, const std::string& script) {
  REQUIRE(kernel_mount(img, mnt));
  const std::string path = img + ".py";
  std::ofstream(path) << script;
  const int rc = system(("python3 " + path + " " + mnt).c_str());
  REQUIRE(umount(mnt));
  unlink(path.c_str());
  REQUIRE(rc == 0);
}

}  // namespace xfsfuse::fs::test::attrwtest
