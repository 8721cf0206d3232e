// Sparse inode chunks: in an AG fragmented so that no aligned chunk is free
// but sb_spino_align pieces are, ialloc records pieces in chunk-aligned
// inobt / finobt records with holes, merges a second piece of a chunk into
// its record, never hands out an inode in a hole, and ifree gives each
// piece's blocks back when its chunk's allocated inodes are all free; every
// step agrees with a model of the allocated inodes and keeps the AG's blocks
// accounted for; xfs_repair -n passes at the end.
#include <algorithm>
#include <bit>
#include <catch2/catch.hpp>
#include <cerrno>
#include <random>
#include <set>

#include "fs/alloc/alloc.h"
#include "fs/alloc/ialloc.h"
#include "fs/format/geometry.h"
#include "fs/format/records.h"
#include "fs/mount.h"
#include "tests/fs/dir_test_util.h"
#include "tests/fs/ialloc_test_util.h"

namespace xfsfuse::fs::test {
namespace {

// The inode numbers in use in the image's inobts.
std::set<uint64_t> inodes_in_use(Mount& m) {
  std::set<uint64_t> used;
  for (uint32_t agno = 0; agno < m.sb().agcount; agno++) {
    AgiInfo agi;
    REQUIRE(m.ag_headers().read_agi(m.cache(), agno, &agi) == 0);
    for (const InobtRec& r : walk_inode_tree(m, agno, false, agi))
      for (unsigned i = 0; i < kInodesPerChunk; i++)
        if (!((r.free | inobt_hole_bits(r.holemask)) >> i & 1)) used.insert(agino_to_ino(m.sb(), agno, r.startino + i));
  }
  return used;
}

// Checks AG agno against the inodes in use (used): every record chunk-aligned
// with count, freecount and free consistent with its holemask (holes marked
// free), each allocated inode's free bit as the model says, the finobt the
// records with free inodes, the AGI's counts their sums.  Returns the blocks
// the AG holds outside the bnobt that ialloc and ifree move: free space,
// AGFL, free-space btree blocks beyond the roots, inobt and finobt blocks,
// and inode chunk blocks — constant while only inodes come and go.
uint64_t check_ag(Mount& m, uint32_t agno, const std::set<uint64_t>& used, unsigned* sparse_records = nullptr) {
  const Superblock& sb = m.sb();
  INFO("AG " << agno);
  AgiInfo agi;
  REQUIRE(m.ag_headers().read_agi(m.cache(), agno, &agi) == 0);
  AgfInfo agf;
  REQUIRE(m.ag_headers().read_agf(m.cache(), agno, &agf) == 0);
  const auto ino = walk_inode_tree(m, agno, false, agi), fino = walk_inode_tree(m, agno, true, agi);
  uint64_t count = 0, freecount = 0, chunk_blocks = 0, used_here = 0;
  std::vector<InobtRec> with_free;
  for (const InobtRec& r : ino) {
    INFO("chunk " << r.startino << " holemask " << r.holemask << " count " << r.count << " free " << r.free);
    const uint64_t holes = inobt_hole_bits(r.holemask);
    REQUIRE(r.startino % kInodesPerChunk == 0);
    REQUIRE(agino_to_agbno(sb, r.startino) % std::max<uint32_t>(1, sb.inoalignmt) == 0);
    REQUIRE(r.count == kInodesPerChunk - kInodesPerHoleBit * static_cast<uint32_t>(std::popcount(r.holemask)));
    REQUIRE((r.free & holes) == holes);
    REQUIRE(r.freecount == static_cast<uint32_t>(std::popcount(r.free & ~holes)));
    if (r.holemask && sparse_records) ++*sparse_records;
    count += r.count;
    freecount += r.freecount;
    chunk_blocks += r.count >> sb.inopblog;
    if (r.freecount) with_free.push_back(r);
    for (unsigned i = 0; i < kInodesPerChunk; i++) {
      const uint64_t n = agino_to_ino(sb, agno, r.startino + i);
      INFO("inode " << n);
      if (holes >> i & 1) {
        REQUIRE(!used.count(n));
        continue;
      }
      REQUIRE(!(r.free >> i & 1) == static_cast<bool>(used.count(n)));
      used_here += used.count(n);
    }
  }
  // Every inode in use lies in an allocated part of some chunk.
  REQUIRE(used_here == static_cast<uint64_t>(std::count_if(used.begin(), used.end(), [&](uint64_t n) {
            return ino_to_agno(sb, n) == agno;
          })));
  CHECK(fino == with_free);
  CHECK(agi.count == count);
  CHECK(agi.freecount == freecount);
  return uint64_t{agf.freeblks} + agf.flcount + agf.btreeblks + agi.iblocks + agi.fblocks + chunk_blocks;
}

// ialloc near parent in its own transaction; returns its error.
int alloc_one(Mount& m, uint64_t parent, uint64_t* ino) {
  std::unique_ptr<Transaction> tp;
  REQUIRE(Transaction::begin(m, &tp) == 0);
  if (int e = tp->reserve_blocks(ialloc_reservation(m.sb()))) {
    tp->cancel();
    return e;
  }
  if (int e = ialloc(*tp, parent, ino)) {
    tp->cancel();
    return e;
  }
  REQUIRE(tp->commit() == 0);
  return 0;
}

void free_one(Mount& m, uint64_t ino) {
  std::unique_ptr<Transaction> tp;
  REQUIRE(Transaction::begin(m, &tp) == 0);
  REQUIRE(tp->reserve_blocks(ifree_reservation(m.sb())) == 0);
  REQUIRE(ifree(*tp, ino) == 0);
  REQUIRE(tp->commit() == 0);
}

InobtRec record_of(Mount& m, uint32_t agno, uint32_t startino) {
  AgiInfo agi;
  REQUIRE(m.ag_headers().read_agi(m.cache(), agno, &agi) == 0);
  for (const InobtRec& r : walk_inode_tree(m, agno, false, agi))
    if (r.startino == startino) return r;
  return InobtRec{};
}

}  // namespace

TEST_CASE("ialloc: sparse pieces when no aligned chunk is free, merged, freed again", "[ialloc][sparse]") {
  if (!have_xfsprogs()) return;
  MkfsImage img("-d agcount=2", 64ll << 20);
  auto m = open_rw(img.path);
  const Superblock& sb = m->sb();
  REQUIRE(sb.spino_align == 4);
  REQUIRE(sb.inoalignmt == 8);
  // AG 0: only 4-block pieces free, each the upper half of an 8-aligned
  // region; AG 1: nothing free.
  std::set<uint32_t> taken0 = fill_ag(*m, 0);
  REQUIRE(free_pieces(*m, 0, taken0, 40) == 40);
  std::set<uint32_t> taken1 = fill_ag(*m, 1);
  std::set<uint64_t> used = inodes_in_use(*m);
  const uint64_t blocks0 = check_ag(*m, 0, used);
  const uint32_t root_chunk = chunk_start_agino(ino_to_agino(sb, sb.rootino));

  // The root chunk's free inodes, then six pieces' worth.
  const uint64_t root_free = kInodesPerChunk - used.size();
  std::vector<uint64_t> held;
  for (uint64_t i = 0; i < root_free + 6 * 32; i++) {
    uint64_t ino;
    REQUIRE(alloc_one(*m, sb.rootino, &ino) == 0);
    REQUIRE(ino_to_agno(sb, ino) == 0);
    REQUIRE(used.insert(ino).second);
    held.push_back(ino);
  }
  unsigned sparse_records = 0;
  CHECK(check_ag(*m, 0, used, &sparse_records) == blocks0);
  CHECK(sparse_records == 6);
  AgiInfo agi;
  REQUIRE(m->ag_headers().read_agi(m->cache(), 0, &agi) == 0);
  std::vector<InobtRec> recs = walk_inode_tree(*m, 0, false, agi);
  REQUIRE(recs.size() == 7);
  InobtRec first_sparse;
  for (const InobtRec& r : recs) {
    if (r.startino == root_chunk) continue;
    // Upper half allocated: holemask bits 0-7 set, 32 inodes, all in use.
    CHECK(r.holemask == 0x00ff);
    CHECK(r.count == 32);
    CHECK(r.freecount == 0);
    CHECK(r.free == 0x00000000ffffffffull);
    if (first_sparse.count == 0) first_sparse = r;
  }

  // The lower half of the first sparse chunk comes free: the next piece
  // lands there (the lowest free piece) and merges into its record.
  const uint32_t lower = agino_to_agbno(sb, first_sparse.startino);
  for (uint32_t b = lower; b < lower + 4; b++) REQUIRE(taken0.erase(b) == 1);
  give_back(*m, 0, lower, 4);
  const uint64_t blocks0_more = blocks0 + 4;
  uint64_t ino;
  REQUIRE(alloc_one(*m, sb.rootino, &ino) == 0);
  REQUIRE(used.insert(ino).second);
  held.push_back(ino);
  const InobtRec merged = record_of(*m, 0, first_sparse.startino);
  CHECK(merged.holemask == 0);
  CHECK(merged.count == 64);
  CHECK(merged.freecount == 31);
  CHECK(ino == agino_to_ino(sb, 0, first_sparse.startino));
  CHECK(check_ag(*m, 0, used) == blocks0_more);

  // Everything freed: the pieces and the merged chunk go back to free space.
  std::shuffle(held.begin(), held.end(), std::mt19937(99));
  for (uint64_t n : held) {
    free_one(*m, n);
    used.erase(n);
  }
  CHECK(check_ag(*m, 0, used) == blocks0_more);
  REQUIRE(m->ag_headers().read_agi(m->cache(), 0, &agi) == 0);
  recs = walk_inode_tree(*m, 0, false, agi);
  REQUIRE(recs.size() == 1);
  CHECK(recs[0].startino == root_chunk);
  give_back_all(*m, 0, taken0);
  give_back_all(*m, 1, taken1);
  unmount_and_repair_check(m, img.path);
}

TEST_CASE("ialloc: random allocations and frees in a fragmented AG agree with a model", "[ialloc][sparse]") {
  if (!have_xfsprogs()) return;
  // 1 KiB blocks: 32-block chunks in 16-block pieces.
  const std::string blocksize = GENERATE(as<std::string>{}, "4096", "1024");
  INFO("block size " << blocksize);
  MkfsImage img("-d agcount=2 -b size=" + blocksize, 64ll << 20);
  auto m = open_rw(img.path);
  const Superblock& sb = m->sb();
  const uint32_t piece = sb.spino_align;
  REQUIRE(piece > 0);
  REQUIRE(piece < sb.inoalignmt);
  std::set<uint32_t> taken0 = fill_ag(*m, 0);
  REQUIRE(free_pieces(*m, 0, taken0, 30) == 30);
  std::set<uint32_t> taken1 = fill_ag(*m, 1);
  std::set<uint64_t> used = inodes_in_use(*m);
  uint64_t blocks0 = check_ag(*m, 0, used);
  std::set<uint64_t> held;
  std::mt19937 rng(2718);
  unsigned enospc = 0, max_sparse = 0;
  for (int op = 0; op < 6000; op++) {
    const unsigned what = rng() % 100;
    if (what < 1 && op < 1500) {
      // Early on, an aligned piece's worth of the filler comes free: a later
      // piece or chunk may use it (merging with a piece beside it).
      std::vector<uint32_t> runs;
      for (uint32_t b : taken0)
        if (b % piece == 0 && taken0.count(b + piece - 1) &&
            std::distance(taken0.find(b), taken0.find(b + piece - 1)) == static_cast<long>(piece) - 1)
          runs.push_back(b);
      if (runs.empty()) continue;
      const uint32_t b = runs[rng() % runs.size()];
      for (uint32_t i = 0; i < piece; i++) taken0.erase(b + i);
      give_back(*m, 0, b, piece);
      blocks0 += piece;
    } else if (held.empty() || what < 65) {
      uint64_t ino;
      const int e = alloc_one(*m, sb.rootino, &ino);
      if (e == ENOSPC) {
        enospc++;
        continue;
      }
      REQUIRE(e == 0);
      REQUIRE(used.insert(ino).second);
      held.insert(ino);
    } else {
      auto it = std::next(held.begin(), rng() % held.size());
      free_one(*m, *it);
      used.erase(*it);
      held.erase(it);
    }
    if (op % 200 == 199) {
      unsigned sparse_records = 0;
      INFO("op " << op);
      REQUIRE(check_ag(*m, 0, used, &sparse_records) == blocks0);
      max_sparse = std::max(max_sparse, sparse_records);
    }
  }
  INFO("enospc " << enospc << " max sparse records " << max_sparse << " held " << held.size());
  CHECK(max_sparse >= 10);
  CHECK(enospc > 0);  // the free space ran out at times
  for (uint64_t n : held) {
    free_one(*m, n);
    used.erase(n);
  }
  CHECK(check_ag(*m, 0, used) == blocks0);
  give_back_all(*m, 0, taken0);
  give_back_all(*m, 1, taken1);
  unmount_and_repair_check(m, img.path);
}

}  // namespace xfsfuse::fs::test
