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
#include <vector>

#include "fs/inode.h"
#include "tools/fsck/context.h"

namespace xfsfuse::fsck {

/// Shared (reflinked) data blocks: every AG's refcountbt records with a
/// refcount of 2 or more, and how many inode references to them the forks
/// showed.  The AG phase judges the refcountbt and keeps its sound records
/// in Context::ags (a tree it cannot read holds no shared blocks here).
class SharedBlocks {
 public:
  /// Takes over the AG phase's shared records (cx.ags[].shared, left empty).
  explicit SharedBlocks(Context& cx);
  /// Claims [agbno, agbno + len) of AG agno as data of ino: the parts that
  /// no shared record covers are claimed in cx.space at once; the shared
  /// parts are counted as references to their records.
  void claim_data(uint32_t agno, uint32_t agbno, uint32_t len, uint64_t ino);
  /// After every inode: claims each shared record once (data of inode 0)
  /// and reports, block by block, the parts of a record the forks map other
  /// than refcount times ("refcountbt", one problem per run of blocks).
  void finish();

 private:
  struct Rec {
    uint32_t start = 0, len = 0, refcount = 0;
    uint64_t daddr = 0;  // the refcountbt leaf holding it
    std::vector<std::pair<uint32_t, uint32_t>> refs;  // [from, to) agbno of it some fork maps, one per mapping
  };
  Context& cx_;
  std::vector<std::vector<Rec>> ags_;  // per AG, sorted by start
};

/// One in-use inode under check: its decoded core, its raw bytes (inodesize),
/// where it lives, and whether a check found it not fit to be followed.
struct InodeCheck {
  Context& cx;
  uint64_t ino;
  uint32_t agno;
  uint64_t daddr;  ///< 512-byte sector of the fsblock holding the inode
  const fs::Inode& n;
  std::span<const std::byte> raw;
  SharedBlocks& shared;
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

/// Checks the inside of ic's attr fork, once check_forks() found its
/// mapping sound (tools/fsck/attr_check.cc): short-form entries, or every
/// leaf, node and remote value block through fs::attr_deep_check().  Reports
/// "attr" problems; does not mark the inode bad.  An extents- or btree-format
/// fork is read through Mount::iget: hold no inode cluster buffer.
void check_attr_fork(InodeCheck& ic);

/// Checks di_size against the file type and fork format (directories,
/// symlinks, special files), as xfs_repair's inode phase does.
void check_size(InodeCheck& ic);

}  // namespace xfsfuse::fsck
