// fs/trans/trans.h — transactions: every change to the filesystem is one.
//
// A Transaction gathers what one operation changes:
//  - buffers, joined with their content lock held exclusively until the end,
//    each with the byte ranges the operation changed (log_buf);
//  - inodes, joined with their inode lock held exclusively until the end,
//    each with the parts that changed (log_inode: InodeDirty bits);
//  - a block reservation taken up front (reserve_blocks), so ENOSPC comes
//    before anything changed; what commit() did not use goes back.
// commit() encodes every changed inode into its cluster buffer, makes every
// changed range dirty in the buffer cache (write-back writes them later),
// and releases every lock.  cancel() — or destroying an uncommitted
// transaction — puts every joined buffer and inode back exactly as it was
// when it joined (inodes are copied at join; buffers come back from their
// undo copies, bc::BufferCache::undo_save, which every commit keeps equal to
// the committed bytes), so an operation that meets corruption half-way
// writes nothing.
//
// With the mount's log (Mount::log(), every read-write mount but nolog),
// begin() reserves log space before anything is locked, and commit() fills a
// CommittedTrans (each buffer's maps, type, changed ranges and contents, each
// inode's changed parts and on-disk bytes: what a log transaction carries,
// fs/log/format.h), pins every buffer it changed and hands both to the log
// (fs/log/log.h: write-ahead, the buffers stay off the disk until logged).
// It also fills one when given `out`, or for the mount's commit observer
// (Mount::set_commit_observer); without any of these it costs nothing.
//
// Locking: REQUIRES the lock order of docs/locking.md when joining (inodes
// in ascending number first, then AG headers, then other buffers).  A
// transaction is used by one thread at a time.
#pragma once

#include <cerrno>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "buffer_cache/buffer_cache.h"
#include "fs/incore_inode.h"

namespace xfsfuse::fs {

class Mount;

/// What a committed transaction changed: the material of a log transaction
/// (fs/log/format.h turns it into log items; docs/log.md "Writing
/// transactions").
struct CommittedTrans {
  struct Buf {
    using Spans = std::vector<std::pair<size_t, size_t>>;  ///< byte spans [off, end), sorted, disjoint
    std::vector<bc::DiskRange> maps;
    Spans ranges;                     ///< changed bytes, merged
    bool stale = false;               ///< its blocks were freed (a cancel item)
    uint16_t blft = 0;                ///< XD_BLFT_* of its contents (buf_log_type); 0 when stale
    const bc::BufOps* ops = nullptr;  ///< its verifier at commit (null when stale or none); lives as long as the mount
    /// Written with the transaction but not logged (an inode cluster of a
    /// new chunk, which an inode-create item brings back at recovery: the
    /// kernel's ordered buffers).  Pinned and in the AIL like a logged one;
    /// `ranges` holds only what was logged besides.
    bool ordered = false;
    /// The contents after the change, as far as the log can need them (see
    /// keep()): `data` holds the bytes of the `kept` spans one after another;
    /// an empty `kept` means `data` is the whole buffer.  Both empty when
    /// stale or when nothing was logged (an ordered buffer).
    Spans kept;
    std::vector<std::byte> data;

