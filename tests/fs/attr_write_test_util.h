// tests/fs/attr_write_test_util.h — for the attr write tests: attributes
// set and removed through fs/ops/xattr against a model (full name ->
// value), the whole attribute list checked against it, images judged by
// xfs_repair -n and xfsfuse-fsck -n after a clean unmount.
#pragma once

#include <catch2/catch.hpp>
#include <cstddef>
#include <map>
#include <memory>
#include <shared_mutex>
#include <span>
#include <string>
#include <vector>

#include "fs/attr.h"
#include "fs/attr_write.h"
#include "fs/bmap_write.h"
#include "fs/dir.h"
#include "fs/mount.h"
#include "fs/ops/cred.h"
#include "fs/ops/xattr.h"
#include "fs/trans/trans.h"
#include "tests/fs/dir_test_util.h"
#include "tests/fs/ops_test_util.h"

namespace xfsfuse::fs::test::attrwtest {


/// Full name -> value.
using Model = std::map<std::string, std::string>;

inline std::span<const std::byte> bytes(const std::string& s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

/// The inode of name in the root directory.
inline InodeRef child(Mount& m, const std::string& name) {
  InodeRef root, ip;
  REQUIRE(m.iget(m.sb().rootino, &root) == 0);
  uint64_t ino = 0;
  {
    std::shared_lock<std::shared_mutex> l(root->lock);
    REQUIRE(dir_lookup(m, *root, name, &ino) == 0);
  }
  REQUIRE(m.iget(ino, &ip) == 0);
  return ip;
}

/// xattr_set as root; on success the model (if any) follows.
inline int set(Mount& m, const InodeRef& ip, const std::string& name, std::span<const std::byte> value, Model* model,
               unsigned flags = 0) {
  const int e = xattr_set(m, ip, kRoot, name, value, flags);
  if (e == 0 && model != nullptr) (*model)[name].assign(reinterpret_cast<const char*>(value.data()), value.size());
  return e;
}

/// xattr_remove as root; on success the model (if any) follows.
inline int remove(Mount& m, const InodeRef& ip, const std::string& name, Model* model) {
  const int e = xattr_remove(m, ip, kRoot, name);
  if (e == 0 && model != nullptr) model->erase(name);
  return e;
}

/// ip's attributes are exactly the model's: list and every value.
inline void check_model(Mount& m, const InodeRef& ip, const Model& model) {
  std::shared_lock<std::shared_mutex> l(ip->lock);
  Model got;
  REQUIRE(attr_list(m, *ip, [&](std::string_view n) { got[std::string(n)]; }) == 0);
  for (auto& [name, value] : got) {
    std::vector<std::byte> v;
    INFO(name);
    REQUIRE(attr_get(m, *ip, name, &v) == 0);
    value.assign(reinterpret_cast<const char*>(v.data()), v.size());
  }
  REQUIRE(got.size() == model.size());
  for (const auto& [name, value] : model) {
    INFO(name);
    REQUIRE(got.count(name) == 1);
    REQUIRE(got.at(name) == value);
  }
}

/// Gives ip n one-block data extents (file blocks 0, 2, 4, ...) and the
/// size to cover them.
inline void fragment(Mount& m, const InodeRef& ip, unsigned n) {
  std::unique_ptr<Transaction> tp;
  REQUIRE(Transaction::begin(m, &tp) == 0);
  REQUIRE(tp->reserve_blocks(n * bmap_write_reservation(m.sb(), 1)) == 0);
  tp->join_inode(ip);
  std::vector<Extent> out;
  for (unsigned i = 0; i < n; i++) REQUIRE(bmap_write(*tp, ip.get(), 2 * i, 1, 0, &out) == 0);
  ip->core.size = uint64_t{2 * n} * m.sb().blocksize;
  tp->log_inode(ip.get(), kDirtyCore);
  REQUIRE(tp->commit() == 0);
}

}  // namespace xfsfuse::fs::test::attrwtest
