// fs/mount.h — a mounted XFS image: the wiring of superblock, buffer cache,
// per-AG state and inode cache.
//
// Mount::open() reads and judges the superblock, checks that the log is
// clean (or accepts a dirty one with norecovery), and builds the vmap/ pool,
// the Vmap, the buffer cache the rest of fs/ reads through, the per-AG table
// (fs/perag.h) and the inode cache (fs/icache.h).  iget() gives the one
// in-core inode of a number (fs/incore_inode.h: decoded core, both forks in
// memory, bmbt forks of any depth flattened into extent lists).  read_dablk() reads one directory block (1 << sb_dirblklog
// fsblocks, of a directory's data fork) or one attr block (1 fsblock, attr
// fork) as ONE buffer with one map per extent it crosses, mapped contiguous
// through vmap/.
//
// Errors are positive errno values.  EUCLEAN means a structure failed a
// check; the function that found it has already logged one line through
// report_corruption() (or the buffer cache did).
// Thread safety: every method may be called from any thread.
#pragma once

#include <sys/uio.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "buffer_cache/buffer_cache.h"
#include "fs/ag.h"
#include "fs/bmap.h"
#include "fs/buf_ops.h"
#include "fs/icache.h"
#include "fs/incore_inode.h"
#include "fs/inodegc.h"
#include "fs/inode.h"
#include "fs/log/ends.h"
#include "fs/log/recover.h"
#include "fs/perag.h"
#include "fs/superblock.h"
#include "vmap/page_pool.h"
#include "vmap/shrinker.h"
#include "vmap/vmap.h"

namespace xfsfuse::fs::xlog {
class Log;
}  // namespace xfsfuse::fs::xlog

namespace xfsfuse::fs {

struct CommittedTrans;  // fs/trans/trans.h

struct MountOptions {
  size_t cache_bytes = 64u << 20;   ///< buffer cache budget (cache_mb)
  vmap::UnmapPolicy vmap_policy = vmap::UnmapPolicy::kLazy;
  uint32_t vmap_batch = 64;         ///< lazy purge batch (vmap_batch)
  bool vmap_all = false;            ///< map every multi-page buffer through a vmap slot (vmap_all)
  bool norecovery = false;          ///< mount a dirty log anyway (the view may be stale)
  /// Open the image read-write.  Refused (EROFS) for what the write path
  /// cannot keep correct: unknown ro_compat features, rmapbt, a realtime
  /// device, a dirty log (norecovery or not), log_incompat features.
  bool writable = false;
  /// Read-write: log every change in the XFS log (write-ahead), so a crash
  /// leaves an image the kernel and xfsfuse recover.  false (nolog): the
  /// old guard instead, NEEDSREPAIR set while mounted (for debugging).
  bool write_log = true;
  /// Tests: wraps the opened image device (a device that fails on cue).
  std::function<std::unique_ptr<bc::BlockDevice>(std::unique_ptr<bc::BlockDevice>)> wrap_device;
  size_t inode_cache = 65536;       ///< in-core inodes kept (unreferenced ones are dropped beyond this)
  /// Read the root inode at open and refuse a mount whose root is not a
  /// directory.  false: for checkers (xfsfuse-fsck), which judge it themselves.
  bool check_root = true;
  /// Where the filesystem starts in the image, bytes (offset=), and how many
  /// bytes it may use from there (sizelimit=; 0: to the image's end).
  uint64_t offset = 0, sizelimit = 0;
  /// New inodes get an empty attr fork at the default offset, as the kernel
  /// gives them when built with CONFIG_SECURITY (init_xattrs, the default;
  /// noinit_xattrs: none, as a kernel without it).
  bool init_xattrs = true;
};

/// The per-AG counters summed over every AG (fs/perag.h): what the lazy
/// superblock counters stand for.
struct AgCounterSums {
  uint64_t free_blocks = 0;     ///< freeblks + flcount + btreeblks: sb_fdblocks (fsblocks)
  uint64_t icount = 0;          ///< inodes allocated: sb_icount
  uint64_t ifree = 0;           ///< of them free: sb_ifree
  uint64_t allocbt_blocks = 0;  ///< blocks of the free-space btrees (statfs holds them back)
};

/// statfs numbers, as the kernel's XFS reports them (xfs_fs_statfs).
struct StatFs {
  uint64_t bsize = 0;    ///< f_bsize = f_frsize: the block size
  uint64_t blocks = 0;   ///< data blocks minus the internal log
  uint64_t bfree = 0;    ///< free data blocks (fdblocks minus the reserved set-aside)
  uint64_t bavail = 0;
  uint64_t files = 0;    ///< inodes allocated + what free space could hold (capped by imax_pct)
  uint64_t ffree = 0;
  uint64_t namemax = 255;
  uint64_t fsid = 0;
};

class Mount {
 public:
  /// Opens the image file at path (read-write if opts.writable).  Returns 0, or an errno with a
  /// one-line reason for the user in *err, starting with "PATH: ": ENOENT/EACCES (open), EUCLEAN
  /// (superblock corrupt), EINVAL (not an XFS v5 filesystem), EOPNOTSUPP
  /// (features refused), EUCLEAN for a dirty log without norecovery.
  static int open(const std::string& path, const MountOptions& opts, std::unique_ptr<Mount>* out, std::string* err);
  ~Mount();

