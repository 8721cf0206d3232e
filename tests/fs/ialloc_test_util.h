// For the inode allocation tests: reading an AG's inobt or finobt, and
// fragmenting an AG's free space with fs/alloc.
#pragma once

#include <catch2/catch.hpp>
#include <cerrno>
#include <memory>
#include <set>
#include <vector>

#include "btree/sbtree.h"
#include "fs/alloc/alloc.h"
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

/// Takes every block of AG agno that alloc_extent gives (one transaction per
/// extent); returns the agbnos taken.
inline std::set<uint32_t> fill_ag(Mount& m, uint32_t agno) {
  std::set<uint32_t> taken;
  for (uint32_t maxlen = 256; maxlen > 0;) {
    std::unique_ptr<Transaction> tp;
    REQUIRE(Transaction::begin(m, &tp) == 0);
    if (tp->reserve_blocks(maxlen) != 0) {
      tp->cancel();
      maxlen /= 2;
      continue;
    }
    uint32_t bno, len;
    const int e = alloc_extent(*tp, {agno, 0, 1, maxlen, 1}, &bno, &len);
    if (e == ENOSPC) {
      tp->cancel();
      break;
    }
    REQUIRE(e == 0);
    REQUIRE(tp->commit() == 0);
    for (uint32_t i = 0; i < len; i++) taken.insert(bno + i);
  }
  return taken;
}

/// Frees [bno, bno + len) of AG agno in its own transaction.
inline void give_back(Mount& m, uint32_t agno, uint32_t bno, uint32_t len) {
  std::unique_ptr<Transaction> tp;
  REQUIRE(Transaction::begin(m, &tp) == 0);
  REQUIRE(free_extent(*tp, agno, bno, len) == 0);
  REQUIRE(tp->commit() == 0);
}

/// Frees every block of taken (as runs) and clears it.
inline void give_back_all(Mount& m, uint32_t agno, std::set<uint32_t>& taken) {
  while (!taken.empty()) {
    const uint32_t b = *taken.begin();
    uint32_t n = 0;
    while (taken.count(b + n)) taken.erase(b + n++);
    give_back(m, agno, b, n);
  }
}

/// With c = sb_inoalignmt (a chunk's blocks) and p = sb_spino_align (a
/// sparse piece's): frees, from taken, [x + c - p - lead, x + c) of every
/// 2c-block region x (not the first) whose blocks [x, x + c + p) are all
/// taken, at most max_runs of them, lead taken from leads in turn; returns
/// how many.  lead 0: exactly the aligned piece, the upper part of a
/// chunk-aligned region; lead p - 1: a run of 2p - 1 blocks holding that
/// piece, as long as the kernel's allocator wants the AG's longest free
/// extent to be for an aligned piece.  Either way no chunk-aligned run of c
/// blocks comes free.
inline unsigned free_pieces(Mount& m, uint32_t agno, std::set<uint32_t>& taken, unsigned max_runs,
                            const std::vector<uint32_t>& leads = {0}) {
  const uint32_t c = m.sb().inoalignmt, p = m.sb().spino_align;
  unsigned n = 0;
  for (uint32_t x = 2 * c; x + 2 * c <= ag_length(m.sb(), agno) && n < max_runs; x += 2 * c) {
    bool all = true;
    for (uint32_t b = x; b < x + c + p; b++) all = all && taken.count(b);
    if (!all) continue;
    const uint32_t lead = leads[n % leads.size()];
    REQUIRE(p + lead < c);
    give_back(m, agno, x + c - p - lead, p + lead);
    for (uint32_t b = x + c - p - lead; b < x + c; b++) taken.erase(b);
    n++;
  }
  return n;
}

}  // namespace xfsfuse::fs::test
