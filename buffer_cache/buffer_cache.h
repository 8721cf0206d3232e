// buffer_cache/buffer_cache.h — XFS-style metadata buffer cache over vmap/.
//
// A buffer is named by the disk address of its first map (daddr, 512-byte
// sectors) and holds one or more disk ranges ("maps"), so a 64 KiB directory
// block whose 16 filesystem blocks lie in several extents is one buffer.  Its
// memory is a page vector from the vmap/ pool, mapped contiguous through
// vmap/ (a single page, or pages the pool could give as one run, need no
// mapping syscall).  get() reads a buffer on a miss, one preadv per map, and
// verifies it once through its BufOps (and once more through any other ops a
// later get() names: see check_other_ops); a buffer that fails is remembered as
// corrupt and every get() of it fails with EUCLEAN, with one log line.
//
// Unreferenced buffers are reclaimed from an LRU (second chance: a buffer
// touched since the last scan survives one pass) charged against a memory
// budget; the cache registers a shrinker with the vmap/ registry.  Dirty
// buffers are never reclaimed: write() or flush_all() first, or the flusher
// thread (CacheOptions::flush_interval) in the background.
//
// For the transactional write path: mark_dirty() marks a changed buffer,
// set_lsn() the LSN write-back stamps, pin() keeps a changed buffer off the
// disk until its change is committed, and invalidate() drops the buffers of
// freed blocks (never written, never in the way of the blocks' next use).
// Failed write-backs go to a handler (set_write_error_handler()).
//
// Thread safety: every method may be called from any thread.  The hash is
// split into buckets, each with its own mutex; the LRU has one mutex (never
// taken on a cache hit); so has the map index that invalidate() searches
// (taken only when a buffer enters or leaves the hash); each buffer's
// contents are guarded by a reader/writer lock (rw_lock.h: any thread may
// release it, writers preferred) held through a BufHandle: read-shared, or
// write-exclusive.  Lock order:
//   reclaim -> bucket -> LRU,  reclaim -> bucket -> index,  bucket -> AIL -> LRU
// (LRU and index are never held together; content -> AIL in write-back); content locks are never taken
// with any of them held.  The flusher's mutex and the write-error handler's
// are leaves (the handler runs inside write-back, with that buffer's content
// lock held).  Pins and the stale bit
// are atomics, no lock.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <map>
#include <set>
#include <memory>
#include <mutex>
#include <span>
#include <thread>
#include <unordered_map>
#include <vector>

#include "buffer_cache/block_device.h"
#include "buffer_cache/buf_ops.h"
#include "vmap/vmap.h"

