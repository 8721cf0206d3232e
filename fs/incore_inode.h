// fs/incore_inode.h — the in-core inode: one mutable object per inode number
// (the kernel's struct xfs_inode), shared by every user through InodeRef.
//
// The object holds the decoded core, both forks in memory (the extent list of
// an extents- or btree-format fork, the literal bytes of a local or device
// fork, the bmbt root of a btree-format fork) and the inode's bytes as last
// read or written (`raw`), so that fields the core does not model survive
// an encode().  Changes are made under the exclusive inode lock and noted in
// `dirty` (which parts changed: what a transaction must write and, later,
// log); encode() turns the object back into on-disk bytes with a fresh CRC.
//
// Locking (XFS's ILOCK): `lock` shared to read the core or a fork, exclusive
// to change them.  Functions of fs/ that take a `const CachedInode&` read it:
// REQUIRES its lock held shared when another thread may change the inode.
// Lock order between inodes: ascending inode number (see docs/locking.md).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <span>
#include <string>
#include <vector>

#include "fs/bmap.h"
#include "fs/inode.h"
#include "fs/superblock.h"

namespace xfsfuse::fs {

/// One fork of an in-core inode (the kernel's xfs_ifork).
struct InodeFork {
  ForkFormat format = ForkFormat::kExtents;
  /// kExtents and kBtree: every extent of the fork, sorted by startoff.
  std::vector<Extent> extents;
  /// kLocal: the fork's literal area (fork_size() bytes: short-form
  /// directory, symlink target or short-form attrs, then unused bytes);
  /// kBtree: the bmbt root as stored (xd_bmdr_block, fork_size() bytes);
  /// kDev: the fork (the be32 device number first).  Empty for kExtents.
  std::vector<std::byte> bytes;
};

/// Which parts of an in-core inode changed since it was last encoded (the
/// inode log item's fields, for the transaction and later the log).
enum InodeDirty : uint32_t {
  kDirtyCore = 1u << 0,   ///< a field of the core
  kDirtyData = 1u << 1,   ///< the data fork's contents
  kDirtyAttr = 1u << 2,   ///< the attr fork's contents
};

/// One in-core inode.  Built by the inode cache (Mount::iget); never copied.
struct CachedInode {
  CachedInode() = default;
  CachedInode(const CachedInode&) = delete;
  CachedInode& operator=(const CachedInode&) = delete;

  /// The inode lock: shared to read everything below, exclusive to change it.
  mutable std::shared_mutex lock;
  /// The I/O lock (XFS's IOLOCK), taken before `lock`: held across a whole
  /// write, truncate or fallocate, whose several transactions must not
  /// interleave with another's on the same file (fs/ops/file_write.h).
  std::mutex iolock;
  Inode core;
  uint64_t daddr = 0;            ///< 512-byte sector of the block holding the inode (for log lines)
  std::vector<std::byte> raw;    ///< the inodesize bytes as last read or encoded
  InodeFork df, af;              ///< data and attr forks
  std::atomic<uint32_t> dirty{0};  ///< InodeDirty bits not yet encoded
  /// The inode is free on disk (mode 0): loaded by Mount::iget_new() for a
  /// file being created, not yet committed, or freed by inactivate()
  /// (fs/ops/inactivate.h).  Mount::iget() answers ENOENT for it, so no one
  /// else uses an inode that does not exist (yet or any more).
  std::atomic<bool> is_free{false};
  /// An O_TMPFILE inode that link() may give a first name although its link
  /// count is 0 (the VFS's I_LINKABLE; cleared by that link).  Guarded by
  /// `lock`.
  bool linkable = false;
  /// The log's commit seq of the last transaction that logged this inode
  /// (fs/log/log.h), what an fsync of it forces; at load, the last seq
  /// queued then (an inode evicted with a change still queued must not
  /// look clean).  0 without a log.
  std::atomic<uint64_t> log_seq{0};
  /// The same for the last transaction that changed more than the inode's
  /// timestamps (and change count): what an fdatasync forces.  The kernel
  /// leaves out of fdatasync's log force an inode whose fields logged since
  /// its last fsync are timestamps only (XFS_ILOG_TIMESTAMP): an overwrite
  /// inside the file's blocks changes only mtime and ctime, which are not
  /// needed to read the data back.  At load, the last seq queued then.
  std::atomic<uint64_t> datasync_seq{0};
  /// Mount's data-write count just after the last write of this file's data
  /// to the image (Mount::write_data_blocks); at load, the count then.  An
  /// fsync syncs the image only when a sync has not covered it yet.
  mutable std::atomic<uint64_t> data_gen{0};

  const InodeFork& fork(bool attr_fork) const { return attr_fork ? af : df; }
  InodeFork& fork(bool attr_fork) { return attr_fork ? af : df; }
  /// The literal bytes of a local, device or btree-format fork (empty for an
  /// extents-format fork).
  std::span<const std::byte> fork_bytes(bool attr_fork) const { return fork(attr_fork).bytes; }
  bool has_attr_fork() const { return core.forkoff != 0; }
};
using InodeRef = std::shared_ptr<CachedInode>;

/// Copies the literal bytes of both forks of the inode in ip->raw into
/// ip->df / ip->af (formats from ip->core; extent lists are the caller's:
/// decode_extent_fork() or a bmbt walk).
void load_fork_bytes(CachedInode* ip);

/// Encodes ip (core and both forks) into out, the inode's inodesize bytes in
/// its cluster buffer, with a fresh CRC, and makes ip->raw a copy of them;
/// clears ip->dirty.  Bytes the core does not model, and fork bytes past
/// the last extent record, are taken from ip->raw; di_next_unlinked is taken
/// from out (only fs/alloc/iunlink.h changes it, there) and copied into
/// ip->core.next_unlinked.
/// Returns 0, or EUCLEAN with *why if the forks do not fit their sizes (an
/// in-core state that must never reach the disk).
/// REQUIRES: ip->lock held (exclusive, or shared with no writer possible).
int encode_inode(CachedInode* ip, std::span<std::byte> out, std::string* why);

}  // namespace xfsfuse::fs
