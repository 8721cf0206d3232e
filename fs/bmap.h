// fs/bmap.h — file extents: bmbt records and extent-format inode forks.
//
// A bmbt record packs, big-endian over 128 bits: bit 127 the unwritten flag,
// then startoff (54 bits, file offset in fsblocks), startblock (52 bits, an
// fsblock number: agno << agblklog | agbno) and blockcount (21 bits).  An
// extents-format fork is an array of di_nextents such records.  Fork sizes:
// the data fork runs from the end of the inode core to di_forkoff * 8 (or the
// end of the inode without an attr fork); the attr fork takes the rest.
// Btree-format forks (bmbt) are walked by btree/, not here.
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "fs/format/geometry.h"
#include "fs/format/inode.h"
#include "fs/inode.h"

namespace xfsfuse::fs {

/// One extent; all units fsblocks.
struct Extent {
  uint64_t startoff = 0;    ///< file offset
  uint64_t startblock = 0;  ///< fsblock number (agno << agblklog | agbno)
  uint64_t blockcount = 0;
  bool unwritten = false;   ///< allocated but reads as zeros
  bool operator==(const Extent&) const = default;
};

Extent decode_bmbt_rec(const xd_bmbt_rec& r);

/// Checks that an extent is non-empty and lies inside one AG of the
/// filesystem.  Returns 0 or EUCLEAN with *why.
int check_extent(const Superblock& sb, const Extent& e, std::string* why);

/// Bytes of the data or attr fork of inode n.
uint32_t fork_size(const Inode& n, bool attr_fork);

/// Decodes an extents-format fork of the inode whose raw bytes are raw (the
/// whole inode).  Checks every extent, that they are sorted by startoff and do
/// not overlap, and that they fit the fork.  Returns 0, EUCLEAN with *why, or
/// EINVAL if the fork is not in extents format.
int decode_extent_fork(const Superblock& sb, const Inode& n, std::span<const std::byte> raw, bool attr_fork,
                       std::vector<Extent>* out, std::string* why);

}  // namespace xfsfuse::fs
