// xfsfuse-getxattr-loop PATH [N] — calls lgetxattr(PATH, "security.selinux")
// N times (default 20,000) and prints the mean wall time per call in
// microseconds, and how many calls failed with something other than ENODATA
// (the answer both xfsfuse and the floor server give for that name).  This
// is the per-file query coreutils `ls -l` makes; bench/traverse.sh runs it
// against a file of an xfsfuse mount and against xfsfuse-fuse-floor.
#include <sys/xattr.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: %s PATH [N]\n", argv[0]);
    return 2;
  }
  const long n = argc == 3 ? std::strtol(argv[2], nullptr, 10) : 20000;
  if (n <= 0) {
    std::fprintf(stderr, "%s: N must be positive\n", argv[0]);
    return 2;
  }
  char value[256];
  long other = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (long i = 0; i < n; i++)
    if (lgetxattr(argv[1], "security.selinux", value, sizeof value) < 0 && errno != ENODATA) other++;
  const double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
  std::printf("%.2f us/call, %ld calls, %ld failed other than ENODATA\n", us / static_cast<double>(n), n, other);
  return other == 0 ? 0 : 1;
}
