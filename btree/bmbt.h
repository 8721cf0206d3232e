// btree/bmbt.h — walking a bmbt (the long-form btree that maps a btree-format
// inode fork) of any depth.
//
// The root sits in the inode fork (xd_bmdr_block: level, numrecs, then keys
// and pointers, the pointers after room for maxrecs = (fork bytes - 4) / 16
// keys — docs/format.md "File extents (bmbt)"); every other block is a long-form v5 btree
// block (xd_btree_lblock, magic "BMA3", 72-byte header) of one fsblock:
// leaves hold 16-byte bmbt records, nodes hold maxrecs = (blocksize - 72) / 16
// keys (startoff, be64) and then as many pointers (fsblock, be64).  Format:
// XFS Algorithms & Data Structures, "B+tree Extent List".
//
// This layer knows the block shapes only; the caller reads blocks (and so
// decides the verifier and the owner check) and interprets the records.
// Thread safety: pure functions over the caller's callbacks.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>

#include "btree/layout.h"
#include "buffer_cache/buf_ops.h"
#include "buffer_cache/buffer_cache.h"
#include "fs/format/inode.h"
#include "fs/format/magic.h"

namespace xfsfuse::btree {

inline constexpr unsigned kBmbtMaxLevels = 9;  // more than any fork can need (2^54 offsets)

/// The verifier of bmbt blocks: magic "BMA3", CRC over the block, blkno,
/// uuid; owner_ok() compares bb_owner with the inode number.  Lives for the
/// program.
const bc::BufOps& bmbt_ops();

/// Reads the bmbt block at fsblock into *out (already verified: magic, CRC,
/// blkno, uuid, owner).  Returns 0 or an errno.
using BmbtReadFn = std::function<int(uint64_t fsblock, bc::BufHandle* out)>;
/// Receives one leaf record, in key order.  A non-zero return stops the walk
/// and is returned.
using BmbtRecordFn = std::function<int(const xd_bmbt_rec& rec)>;

/// Where and why a walk met a bad structure.
struct BmbtFault {
  uint64_t daddr = 0;  ///< 512-byte sector of the bad block; 0 for the root in the inode
  std::string why;
};

/// Visits every record of the bmbt whose root is `root` (the fork's bytes),
/// with fsblocks of blocksize bytes.  Checks that levels descend by one, that
/// numrecs fit the block, that keys ascend within every block and that each
/// child's first record is not below its key, and that every leaf's rightsib
/// is the next leaf visited.  Returns 0; EUCLEAN with *fault filled; or the
/// first error of read or emit.
int bmbt_walk(std::span<const std::byte> root, uint32_t blocksize, const BmbtReadFn& read, const BmbtRecordFn& emit,
              BmbtFault* fault);

}  // namespace xfsfuse::btree
