// Reading an AG's inobt or finobt for the inode allocation tests.
#pragma once

#include <catch2/catch.hpp>
#include <vector>

#include "btree/sbtree.h"
#include "fs/format/geometry.h"
#include "fs/format/records.h"
#include "fs/mount.h"

namespace xfsfuse::fs::test {

/// The records of AG agno's inobt (finobt: its finobt) in key order, read
/// through the mount's cache (sparse record layout); a fault fails the test.
inline std::vector<InobtRec> walk_inode_tree(Mount& m, uint32_t agno, bool finobt, const AgiInfo& agi) {
  const Superblock& sb = m.sb();
  std::vector<InobtRec> out;
  const auto kind = finobt ? btree::SbtreeKind::kFinobt : btree::SbtreeKind::kInobt;
  btree::SbtreeWalk w;
  w.kind = kind;
  w.blocksize = sb.blocksize;
  w.ag_daddr = ag_header_daddr(sb, agno, 0);
  w.ag_length = ag_length(sb, agno);
  w.root = finobt ? agi.free_root : agi.root;
  w.levels = finobt ? agi.free_level : agi.level;
  w.read = [&](uint32_t agbno, bc::BufHandle* h, std::string*) {
    const bc::DiskRange map{agbno_to_daddr(sb, agno, agbno), sb.blocksize >> 9};
    return m.cache().get({&map, 1}, &btree::sbtree_ops(kind), agno, bc::kGetShared, h);
  };
  w.record = [&](std::span<const std::byte> rec, uint64_t) { out.push_back(decode_inobt_rec(rec.data(), true)); };
  w.fault = [&](const btree::SbtreeFault& f) { FAIL("AG " << agno << " " << f.why); };
  btree::sbtree_walk(w);
  return out;
}

}  // namespace xfsfuse::fs::test
