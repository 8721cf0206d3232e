#include "fs/mount.h"

#include <sys/stat.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "btree/bmbt.h"
#include "fs/corrupt.h"
#include "fs/log.h"

namespace xfsfuse::fs {

namespace {

constexpr size_t kSbReadBytes = 4096;  // covers any sector size up to 4 KiB

// Fsblocks per inode cluster: 16 KiB for 512-byte inodes (the kernel reads
// 8 KiB per 256 bytes of inode size), no more than an inode chunk, and no
// more than the chunk alignment, so an aligned cluster never leaves an
// allocated (possibly sparse) chunk.  A power of two.
uint32_t inode_cluster_blocks(const Superblock& sb) {
  const uint64_t want = (uint64_t{8192} * (sb.inodesize / 256)) >> sb.blocklog;
  uint64_t limit = std::max<uint64_t>(1, 64 / sb.inopblock);
  if (sb.inoalignmt) limit = std::min<uint64_t>(limit, sb.inoalignmt);
  if (sb.spino_align) limit = std::min<uint64_t>(limit, sb.spino_align);
  uint32_t blocks = 1;
  while (blocks * 2 <= std::min(want, limit)) blocks *= 2;
  return blocks;
}

}  // namespace

std::span<const std::byte> CachedInode::fork_bytes(bool attr_fork) const {
  const size_t start = kInodeCoreSize + (attr_fork ? fork_size(core, false) : 0);
  return std::span<const std::byte>(raw).subspan(start, fork_size(core, attr_fork));
}

int Mount::open(const std::string& path, const MountOptions& opts, std::unique_ptr<Mount>* out, std::string* err) {
  std::unique_ptr<Mount> m(new Mount());
  m->opts_ = opts;
  if (int e = bc::FileDevice::open(path, /*writable=*/false, &m->dev_)) {
    *err = path + ": " + std::strerror(e);
    return e;
  }
  std::vector<std::byte> sector(kSbReadBytes);
  iovec iov{sector.data(), std::min<size_t>(sector.size(), m->dev_->size_bytes())};
  if (iov.iov_len < 512) {
    *err = path + ": too small to hold an XFS filesystem";
    return EINVAL;
  }
  sector.resize(iov.iov_len);
  if (int e = m->dev_->preadv(&iov, 1, 0)) {
    *err = path + ": reading the superblock: " + std::strerror(e);
    return e;
  }
  std::string why;
  if (int e = decode_superblock(sector, &m->sb_, &why)) {
    *err = path + ": not a usable XFS v5 filesystem: superblock: " + why;
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
  if (int e = m->check_log_state(err)) return e;

  m->shrinkers_ = std::make_unique<vmap::ShrinkerRegistry>();
  // The pool holds the cache's pages plus what lazy unmapping keeps pinned.
  const size_t pool_bytes = opts.cache_bytes + opts.cache_bytes / 2 + (8u << 20);
  if (int e = vmap::PagePool::create(pool_bytes, m->shrinkers_.get(), &m->pool_)) {
    *err = std::string("creating the page pool: ") + std::strerror(e);
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
    *err = std::string("creating the vmap layer: ") + std::strerror(e);
    return e;
  }
  bc::CacheOptions co;
  co.budget_bytes = opts.cache_bytes;
  if (int e = bc::BufferCache::create(m->dev_.get(), m->pool_.get(), m->vm_.get(), m->shrinkers_.get(), co,
                                      &m->cache_)) {
    *err = std::string("creating the buffer cache: ") + std::strerror(e);
    return e;
  }
  m->cache_->set_uuid(sb.meta_uuid);
  m->ops_ = std::make_unique<BufOpsSet>(m->sb_);
  m->ag_ = std::make_unique<AgHeaders>(*m->ops_);
  m->cluster_blocks_ = inode_cluster_blocks(sb);

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
  // The cache's buffers hold pool pages and vmap areas: free them first.
  icache_.clear();
  cache_.reset();
  vm_.reset();
  pool_.reset();
}

int Mount::check_log_state(std::string* err) {
  LogState log;
  std::string why;
  if (int e = check_log(*dev_, sb_, &log, &why)) {
    *err = "reading the log: " + (why.empty() ? std::string(std::strerror(e)) : why);
    return e;
  }
  const bool dirty = !log.clean || sb_.features_log_incompat != 0;
  if (!dirty) return 0;
  const std::string what = !log.clean ? "the log is dirty (the filesystem was not unmounted cleanly)"
                                      : "the log has incompatible features that need log recovery";
  if (!opts_.norecovery) {
    *err = what + "; mount it with the kernel to replay the log, or use -o norecovery for a possibly stale view";
    return EUCLEAN;
  }
  log_dirty_ = true;
  warnings_.push_back(what + "; mounted with norecovery: recent changes may be missing or inconsistent");
  return 0;
}

int Mount::report_corruption(const char* structure, uint64_t daddr, const std::string& why) {
  std::fprintf(stderr, "xfsfuse: metadata corruption: %s at daddr 0x%" PRIx64 ": %s\n", structure, daddr, why.c_str());
  return EUCLEAN;
}

int Mount::iget(uint64_t ino, InodeRef* out) {
  {
    std::lock_guard<std::mutex> g(icache_mu_);
    auto it = icache_.find(ino);
    if (it != icache_.end()) {
      *out = it->second;
      return 0;
    }
  }
  std::shared_ptr<CachedInode> ip;
  if (int err = build_inode(ino, &ip)) return err;
  std::lock_guard<std::mutex> g(icache_mu_);
  auto [it, inserted] = icache_.emplace(ino, std::move(ip));
  *out = it->second;
  if (inserted && icache_.size() > opts_.inode_cache) trim_icache_locked();
  return 0;
}

void Mount::drop_caches(uint64_t* inodes, uint64_t* buffers) {
  uint64_t dropped = 0;
  {
    std::lock_guard<std::mutex> g(icache_mu_);
    for (auto it = icache_.begin(); it != icache_.end();) {
      if (it->second.use_count() == 1) {
        it = icache_.erase(it);
        dropped++;
      } else {
        ++it;
      }
    }
  }
  const size_t evicted = cache_->drop_caches();
  if (inodes != nullptr) *inodes = dropped;
  if (buffers != nullptr) *buffers = evicted;
}

size_t Mount::inodes_cached() {
  std::lock_guard<std::mutex> g(icache_mu_);
  return icache_.size();
}

void Mount::trim_icache_locked() {
  const size_t target = opts_.inode_cache - opts_.inode_cache / 4;
  for (auto it = icache_.begin(); it != icache_.end() && icache_.size() > target;) {
    if (it->second.use_count() == 1)
      it = icache_.erase(it);
    else
      ++it;
  }
}

int Mount::read_inode_cluster(uint32_t agno, uint32_t agbno, bc::BufHandle* out, uint32_t* first) {
  *first = agbno & ~(cluster_blocks_ - 1);
  const bc::DiskRange map{agbno_to_daddr(sb_, agno, *first),
                          static_cast<uint32_t>(fsblocks_to_sectors(sb_, cluster_blocks_))};
  return cache_->get({&map, 1}, &ops_->inode_cluster(), bc::kAnyOwner, bc::kGetShared, out);
}

int Mount::build_inode(uint64_t ino, std::shared_ptr<CachedInode>* out) {
  InodeLocation loc;
  if (!locate_inode(sb_, ino, &loc)) return EINVAL;
  // Read the whole inode cluster holding it: one I/O serves its neighbours.
  uint32_t first = 0;
  bc::BufHandle h;
  if (int err = read_inode_cluster(loc.agno, loc.agbno, &h, &first)) return err;
  auto ip = std::make_shared<CachedInode>();
  ip->daddr = loc.daddr;
  const size_t at = (size_t{loc.agbno - first} << sb_.blocklog) + loc.offset;
  ip->raw.assign(h.data() + at, h.data() + at + sb_.inodesize);
  h.release();
  std::string why;
  if (int err = decode_inode(sb_, ino, ip->raw, &ip->core, &why))
    return err == ENOENT ? ENOENT : report_corruption("inode", loc.daddr, "inode " + std::to_string(ino) + ": " + why);
  if (int err = load_fork(ip.get(), false, loc.daddr)) return err;
  if (ip->has_attr_fork())
    if (int err = load_fork(ip.get(), true, loc.daddr)) return err;
  *out = std::move(ip);
  return 0;
}

int Mount::load_fork(CachedInode* ip, bool attr_fork, uint64_t daddr) {
  const Inode& n = ip->core;
  const auto format = attr_fork ? static_cast<ForkFormat>(n.aformat) : n.format;
  std::vector<Extent>* ext = attr_fork ? &ip->attr : &ip->data;
  const char* fork = attr_fork ? "attr" : "data";
  std::string why;
  if (format == ForkFormat::kExtents) {
    if (decode_extent_fork(sb_, n, ip->raw, attr_fork, ext, &why))
      return report_corruption("inode", daddr, "inode " + std::to_string(n.ino) + " " + fork + " fork: " + why);
    return 0;
  }
  if (format != ForkFormat::kBtree) return 0;  // local and device forks live in raw
  btree::BmbtFault fault;
  uint64_t leaf_daddr = 0;  // the block whose records emit() is being given
  auto read = [&](uint64_t fsblock, bc::BufHandle* h) {
    const Extent blk{0, fsblock, 1, false};
    if (check_extent(sb_, blk, &why)) {
      fault.daddr = daddr;
      fault.why = "pointer to fsblock " + std::to_string(fsblock) + " outside the filesystem";
      return EUCLEAN;
    }
    const bc::DiskRange map{fsblock_to_daddr(sb_, fsblock), static_cast<uint32_t>(fsblocks_to_sectors(sb_, 1))};
    leaf_daddr = map.daddr;
    return cache_->get({&map, 1}, &bmbt_ops(), n.ino, bc::kGetShared, h);
  };
  auto emit = [&](const xd_bmbt_rec& r) {
    const Extent e = decode_bmbt_rec(r);
    fault.daddr = leaf_daddr;
    if (check_extent(sb_, e, &fault.why)) return EUCLEAN;
    if (!ext->empty() && e.startoff < ext->back().startoff + ext->back().blockcount) {
      fault.why = "extent at file block " + std::to_string(e.startoff) + " overlaps the one before it";
      return EUCLEAN;
    }
    ext->push_back(e);
    return 0;
  };
  const int err = btree::bmbt_walk(ip->fork_bytes(attr_fork), sb_.blocksize, read, emit, &fault);
  const uint64_t want = attr_fork ? n.anextents : n.nextents;
  if (err == EUCLEAN && !fault.why.empty())
    return report_corruption(fault.daddr ? "bmbt block" : "inode", fault.daddr ? fault.daddr : daddr,
                             "inode " + std::to_string(n.ino) + " " + fork + " fork: " + fault.why);
  if (err) return err;
  if (ext->size() != want)
    return report_corruption("inode", daddr, "inode " + std::to_string(n.ino) + " " + fork + " fork: bmbt holds " +
                                                 std::to_string(ext->size()) + " extents, di_nextents says " +
                                                 std::to_string(want));
  return 0;
}

}  // namespace xfsfuse::fs