    /// Takes from `all` (the whole buffer after the change) what the log
    /// formatter (fs/log/format.cc) reads of it, as the kernel's CIL copies
    /// only the logged regions at commit: the 128-byte chunks (XD_BLF_CHUNK)
    /// the changed ranges touch; in an inode cluster buffer the whole inodes
    /// they touch (inode items carry whole inodes; inodesize bytes each); the
    /// whole block for a directory block of more than one extent (the log
    /// recomputes its CRC over all of it); nothing when no range was logged.
    /// REQUIRES: maps, ranges, blft set.
    void keep(std::span<const std::byte> all, uint32_t inodesize);
    /// Bytes [off, off + len) of the contents; an empty span when not all of
    /// them were kept (the caller's bug, reported by the formatter).
    std::span<const std::byte> bytes(size_t off, size_t len) const;
    /// Makes this (an earlier commit's copy of the same buffer) hold the
    /// contents after `newer` too: newer's bytes where it kept them, these
    /// elsewhere; ranges, type and verifier become newer's union / newer's;
    /// ordered if either was.
    /// REQUIRES: neither stale, same maps.
    void overlay(Buf&& newer);
  };
  struct Ino {
    uint64_t ino = 0;
    uint32_t fields = 0;             ///< InodeDirty bits
    bc::DiskRange cluster{};         ///< its inode cluster buffer
    size_t offset = 0;               ///< its byte offset in that buffer
    std::vector<std::byte> dinode;   ///< its on-disk bytes (inodesize) after the commit encoded it
  };
  /// A new inode chunk written as free inodes (an inode-create item,
  /// XD_LI_ICREATE; docs/log.md "Items recovery replays").
  struct Icreate {
    uint32_t agno = 0, agbno = 0;
    uint32_t count = 0;   ///< inodes
    uint32_t length = 0;  ///< fsblocks: a whole chunk or a sparse chunk's minimum
    uint32_t gen = 0;     ///< the generation of every inode in it
  };
  std::vector<Buf> bufs;
  std::vector<Ino> inodes;
  std::vector<Icreate> icreates;
};

/// The spans of a and b (each sorted and disjoint) merged into one sorted,
/// disjoint list; spans that overlap or touch become one.  Linear.
CommittedTrans::Buf::Spans merge_spans(const CommittedTrans::Buf::Spans& a, const CommittedTrans::Buf::Spans& b);
/// Adds span [from, to) to the sorted, disjoint list s in place, merging it
/// with the spans it overlaps or touches (as merge_spans(s, {{from, to}})).
/// Logarithmic search; allocates only when the list grows.
void add_span(CommittedTrans::Buf::Spans& s, size_t from, size_t to);

/// The buffer type the log records for a buffer of these contents
/// (XD_BLFT_*, docs/log.md "Items recovery replays"), judged by its magic:
/// AG headers, superblock, btree blocks of every kind, inode clusters,
/// directory and attr blocks, remote symlink and attr value blocks; 0
/// (unknown) for anything else.
uint16_t buf_log_type(std::span<const std::byte> data);

class Transaction {
 public:
  /// Starts a change on m: fails with m.start_change()'s errors (EROFS on a
  /// read-only mount, EIO once shut down) before anything is locked.
  static int begin(Mount& m, std::unique_ptr<Transaction>* out);
  ~Transaction();  ///< cancels if neither committed nor cancelled
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  /// Reserves n fsblocks of free space for this transaction (data, btree
  /// splits, AGFL refills, new inode chunks).  Returns 0 or ENOSPC.
  int reserve_blocks(uint64_t n);
  /// Takes n blocks out of the reservation, for an allocation that used
  /// them.  REQUIRES: n <= reserved().
  void use_blocks(uint64_t n);
  uint64_t reserved() const { return reserved_; }
  /// Blocks freed by this transaction: returned to the free-space counter at
  /// commit (not before: until then the change may still be cancelled).
  void free_blocks(uint64_t n) { freed_ += n; }

