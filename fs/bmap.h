// fs/bmap.h — file extents: extent-format inode forks.
//
// An extents-format fork is an array of di_nextents bmbt records (Extent,
// decode_bmbt_rec and encode_bmbt_rec: fs/format/records.h).  Fork sizes:
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
#include "fs/format/records.h"
#include "fs/inode.h"

namespace xfsfuse::fs {

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
