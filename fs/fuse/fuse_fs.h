// fs/fuse/fuse_fs.h — the state behind the FUSE low-level operations.
//
// FuseFs serves one fs::Mount through libfuse's low-level API; the operation
// table (lowlevel_ops()) finds it with fuse_req_userdata().  Node ids are XFS
// inode numbers, except that FUSE_ROOT_ID (1) stands for the root directory
// (sb rootino): inode 1 can never exist in XFS, its block holds the
// superblock.  st_ino and d_ino are always the XFS inode number.
//
// Node ids are inode numbers; the node table (node_table.h) keeps each node's
// lookup and open counts and its in-core inode while the kernel holds it.
// Open files and directories
// carry their in-core inode (fs::InodeRef: the one object of that inode, not
// a copy) in fuse_file_info::fh.  Every operation reads an inode under its
// shared lock, one inode lock at a time.
// Every change to the image goes through this mount, whose replies tell the
// kernel what changed, so entries, attributes, page-cache data, symlink
// targets and directory listings are all cached by the kernel for a long time
// (kCacheTimeout).  A read-only mount answers EROFS to every request that
// would write; a read-write one takes writes of up to kMaxWrite bytes, each
// done before its reply (so ENOSPC reaches write(2), as on the kernel's
// XFS), or with -o writeback_cache lets the kernel keep written pages and
// a written file's size and times, sent later in WRITEs and SETATTRs.
//
// Thread safety: every operation may run on any libfuse worker thread at
// once; the only shared mutable state is the atomic counters.
#pragma once

#include <fuse_lowlevel.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <utility>

#include "fs/fuse/node_table.h"
#include "fs/fuse/options.h"
#include "fs/mount.h"

namespace xfsfuse::fuse {

class UringTransport;  // fs/fuse/uring.h

/// Largest WRITE request a read-write mount asks the kernel for.
inline constexpr unsigned kMaxWrite = 1u << 20;

/// Kernel cache lifetime of entries and attributes, seconds.
inline constexpr double kCacheTimeout = 86400.0;

/// Requests served, by kind (FUSE counters, next to the cache's own).
struct OpCounters {
  std::atomic<uint64_t> lookup{0}, lookup_negative{0}, forget{0}, forget_requests{0}, getattr{0}, readlink{0}, opendir{0},
      readdir{0}, readdir_entries{0}, readdirplus{0}, readdirplus_entries{0}, open{0}, read{0},
      read_bytes{0}, statfs{0}, getxattr{0}, listxattr{0}, access{0}, ioctl{0}, erofs{0}, errors{0}, nodata{0},
      euclean{0}, create{0}, tmpfile{0}, remove{0}, rename{0}, link{0}, symlink{0}, setattr{0}, write{0}, write_bytes{0},
      fallocate{0}, fsync{0}, setxattr{0}, removexattr{0}, readdirplus_bare{0}, readdirplus_switches{0},
      readdirplus_attrs_first{0}, listing_drops{0};
};

class FuseFs {
 public:
  /// Serves m (which must outlive this), mounted with options o; writes the
  /// counters to o.stats_file at destroy when it is not empty.
  /// On a read-write mount, an unlinked inode is queued to be freed
  /// (fs/inodegc.h) when the kernel's last node of it goes.
  FuseFs(fs::Mount* m, Options o) : m_(m), opts_(std::move(o)), started_(std::chrono::steady_clock::now()) {
    if (m_->writable()) nodes_.set_on_drop([this](const fs::InodeRef& ip) { node_dropped(ip); });
  }
  /// -o readdirplus: how directory reads carry attributes.
  ReaddirplusMode readdirplus() const { return opts_.readdirplus; }

  /// Whether the kernel checks every caller's permissions itself, ACLs
  /// included, before a request comes (FUSE_POSIX_ACL was agreed at INIT,
  /// which turns on default_permissions): the driver then does not check
  /// them again (fs::Cred::vfs_checked).  Set once, by INIT.
  bool kernel_checks() const { return kernel_checks_.load(std::memory_order_acquire); }
  void set_kernel_checks(bool on) { kernel_checks_.store(on, std::memory_order_release); }

  /// The session, for notifications.  REQUIRES: called before the request loop.
  void set_session(fuse_session* se) { se_ = se; }
  /// The io_uring transport when -o io_uring got its rings (for its
  /// counters), else null.  REQUIRES: called before the request loop.
  void set_uring(const UringTransport* u) { uring_ = u; }
  const UringTransport* uring() const { return uring_; }
  /// Asks the kernel to drop its cached listing (the page cache of the
  /// directory) and attributes of inode ino; nothing when it has no inode
  /// of it.  Call with no inode lock held, after the request's reply.
  void drop_cached_listing(uint64_t ino);
  /// Asks the kernel to drop its cached attributes of inode ino (not its
  /// data): for a change the kernel cannot know of, as a mode set through an
  /// ACL.  Call with no inode lock held; before the reply is fine (no page
  /// is touched, so the kernel takes no lock the request holds).
  void drop_cached_attrs(uint64_t ino);

  fs::Mount& mount() { return *m_; }
  NodeTable& nodes() { return nodes_; }
  OpCounters& counters() { return counters_; }
  const OpCounters& counters() const { return counters_; }
  const Options& options() const { return opts_; }
  const std::string& stats_file() const { return opts_.stats_file; }
  /// Seconds since the mount was set up.
  double uptime_s() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  }

  /// The XFS inode number behind a FUSE node id.
  uint64_t ino_of(fuse_ino_t nodeid) const { return nodeid == FUSE_ROOT_ID ? m_->sb().rootino : nodeid; }
  /// The FUSE node id of an XFS inode number.
  fuse_ino_t nodeid_of(uint64_t ino) const { return ino == m_->sb().rootino ? FUSE_ROOT_ID : ino; }

  /// Gets the in-core inode of a node id (fs::Mount::iget's errors).
  int iget(fuse_ino_t nodeid, fs::InodeRef* out) { return m_->iget(ino_of(nodeid), out); }

  /// Replies err (positive errno, non-zero) to req and counts it (fuse.errors;
  /// ENODATA as fuse.nodata, EUCLEAN also as fuse.euclean).
  void reply_error(fuse_req_t req, int err);
  /// Replies err, counted as reply_error does, or 0 (success) to req.
  void reply_error_or_ok(fuse_req_t req, int err) {
    if (err != 0) return reply_error(req, err);
    fuse_reply_err(req, 0);
  }

  /// Fills an entry reply for inode ip: node id, generation, attributes and
  /// the long timeouts.  REQUIRES: ip.lock held (shared).
  void fill_entry(const fs::CachedInode& ip, fuse_entry_param* e);

 private:
  std::atomic<bool> kernel_checks_{false};
  // Queues ip for the inode GC if it is unlinked (its last node went).
  void node_dropped(const fs::InodeRef& ip);

  fs::Mount* const m_;
  fuse_session* se_ = nullptr;
  const UringTransport* uring_ = nullptr;
  const Options opts_;
  const std::chrono::steady_clock::time_point started_;
  OpCounters counters_;
  NodeTable nodes_;
};

/// The FuseFs that req belongs to.
inline FuseFs& fs_of(fuse_req_t req) { return *static_cast<FuseFs*>(fuse_req_userdata(req)); }

/// The operation table of a read-only (writable false: every change answers
/// EROFS) or read-write mount; pass a FuseFs* as fuse_session_new()'s
/// userdata.
const fuse_lowlevel_ops& lowlevel_ops(bool writable);

}  // namespace xfsfuse::fuse
