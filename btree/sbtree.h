// btree/sbtree.h — walking a short-form v5 AG btree (bnobt, cntbt, inobt,
// finobt, refcountbt, rmapbt) of any depth, for checkers.
//
// Every block is one fsblock with a 56-byte header (xd_btree_sblock: magic,
// level, numrecs, leftsib / rightsib as agbno with NULLAGBLOCK at the ends,
// blkno, lsn, uuid, owner = agno, CRC at offset 52).  Leaves hold records,
// nodes hold maxrecs = (blocksize - 56) / (key + 4) keys and then as many
// be32 agbno pointers; the rmapbt (overlapping) keeps a low and a high key
// per pointer.  Format: XFS Algorithms & Data Structures, "Short Format
// B+trees", "AG Free Space B+trees", "Inode B+trees", "Reference Count
// B+tree", "Reverse-Mapping B+tree".
//
// The walk checks the shape and carries on past every fault it can: levels
// descend by one, numrecs within maxrecs (0 only in a root leaf), keys and
// records ascend (non-strictly in the rmapbt), a child's first key is not
// below its parent's key, sibling pointers chain each level in key order
// with NULL ends, pointers inside the AG, no block reached twice, depth
// bounded.  A subtree under a bad pointer or an unreadable block is skipped.
// Faults in the links between blocks (siblings, keys against the parent's)
// are flagged apart (SbtreeFault::link) for the caller to judge.
// The caller reads blocks (and so picks the verifier and the owner check).
// Thread safety: pure functions over the caller's callbacks.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>

#include "buffer_cache/buf_ops.h"
#include "btree/layout.h"
#include "buffer_cache/buffer_cache.h"

namespace xfsfuse::btree {

inline constexpr unsigned kSbtreeMaxLevels = 12;  // deeper than any AG btree of 2^31 blocks

enum class SbtreeKind : uint8_t { kBnobt, kCntbt, kInobt, kFinobt, kRefcountbt, kRmapbt };

/// "bnobt", "cntbt", "inobt", "finobt", "refcountbt", "rmapbt".
const char* sbtree_name(SbtreeKind kind);
/// The block magic: "AB3B", "AB3C", "IAB3", "FIB3", "R3FC", "RMB3".
uint32_t sbtree_magic(SbtreeKind kind);
/// Bytes of one leaf record (8, 8, 16, 16, 12, 24).
size_t sbtree_rec_size(SbtreeKind kind);
/// kind's block layout (btree/layout.h): 56-byte header, its records, key
/// slots (both keys for the rmapbt) and be32 agbno pointers.
BlockLayout sbtree_layout(SbtreeKind kind);
/// Records (level 0) or keys (level > 0) a block of blocksize bytes holds.
uint32_t sbtree_maxrecs(SbtreeKind kind, uint32_t blocksize, unsigned level);
/// The verifier for kind's blocks: magic, CRC over the block, blkno, uuid;
/// owner_ok() compares bb_owner with the agno.  Lives for the program.
const bc::BufOps& sbtree_ops(SbtreeKind kind);

/// Reads the block at agbno into *out.  Returns 0, or an errno with a short
/// reason in *why (the walk reports it and skips the subtree).
using SbtreeReadFn = std::function<int(uint32_t agbno, bc::BufHandle* out, std::string* why)>;
/// One leaf record (sbtree_rec_size bytes) of the leaf at daddr, in key order.
using SbtreeRecordFn = std::function<void(std::span<const std::byte> rec, uint64_t daddr)>;
/// A block of the tree at agbno and its level, once, before it is read.
using SbtreeBlockFn = std::function<void(uint32_t agbno, unsigned level)>;

/// A structural fault of the tree.
struct SbtreeFault {
  uint32_t agbno = 0;  ///< the block at fault (or holding the bad pointer)
  uint64_t daddr = 0;  ///< its 512-byte sector
  std::string why;
  /// A link between blocks is wrong (a sibling pointer, or a child's first
  /// key below its parent's key) rather than a block's own shape or records.
  bool link = false;
};
using SbtreeFaultFn = std::function<void(const SbtreeFault&)>;

struct SbtreeWalk {
  SbtreeKind kind = SbtreeKind::kBnobt;
  uint32_t blocksize = 0;   ///< bytes per fsblock
  uint64_t ag_daddr = 0;    ///< sector of the AG's agbno 0
  uint32_t ag_length = 0;   ///< fsblocks in the AG: pointers must lie in [1, ag_length)
  uint32_t root = 0;        ///< root agbno (from the AGF / AGI)
  unsigned levels = 0;      ///< tree height (from the AGF / AGI): the root's level + 1
  SbtreeReadFn read;
  SbtreeRecordFn record;    ///< may be empty
  SbtreeBlockFn block;      ///< may be empty
  SbtreeFaultFn fault;
};

/// What a walk saw.
struct SbtreeStats {
  uint64_t blocks = 0;   ///< blocks reached (handed to block)
  uint64_t records = 0;  ///< leaf records handed to record
};

/// Walks the tree w describes, reporting every fault through w.fault.
SbtreeStats sbtree_walk(const SbtreeWalk& w);

}  // namespace xfsfuse::btree
