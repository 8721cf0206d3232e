// tests/fs/ops_test_util.h — what the tests of fs/ops/ share: a root caller,
// new files made through make_node, statfs counts, the AGI unlinked lists,
// core edits in a transaction of their own, and the image verdict after a
// clean unmount (xfs_repair -n and xfsfuse-fsck -n).
#pragma once

#include <sys/stat.h>

#include <array>
#include <catch2/catch.hpp>
#include <functional>
#include <memory>
#include <string>

#include "fs/alloc/iunlink.h"
#include "fs/format/geometry.h"
#include "fs/mount.h"
#include "fs/ops/create.h"
#include "fs/ops/cred.h"
#include "fs/trans/trans.h"
#include "tests/fs/dir_test_util.h"

#ifndef XFSFUSE_FSCK_BIN
#error "XFSFUSE_FSCK_BIN (the xfsfuse-fsck binary) must be defined by the build"
#endif

namespace xfsfuse::fs::test {

inline const Cred kRoot{0, 0, {}};
/// An empty AGI unlinked-list bucket or di_next_unlinked (NULLAGINO).
inline constexpr uint32_t kNullAgino = 0xffffffff;

/// Makes name in dp (make_node) as caller c; the test fails if it cannot.
inline InodeRef make(Mount& m, const InodeRef& dp, const std::string& name, uint32_t mode, const Cred& c = kRoot) {
  InodeRef ip;
  REQUIRE(make_node(m, dp, name, c, mode, 0, &ip) == 0);
  return ip;
}

inline InodeRef root_of(Mount& m) {
  InodeRef r;
  REQUIRE(m.iget(m.sb().rootino, &r) == 0);
  return r;
}

/// Free blocks and inodes in use, as statfs counts them.
inline uint64_t bfree(Mount& m) {
  StatFs s;
  REQUIRE(m.statfs(&s) == 0);
  return s.bfree;
}
inline uint64_t inodes_used(Mount& m) {
  StatFs s;
  REQUIRE(m.statfs(&s) == 0);
  return s.files - s.ffree;
}

/// The 64 unlinked-list bucket heads of AG agno (agino or kNullAgino).
inline std::array<uint32_t, 64> unlinked_heads(Mount& m, uint32_t agno) {
  std::array<uint32_t, 64> h;
  REQUIRE(iunlink_heads(m, agno, &h) == 0);
  return h;
}
/// Whether every AG's unlinked lists are empty.
inline bool lists_empty(Mount& m) {
  for (uint32_t agno = 0; agno < m.sb().agcount; agno++)
    for (uint32_t h : unlinked_heads(m, agno))
      if (h != kNullAgino) return false;
  return true;
}

/// Changes ip's core through a transaction of its own (flags and fields
/// the operations under test cannot set).
inline void edit_core(Mount& m, const InodeRef& ip, const std::function<void(Inode&)>& fn) {
  std::unique_ptr<Transaction> tp;
  REQUIRE(Transaction::begin(m, &tp) == 0);
  tp->join_inode(ip);
  fn(ip->core);
  tp->log_inode(ip.get(), kDirtyCore);
  REQUIRE(tp->commit() == 0);
}

/// xfsfuse-fsck -n finds img clean (its report shown when not).
inline void fsck_check(const std::string& img) {
  const std::string fsck = std::string(XFSFUSE_FSCK_BIN) + " -n " + img;
  INFO(run(fsck + " 2>&1"));
  CHECK(system((fsck + " >/dev/null 2>&1").c_str()) == 0);
}

/// Unmounts m cleanly; xfs_repair -n and xfsfuse-fsck -n find img clean.
inline void unmount_and_check(std::unique_ptr<Mount>& m, const std::string& img) {
  unmount_and_repair_check(m, img);
  fsck_check(img);
}

}  // namespace xfsfuse::fs::test
