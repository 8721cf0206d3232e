// tests/fsck/fsck_test_util.h — helpers shared by the fsck phase tests.
#pragma once

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "fs/dir.h"
#include "fs/mount.h"
#include "tests/fs/dir_test_util.h"

namespace xfsfuse::fsck::test {

/// Every inode reachable from the root of img through directory entries
/// (read with the driver, breadth first), ascending; computed once per image.
inline const std::vector<uint64_t>& tree_inodes(const std::string& img) {
  static std::map<std::string, std::vector<uint64_t>> memo;
  auto it = memo.find(img);
  if (it != memo.end()) return it->second;
  auto m = fs::test::open_mount(img);
  std::set<uint64_t> seen{m->sb().rootino};
  std::vector<uint64_t> queue{m->sb().rootino};
  for (size_t i = 0; i < queue.size(); i++) {
    fs::InodeRef ip;
    REQUIRE(m->iget(queue[i], &ip) == 0);
    if (!S_ISDIR(ip->core.mode)) continue;
    REQUIRE(fs::dir_iterate(*m, *ip, 0, [&](const fs::DirEntry& e) {
              if (seen.insert(e.ino).second) queue.push_back(e.ino);
              return true;
            }) == 0);
  }
  return memo[img] = std::vector<uint64_t>(seen.begin(), seen.end());
}

}  // namespace xfsfuse::fsck::test