namespace xfsfuse::bc {

inline constexpr unsigned kSectorShift = 9;  ///< daddr units: 512-byte sectors

/// One contiguous disk range of a buffer, in 512-byte sectors.
struct DiskRange {
  uint64_t daddr = 0;
  uint32_t len = 0;
  bool operator==(const DiskRange&) const = default;
};

/// Flags for BufferCache::get.
enum GetFlags : unsigned {
  kGetShared = 0,             ///< read-shared access to the contents (the default)
  kGetExclusive = 1u << 0,    ///< write-exclusive access
  kGetNoRead = 1u << 1,       ///< a block about to be written whole: zero-filled on a miss, not read or verified
  kGetIncore = 1u << 2,       ///< only if cached: ENOENT on a miss, no I/O
  kGetTrylock = 1u << 3,      ///< EAGAIN instead of waiting for the content lock (write-back, AIL pushing)
  /// With kGetExclusive: the caller keeps the buffer's undo copy true (a
  /// transaction: see undo_save).  Any other exclusive get drops the copy,
  /// since its holder may change the bytes behind it.
  kGetKeepUndo = 1u << 4,
};
inline constexpr uint64_t kAnyOwner = UINT64_MAX;  ///< get(): do not check the owner field
inline constexpr size_t kMaxBufferBytes = 1 << 20;  ///< largest buffer get() accepts

struct CacheOptions {
  size_t budget_bytes = 64u << 20;  ///< memory for cached buffers (pages, 4 KiB each)
  /// Period of the background write-back thread (the flusher); 0 = no flusher.
  std::chrono::milliseconds flush_interval{5000};
  /// The flusher also runs as soon as dirty bytes pass this share (percent) of
  /// the budget (checked when an exclusive handle of a dirty buffer is released).
  unsigned flush_dirty_percent = 50;
  uint32_t buckets = 1024;          ///< hash buckets, each with its own mutex
  uint32_t readahead_queue = 256;   ///< readahead requests that may wait; more are dropped
  bool register_shrinker = true;    ///< reclaim on the registry's memory-pressure calls
};

/// Every counter, as one snapshot, with the vmap/ and pool counters underneath.
struct CacheStats {
  uint64_t lookups = 0;            ///< get() calls with valid arguments
  uint64_t hits = 0;               ///< ... that found the buffer cached
  uint64_t misses = 0;             ///< ... that had to create it
  uint64_t reads = 0;              ///< preadv calls (one per map)
  uint64_t bytes_read = 0;
  uint64_t read_errors = 0;        ///< buffers whose read failed (EIO and others)
  uint64_t readahead = 0;          ///< readahead requests started
  uint64_t readahead_dropped = 0;  ///< ... dropped because the queue was full
  uint64_t evictions = 0;          ///< buffers reclaimed (budget, shrinker, drop_caches)
  uint64_t shrinker_calls = 0;
  uint64_t verifier_failures = 0;  ///< buffers found corrupt (each counted and logged once)
  uint64_t other_ops_checks = 0;   ///< verifications of a cached buffer for a get() with other ops than its first
  uint64_t writes = 0;             ///< pwritev calls (one per map)
  uint64_t bytes_written = 0;
  uint64_t invalidations = 0;      ///< buffers taken out of the cache by invalidate()
  uint64_t invalidated_pinned = 0; ///< ... that were pinned at the time
  uint64_t pins = 0;               ///< pin() calls
  uint64_t unpins = 0;             ///< PinRefs released (pins - unpins are held now)
  uint64_t trylock_busy = 0;       ///< kGetTrylock gets that failed with EAGAIN
  uint64_t skipped_pinned = 0;     ///< dirty buffers write-back passed over because they were pinned
  uint64_t skipped_busy = 0;       ///< ... the flusher passed over: content lock held elsewhere
  uint64_t skipped_failed = 0;     ///< ... the flusher passed over: their last write failed
  uint64_t flusher_passes = 0;
  uint64_t flusher_writes = 0;     ///< buffers the flusher wrote back
  uint64_t write_errors = 0;       ///< failed write-backs (write error, verify_write refusal, EROFS) and syncs
  uint64_t dirty_bytes = 0;        ///< now: bytes of dirty buffers (stale ones included until freed)
  uint64_t buffers = 0;            ///< now: buffers in the cache
  uint64_t bytes_cached = 0;       ///< now: page bytes held by cached buffers
  uint64_t undo_bytes = 0;         ///< now: bytes of undo copies (undo_save); they count in the budget too
  uint64_t budget_bytes = 0;
  vmap::VmapStats vmap;
  vmap::PoolStats pool;
};

inline constexpr uint64_t kNoDaddr = UINT64_MAX;  ///< WriteError::daddr of a failed device sync

/// A failed write-back, as the write-error handler sees it.
struct WriteError {
  uint64_t daddr = 0;               ///< the buffer's first daddr (512-byte sectors), or kNoDaddr
  int error = 0;                    ///< the write's errno (EIO...), EUCLEAN (verify_write refused) or EROFS
  const char* structure = nullptr;  ///< the buffer's ops name, "buffer" (no ops) or "device sync"
};
using WriteErrorHandler = std::function<void(const WriteError&)>;

class BufferCache;
struct Buffer;

/// A referenced, locked buffer.  Move-only; releases (unlocks, drops the
/// reference) on destruction or release().  The lock belongs to the handle,
/// not to a thread: a handle moved to another thread may be released there
/// (a transaction handing its buffers to log completion).  A handle itself
/// is not thread-safe: one thread uses it at a time.
class BufHandle {
 public:
  BufHandle() = default;
  BufHandle(BufHandle&& o) noexcept { *this = std::move(o); }
  BufHandle& operator=(BufHandle&& o) noexcept;
  ~BufHandle() { release(); }
  explicit operator bool() const { return buf_ != nullptr; }