  /// Gets a buffer into the transaction, exclusively locked, as
  /// BufferCache::get (same errors).  A buffer already joined is returned as
  /// it is (*out points at the joined handle; do not release it).  flags:
  /// bc::kGetTrylock to fail with EAGAIN rather than wait for another
  /// holder (an AG this transaction may skip).
  int read_buf(std::span<const bc::DiskRange> maps, const bc::BufOps* ops, uint64_t owner, bc::BufHandle** out,
               unsigned flags = 0);
  /// Gets a buffer for blocks about to be written whole (kGetNoRead),
  /// zero-filled, joined, verified from now on with ops.  Returns 0, EBUSY
  /// (see invalidate_range), or BufferCache::get's errors.
  int get_new_buf(std::span<const bc::DiskRange> maps, const bc::BufOps* ops, bc::BufHandle** out);
  /// The joined buffer h now holds another structure, made in place from
  /// the one it held (a block-form directory block turned data block, say):
  /// later gets and write-back verify it with ops; a cancel restores the
  /// verifier it had when joined.
  void retype_buf(bc::BufHandle* h, const bc::BufOps* ops);
  /// The joined buffer whose first map starts at daddr, or nullptr when
  /// none is joined (nothing is locked or read).
  bc::BufHandle* joined_buf(uint64_t daddr);
  /// Records that bytes [off, off + len) of a joined buffer changed.
  void log_buf(bc::BufHandle* h, size_t off, size_t len);
  /// The joined buffer h was written whole by this transaction but is not
  /// logged (an ordered buffer): log_icreate() says how recovery makes its
  /// contents again.  It is written back, like a logged buffer, only once
  /// the log holds the transaction.
  void order_buf(bc::BufHandle* h);
  /// Logs a new inode chunk of AG agno at agbno, `length` fsblocks holding
  /// `count` free inodes of generation gen, whose cluster buffers this
  /// transaction wrote and ordered (order_buf): one 28-byte inode-create
  /// item instead of the clusters' bytes, as the kernel logs a new chunk.
  void log_icreate(uint32_t agno, uint32_t agbno, uint32_t count, uint32_t length, uint32_t gen);
  /// Stores v big-endian at byte off of a joined buffer and logs it (a
  /// header field).
  void set_be32(bc::BufHandle* h, size_t off, uint32_t v);
  /// The joined buffer's blocks were freed: its contents are discarded at
  /// commit, never written (and, with a log, cancelled).
  void stale_buf(bc::BufHandle* h);
  /// Blocks [daddr, daddr + len) (512-byte sectors) were freed by this
  /// transaction: at commit every cached buffer over them is invalidated
  /// (never written, its dirty state dropped), so their next user reads or
  /// builds them afresh, under its own verifier.  A block reused by this same
  /// transaction through get_new_buf() is taken out of the range again: if
  /// its buffer is joined here with the same maps (a btree block freed to the
  /// AGFL and taken by the other tree), or if no joined buffer covers it at
  /// all (file data freed and taken for metadata: the cache is purged of
  /// it at once).  A reuse that overlaps a joined buffer of another shape
  /// fails with EBUSY.
  void invalidate_range(bc::DiskRange freed);
  /// Whether any of r was freed by this transaction (invalidate_range): a
  /// block get_new_buf() would refuse unless its buffer is joined here.
  bool freed_here(bc::DiskRange r) const;

  /// Joins an inode: takes its lock exclusively (REQUIRES: not held by this
  /// thread; ascending inode numbers when joining several).  Joining an
  /// inode twice does nothing.
  void join_inode(const InodeRef& ip);
  /// Joins an inode only if its lock is free now (an inode of a higher
  /// number than one held, which this transaction must not wait for: see
  /// fs/ops/remove.cc).  Returns whether it joined (true if joined before).
  bool try_join_inode(const InodeRef& ip);
  /// Records that parts of a joined inode changed (InodeDirty bits).
  void log_inode(CachedInode* ip, uint32_t fields);
  /// Locks (joins) the inode cluster buffers of every joined inode and of
  /// the inode numbers in extra, in ascending order, now instead of at
  /// commit.  Cluster buffers are taken in ascending order (commit flushes
  /// joined inodes by inode number); code that must edit a cluster buffer
  /// before the commit (the unlinked lists) calls this first, so that it
  /// never holds a higher cluster while waiting for a lower one
  /// (docs/locking.md).  Errors: read_buf()'s.
  int hold_inode_clusters(std::span<const uint64_t> extra);