  /// The superblock as read at mount (its counters and NEEDSREPAIR bit are
  /// not updated by a read-write mount: see statfs() and start_change()).
  const Superblock& sb() const { return sb_; }
  bc::BufferCache& cache() { return *cache_; }
  vmap::Vmap& vm() { return *vm_; }
  const MountOptions& options() const { return opts_; }
  /// Warnings the mount produced (dirty log with norecovery, unknown ro_compat bits).
  const std::vector<std::string>& warnings() const { return warnings_; }
  /// Mounted with norecovery over a log that needs recovery.
  bool log_dirty() const { return log_dirty_; }
  /// The driver's warning for that (empty when the log is clean).
  const std::string& log_warning() const { return log_warning_; }
  /// The log's head, tail and state as the mount found them (docs/log.md).
  const xlog::LogEnds& log_ends() const { return log_ends_; }
  /// Whether this mount replayed a dirty log: onto the image (read-write),
  /// or into memory only (read-only: the replayed metadata overlays the
  /// image, which is never written).
  bool recovered() const { return recovered_; }
  /// One line saying where the log was replayed and what it held (empty
  /// when it was not replayed).
  const std::string& recovery_note() const { return recovery_note_; }

  /// The running log of a read-write mount (null: read-only, or nolog).
  xlog::Log* log() { return log_.get(); }
  /// Whether the mount was opened read-write (and may still write: see shut_down()).
  bool writable() const { return opts_.writable; }
  /// Called by every change before it touches anything.  With the log
  /// (the default) it only checks; with nolog the first call of a mount
  /// sets INCOMPAT_NEEDSREPAIR in the primary superblock and makes it
  /// durable, so a crash before a clean unmount leaves an image the kernel
  /// refuses and xfs_repair fixes.  Returns 0, EROFS (read-only mount), EIO
  /// (shut down, or the superblock write failed: the mount is then shut
  /// down).
  int start_change();
  /// Stops all writing after a write error or a metadata buffer that failed
  /// its write verifier: every later start_change() fails with EIO, reads go
  /// on.  With the log nothing more reaches the disk (write-back stops, the
  /// transactions not yet logged are dropped): the image is what the log
  /// recovers; with nolog NEEDSREPAIR stays set.  Logs why once.  Thread safe.
  void shut_down(const std::string& why);
  bool shut_down_state() const { return shut_down_.load(std::memory_order_acquire); }
  /// Free-space reservation (fsblocks) for transactions, against the free
  /// block count less what the kernel holds back (the per-AG set-aside and
  /// the free-space btrees' blocks): fails with ENOSPC rather than go below.
  /// The count starts from sb_fdblocks (trusted on a clean mount, as the
  /// kernel trusts it) and is rewritten from the AG sums at unmount.
  int reserve_blocks(uint64_t n);
  /// Gives back reserved blocks that were not used, or freed blocks.
  void unreserve_blocks(uint64_t n);
  /// Clean unmount of a read-write mount: forces the log, writes back every
  /// dirty buffer, then the superblock with its lazy counters (sb_icount,
  /// sb_ifree, sb_fdblocks: the sums of the AG counters; NEEDSREPAIR
  /// cleared with nolog), syncs, and ends the log with an unmount record.
  /// Does nothing on a read-only mount or one that never changed; a
  /// shut-down mount is left as it is (its log replays what was logged).
  /// Returns 0 or the first error (the mount is then shut down).
  int unmount_clean();

