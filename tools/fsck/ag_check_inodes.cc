// The inode side of check_ags: inobt records (alignment, inside the AG,
// holemask vs count, freecount vs the free bits, holes marked free), the
// inode table filled from them, inode chunks claimed (their non-sparse part:
// each holemask bit stands for 4 inodes), the finobt equal to the inobt
// records that have free inodes, and agi_count, agi_freecount, agi_iblocks,
// agi_fblocks against the trees.  Format: XFS Algorithms & Data Structures,
// "Inode B+trees" and "Sparse Inodes".
#include <algorithm>
#include <bit>
#include <iterator>
#include <tuple>
#include <vector>

#include "fs/format/records.h"
#include "tools/fsck/ag_check_internal.h"

namespace xfsfuse::fsck {

namespace {

using fs::InobtRec;

// Records ordered field by field (for sorting and set differences).
bool rec_less(const InobtRec& a, const InobtRec& b) {
  return std::tie(a.startino, a.holemask, a.count, a.freecount, a.free) <
         std::tie(b.startino, b.holemask, b.count, b.freecount, b.free);
}

// Checks one inobt record; returns false if it cannot be used (outside the AG).
bool check_record(const AgScan& s, const InobtRec& r, uint64_t daddr) {
  const fs::Superblock& sb = s.cx.sb;
  const std::string at = "inode record startino " + std::to_string(r.startino);
  const uint64_t ninodes = fs::fsblocks_to_inodes(sb, s.length);
  if (uint64_t{r.startino} + fs::kInodesPerChunk > ninodes) {
    s.report("inobt", daddr, at + " runs past the end of the AG");
    return false;
  }
  const uint32_t agbno = fs::agino_to_agbno(sb, r.startino);
  const bool block_aligned = sb.inopblock <= fs::kInodesPerChunk ? r.startino % sb.inopblock == 0
                                                              : r.startino % fs::kInodesPerChunk == 0;
  if (!block_aligned || (sb.inoalignmt > 1 && agbno % sb.inoalignmt != 0))
    s.report("inobt", daddr, at + " is not aligned to the inode chunk alignment of " + std::to_string(sb.inoalignmt) +
                                 " blocks");
  const unsigned want_count = fs::kInodesPerChunk - fs::kInodesPerHoleBit * std::popcount(r.holemask);
  if (r.count != want_count)
    s.report("inobt", daddr, at + ": count " + std::to_string(r.count) + " but the holemask leaves " +
                                 std::to_string(want_count) + " inodes");
  const uint64_t holes = fs::inobt_hole_bits(r.holemask);
  const unsigned free_bits = std::popcount(r.free & ~holes);
  if (r.freecount != free_bits)
    s.report("inobt", daddr, at + ": freecount " + std::to_string(r.freecount) + " but " + std::to_string(free_bits) +
                                 " inodes are marked free");
  if ((r.free & holes) != holes) s.report("inobt", daddr, at + ": inodes in sparse holes are not marked free");
  return true;
}

// Claims the blocks of the record's non-hole inodes and checks sparse runs
// start on spino_align; adds the inodes to the table.  last_block: the last
// block claimed in this AG (chunks can share a block when it holds more
// than 64 inodes).
void claim_chunk(const AgScan& s, const InobtRec& r, uint64_t daddr, int64_t* last_block) {
  const fs::Superblock& sb = s.cx.sb;
  const uint64_t holes = fs::inobt_hole_bits(r.holemask);
  const uint64_t ag_ino = fs::agino_to_ino(sb, s.agno, 0);
  int64_t run_start = -1, run_end = -1;  // blocks [run_start, run_end)
  auto flush = [&] {
    if (run_start < 0) return;
    if (r.holemask && sb.spino_align > 1 && run_start % sb.spino_align != 0)
      s.report("inobt", daddr, "inode record startino " + std::to_string(r.startino) + ": sparse chunk part at agbno " +
                                   std::to_string(run_start) + " is not aligned to " + std::to_string(sb.spino_align) +
                                   " blocks");
    const int64_t from = std::max(run_start, *last_block + 1);
    if (from < run_end) s.cx.space.claim(s.agno, static_cast<uint32_t>(from), static_cast<uint32_t>(run_end - from), Owner::kInodes, 0);
    *last_block = std::max(*last_block, run_end - 1);
    run_start = -1;
  };
  for (uint32_t i = 0; i < fs::kInodesPerChunk; i++) {
    if (holes >> i & 1) {
      flush();
      continue;
    }
    const uint32_t agino = r.startino + i;
    const int64_t block = fs::agino_to_agbno(sb, agino);
    if (run_start < 0) {
      run_start = block;
      run_end = block + 1;
    } else if (block >= run_end) {
      run_end = block + 1;
    }
    if (!s.cx.inodes.add(ag_ino | agino, r.free >> i & 1))
      s.report("inobt", daddr, "inode " + std::to_string(ag_ino | agino) + " is covered by two inode records");
  }
  flush();
}

void report_diff(const AgScan& s, uint64_t daddr, const std::vector<InobtRec>& a, const std::vector<InobtRec>& b,
                 const std::string& what) {
  std::vector<InobtRec> diff;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(diff), rec_less);
  for (size_t i = 0; i < diff.size() && i < kMaxListed; i++)
    s.report("finobt", daddr, "inode record startino " + std::to_string(diff[i].startino) + " (" +
                                  std::to_string(diff[i].freecount) + " free) " + what);
  if (diff.size() > kMaxListed)
    s.report("finobt", daddr, std::to_string(diff.size() - kMaxListed) + " more inode records " + what);
}

// "agi_count 10 but the inobt counts 8".
void check_field(const AgScan& s, uint64_t daddr, const char* field, uint64_t want, uint64_t got, const char* tree) {
  if (want != got)
    s.report("agi", daddr, std::string(field) + " " + std::to_string(want) + " but the " + tree + " counts " + std::to_string(got));
}

}  // namespace

