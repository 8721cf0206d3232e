#include "fs/mount.h"

#include "fs/log/log.h"

#include <sys/stat.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "btree/bmbt.h"
#include "buffer_cache/corruption_log.h"
#include "fs/corrupt.h"
#include "fs/log/reader.h"
#include "fs/ops/inactivate.h"

namespace xfsfuse::fs {

namespace {

constexpr size_t kSbReadBytes = 4096;  // covers any sector size up to 4 KiB

}  // namespace

int Mount::read_superblock(std::string* why) {
  std::vector<std::byte> sector(std::min<size_t>(kSbReadBytes, dev_->size_bytes()));
  iovec iov{sector.data(), sector.size()};
  if (int e = dev_->preadv(&iov, 1, 0)) {
    *why = std::string("reading the superblock: ") + std::strerror(e);
    return e;
  }
  std::string w;
  if (int e = decode_superblock(sector, &sb_, &w)) {
    *why = "not a usable XFS v5 filesystem: superblock: " + w;
    return e;
  }
  return 0;
}

int Mount::open(const std::string& path, const MountOptions& opts, std::unique_ptr<Mount>* out, std::string* err) {
  std::unique_ptr<Mount> m(new Mount());
  m->opts_ = opts;
  if (int e = bc::FileDevice::open(path, opts.writable, &m->dev_)) {
    *err = path + ": " + std::strerror(e);
    return e;
  }
  if (opts.offset != 0 || opts.sizelimit != 0) {
    const uint64_t size = m->dev_->size_bytes();
    if (opts.offset >= size || opts.sizelimit > size - opts.offset) {
      *err = path + ": offset " + std::to_string(opts.offset) + (opts.sizelimit ? " + sizelimit " + std::to_string(opts.sizelimit) : "") +
             " reaches past the image's " + std::to_string(size) + " bytes";
      return EINVAL;
    }
    const uint64_t len = opts.sizelimit != 0 ? opts.sizelimit : size - opts.offset;
    m->dev_ = std::make_unique<bc::WindowDevice>(std::move(m->dev_), opts.offset, len);
  }
  if (opts.wrap_device) m->dev_ = opts.wrap_device(std::move(m->dev_));
  if (m->dev_->size_bytes() < 512) {
    *err = path + ": too small to hold an XFS filesystem";
    return EINVAL;
  }
  std::string why;
  if (int e = m->read_superblock(&why)) {
    *err = path + ": " + why;
    return e;
  }
  const Superblock& sb = m->sb_;
  if (sb.inprogress) {
    *err = path + ": mkfs.xfs did not finish on this filesystem (sb_inprogress is set)";
    return EUCLEAN;
  }
  if (judge_features(sb, &why) == MountAccess::kRefuse) {
    *err = path + ": " + why;
    return EOPNOTSUPP;
  } else if (!why.empty()) {
    m->warnings_.push_back(why);
  }
  if (uint64_t{sb.dblocks} << sb.blocklog > m->dev_->size_bytes()) {
    *err = path + ": the filesystem (" + std::to_string(sb.dblocks << sb.blocklog) + " bytes) is larger than the image";
    return EUCLEAN;
  }
  if (opts.writable)  // before a replay writes anything
    if (int e = m->check_writable_features(err)) {
      *err = path + ": cannot mount read-write: " + *err + "; mount it read-only (-o ro)";
      return e;
    }
  if (int e = m->check_log_state(err)) {
    *err = path + ": " + *err;
    return e;
  }
  if (opts.writable)
    if (int e = m->check_writable(err)) {
      *err = path + ": cannot mount read-write: " + *err + "; mount it read-only (-o ro)";
      return e;
    }

  m->shrinkers_ = std::make_unique<vmap::ShrinkerRegistry>();
  // The pool holds the cache's pages plus what lazy unmapping keeps pinned.
  const size_t pool_bytes = opts.cache_bytes + opts.cache_bytes / 2 + (8u << 20);
  if (int e = vmap::PagePool::create(pool_bytes, m->shrinkers_.get(), &m->pool_)) {
    *err = path + ": creating the page pool: " + std::strerror(e);
    return e;
  }
  vmap::VmapOptions vo;
  vo.policy = opts.vmap_policy;
  vo.batch = opts.vmap_batch;
  vo.map_contiguous = opts.vmap_all;
  // Live buffers keep their slots while cached: enough slots that every pool
  // page in 2-page areas fits, so a full cache never runs out of them.
  vo.nslots = static_cast<uint32_t>(std::clamp<size_t>(pool_bytes / (2 * vmap::kPageSize), 4096, 1u << 18));
  if (int e = vmap::Vmap::create(m->pool_.get(), m->shrinkers_.get(), vo, &m->vm_)) {
    *err = path + ": creating the vmap layer: " + std::strerror(e);
    return e;
  }
  bc::CacheOptions co;
  co.budget_bytes = opts.cache_bytes;
  if (!opts.writable) co.flush_interval = std::chrono::milliseconds(0);  // nothing to write back
  if (int e = bc::BufferCache::create(m->dev_.get(), m->pool_.get(), m->vm_.get(), m->shrinkers_.get(), co,
                                      &m->cache_)) {
    *err = path + ": creating the buffer cache: " + std::strerror(e);
    return e;
  }
  m->cache_->set_uuid(sb.meta_uuid);
  // A metadata write that fails (or is refused by its verifier) stops all
  // writing: the disk may now miss part of a committed change.
  Mount* raw = m.get();
  m->cache_->set_write_error_handler([raw](const bc::WriteError& e) {
    raw->shut_down(std::string("writing ") + e.structure +
                   (e.daddr == bc::kNoDaddr ? std::string() : " at daddr " + hex(e.daddr)) + ": " + std::strerror(e.error));
  });
  m->ops_ = std::make_unique<BufOpsSet>(m->sb_);
  m->ag_ = std::make_unique<AgHeaders>(*m->ops_);
  m->perag_ = std::make_unique<PerAgTable>(m->sb_, m->cache_.get(), m->ag_.get());
  m->icache_ = std::make_unique<InodeCache>(opts.inode_cache);
  m->fdblocks_.store(static_cast<int64_t>(sb.fdblocks), std::memory_order_relaxed);
  // A read-write mount reads every AG's counters now: later, a transaction
  // holding one AG's header must never wait to read another's for them.
  for (uint32_t agno = 0; opts.writable && agno < sb.agcount; agno++)
    for (bool agf : {true, false}) {
      PerAg* pag;
      if (int e = m->perag_->get(agno, agf, &pag)) {
        *err = path + ": cannot mount read-write: AG " + std::to_string(agno) + "'s " + (agf ? "AGF" : "AGI") +
               " cannot be read (" + std::strerror(e) + "); mount it read-only (-o ro) or run xfs_repair";
        return e;
      }
    }
  if (m->recovered_ && opts.writable) {  // the lazy counters on disk predate the log's changes
    AgCounterSums sums;
    if (int e = m->sum_ag_counters(&sums)) {
      *err = path + ": log recovery: summing the AG counters: " + std::strerror(e);
      return e;
    }
    m->fdblocks_.store(static_cast<int64_t>(sums.free_blocks), std::memory_order_relaxed);
    // The log is clean now: features that needed its recovery are off.
    m->sb_.features_log_incompat = 0;
    if (int e = m->write_superblock(/*needsrepair=*/false)) {  // the counters from the AG sums
      *err = path + ": log recovery: writing the superblock's counters: " + std::strerror(e);
      return e;
    }
    if (int e = m->end_recovered_log(err)) {
      *err = path + ": " + *err;
      return e;
    }
  }
  if (opts.writable && opts.write_log) {
    Mount* self = m.get();
    if (int e = xlog::Log::start(m->dev_.get(), m->cache_.get(), m->sb_, m->log_start_, m->log_blocks_, m->log_ends_,
                                 [self](const std::string& w) { self->shut_down(w); }, &m->log_, &why)) {
      *err = path + ": cannot mount read-write: starting the log: " + why;
      return e;
    }
  }
  m->cluster_blocks_ = inode_cluster_blocks(sb);
  // Inodes left on the unlinked lists (a crash, another driver) are freed
  // before the mount serves anything; one that cannot be stays there.
  if (opts.writable && !m->pending_efis_.empty())
    if (int e = m->finish_efis(err)) {
      *err = path + ": " + *err;
      return e;
    }
  if (opts.writable) {
    uint64_t freed = 0;
    if (int e = inactivate_unlinked(*m, &freed))
      m->warnings_.push_back(std::string("freeing inodes left on the unlinked lists: ") + std::strerror(e));
    if (freed != 0) m->warnings_.push_back("freed " + std::to_string(freed) + " inodes left on the unlinked lists");
  }

  if (!opts.check_root) {
    *out = std::move(m);
    return 0;
  }
  InodeRef root;
  if (int e = m->iget(sb.rootino, &root)) {
    *err = path + ": cannot read the root directory (inode " + std::to_string(sb.rootino) + "): " + std::strerror(e);
    return e;
  }
  if ((root->core.mode & S_IFMT) != S_IFDIR) {
    *err = path + ": the root inode " + std::to_string(sb.rootino) + " is not a directory";
    return EUCLEAN;
  }
  *out = std::move(m);
  return 0;
}

Mount::~Mount() {
  // Inodes waiting to be freed first (their transactions need everything
  // below).  The log holds pins on cached buffers; the cache's buffers hold
  // pool pages and vmap areas: free them in that order.
  igc_->stop();
  log_.reset();
  icache_.reset();
  cache_.reset();
  vm_.reset();
  pool_.reset();
}

int Mount::check_log_state(std::string* err) {
  std::string why;
  uint64_t start = 0;
  uint32_t blocks = 0;
  int e = xlog::LogReader::internal(*dev_, sb_, &start, &blocks, &why);
  log_start_ = start;
  log_blocks_ = blocks;
  if (e == 0) e = xlog::find_log_ends(xlog::LogReader(*dev_, start, blocks), sb_.uuid, &log_ends_, &why);
  if (e && !(e == EUCLEAN && opts_.norecovery)) {
    *err = "reading the log: " + (why.empty() ? std::string(std::strerror(e)) : why);
    return e;
  }
  if (e == 0 && !log_ends_.clean && !opts_.norecovery) return recover_log(start, blocks, err);
  std::string what;
  if (e)
    what = "the log cannot be read (" + why + ")";
  else if (!log_ends_.clean)
    what = "the log is dirty (the filesystem was not unmounted cleanly)";
  else if (sb_.features_log_incompat != 0)
    what = "the log has incompatible features that need log recovery";
  else
    return 0;
  if (!opts_.norecovery) {
    *err = what + "; mount it with the kernel to replay the log, or use -o norecovery for a possibly stale view";
    return EUCLEAN;
  }
  log_dirty_ = true;
  log_warning_ = what + "; mounted with norecovery: recent changes may be missing or inconsistent";
  return 0;
}

int Mount::report_corruption(const char* structure, uint64_t daddr, const std::string& why) {
  bc::log_corruption(structure, daddr, why);
  return EUCLEAN;
}

}  // namespace xfsfuse::fs
