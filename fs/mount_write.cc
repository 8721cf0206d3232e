// Mount's read-write state: what a read-write open refuses, NEEDSREPAIR
// around the changes (set before the first, cleared at a clean unmount with
// the lazy superblock counters written), and shutting writes down.
//
// With the log (fs/log/log.h, the default) every change is logged before it
// reaches its home, and unmount ends the log with an unmount record.  With
// nolog, a crash between the first change and a clean unmount must not leave
// an image that looks consistent: NEEDSREPAIR makes the kernel refuse it and
// xfs_repair fix it (docs/format.md: the superblock's lazy counters).
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "fs/atomic_max.h"
#include "fs/format/endian.h"
#include "fs/format/sb.h"
#include "fs/log/log.h"
#include "fs/mount.h"
#include "fs/ops/inactivate.h"

namespace xfsfuse::fs {

int Mount::check_writable_features(std::string* err) {
  const Superblock& sb = sb_;
  std::string why;
  if (judge_features(sb, &why) != MountAccess::kReadWrite) {
    *err = why;
    return EROFS;
  }
  if (sb.features_ro_compat & kRoCompatRmapbt) {
    *err = "reverse-mapping btrees (rmapbt) are not kept up to date by xfsfuse's write path";
    return EROFS;
  }
  if (sb.rblocks != 0) {
    *err = "a realtime device is not supported for writing";
    return EROFS;
  }
  return 0;
}

int Mount::check_writable(std::string* err) {
  if (int e = check_writable_features(err)) return e;
  // A recovery by this mount ends with a clean log; the open clears the
  // log_incompat bits then, as the kernel does once its log is clean.
  if (log_dirty_ || (sb_.features_log_incompat != 0 && !recovered_)) {
    *err = "the log needs recovery (mount it with the kernel first)";
    return EROFS;
  }
  return 0;
}

int Mount::start_change() {
  if (!opts_.writable) return EROFS;
  if (shut_down_state()) return EIO;
  if (changed_.load(std::memory_order_acquire)) return 0;
  std::lock_guard<std::mutex> g(change_mu_);
  if (changed_.load(std::memory_order_relaxed)) return 0;
  if (shut_down_state()) return EIO;
  if (log_) {  // the log keeps the image recoverable: nothing to mark
    changed_.store(true, std::memory_order_release);
    return 0;
  }
  if (int e = write_superblock(/*needsrepair=*/true)) {
    shut_down(std::string("setting NEEDSREPAIR in the superblock: ") + std::strerror(e));
    return EIO;
  }
  changed_.store(true, std::memory_order_release);
  return 0;
}

void Mount::shut_down(const std::string& why) {
  if (log_) {  // nothing unlogged may reach the disk from now on
    cache_->stop_writeback();
    log_->shut_down();
  }
  if (shut_down_.exchange(true)) return;
  if (log_)
    std::fprintf(stderr, "xfsfuse: shutting down writes: %s; the log holds what was forced: mount the image again to recover it\n",
                 why.c_str());
  else
    std::fprintf(stderr, "xfsfuse: shutting down writes: %s; the filesystem needs xfs_repair\n", why.c_str());
}

int Mount::reserve_blocks(uint64_t n) {
  // Held back as the kernel does (xfs_fdblocks_unavailable): 8 blocks per AG
  // for AGFL refills, and the free-space btrees' own blocks.
  int64_t unavailable = int64_t{sb_.agcount} * 8;
  for (uint32_t agno = 0; agno < sb_.agcount; agno++) {
    const PerAg& pag = perag_->at(agno);
    if (pag.agf_ready()) unavailable += pag.btreeblks.load(std::memory_order_relaxed);
  }
  int64_t cur = fdblocks_.load(std::memory_order_relaxed);
  do {
    if (cur - static_cast<int64_t>(n) < unavailable) return ENOSPC;
  } while (!fdblocks_.compare_exchange_weak(cur, cur - static_cast<int64_t>(n), std::memory_order_relaxed));
  return 0;
}

void Mount::unreserve_blocks(uint64_t n) { fdblocks_.fetch_add(static_cast<int64_t>(n), std::memory_order_relaxed); }

int Mount::sync() {
  if (!opts_.writable || !changed_.load(std::memory_order_acquire)) return 0;
  if (shut_down_state()) return EIO;
  if (log_) {  // the log holds the metadata; file data went straight to the image
    const uint64_t covers = data_gen_.load(std::memory_order_acquire);
    int e = log_->force_all();
    if (e == 0) e = sync_image(covers);
    if (e != 0) {
      shut_down(std::string("forcing the log for a sync: ") + std::strerror(e));
      return EIO;
    }
    return 0;
  }
  int e = cache_->flush_all();
  if (e == 0) e = dev_->sync();
  if (e != 0) {
    shut_down(std::string("writing back metadata for a sync: ") + std::strerror(e));
    return EIO;
  }
  return 0;
}

int Mount::sync_image(uint64_t covers) {
  const int e = cache_->sync();
  if (e == 0) raise_to(data_synced_, covers);
  return e;
}

int Mount::fsync(const CachedInode& ip, bool datasync) {
  if (!opts_.writable || !changed_.load(std::memory_order_acquire)) return 0;
  if (!log_) return sync();
  if (shut_down_state()) return EIO;
  // Data first, as the kernel writes it before forcing the log: the log
  // must not say an extent holds data the image does not have yet.
  int e = 0;
  if (data_synced_.load(std::memory_order_acquire) < ip.data_gen.load(std::memory_order_acquire))
    e = sync_image(data_gen_.load(std::memory_order_acquire));
  if (e == 0) e = log_->force((datasync ? ip.datasync_seq : ip.log_seq).load(std::memory_order_acquire));
  if (e != 0) {
    shut_down(std::string("making an inode durable for fsync: ") + std::strerror(e));
    return EIO;
  }
  return 0;
}

int Mount::write_back() {
  if (!opts_.writable || !changed_.load(std::memory_order_acquire)) return 0;
  if (shut_down_state()) return EIO;
  int e = log_ ? log_->force_all() : 0;
  if (e == 0) e = cache_->flush_all();  // EBUSY: a transaction committed meanwhile pinned a buffer
  if (e != 0 && e != EBUSY) {
    shut_down(std::string("writing back metadata: ") + std::strerror(e));
    return EIO;
  }
  return e;
}

int Mount::unmount_clean() {
  igc_->stop();  // what waits in the inode GC is freed now
  if (!opts_.writable || !changed_.load(std::memory_order_acquire) || shut_down_state()) return 0;
  // Nothing holds an inode after unmount: every unlinked one is freed now,
  // as the kernel frees them before it unmounts.  One that cannot be freed
  // stays on its list, where the next mount (or xfs_repair) finds it.
  if (int e = inactivate_unlinked(*this))
    std::fprintf(stderr, "xfsfuse: unmount: some unlinked inodes stay on the unlinked lists: %s\n", std::strerror(e));
  if (shut_down_state()) return EIO;
  std::lock_guard<std::mutex> g(change_mu_);
  if (log_)
    if (int e = log_->force_all()) {
      shut_down(std::string("forcing the log at unmount: ") + std::strerror(e));
      return e;
    }
  if (int e = cache_->flush_all()) {
    shut_down(std::string("writing back metadata at unmount: ") + std::strerror(e));
    return e;
  }
  if (int e = write_superblock(/*needsrepair=*/false)) {
    shut_down(std::string("writing the superblock at unmount: ") + std::strerror(e));
    return e;
  }
  if (log_) {
    std::string why;
    if (int e = log_->write_unmount(&why)) {
      shut_down("ending the log at unmount: " + why);
      return e;
    }
  }
  changed_.store(false, std::memory_order_release);
  return 0;
}

int Mount::write_superblock(bool needsrepair) {
  AgCounterSums sums;
  if (!needsrepair)
    if (int e = sum_ag_counters(&sums)) return e;
  const bc::DiskRange map{0, static_cast<uint32_t>(sb_.sectsize >> 9)};
  bc::BufHandle h;
  if (int e = cache_->get({&map, 1}, &superblock_ops(), bc::kAnyOwner, bc::kGetExclusive, &h)) return e;
  xd_dsb d;
  std::memcpy(&d, h.data(), sizeof d);
  uint32_t incompat = be32(d.sb_features_incompat);
  incompat = needsrepair ? incompat | kIncompatNeedsRepair : incompat & ~kIncompatNeedsRepair;
  d.sb_features_incompat = to_be32(incompat);
  if (!needsrepair) {
    d.sb_icount = to_be64(sums.icount);
    d.sb_ifree = to_be64(sums.ifree);
    d.sb_fdblocks = to_be64(sums.free_blocks);
  }
  d.sb_features_log_incompat = to_be32(sb_.features_log_incompat);
  std::memcpy(h.data(), &d, sizeof d);
  if (int e = cache_->mark_dirty(h, 0, sizeof d)) return e;
  if (int e = cache_->write(h)) return e;
  h.release();
  return dev_->sync();
}

}  // namespace xfsfuse::fs