void check_inode_btrees(const AgScan& s, const fs::AgiInfo& agi, uint64_t agi_daddr, AgTotals* t) {
  const fs::Superblock& sb = s.cx.sb;
  const bool sparse_fs = sb.features_incompat & fs::kIncompatSpinodes;
  std::vector<InobtRec> with_free;
  uint64_t count = 0, freecount = 0;
  int64_t last_block = -1;
  auto inobt_rec = [&](std::span<const std::byte> raw, uint64_t daddr) {
    const InobtRec r = fs::decode_inobt_rec(raw.data(), sparse_fs);
    if (!check_record(s, r, daddr)) return;
    claim_chunk(s, r, daddr, &last_block);
    count += r.count;
    freecount += r.freecount;
    if (r.freecount > 0) with_free.push_back(r);
  };
  const auto ist = walk_tree(s, btree::SbtreeKind::kInobt, agi.root, agi.level, Owner::kInobt, inobt_rec);
  check_field(s, agi_daddr, "agi_count", agi.count, count, "inobt");
  check_field(s, agi_daddr, "agi_freecount", agi.freecount, freecount, "inobt");
  const bool inobtcount = sb.features_ro_compat & fs::kRoCompatInobtcnt;
  if (inobtcount) check_field(s, agi_daddr, "agi_iblocks", agi.iblocks, ist.blocks, "inobt");

  if (sb.features_ro_compat & fs::kRoCompatFinobt) {
    std::vector<InobtRec> fino;
    auto finobt_rec = [&](std::span<const std::byte> raw, uint64_t) { fino.push_back(fs::decode_inobt_rec(raw.data(), sparse_fs)); };
    const auto fst = walk_tree(s, btree::SbtreeKind::kFinobt, agi.free_root, agi.free_level, Owner::kFinobt, finobt_rec);
    std::sort(with_free.begin(), with_free.end(), rec_less);
    std::sort(fino.begin(), fino.end(), rec_less);
    report_diff(s, agi_daddr, with_free, fino, "has free inodes in the inobt but is not in the finobt as such");
    report_diff(s, agi_daddr, fino, with_free, "is in the finobt but not in the inobt with free inodes");
    if (inobtcount) check_field(s, agi_daddr, "agi_fblocks", agi.fblocks, fst.blocks, "finobt");
  }
  t->icount = count;
  t->ifree = freecount;
}

}  // namespace xfsfuse::fsck
