// tools/fsck/context.h — what every phase of xfsfuse-fsck shares, and the
// phases themselves, in the order fsck_main runs them:
//   check_superblocks  primary + every secondary copy; claims the log
//   check_ags          per AG: AGF, AGI, AGFL headers; bnobt, cntbt, inobt,
//                      finobt (and refcountbt / rmapbt when the features are
//                      on): records, keys, claims of btree blocks, free
//                      extents, AGFL blocks, inode chunks; fills the inode
//                      table from the inobt; AG counters against the trees;
//                      keeps the shared (reflinked) extents for check_inodes
//   check_inodes       every inode the inobt covers: CRC, di_ino, uuid,
//                      mode vs free bit, forks (claims data/attr/bmbt
//                      blocks), nblocks / nextents exact, sizes sane; the
//                      attr fork's entries, da btree and remote values
//   check_directories  every directory in every format: entries, ".", "..",
//                      ftype, leaf/node/free structures; links; reachability
//   check_links        nlink against what the directories showed
//   check_counters     sb_icount / sb_ifree / sb_fdblocks against the AGs
//   SpaceMap::check_coverage  every block owned exactly once
// A phase reports what it finds and carries on: it stops only at what makes
// its own further checks meaningless (e.g. an AG whose AGF is unreadable).
// Nothing writes to the image.
#pragma once

#include <cstdint>
#include <functional>
#include <unordered_set>
#include <vector>

#include "fs/ag.h"
#include "fs/mount.h"
#include "tools/fsck/inode_table.h"
#include "tools/fsck/problems.h"
#include "tools/fsck/space_map.h"

namespace xfsfuse::fsck {

/// Per-AG numbers the AG phase counted in the trees (not copied from the
/// headers: a bad AGF/AGI field is reported once, there), for check_counters
/// (fsblocks / inodes).  On a consistent AG they equal the header fields named.
struct AgTotals {
  /// A refcountbt record of blocks shared by files (refcount >= 2; not CoW
  /// staging), for the inode phase's SharedBlocks (inode_check.h).
  struct SharedExtent {
    uint32_t start = 0, len = 0, refcount = 0;
    uint64_t daddr = 0;  ///< the refcountbt leaf holding it
  };
  bool ok = false;            ///< the AGF and AGI could be read
  uint64_t free_blocks = 0;   ///< sum of bnobt record lengths (agf_freeblks)
  uint64_t agfl_blocks = 0;   ///< valid AGFL entries (agf_flcount)
  uint64_t btree_blocks = 0;  ///< bnobt/cntbt/rmapbt blocks beyond their roots (agf_btreeblks)
  uint64_t icount = 0, ifree = 0;  ///< inobt records' counts and freecounts (agi_count, agi_freecount)
  /// The refcountbt's sound shared records, ascending and disjoint (empty
  /// without reflink); the inode phase takes them over.
  std::vector<SharedExtent> shared;
};

struct Context {
  fs::Mount& m;
  const fs::Superblock& sb;
  Reporter& rep;
  SpaceMap& space;
  InodeTable& inodes;
  std::vector<AgTotals> ags;  ///< sb.agcount entries, filled by check_ags
  /// Progress callback (may be empty): phase name and fraction done 0..1.
  std::function<void(const char* phase, double done)> progress;
  /// After a log replay (--replay): the inodes on the AGI unlinked lists
  /// (files unlinked while open at the crash), which the mount that recovers
  /// frees; no directory names them and their link count is 0.  Filled by
  /// check_ags.
  std::unordered_set<uint64_t> unlinked;
};

void check_superblocks(Context& cx);
void check_ags(Context& cx);
void check_inodes(Context& cx);
void check_directories(Context& cx);
void check_links(Context& cx);
void check_counters(Context& cx);

}  // namespace xfsfuse::fsck