  /// Per-AG in-core state (counters, AGF / AGI locks).
  PerAgTable& perag() { return *perag_; }
  /// The verifiers of the AG headers.
  const AgHeaders& ag_headers() const { return *ag_; }

  /// Gets the in-core inode ino (the same object for every caller while
  /// anyone holds it).  Returns 0, EINVAL (not a valid inode number for this
  /// filesystem), ENOENT (a free inode: mode 0), EUCLEAN.
  int iget(uint64_t ino, InodeRef* out);
  /// Gets the in-core inode of ino, just allocated by ialloc() and still
  /// free on disk, for the caller to initialise (is_free set; the caller
  /// clears it when its transaction commits).  raw: the inode's bytes in
  /// its cluster buffer, which the caller's transaction holds (a new chunk
  /// exists only there).  Returns 0, EINVAL, or EUCLEAN (logged) when the
  /// inode is in use although the inobt calls it free.
  int iget_new(uint64_t ino, std::span<const std::byte> raw, InodeRef* out);
  /// Makes every change so far durable (fsync, syncfs): forces the log and
  /// syncs the image (file data); with nolog, writes back every dirty buffer
  /// and syncs.  Returns 0 or EIO (the mount is then shut down).  A no-op
  /// on a read-only mount.
  int sync();
  /// Makes ip durable (fsync, fsyncdir): with the log, syncs the image if
  /// this file's data written since the last sync is not covered yet, then
  /// forces the log only up to the last transaction that logged ip (its
  /// name, size, extents: every change made to it is in one), so an fsync
  /// waits only for the record holding that, and one of an unchanged file
  /// does no I/O.  datasync (fdatasync): forces only up to the last
  /// transaction that changed more than ip's timestamps
  /// (CachedInode::datasync_seq), as the kernel's fdatasync does.  With
  /// nolog: sync().  Returns 0 or EIO (the mount is then shut down).  A
  /// no-op on a read-only mount.
  int fsync(const CachedInode& ip, bool datasync = false);
  /// Makes every change durable in place, not only in the log: forces the
  /// log, writes back every dirty buffer and syncs (what unmount does short
  /// of ending the log).  For readers of the image behind the mount's back
  /// (tests with xfs_db).  Returns 0, EBUSY (a transaction committed
  /// meanwhile keeps a buffer pinned) or EIO (the mount is then shut down).
  int write_back();

  /// Reads up to len bytes of a regular file (or remote symlink data) from
  /// byte offset off into dst; holes and unwritten extents read as zeros;
  /// stops at di_size.  *got = bytes read.  Returns 0, EUCLEAN or EIO.
  int read_data(const CachedInode& ip, uint64_t off, size_t len, std::byte* dst, size_t* got);

  /// Writes file data straight to the image (file data never passes through
  /// the buffer cache: the kernel's page cache holds it): the iovcnt
  /// pieces of iov, one after the other, from byte `off_in_block` of
  /// fsblock `fsblock` on.  For fs/ops (the write path), which mapped those
  /// blocks to the file ip under its transaction (ip.data_gen records the
  /// write for fsync).  Returns 0 or EIO.
  int write_data_blocks(const CachedInode& ip, uint64_t fsblock, uint32_t off_in_block, const iovec* iov,
                        int iovcnt);

  /// Disk ranges of fork blocks [fsb, fsb + count), one per extent crossed
  /// (adjacent extents merged).  Returns 0, ENOENT (any part is a hole), or
  /// EUCLEAN (an unwritten extent under directory or attr metadata).
  int map_blocks(const CachedInode& ip, bool attr_fork, uint64_t fsb, uint32_t count,
                 std::vector<bc::DiskRange>* maps);