  std::byte* data() const;              ///< the whole buffer, contiguous
  size_t size() const;                  ///< bytes
  uint64_t daddr() const;               ///< first map's daddr, 512-byte sectors
  std::span<const DiskRange> maps() const;
  bool exclusive() const { return excl_; }
  bool dirty() const;
  /// Whether this handle is an alias (BufferCache::alias): it holds a
  /// reference but not the content lock.
  bool borrowed() const { return borrowed_; }
  void release();

 private:
  friend class BufferCache;
  BufferCache* cache_ = nullptr;
  Buffer* buf_ = nullptr;
  bool excl_ = false;
  bool borrowed_ = false;
};

/// A pin on a buffer (BufferCache::pin): while any pin lasts the buffer is
/// never written back or reclaimed.  Holds a reference to the buffer but no
/// lock, so any thread may release it: unpin() or destruction.  Move-only.
class PinRef {
 public:
  PinRef() = default;
  PinRef(PinRef&& o) noexcept { *this = std::move(o); }
  PinRef& operator=(PinRef&& o) noexcept;
  ~PinRef() { unpin(); }
  explicit operator bool() const { return buf_ != nullptr; }
  uint64_t daddr() const;  ///< the buffer's first daddr, 512-byte sectors
  /// True once invalidate() took the buffer out of the cache: its contents
  /// will never be written back.
  bool stale() const;
  void unpin();
  /// The change this pin kept from the disk is durable in the log record at
  /// lsn (the write-ahead rule is met): raises the LSN write-back stamps to
  /// lsn, enters the buffer in the AIL at lsn unless an older logged change
  /// of it still waits to be written home, and unpins.  A buffer already
  /// stale keeps lsn in the AIL until the next ail_release_stale() (its
  /// freeing may not be durable yet).
  void unpin_logged(uint64_t lsn);

 private:
  friend class BufferCache;
  BufferCache* cache_ = nullptr;
  Buffer* buf_ = nullptr;
};

class BufferCache {
 public:
  /// Creates a cache over dev, taking pages from pool and mapping them through
  /// vm (all must outlive the cache).  Registers a shrinker with shrinkers if
  /// non-null.  Returns 0 or EINVAL (zero budget or buckets).
  static int create(BlockDevice* dev, vmap::PagePool* pool, vmap::Vmap* vm, vmap::ShrinkerRegistry* shrinkers,
                    const CacheOptions& opts, std::unique_ptr<BufferCache>* out);
  /// Stops readahead, writes back dirty buffers (logging any failure) and
  /// frees every buffer.  REQUIRES: no BufHandle or PinRef outlives the cache.
  ~BufferCache();
  BufferCache(const BufferCache&) = delete;
  BufferCache& operator=(const BufferCache&) = delete;

  /// Sets the filesystem metadata uuid that verifiers compare against
  /// (before it is set, uuid checks are skipped: the superblock is read first).
  void set_uuid(const Uuid& uuid);

  /// Gets the buffer made of maps (in order), verified with ops (may be null:
  /// no verification), checking its owner field against owner unless
  /// kAnyOwner.  Returns 0 with *out holding it, or:
  ///  EINVAL   no maps, a zero-length map, or more than kMaxBufferBytes;
  ///  EUCLEAN  the buffer failed verification (now or before), its owner is
  ///           wrong, a cached buffer at this daddr has other maps or was
  ///           read with other ops that these ops reject, or a map lies
  ///           past the end of the device (one log line each);
  ///  ENOENT   kGetIncore and not cached;
  ///  EAGAIN   kGetTrylock and another handle holds the contents (shared
  ///           gets also fail while a writer waits);
  ///  ENOMEM   no pages or mapping for it;  EIO (or another errno) when the read failed.
  int get(std::span<const DiskRange> maps, const BufOps* ops, uint64_t owner, unsigned flags, BufHandle* out);

  /// The exclusively held buffer h is about to be rebuilt whole as another
  /// structure (a btree block freed to the AGFL and taken by another tree in
  /// the same transaction): later gets and write-back verify it with ops.
  /// Returns 0 or EINVAL (shared handle).
  int set_ops(BufHandle& h, const BufOps* ops);

