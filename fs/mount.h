// fs/mount.h — a mounted XFS image: superblock, buffer cache, in-core inodes.
//
// Mount::open() reads and judges the superblock, checks that the log is
// clean (or accepts a dirty one with norecovery), and builds the vmap/ pool,
// the Vmap and the buffer cache the rest of fs/ reads through.  iget() gives
// shared, immutable in-core inodes (decoded core, the raw inode bytes for
// local forks, and the extent maps of both forks, bmbt forks of any depth
// flattened).  read_dablk() reads one directory block (1 << sb_dirblklog
// fsblocks, of a directory's data fork) or one attr block (1 fsblock, attr
// fork) as ONE buffer with one map per extent it crosses, mapped contiguous
// through vmap/.
//
// Errors are positive errno values.  EUCLEAN means a structure failed a
// check; the function that found it has already logged one line through
// report_corruption() (or the buffer cache did).
// Thread safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "buffer_cache/buffer_cache.h"
#include "fs/ag.h"
#include "fs/bmap.h"
#include "fs/buf_ops.h"
#include "fs/inode.h"
#include "fs/superblock.h"
#include "vmap/page_pool.h"
#include "vmap/shrinker.h"
#include "vmap/vmap.h"

namespace xfsfuse::fs {

struct MountOptions {
  size_t cache_bytes = 64u << 20;   ///< buffer cache budget (cache_mb)
  vmap::UnmapPolicy vmap_policy = vmap::UnmapPolicy::kLazy;
  uint32_t vmap_batch = 64;         ///< lazy purge batch (vmap_batch)
  bool vmap_all = false;            ///< map every multi-page buffer through a vmap slot (vmap_all)
  bool norecovery = false;          ///< mount a dirty log anyway (the view may be stale)
  size_t inode_cache = 65536;       ///< in-core inodes kept (unreferenced ones are dropped beyond this)
  /// Read the root inode at open and refuse a mount whose root is not a
  /// directory.  false: for checkers (xfsfuse-fsck), which judge it themselves.
  bool check_root = true;
};

/// One in-core inode, immutable once built (the image is read-only).
struct CachedInode {
  Inode core;
  uint64_t daddr = 0;              ///< 512-byte sector of the block holding the inode (for log lines)
  std::vector<std::byte> raw;      ///< the inodesize bytes as on disk (local forks live here)
  std::vector<Extent> data;        ///< data fork extents, sorted by startoff (extents or btree format)
  std::vector<Extent> attr;        ///< attr fork extents, sorted by startoff
  /// The literal bytes of a fork (local format: the short-form dir, symlink or attrs).
  std::span<const std::byte> fork_bytes(bool attr_fork) const;
  bool has_attr_fork() const { return core.forkoff != 0; }
};
using InodeRef = std::shared_ptr<const CachedInode>;

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
  /// Opens the image file at path read-only.  Returns 0, or an errno with a
  /// one-line reason for the user in *err: ENOENT/EACCES (open), EUCLEAN
  /// (superblock corrupt), EINVAL (not an XFS v5 filesystem), EOPNOTSUPP
  /// (features refused), EUCLEAN for a dirty log without norecovery.
  static int open(const std::string& path, const MountOptions& opts, std::unique_ptr<Mount>* out, std::string* err);
  ~Mount();

  const Superblock& sb() const { return sb_; }
  bc::BufferCache& cache() { return *cache_; }
  vmap::Vmap& vm() { return *vm_; }
  const MountOptions& options() const { return opts_; }
  /// Warnings the mount produced (dirty log with norecovery, unknown ro_compat bits).
  const std::vector<std::string>& warnings() const { return warnings_; }

  /// Gets the in-core inode ino.  Returns 0, EINVAL (not a valid inode
  /// number for this filesystem), ENOENT (a free inode: mode 0), EUCLEAN.
  int iget(uint64_t ino, InodeRef* out);

  /// Reads up to len bytes of a regular file (or remote symlink data) from
  /// byte offset off into dst; holes and unwritten extents read as zeros;
  /// stops at di_size.  *got = bytes read.  Returns 0, EUCLEAN or EIO.
  int read_data(const CachedInode& ip, uint64_t off, size_t len, std::byte* dst, size_t* got);

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
  /// This filesystem's verifiers that need its superblock (fs/buf_ops.h).
  const BufOpsSet& buf_ops() const { return *ops_; }

  /// Drops every unreferenced in-core inode and evicts every unreferenced
  /// clean buffer (the control channel's drop-caches).  *inodes / *buffers
  /// (if non-null) = how many went.
  void drop_caches(uint64_t* inodes, uint64_t* buffers);
  /// In-core inodes now cached.
  size_t inodes_cached();

  /// Fills *out from the superblock and the AGFs / AGIs.  Returns 0 or EUCLEAN.
  int statfs(StatFs* out);

  /// Logs the one line for a structure that failed a check in fs/ code:
  /// "xfsfuse: metadata corruption: STRUCTURE at daddr 0x...: WHY".
  /// Returns EUCLEAN, for `return m.report_corruption(...)`.
  int report_corruption(const char* structure, uint64_t daddr, const std::string& why);

 private:
  Mount() = default;
  int check_log_state(std::string* err);
  int build_inode(uint64_t ino, std::shared_ptr<CachedInode>* out);
  // Fills ip->data or ip->attr from an extents- or btree-format fork.
  int load_fork(CachedInode* ip, bool attr_fork, uint64_t daddr);
  void trim_icache_locked();

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
  uint32_t cluster_blocks_ = 1;  // fsblocks read per inode cluster (a power of two)
  bool log_dirty_ = false;  // mounted with norecovery over a dirty log

  std::mutex icache_mu_;
  std::unordered_map<uint64_t, InodeRef> icache_;  // GUARDED_BY(icache_mu_)
};

}  // namespace xfsfuse::fs
