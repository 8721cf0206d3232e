// Mount's inode reads: the inode cache's loader (the inode from its cluster
// buffer, its forks, bmbt forks of any depth flattened into extent lists).
#include <cerrno>
#include <string>

#include "btree/bmbt.h"
#include "fs/log/log.h"
#include "fs/mount.h"

namespace xfsfuse::fs {

int Mount::iget(uint64_t ino, InodeRef* out) {
  if (int e = icache_->get(ino, [this](uint64_t n, CachedInode* ip) { return load_inode(n, ip); }, out)) return e;
  if ((*out)->is_free.load(std::memory_order_acquire)) {
    out->reset();
    return ENOENT;
  }
  return 0;
}

int Mount::iget_new(uint64_t ino, std::span<const std::byte> raw, InodeRef* out) {
  InodeLocation loc;
  if (!locate_inode(sb_, ino, &loc) || raw.size() != sb_.inodesize) return EINVAL;
  auto load = [&](uint64_t n, CachedInode* ip) { return load_inode_from(n, raw, loc.daddr, ip, /*allow_free=*/true); };
  if (int e = icache_->get(ino, load, out)) return e;
  if (!(*out)->is_free.load(std::memory_order_acquire)) {
    const uint64_t daddr = (*out)->daddr;
    out->reset();
    return report_corruption("inode", daddr, "inode " + std::to_string(ino) + " is in use but the inobt calls it free");
  }
  return 0;
}

void Mount::drop_caches(uint64_t* inodes, uint64_t* buffers) {
  const size_t dropped = icache_->drop_unreferenced();
  const size_t evicted = cache_->drop_caches();
  if (inodes != nullptr) *inodes = dropped;
  if (buffers != nullptr) *buffers = evicted;
}

size_t Mount::inodes_cached() { return icache_->size(); }

int Mount::read_inode_cluster(uint32_t agno, uint32_t agbno, bc::BufHandle* out, uint32_t* first) {
  *first = agbno & ~(cluster_blocks_ - 1);
  const bc::DiskRange map{agbno_to_daddr(sb_, agno, *first),
                          static_cast<uint32_t>(fsblocks_to_sectors(sb_, cluster_blocks_))};
  return cache_->get({&map, 1}, &ops_->inode_cluster(), bc::kAnyOwner, bc::kGetShared, out);
}

int Mount::inode_buf_map(uint64_t ino, bc::DiskRange* map, size_t* offset) const {
  InodeLocation loc;
  if (!locate_inode(sb_, ino, &loc)) return EINVAL;
  const uint32_t first = loc.agbno & ~(cluster_blocks_ - 1);
  map->daddr = agbno_to_daddr(sb_, loc.agno, first);
  map->len = static_cast<uint32_t>(fsblocks_to_sectors(sb_, cluster_blocks_));
  *offset = (size_t{loc.agbno - first} << sb_.blocklog) + loc.offset;
  return 0;
}

int Mount::load_inode(uint64_t ino, CachedInode* ip) {
  InodeLocation loc;
  if (!locate_inode(sb_, ino, &loc)) return EINVAL;
  // Read the whole inode cluster holding it: one I/O serves its neighbours.
  uint32_t first = 0;
  bc::BufHandle h;
  if (int err = read_inode_cluster(loc.agno, loc.agbno, &h, &first)) return err;
  const size_t at = (size_t{loc.agbno - first} << sb_.blocklog) + loc.offset;
  return load_inode_from(ino, {h.data() + at, sb_.inodesize}, loc.daddr, ip, /*allow_free=*/false);
}

int Mount::load_inode_from(uint64_t ino, std::span<const std::byte> raw, uint64_t daddr, CachedInode* ip,
                           bool allow_free) {
  ip->log_seq.store(log_ ? log_->last_seq() : 0, std::memory_order_relaxed);
  ip->datasync_seq.store(ip->log_seq.load(std::memory_order_relaxed), std::memory_order_relaxed);
  ip->data_gen.store(data_gen_.load(std::memory_order_acquire), std::memory_order_relaxed);
  ip->daddr = daddr;
  ip->raw.assign(raw.begin(), raw.end());
  std::string why;
  int err = decode_inode(sb_, ino, ip->raw, &ip->core, &why);
  if (err == ENOENT && allow_free) {
    // A free inode passed its header checks; its other fields are stale.
    decode_inode_core(sb_, ino, ip->raw, &ip->core);
    ip->is_free.store(true, std::memory_order_release);
    return 0;
  }
  if (err) return err == ENOENT ? ENOENT : report_corruption("inode", daddr, "inode " + std::to_string(ino) + ": " + why);
  load_fork_bytes(ip);
  if ((err = load_fork(ip, false, daddr))) return err;
  if (ip->has_attr_fork())
    if ((err = load_fork(ip, true, daddr))) return err;
  return 0;
}

int Mount::load_fork(CachedInode* ip, bool attr_fork, uint64_t daddr) {
  const Inode& n = ip->core;
  const auto format = attr_fork ? static_cast<ForkFormat>(n.aformat) : n.format;
  std::vector<Extent>* ext = &ip->fork(attr_fork).extents;
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
    const bc::DiskRange map{fsblock_to_daddr(sb_, fsblock), sb_.blocksize >> 9};
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