  /// A second handle on the buffer h holds, with h's access (shared or
  /// exclusive), that takes no lock of its own and releases none: for code
  /// that works on buffers its caller already holds locked (a btree cursor
  /// inside a transaction, which keeps the locks until it commits).
  /// REQUIRES: h is valid and keeps its lock while the alias lives.
  BufHandle alias(const BufHandle& h);
  /// The verifier h's buffer is checked with (set at creation or set_ops).
  const BufOps* ops_of(const BufHandle& h) const;

  /// Starts reading the buffer in the background without waiting; a later
  /// get() finds it cached.  Errors surface at that get().
  void readahead(std::span<const DiskRange> maps, const BufOps* ops);

  /// Marks an exclusively held buffer dirty for the change of bytes
  /// [off, off + len).  Write-back writes the whole buffer (its CRC covers
  /// all of it), so the cache keeps no ranges: which bytes changed is the
  /// transaction's and the log's record (a per-change range list here cost
  /// a sort per call and grew without bound on a hot buffer).  Once
  /// dirty bytes pass flush_dirty_percent of the budget, releasing an
  /// exclusive handle of a dirty buffer wakes the flusher.
  /// Returns 0, or EINVAL (shared handle, or range outside the buffer).
  int mark_dirty(BufHandle& h, size_t off, size_t len);

  /// Writes an exclusively held dirty buffer back now: verify_write()
  /// refreshes the CRC, then one pwritev per map.  Returns 0 (also when
  /// clean, or stale: an invalidated buffer is never written), EINVAL
  /// (shared handle), EBUSY (pinned), EUCLEAN (verify_write refused), EROFS,
  /// or the write's errno; the buffer stays dirty on failure.
  int write(BufHandle& h);

  /// The filesystem freed these disk ranges (512-byte sectors; zero-length
  /// ones are ignored): every cached buffer with a map overlapping one of
  /// them leaves the cache ("stale").  Its dirty state is dropped and it is
  /// never written back; a holder keeps a usable handle until it releases it
  /// (the last release frees it); the next get() of any of its ranges, with
  /// any maps and ops, builds a new buffer (read from disk, or zero-filled
  /// with kGetNoRead).  Corrupt buffers are forgotten the same way.  Takes no
  /// content lock, so the caller may hold the buffers it frees.  Returns how
  /// many buffers it invalidated.
  size_t invalidate(std::span<const DiskRange> freed);

  /// Sets the LSN that write-back stamps into an exclusively held buffer
  /// (BufOps::verify_write, before the CRC): the committer passes the LSN of
  /// the log record holding its last change.  0 (the default of every new
  /// buffer) leaves the LSN on disk as it is.  Returns 0 or EINVAL (shared handle).
  int set_lsn(BufHandle& h, uint64_t lsn);

  /// Undo copies, for transactions (fs/trans: cancel puts a buffer back as it
  /// was when joined, without copying it at every join).  A buffer may carry
  /// a second copy of its bytes that whoever holds it through kGetKeepUndo
  /// keeps equal to its contents whenever no such holder is changing it:
  /// undo_save() makes the copy (once in the buffer's life in the cache),
  /// undo_update() copies changed bytes into it at commit, undo_restore()
  /// puts it back over the contents at cancel.  Write-back copies its
  /// stamps (LSN, CRC) into it; an exclusive get without kGetKeepUndo, an
  /// invalidation or an eviction drops it.  The copy counts in the budget
  /// (CacheStats::undo_bytes).  All REQUIRE an exclusive handle.
  /// undo_save: gives h an undo copy equal to its contents now, unless it
  /// has one.
  void undo_save(BufHandle& h);
  /// Copies bytes [off, off + len) of h's contents into its undo copy (made
  /// whole first if it has none).
  void undo_update(BufHandle& h, size_t off, size_t len);
  /// Puts h's undo copy back over its contents; false (nothing done) if it
  /// has none.
  bool undo_restore(BufHandle& h);
  /// Whether h's undo copy equals its contents (a check for tests and for
  /// builds with XFSFUSE_UNDO_CHECK); *first_diff = the first byte that
  /// differs.  False when there is no copy.
  bool undo_matches(const BufHandle& h, size_t* first_diff) const;

