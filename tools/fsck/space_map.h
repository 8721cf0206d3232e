// tools/fsck/space_map.h — who owns each filesystem block.
//
// Every fsblock of every AG must be claimed exactly once: AG headers, AGFL
// blocks, free space (the bnobt's extents), btree blocks, inode chunks, the
// internal log, and the data / bmbt / attr blocks of inodes.  claim() reports
// any overlap with an earlier claim (naming both owners); check_coverage()
// then reports every unclaimed range.  Units: fsblocks within an AG (agbno).
// Two implementations: in memory (sorted extents per AG), and in RocksDB
// under --scratch (tools/fsck/scratch.h), with the same verdicts.
// Thread safety: claim() may be called from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "fs/superblock.h"
#include "tools/fsck/problems.h"

namespace xfsfuse::fsck {

/// What owns a block.  Inode-owned kinds carry the inode number.
enum class Owner : uint8_t {
  kAgHeaders = 1,  ///< the sectors of sb, AGF, AGI, AGFL at the start of the AG
  kAgfl,           ///< a block listed in the AGFL
  kFree,           ///< a free extent (bnobt record)
  kBnobt, kCntbt, kInobt, kFinobt, kRmapbt, kRefcountbt,  ///< btree blocks
  kInodes,         ///< an inode chunk (the non-sparse part)
  kLog,            ///< the internal log
  kData,           ///< data fork extent of an inode
  kAttr,           ///< attr fork extent of an inode
  kBmbt,           ///< bmbt block of an inode's fork
  kCowStaging,     ///< a CoW staging extent (refcountbt record with the top bit set): no inode's yet
};
/// "agheaders", "agfl", "free", "bnobt", ..., "data", "attr", "bmbt", "cow staging".
const char* owner_name(Owner o);

class SpaceMap {
 public:
  virtual ~SpaceMap() = default;
  /// Claims [agbno, agbno + len) of AG agno for owner (ino: the inode for
  /// kData / kAttr / kBmbt, else 0).  A range outside the AG, or one that
  /// overlaps an earlier claim, is reported (structure: owner's structure,
  /// "space" for free/headers) and the overlapping part is not claimed twice.
  virtual void claim(uint32_t agno, uint32_t agbno, uint32_t len, Owner owner, uint64_t ino) = 0;
  /// Reports every range of every AG nobody claimed ("space": "agbno X..Y
  /// (N blocks) is neither free nor in use").  Call once, after all claims.
  virtual void check_coverage() = 0;
  /// Blocks claimed by owner so far (all AGs).
  virtual uint64_t claimed(Owner owner) const = 0;
};

/// The in-memory SpaceMap for sb, reporting to rep.
std::unique_ptr<SpaceMap> make_memory_space_map(const fs::Superblock& sb, Reporter* rep);

}  // namespace xfsfuse::fsck
