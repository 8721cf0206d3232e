// tests/vmap/test_util.h — helpers shared by the vmap/ tests.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "vmap/page_pool.h"

namespace xfsfuse::vmap::test {

/// n pages of which no two are adjacent in the memfd: allocates 2n single
/// pages and gives back every other one.
inline std::vector<pfn_t> scattered_pages(PagePool& pool, uint32_t n) {
  std::vector<pfn_t> all, one, keep;
  for (uint32_t i = 0; i < 2 * n; i++) {
    if (pool.alloc(1, kAllocDefault, &one) != 0) return {};
    all.push_back(one[0]);
  }
  std::sort(all.begin(), all.end());
  for (size_t i = 0; i < all.size(); i++) {
    if (i % 2 == 0)
      keep.push_back(all[i]);
    else
      pool.put(all[i]);
  }
  return keep;
}

/// VMAs of this process that lie inside [start, start + bytes), from /proc/self/maps.
inline size_t vmas_in_range(const void* start, size_t bytes) {
  auto lo = reinterpret_cast<uintptr_t>(start), hi = lo + bytes;
  std::ifstream maps("/proc/self/maps");
  std::string line;
  size_t n = 0;
  while (std::getline(maps, line)) {
    uintptr_t a = 0, b = 0;
    char dash = 0;
    std::istringstream is(line);
    is >> std::hex >> a >> dash >> b;
    if (a >= lo && b <= hi) n++;
  }
  return n;
}

/// Runs fn in a forked child and reports how it ended: "segv" when touching
/// memory faulted (SIGSEGV, caught by a handler or fatal), "ok" when fn
/// returned, else "status N".
template <typename F>
std::string in_child(F fn) {
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    struct sigaction sa {};
    sa.sa_handler = [](int) { _exit(77); };
    sigaction(SIGSEGV, &sa, nullptr);
    sigaction(SIGBUS, &sa, nullptr);
    fn();
    _exit(0);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  if ((WIFEXITED(st) && WEXITSTATUS(st) == 77) || (WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV)) return "segv";
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return "ok";
  return "status " + std::to_string(st);
}

}  // namespace xfsfuse::vmap::test