  /// Pins an exclusively held buffer until *out is released: a transaction
  /// that changed it keeps it from the disk until the change is committed.
  /// Pins nest (each pin() gives a PinRef of its own).  A pinned buffer is
  /// not written back (write() says EBUSY, flush_all() and the flusher pass
  /// over it), not reclaimed, and still invalidated (stale, its dirty state
  /// dropped; releasing the PinRef later is safe).  Returns 0 or EINVAL
  /// (shared handle, or one of another cache).
  int pin(BufHandle& h, PinRef* out);

  /// The AIL (active item list, as the kernel calls it): for the log's tail.
  /// Every buffer whose logged changes are not all written home sits in it at
  /// the LSN of the oldest such change (unpin_logged); a write-back takes it
  /// out, but its LSN stays until a sync() made that write durable; a buffer
  /// invalidated while in it keeps its LSN until ail_release_stale() says the
  /// freeing is in the log.  ail_tail() is the smallest LSN held: the log may
  /// not drop a record at or after it.  0 when none is held.
  uint64_t ail_tail() const;
  /// LSNs held in the AIL now (buffers, unsynced writes, stale buffers).
  size_t ail_size() const;
  /// Closes the current generation of stale-buffer LSNs and returns it: the
  /// log calls this before it takes the transactions it writes next (every
  /// transaction that invalidated a buffer of this generation committed
  /// before, so it is among them or already written).
  uint64_t ail_seal_stale();
  /// Those transactions are durable: drops the stale-buffer LSNs of
  /// generations <= gen.
  void ail_release_stale(uint64_t gen);

  /// Syncs the device: every write-back before the call is durable after it
  /// (their LSNs leave the AIL).  Returns 0 or the sync's errno (told to the
  /// write-error handler).
  int sync();

  /// Pushes write-back for the log's tail: writes back every dirty buffer
  /// it can without waiting (a flusher pass: pinned buffers, buffers whose
  /// content lock is held and buffers whose last write failed are passed
  /// over), then sync().  Returns 0 or the sync's errno.
  int push();

  /// Stops write-back for good: no buffer reaches the disk any more (write()
  /// and flush_all() say EROFS, the flusher and the destructor write
  /// nothing).  For a filesystem that shut down with a log: the disk keeps
  /// what the log can be replayed over.
  void stop_writeback() { stop_writeback_.store(true, std::memory_order_release); }

  /// Writes back every dirty unpinned buffer, then syncs the device (if
  /// anything was written since the last good sync, by any path).  It does
  /// not wait for pinned buffers (their unpin may depend on a log write the
  /// caller has yet to make): it writes everything else and returns EBUSY if
  /// any dirty buffer was pinned.  Returns 0, EBUSY, or the first write or
  /// sync error (it still tries every buffer).
  int flush_all();

  /// Evicts every unreferenced clean buffer.  Returns how many.
  size_t drop_caches();

  /// Reclaims unreferenced clean buffers until nr_pages pages went back;
  /// returns the pages given back to the pool (under the lazy vmap policy,
  /// scattered pages come back only when vmap/ purges).
  size_t shrink(size_t nr_pages);

  /// Sets the function told of every failed write-back (by write(),
  /// flush_all() or the flusher) and failed device sync, so the filesystem can
  /// stop writing (shut the mount down).  The buffer stays dirty; the flusher
  /// does not retry it (write() and flush_all() do).  Called on the thread
  /// that wrote, with that buffer's content lock held: it must not get()
  /// buffers or call write()/flush_all(); it should record and return.
  void set_write_error_handler(WriteErrorHandler handler);

  CacheStats stats() const;

 private:
  friend class BufHandle;
  friend class PinRef;
  struct Bucket {
    std::mutex mu;
    std::unordered_map<uint64_t, Buffer*> map;  // GUARDED_BY(mu), keyed by daddr
  };