  /// Reads the directory block (data fork: 1 << dirblklog fsblocks) or attr
  /// block (attr fork: 1 fsblock) at fork block dablk as one buffer, verified
  /// by ops, owner checked against ip's ino.  Returns 0, ENOENT (hole),
  /// EUCLEAN, EIO, ENOMEM.
  int read_dablk(const CachedInode& ip, bool attr_fork, uint64_t dablk, const bc::BufOps* ops, bc::BufHandle* out);

  /// Fsblocks per inode cluster buffer (a power of two, aligned in the AG):
  /// iget() and read_inode_cluster() read clusters of this shape.
  uint32_t cluster_blocks() const { return cluster_blocks_; }
  /// Reads the inode cluster buffer holding fsblock agbno of AG agno (the
  /// same buffer iget() reads) with buf_ops().inode_cluster(), which judges
  /// no single inode; *first = the cluster's first agbno.  Each inode in it
  /// is for decode_inode() to judge.  Returns 0 or as BufferCache::get
  /// (EUCLEAN past the device, EIO, ENOMEM).
  int read_inode_cluster(uint32_t agno, uint32_t agbno, bc::BufHandle* out, uint32_t* first);
  /// The cluster buffer maps and the byte offset in it of inode ino.
  /// Returns 0 or EINVAL (not an inode number of this filesystem).
  int inode_buf_map(uint64_t ino, bc::DiskRange* map, size_t* offset) const;
  /// This filesystem's verifiers that need its superblock (fs/buf_ops.h).
  const BufOpsSet& buf_ops() const { return *ops_; }

  /// Drops every unreferenced in-core inode and evicts every unreferenced
  /// clean buffer (the control channel's drop-caches).  *inodes / *buffers
  /// (if non-null) = how many went.
  void drop_caches(uint64_t* inodes, uint64_t* buffers);
  /// In-core inodes now cached.
  size_t inodes_cached();

  /// Fills *out from the superblock and the AGFs / AGIs, once every inode
  /// waiting in the inode GC is freed (as the kernel's statfs flushes its
  /// inodegc).  Returns 0 or EUCLEAN.
  int statfs(StatFs* out);

  /// The deferred freeing of unlinked inodes (fs/inodegc.h): the FUSE
  /// layer queues an inode there when the kernel lets go of one whose link
  /// count is 0.  Stopped (drained) by unmount_clean() and ~Mount.
  InodeGc& inodegc() { return *igc_; }

  /// The mount-wide rename lock (the VFS's s_vfs_rename_mutex): held by a
  /// rename between two directories across its lookups and its transaction,
  /// so that no other directory changes parent meanwhile and its subtree
  /// check holds (fs/ops/rename.h).  Taken before any inode lock
  /// (docs/locking.md).
  std::mutex& rename_lock() { return rename_mu_; }

  /// Logs the one line for a structure that failed a check in fs/ code:
  /// "xfsfuse: metadata corruption: STRUCTURE at daddr 0x...: WHY".
  /// Returns EUCLEAN, for `return m.report_corruption(...)`.
  int report_corruption(const char* structure, uint64_t daddr, const std::string& why);

  /// Every later Transaction::commit() hands what it changed to fn (as
  /// commit(out) fills *out), from the committing thread, while the
  /// transaction still holds its locks: commits of changes that depend on
  /// each other reach fn in their order.  For the log writer and its tests;
  /// an empty fn stops it.  REQUIRES: no transaction running while it is set.
  void set_commit_observer(std::function<void(CommittedTrans&&)> fn) { commit_observer_ = std::move(fn); }
  const std::function<void(CommittedTrans&&)>& commit_observer() const { return commit_observer_; }