  /// Makes every change durable in the buffer cache and releases every lock;
  /// fills *out (if given) and hands the same to the mount's commit observer
  /// (if set) first.
  /// Returns 0, or EUCLEAN if an inode could not be encoded, EIO, ENOMEM
  /// reading a cluster buffer — then nothing of it was applied, the
  /// transaction was cancelled and the mount shut down (in-core state that
  /// cannot reach the disk must not outlive the change).
  int commit(CommittedTrans* out = nullptr);
  /// Restores every joined buffer and inode and releases every lock.
  void cancel();
  /// Runs fn after a successful commit, with every lock still held (in-core
  /// state derived from the committed buffers: per-AG counters, ...); in
  /// the order added.  Not run on cancel.
  void on_commit(std::function<void()> fn) { on_commit_.push_back(std::move(fn)); }

  /// AGFs this transaction holds (AgfTx::get records each one it joins):
  /// the lock order of docs/locking.md lets it wait only for an AGF of a
  /// higher agno than every one it holds.
  void hold_agf(uint32_t agno);
  bool holds_agf(uint32_t agno) const;
  /// The highest agno of an AGF held, or -1 when none is.
  int64_t highest_agf() const { return agfs_.empty() ? -1 : int64_t{agfs_.back()}; }

  Mount& mount() { return m_; }

 private:
  explicit Transaction(Mount& m);
  struct JoinedBuf;
  struct JoinedInode;
  JoinedBuf* find_buf(uint64_t daddr);
  // Whether a joined buffer covers any of maps.
  bool overlaps_joined(std::span<const bc::DiskRange> maps) const;
  // Takes maps out of freed_ranges_ (a freed block reused here).
  void unfree(std::span<const bc::DiskRange> maps);
  int join_buf(bc::BufHandle h, bool fresh, bc::BufHandle** out);
  // At commit: brings a changed (not freed) buffer's undo copy up to date.
  void keep_undo(JoinedBuf& jb);
  // Joins ip, whose lock this thread just took.  REQUIRES: not joined yet.
  void join_inode_locked(const InodeRef& ip, std::unique_lock<std::shared_mutex> lock);
  // Encodes one logged inode into its cluster buffer (joined here).
  int flush_inode(JoinedInode& ji);
  void release_all();

  Mount& m_;
  std::vector<std::unique_ptr<JoinedBuf>> bufs_;
  std::vector<std::unique_ptr<JoinedInode>> inodes_;
  std::vector<std::function<void()>> on_commit_;
  std::vector<bc::DiskRange> freed_ranges_;
  std::vector<CommittedTrans::Icreate> icreates_;
  std::vector<uint32_t> agfs_;  // AGFs held, ascending agno
  uint64_t reserved_ = 0, freed_ = 0;
  uint64_t log_res_ = 0;  // log blocks reserved at begin (Mount::log()), handed to the log at commit
  bool done_ = false;
};

/// Runs fn — one whole change: it begins, fills and commits (or drops) its
/// own transaction and returns 0 or an errno — again for as long as it fails
/// with EAGAIN: a transaction that met an AG header held by another one out
/// of lock order (fs/bmap_write.h) was cancelled whole and can simply be
/// retried.  Returns fn's last result.
template <class Fn>
int retry_on_eagain(Fn&& fn) {
  int e;
  while ((e = fn()) == EAGAIN) std::this_thread::yield();
  return e;
}

/// Frees what waits in m's inode GC (fs/inodegc.h) if anything does, and
/// says whether it did: the blocks of inodes unlinked a moment ago may be
/// all an ENOSPC lacked.  REQUIRES: no transaction open, no lock held.
bool flush_inodegc_for_space(Mount& m);

/// retry_on_eagain(fn) for an operation a user asked for: when fn fails
/// with ENOSPC while unlinked inodes wait to be freed, they are freed and
/// fn runs once more, as the kernel's xfs_trans_alloc retries after
/// freeing space.  Not for the inode GC's own changes (it would wait for
/// itself).
template <class Fn>
int retry_change(Mount& m, Fn&& fn) {
  int e = retry_on_eagain(fn);
  if (e == ENOSPC && flush_inodegc_for_space(m)) e = retry_on_eagain(fn);
  return e;
}

}  // namespace xfsfuse::fs
