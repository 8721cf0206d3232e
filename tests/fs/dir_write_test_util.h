// tests/fs/dir_write_test_util.h — images built from protofiles, one
// directory change per transaction, and checks of a directory against a
// model, for the directory write tests.
#pragma once

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include "fs/buf_ops.h"
#include "fs/dir.h"
#include "fs/dir_internal.h"
#include "fs/dir_write.h"
#include "fs/mount.h"
#include "fs/trans/trans.h"
#include "tests/fs/dir_test_util.h"

namespace xfsfuse::fs::test {

/// A temporary directory holding an image made by mkfs.xfs from a protofile
/// (directory blocks of dirblk bytes; extra: more mkfs arguments, e.g. -d
/// for the geometry, with the image file made `bytes` long first).  Removed
/// on destruction.
struct ProtoImage {
  std::string dir, path;
  ProtoImage(const std::string& proto, unsigned dirblk, const std::string& extra = "",
             long long bytes = 320ll << 20) {
    char tmpl[] = "/tmp/xfsfuse-dirw-XXXXXX";
    REQUIRE(mkdtemp(tmpl));
    dir = tmpl;
    path = dir + "/img";
    std::ofstream(dir + "/proto") << proto;
    REQUIRE(system(("truncate -s " + std::to_string(bytes) + " " + path).c_str()) == 0);
    const std::string cmd = "mkfs.xfs -q -f -n size=" + std::to_string(dirblk) + " " + extra + " -p " + dir +
                            "/proto " + path;
    INFO(cmd);
    REQUIRE(system(cmd.c_str()) == 0);
  }
  /// XFSFUSE_TEST_KEEP=1 keeps the directory (and the images in it) to look at.
  ~ProtoImage() {
    if (!getenv("XFSFUSE_TEST_KEEP")) std::system(("rm -rf " + dir).c_str());
  }
  ProtoImage(const ProtoImage&) = delete;
  ProtoImage& operator=(const ProtoImage&) = delete;
};

/// Runs fn on directory dino in a transaction of its own (reserved for
/// dir_add, dir joined): commits when fn returns 0, cancels otherwise.
/// Returns fn's result.
inline int dir_op(Mount& m, uint64_t dino, const std::function<int(Transaction&, CachedInode*)>& fn) {
  std::unique_ptr<Transaction> tp;
  REQUIRE(Transaction::begin(m, &tp) == 0);
  REQUIRE(tp->reserve_blocks(dir_add_reservation(m.sb())) == 0);
  InodeRef dp;
  REQUIRE(m.iget(dino, &dp) == 0);
  tp->join_inode(dp);
  const int rc = fn(*tp, dp.get());
  if (rc == 0)
    REQUIRE(tp->commit() == 0);
  else
    tp->cancel();
  return rc;
}

/// Sets the link count of inode ino (a test's entries point at a few files).
inline void set_nlink(Mount& m, uint64_t ino, uint32_t nlink) {
  std::unique_ptr<Transaction> tp;
  REQUIRE(Transaction::begin(m, &tp) == 0);
  InodeRef ip;
  REQUIRE(m.iget(ino, &ip) == 0);
  tp->join_inode(ip);
  ip->core.nlink = nlink;
  tp->log_inode(ip.get(), kDirtyCore);
  REQUIRE(tp->commit() == 0);
}

/// Every block of a directory passes the full read verifier (block form's
/// block; data blocks, leaf-space and free-index blocks) as it would after
/// a write-back and a fresh read.
inline void verify_dir_block(Mount& m, const CachedInode& dp) {
  if (dp.core.format == ForkFormat::kLocal) return;
  dir::Form form;
  REQUIRE(dir::dir_form(m, dp, &form) == 0);
  const uint32_t per = 1u << m.sb().dirblklog;
  const uint64_t leaf_dablk = dir::geometry(m.sb()).leaf_dablk;
  for (const Extent& e : dp.df.extents)
    for (uint64_t dablk = e.startoff; dablk < e.startoff + e.blockcount; dablk++) {
      if (dablk % per) continue;
      const bc::BufOps* ops = form == dir::Form::kBlock  ? &dir3_block_ops()
                              : dablk >= 2 * leaf_dablk  ? static_cast<const bc::BufOps*>(&dir3_free_ops())
                              : dablk >= leaf_dablk      ? static_cast<const bc::BufOps*>(&dir3_leaf_ops())
                                                         : &dir3_data_ops();
      bc::BufHandle h;
      REQUIRE(m.read_dablk(dp, false, dablk, ops, &h) == 0);
      std::vector<std::byte> copy(h.data(), h.data() + h.size());
      std::string why;
      bool ok = ops->verify_write(copy, h.daddr(), &m.sb().meta_uuid, 0, &why);
      if (ok) ok = ops->verify_read(bc::VerifyInput{copy, h.daddr(), &m.sb().meta_uuid}, &why);
      INFO("directory " << dp.core.ino << " block at " << dablk << ": " << why);
      REQUIRE(ok);
    }
}

/// name -> (inode, ftype): what a directory holds besides "." and "..".
using DirModel = std::map<std::string, std::pair<uint64_t, uint8_t>>;

/// dir_iterate and dir_lookup of directory dino agree with the model (and
/// its parent); with lookups, every name of the model is looked up.
inline void check_model(Mount& m, uint64_t dino, uint64_t parent, const DirModel& model, bool lookups) {
  InodeRef dp;
  REQUIRE(m.iget(dino, &dp) == 0);
  std::shared_lock<std::shared_mutex> lk(dp->lock);
  int err;
  const std::vector<Got> got = iterate(m, *dp, 0, SIZE_MAX, &err);
  REQUIRE(err == 0);
  REQUIRE(got.size() == model.size() + 2);
  CHECK(got[0] == Got{".", dino, kFtDir, got[0].next});
  CHECK(got[1] == Got{"..", parent, kFtDir, got[1].next});
  DirModel seen;
  uint64_t prev = 0;
  for (const Got& g : got) {
    REQUIRE(g.next > prev);
    prev = g.next;
    if (g.name != "." && g.name != "..") seen[g.name] = {g.ino, g.ftype};
  }
  REQUIRE(seen == model);
  if (lookups)
    for (const auto& [name, v] : model) {
      uint64_t ino = 0;
      uint8_t ftype = 0;
      INFO(name);
      REQUIRE(dir_lookup(m, *dp, name, &ino, &ftype) == 0);
      REQUIRE(std::make_pair(ino, ftype) == v);
    }
  verify_dir_block(m, *dp);
}

}  // namespace xfsfuse::fs::test