 private:
  // Syncs the image (cache_->sync()) and, if that worked, records that
  // file data writes up to data_gen_ value `covers`, read before, are on
  // the disk.  Returns 0 or the sync's errno.
  int sync_image(uint64_t covers);
  Mount() = default;
  // Reads and decodes the primary superblock from dev_ into sb_.  Returns 0
  // or the errno with *why ("reading the superblock: ...", "not a usable XFS
  // v5 filesystem: superblock: ...").
  int read_superblock(std::string* why);
  int check_log_state(std::string* err);
  // Replays the dirty log of blocks log blocks at byte start (fs/log/
  // recover.h) through an overlay of dev_: a read-only mount keeps the
  // overlay as its device; a read-write one writes it onto the image and
  // ends the log with an unmount record.  Then re-reads the superblock.
  int recover_log(uint64_t start, uint32_t blocks, std::string* err);
  // Ends the log a read-write recovery replayed with an unmount record at
  // its head, so it is never replayed again over what this mount changes.
  // Called once everything the replay implies is on the disk (the replayed
  // metadata and the superblock counters recomputed from it): a crash
  // before then leaves the log dirty and the next mount replays it again.
  int end_recovered_log(std::string* err);
  // Frees the extents of extent-free intents the log left unfinished
  // (read-write mounts, once the AG headers can be read).
  int finish_efis(std::string* err);
  // Refuses a read-write open of a filesystem whose features the write path
  // cannot keep correct (EROFS, *err says why).  Judged before the log is
  // replayed, so that such an image is never written.
  int check_writable_features(std::string* err);
  // check_writable_features, then the log: EROFS while it is dirty
  // (norecovery) or has log_incompat features this mount did not recover.
  int check_writable(std::string* err);
  // Sums every AG's counters, reading the AG headers not read yet.  Returns
  // 0 or PerAgTable::get's errno.
  int sum_ag_counters(AgCounterSums* out);
  // Writes the primary superblock with NEEDSREPAIR set or cleared and, when
  // clearing it, the lazy counters from the per-AG sums; then syncs.
  int write_superblock(bool needsrepair);
  // Reads inode ino from its cluster into the fresh object ip (the inode
  // cache's loader).
  int load_inode(uint64_t ino, CachedInode* ip);
  // Builds ip from the inode's bytes raw; allow_free: a free inode (mode 0)
  // loads too, with is_free set (iget_new).
  int load_inode_from(uint64_t ino, std::span<const std::byte> raw, uint64_t daddr, CachedInode* ip, bool allow_free);
  // Fills ip's extent list of an extents- or btree-format fork.
  int load_fork(CachedInode* ip, bool attr_fork, uint64_t daddr);

  MountOptions opts_;
  Superblock sb_;
  std::vector<std::string> warnings_;
  std::unique_ptr<bc::BlockDevice> dev_;
  std::unique_ptr<vmap::ShrinkerRegistry> shrinkers_;
  std::unique_ptr<vmap::PagePool> pool_;
  std::unique_ptr<vmap::Vmap> vm_;
  std::unique_ptr<bc::BufferCache> cache_;
  std::unique_ptr<const BufOpsSet> ops_;
  std::unique_ptr<AgHeaders> ag_;
  std::unique_ptr<PerAgTable> perag_;
  std::unique_ptr<InodeGc> igc_ = std::make_unique<InodeGc>(*this);
  uint32_t cluster_blocks_ = 1;  // fsblocks read per inode cluster (a power of two)
  bool log_dirty_ = false;  // mounted with norecovery over a dirty log
  bool recovered_ = false;  // the log was replayed at this mount
  std::string recovery_note_;
  std::vector<xlog::EfiExtent> pending_efis_;  // unfinished intents' extents, freed by finish_efis()
  std::string log_warning_;
  xlog::LogEnds log_ends_;
  uint64_t log_start_ = 0;  // the internal log: byte offset and log blocks (set by a recovery)
  uint32_t log_blocks_ = 0;
  std::unique_ptr<InodeCache> icache_;
  std::unique_ptr<xlog::Log> log_;  // read-write with write_log; before cache_ in teardown

  std::mutex change_mu_;         // serializes the first start_change()
  std::mutex rename_mu_;         // rename_lock()
  std::atomic<bool> changed_{false};    // something changed (nolog: NEEDSREPAIR is set on disk)
  std::atomic<bool> shut_down_{false};
  std::atomic<uint64_t> data_gen_{0};     // file data writes issued (write_data_blocks)
  std::atomic<uint64_t> data_synced_{0};  // the data_gen_ a finished image sync covers
  std::function<void(CommittedTrans&&)> commit_observer_;
  std::atomic<int64_t> fdblocks_{0};    // free blocks not reserved (starts at sb_fdblocks)
};

}  // namespace xfsfuse::fs
