// tools/fsck/dir_check_internal.h — what the directory phase
// (dir_check.cc) and the link check (dir_check_links.cc) share: where an
// inode lives, for their Problem lines, and the ftype its mode implies.
#pragma once

#include <cstdint>

#include "fs/superblock.h"

namespace xfsfuse::fsck {

/// The directory-entry ftype (fs::DirFtype) di_mode's file type implies;
/// kFtUnknown for a mode with no file type.
uint8_t ftype_of_mode(uint16_t mode);

/// 512-byte sector of the fsblock holding inode ino (kNoDaddr if ino lies
/// outside the filesystem).
uint64_t inode_daddr(const fs::Superblock& sb, uint64_t ino);

/// The AG of inode ino.
int64_t ino_agno(const fs::Superblock& sb, uint64_t ino);

}  // namespace xfsfuse::fsck
