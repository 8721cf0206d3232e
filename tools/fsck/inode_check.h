// tools/fsck/inode_check.h — the inode phase's pieces (internal to
// inode_check*.cc): one inode being judged, and the checks of its forks.
//
// check_inodes() (inode_check.cc) reads every inode cluster once, judges each
// inode's core (identity, mode against the inobt's free bit, flags, sizes)
// and hands in-use inodes to check_forks() (inode_fork_check.cc), which
// walks both forks, claims their blocks and checks the counts.  Every
// finding is one Problem ("inode" for the inode, "bmbt" for a bmbt block).
// Format: XFS Algorithms & Data Structures, "On-disk Inode" and "Data
// Extents"; xfs_repair -n's verdicts where the document is silent.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "fs/inode.h"
#include "tools/fsck/context.h"

namespace xfsfuse::fsck {

/// One in-use inode under check: its decoded core, its raw bytes (inodesize),
/// where it lives, and whether a check found it not fit to be followed.
struct InodeCheck {
  Context& cx;
  uint64_t ino;
  uint32_t agno;
  uint64_t daddr;  ///< 512-byte sector of the fsblock holding the inode
  const fs::Inode& n;
  std::span<const std::byte> raw;
  bool bad = false;

  /// Reports a problem of this inode (structure "inode").
  void problem(std::string what) const { cx.rep.report("inode", agno, ino, daddr, std::move(what)); }
  /// Reports a problem and marks the inode bad.
  void fail(std::string what) {
    bad = true;
    problem(std::move(what));
  }
};

/// Checks the data and attr forks of an in-use inode whose core passed
/// (format suits the mode, forkoff inside the literal area): extents sorted,
/// non-overlapping, inside one AG, no zero lengths; bmbt forks walked and
/// their blocks verified; claims every extent (kData / kAttr) and bmbt block
/// (kBmbt) in cx.space; di_nextents, di_anextents and di_nblocks exact.
/// Marks ic.bad on a fork that cannot be trusted.
void check_forks(InodeCheck& ic);

/// Checks di_size against the file type and fork format (directories,
/// symlinks, special files), as xfs_repair's inode phase does.
void check_size(InodeCheck& ic);

}  // namespace xfsfuse::fsck