  BufferCache(BlockDevice* dev, vmap::PagePool* pool, vmap::Vmap* vm, vmap::ShrinkerRegistry* shrinkers,
              const CacheOptions& opts);
  Bucket& bucket_for(uint64_t daddr) { return buckets_[(daddr * 0x9e3779b97f4a7c15ull) >> 32 & bucket_mask_]; }
  int check_maps(std::span<const DiskRange> maps, size_t* bytes) const;
  // Takes the content lock and checks state and owner; on failure drops the hold.
  // Also verifies the contents with ops if the buffer was read with others.
  int finish_get(Buffer* b, const BufOps* ops, uint64_t owner, unsigned flags, BufHandle* out);
  // Allocates and maps pages for a new buffer.
  int alloc_memory(Buffer* b);
  // Unmaps and drops the buffer's pages; returns the pages that went back to the pool.
  size_t free_memory(Buffer* b);
  // Frees b's undo copy, if any.  REQUIRES: content held exclusively, or no holder.
  void drop_undo(Buffer* b);
  // What the budget counts: page bytes of cached buffers and undo copies.
  uint64_t held_bytes() const {
    return bytes_cached_.load(std::memory_order_relaxed) + undo_bytes_.load(std::memory_order_relaxed);
  }
  // One preadv/pwritev per map between the buffer and the disk; logs and
  // returns the first error.
  int io_maps(Buffer* b, bool write);
  // The filesystem uuid copied into *storage, or null while unknown.
  const Uuid* uuid_snapshot(Uuid* storage);
  // Reads and verifies a new buffer; REQUIRES: its content lock held exclusively.
  void read_and_verify(Buffer* b, const BufOps* ops);
  // Unlocks the contents and drops the hold.
  void release(Buffer* b, bool excl);
  // Drops a pin and its hold.
  void unpin(Buffer* b);
  // Drops a hold: puts the buffer on the LRU, or frees it if stale and last.
  void put_hold(Buffer* b);
  // REQUIRES: lru_mu_ held.  Puts b at the LRU's front unless it is listed.
  void lru_add_locked(Buffer* b);
  // Takes b out of the hash (read errors); it is freed by its last release.
  void unhash(Buffer* b);
  // REQUIRES: bk.mu held, it in bk.map.  Takes the buffer out of the hash,
  // the index and the LRU and marks it stale; returns its hold count from
  // before (0: unheld, the caller frees it with free_buffer()).
  uint32_t unhash_locked(Bucket& bk, std::unordered_map<uint64_t, Buffer*>::iterator it);
  void free_buffer(Buffer* b);
  // REQUIRES: b's bucket mutex held.  Adds or removes every map of b.
  void index_insert(Buffer* b);
  void index_erase(Buffer* b);
  void report(const Buffer* b, const char* what, const std::string& why);
  // Logs a bad request (no buffer of its own) and counts a failed lookup.
  void report_request(std::span<const DiskRange> maps, size_t bytes, const BufOps* ops, const char* why);
  // True if held buffer b has exactly these maps; else drops the hold.
  bool same_maps(Buffer* b, std::span<const DiskRange> maps);
  // Reclaims until bytes_cached_ <= target_bytes or nr_pages pages were freed.
  size_t reclaim(size_t target_bytes, size_t nr_pages, bool everything, size_t* buffers);
  // REQUIRES: b's content lock held exclusively.  Writes b back if dirty
  // (setting *wrote), tells the handler of a failure; see write().
  int write_locked(Buffer* b, bool* wrote);
  // Clears b's dirty flag, keeping dirty_bytes_.
  void clear_dirty(Buffer* b);
  // Every hashed dirty buffer, each with a hold taken.
  std::vector<Buffer*> collect_dirty();
  void write_failed(uint64_t daddr, int error, const char* structure);
  // ail.cc: the hooks of write-back, invalidate and unpin.
  // REQUIRES: b's content lock held exclusively, b just written.
  void ail_written(Buffer* b);
  // REQUIRES: ail_mu_ held, b still hashed (alive).  b is being
  // invalidated: its AIL LSN waits for the freeing to be logged.
  void ail_stale_locked(Buffer* b);
  void unpin_logged(Buffer* b, uint64_t lsn);
  // REQUIRES: ail_mu_ held.  Takes one instance of lsn out of ail_.
  void ail_erase_locked(uint64_t lsn);
  void kick_flusher();
  void flusher_loop();
  void flush_pass();
  // A cached buffer met with other ops than it was read with (a corrupt image
  // can point two structures at one block): verifies it with these too,
  // remembering the last ops that passed.  Returns 0 or EUCLEAN (logged once
  // per buffer).  REQUIRES: b's content lock held.
  int check_other_ops(Buffer* b, const BufOps* ops);
  void readahead_loop();

  BlockDevice* const dev_;
  vmap::PagePool* const pool_;
  vmap::Vmap* const vm_;
  vmap::ShrinkerRegistry* const shrinkers_;
  const CacheOptions opts_;
  int shrinker_id_ = 0;

  std::unique_ptr<Bucket[]> buckets_;
  const uint64_t bucket_mask_;

  std::mutex uuid_mu_;
  Uuid uuid_{};            // GUARDED_BY(uuid_mu_)
  bool have_uuid_ = false; // GUARDED_BY(uuid_mu_)

  // Serialises reclaim(): a buffer popped from the LRU may be put back by a
  // concurrent release, and only the one reclaimer may then free it.
  std::mutex reclaim_mu_;
  std::mutex lru_mu_;
  std::list<Buffer*> lru_;  // GUARDED_BY(lru_mu_); front = most recently added

  // Every map of every hashed buffer, by map daddr (see invalidate.cc).
  struct IndexEntry {
    uint32_t len;
    Buffer* b;
  };
  std::mutex index_mu_;
  std::multimap<uint64_t, IndexEntry> index_;  // GUARDED_BY(index_mu_)

  std::mutex ra_mu_;
  std::condition_variable ra_cv_;
  struct RaRequest {
    std::vector<DiskRange> maps;
    const BufOps* ops;
  };
  std::deque<RaRequest> ra_queue_;  // GUARDED_BY(ra_mu_)
  bool ra_stop_ = false;            // GUARDED_BY(ra_mu_)
  std::thread ra_thread_;

  // The flusher (flusher.cc).  flush_mu_ and handler_mu_ are leaves.
  const uint64_t flush_threshold_;  // dirty bytes that wake the flusher early
  std::mutex flush_mu_;
  std::condition_variable flush_cv_;
  bool flush_stop_ = false;  // GUARDED_BY(flush_mu_)
  bool flush_kick_ = false;  // GUARDED_BY(flush_mu_)
  std::thread flush_thread_;
  std::mutex handler_mu_;
  WriteErrorHandler handler_;  // GUARDED_BY(handler_mu_)

  std::atomic<bool> unsynced_{false};  // written since the last good dev_->sync()
  std::atomic<bool> stop_writeback_{false};

  // The AIL (ail.cc).  ail_mu_ is taken under content locks and bucket
  // mutexes; under it only lru_mu_ (invalidate: bucket -> ail -> LRU).
  mutable std::mutex ail_mu_;
  std::multiset<uint64_t> ail_;  // GUARDED_BY(ail_mu_): every LSN held
  // Held LSNs no buffer stands for any more, with the generation that
  // releases them: written back (released by a sync() of a later
  // generation), or stale (released by ail_release_stale()).
  std::vector<std::pair<uint64_t, uint64_t>> ail_written_, ail_stale_;  // GUARDED_BY(ail_mu_)
  uint64_t sync_gen_ = 1, stale_gen_ = 1;  // GUARDED_BY(ail_mu_): the open generations
  std::atomic<uint64_t> buffers_{0}, bytes_cached_{0}, undo_bytes_{0};
  // lookups = hits + misses + lookup_failures: no counter of its own on the hit path.
  std::atomic<uint64_t> lookup_failures_{0}, hits_{0}, misses_{0}, reads_{0}, bytes_read_{0}, read_errors_{0}, readahead_{0},
      readahead_dropped_{0}, evictions_{0}, shrinker_calls_{0}, verifier_failures_{0}, other_ops_checks_{0}, writes_{0},
      bytes_written_{0}, invalidations_{0}, invalidated_pinned_{0}, pins_{0}, unpins_{0}, skipped_pinned_{0},
      trylock_busy_{0}, skipped_busy_{0}, skipped_failed_{0}, flusher_passes_{0}, flusher_writes_{0}, write_errors_{0},
      dirty_bytes_{0};
};

}  // namespace xfsfuse::bc
