#include "fs/log/format.h"

#include <algorithm>
#include <cstring>
#include <map>

#include "fs/corrupt.h"
#include "fs/format/btree.h"
#include "fs/format/endian.h"
#include "fs/format/inode.h"
#include "fs/format/magic.h"
#include "fs/inode.h"
#include "fs/log/log_dinode.h"

namespace xfsfuse::fs::xlog {

namespace {

constexpr uint32_t kTransType = 40;  // th_type: a checkpoint, the only type current kernels write
constexpr size_t kNextUnlinkedOff = offsetof(xd_dinode, di_next_unlinked);
constexpr size_t kLongBlockHeader = sizeof(xd_btree_lblock);

using Bytes = std::vector<std::byte>;

// The log items of one transaction, grouped in recovery's order.
struct Items {
  std::vector<std::vector<Bytes>> icreates, bufs, inodes, inode_bufs, cancels;
};

template <typename T>
Bytes bytes_of(const T& v, size_t n = sizeof(T)) {
  Bytes b(n);
  std::memcpy(b.data(), &v, n);
  return b;
}

// One 128-byte-chunk dirty map over `chunks` chunks.
struct ChunkMap {
  std::vector<bool> bits;
  explicit ChunkMap(size_t chunks) : bits(chunks) {}
  void set(size_t from, size_t to) {  // bytes [from, to) of the segment
    for (size_t c = from / XD_BLF_CHUNK; c * XD_BLF_CHUNK < to && c < bits.size(); c++) bits[c] = true;
  }
  bool any() const { return std::find(bits.begin(), bits.end(), true) != bits.end(); }
};

// A buffer item for the segment [seg_off, seg_off + map.bits.size() * 128)
// of b at daddr: the format region, then one region per run of set bits.
// False when b did not keep the bytes of a run (see CommittedTrans::Buf::keep).
bool buf_item(uint64_t daddr, uint32_t sectors, uint16_t flags, const ChunkMap& map, const CommittedTrans::Buf& b,
              size_t seg_off, std::vector<std::vector<Bytes>>* out) {
  xd_buf_log_format f{};
  f.blf_type = XD_LI_BUF;
  f.blf_flags = flags;
  f.blf_len = static_cast<uint16_t>(sectors);
  f.blf_blkno = static_cast<int64_t>(daddr);
  f.blf_map_size = static_cast<uint32_t>((map.bits.size() + 31) / 32);
  std::vector<Bytes> regions(1);
  for (size_t c = 0; c < map.bits.size();) {
    if (!map.bits[c]) {
      c++;
      continue;
    }
    size_t e = c;
    while (e < map.bits.size() && map.bits[e]) f.blf_data_map[e / 32] |= 1u << (e % 32), e++;
    std::span<const std::byte> run = b.bytes(seg_off + c * XD_BLF_CHUNK, (e - c) * XD_BLF_CHUNK);
    if (run.empty()) return false;
    regions.emplace_back(run.begin(), run.end());
    c = e;
  }
  f.blf_size = static_cast<uint16_t>(regions.size());
  regions[0] = bytes_of(f, XD_BUF_LOG_FORMAT_HEAD + 4 * size_t{f.blf_map_size});
  out->push_back(std::move(regions));
  return true;
}

int not_kept(std::string* why, const CommittedTrans::Buf& b) {
  return corrupt(why, "logging the buffer at daddr " + std::to_string(b.maps[0].daddr) +
                          ": the commit did not keep the bytes of its changed chunks");
}

// A plain (not inode cluster) buffer: one item per segment with changed
// chunks.  A discontiguous directory block logs every segment, the first
// with its header whose CRC and LSN are recomputed for lsn: recovery copies
// segments without running the verifier.
int plain_buf(const CommittedTrans::Buf& b, const Superblock& sb, uint64_t lsn, Items* it, std::string* why) {
  const bool segmented = b.maps.size() > 1 && XD_BLFT_IS_DIR(b.blft);
  // Kept whole (CommittedTrans::Buf::keep): a copy with its CRC and LSN for lsn.
  CommittedTrans::Buf stamped;
  const CommittedTrans::Buf* src = &b;
  if (segmented && b.ops) {
    if (!b.kept.empty()) return not_kept(why, b);
    stamped.data = b.data;
    std::string w;
    if (!b.ops->verify_write(stamped.data, b.maps[0].daddr, &sb.meta_uuid, lsn, &w))
      return corrupt(why, std::string("logging the ") + b.ops->name() + " at daddr " + std::to_string(b.maps[0].daddr) +
                              ": " + w);
    src = &stamped;
  }
  const uint16_t flags = static_cast<uint16_t>(b.blft << XD_BLF_TYPE_SHIFT);
  size_t off = 0;
  for (const bc::DiskRange& m : b.maps) {
    const size_t len = size_t{m.len} << 9;
    ChunkMap map(len / XD_BLF_CHUNK);
    for (auto [from, to] : b.ranges)
      if (from < off + len && to > off) map.set(std::max(from, off) - off, std::min(to, off + len) - off);
    if (segmented) map.bits[0] = true;  // the header of the first; a present segment of the others
    if (map.any() && !buf_item(m.daddr, m.len, flags, map, *src, off, &it->bufs)) return not_kept(why, b);
    off += len;
  }
  return 0;
}

// The extent count of a fork, as the core at dip gives it.
uint64_t fork_extents(const std::byte* dip, bool attr) {
  const bool big = bc::load_be(dip + offsetof(xd_dinode, di_flags2), 8) & kDiflag2Nrext64;
  if (attr)
    return big ? bc::load_be(dip + offsetof(xd_dinode, di_nextents), 4)
               : bc::load_be(dip + offsetof(xd_dinode, di_anextents), 2);
  return big ? bc::load_be(dip + offsetof(xd_dinode, di_big_nextents), 8)
             : bc::load_be(dip + offsetof(xd_dinode, di_nextents), 4);
}

// The on-disk bmdr root of a fork of fork_size bytes as the in-memory bmbt
// root the log carries: a long btree block header, numrecs keys, numrecs
// pointers.
Bytes bmdr_to_bmbt_root(const std::byte* fork, size_t fork_size, uint64_t ino, const Superblock& sb) {
  const uint16_t level = static_cast<uint16_t>(bc::load_be(fork, 2));
  const uint16_t numrecs = static_cast<uint16_t>(bc::load_be(fork + 2, 2));
  const size_t dmax = (fork_size - sizeof(xd_bmdr_block)) / 16;
  const size_t n = std::min<size_t>(numrecs, dmax);
  Bytes root(kLongBlockHeader + n * 16);
  xd_btree_lblock h{};
  h.bb_magic = to_be32(kBmbtMagic);
  h.bb_level = to_be16(level);
  h.bb_numrecs = to_be16(static_cast<uint16_t>(n));
  h.bb_leftsib = h.bb_rightsib = h.bb_blkno = ~uint64_t{0};
  std::memcpy(h.bb_uuid.b, sb.meta_uuid.data(), 16);
  h.bb_owner = to_be64(ino);
  std::memcpy(root.data(), &h, sizeof h);
  std::memcpy(root.data() + kLongBlockHeader, fork + sizeof(xd_bmdr_block), n * 8);
  std::memcpy(root.data() + kLongBlockHeader + n * 8, fork + sizeof(xd_bmdr_block) + dmax * 8, n * 8);
  return root;
}

// A fork's logged region and its XD_ILOG_* bit (0: nothing to log).
struct ForkLog {
  uint32_t field = 0;
  uint16_t size = 0;  // bytes logged (ilf_dsize / ilf_asize)
  Bytes region;       // padded to 4 bytes
};

ForkLog fork_log(const std::byte* dip, bool attr, uint64_t ino, const Superblock& sb) {
  ForkLog f;
  const size_t literal = sb.inodesize - kInodeCoreSize;
  const size_t forkoff = size_t{static_cast<uint8_t>(dip[offsetof(xd_dinode, di_forkoff)])} * 8;
  if (attr && forkoff == 0) return f;
  const std::byte* fork = dip + kInodeCoreSize + (attr ? forkoff : 0);
  const size_t fork_size = attr ? literal - forkoff : forkoff ? forkoff : literal;
  const uint8_t format = static_cast<uint8_t>(dip[attr ? offsetof(xd_dinode, di_aformat) : offsetof(xd_dinode, di_format)]);
  size_t n = 0;
  switch (static_cast<ForkFormat>(format)) {
    case ForkFormat::kLocal:
      f.field = attr ? XD_ILOG_ADATA : XD_ILOG_DDATA;
      // Short-form attrs say their size in the header; local data forks in di_size.
      n = attr ? bc::load_be(fork, 2) : bc::load_be(dip + offsetof(xd_dinode, di_size), 8);
      break;
    case ForkFormat::kExtents:
      f.field = attr ? XD_ILOG_AEXT : XD_ILOG_DEXT;
      n = fork_extents(dip, attr) * 16;
      break;
    case ForkFormat::kBtree:
      f.field = attr ? XD_ILOG_ABROOT : XD_ILOG_DBROOT;
      f.region = bmdr_to_bmbt_root(fork, fork_size, ino, sb);
      f.size = static_cast<uint16_t>(f.region.size());
      return f;
    case ForkFormat::kDev:
      if (!attr) f.field = XD_ILOG_DEV;
      return f;
  }
  n = std::min(n, fork_size);
  if (n == 0) return ForkLog{};
  f.size = static_cast<uint16_t>(n);
  f.region.assign(fork, fork + n);
  f.region.resize((n + 3) & ~size_t{3});
  return f;
}

// An inode item for the on-disk inode ci.dinode: its core, and the forks
// ci.fields says changed.
int inode_item(const CommittedTrans::Ino& ci, const Superblock& sb, Items* it, std::string* why) {
  if (ci.dinode.size() != sb.inodesize)
    return corrupt(why, "logging inode " + std::to_string(ci.ino) + ": its cluster bytes are missing");
  const std::byte* dip = ci.dinode.data();
  xd_inode_log_format f{};
  f.ilf_type = XD_LI_INODE;
  f.ilf_fields = XD_ILOG_CORE;
  f.ilf_ino = ci.ino;
  f.ilf_blkno = static_cast<int64_t>(ci.cluster.daddr);
  f.ilf_len = static_cast<int32_t>(ci.cluster.len);
  f.ilf_boffset = static_cast<int32_t>(ci.offset);
  std::vector<Bytes> regions(2);
  regions[1].resize(XD_LOG_DINODE_SIZE);
  disk_to_log_dinode(dip, regions[1].data());
  if (ci.fields & kDirtyData) {
    ForkLog d = fork_log(dip, false, ci.ino, sb);
    f.ilf_fields |= d.field;
    if (d.field == XD_ILOG_DEV) {
      f.ilf_u.ilfu_rdev = static_cast<uint32_t>(bc::load_be(dip + kInodeCoreSize, 4));
    } else if (d.field) {
      f.ilf_dsize = d.size;
      regions.push_back(std::move(d.region));
    }
  }
  if (ci.fields & kDirtyAttr) {
    ForkLog a = fork_log(dip, true, ci.ino, sb);
    if (a.field) {
      f.ilf_fields |= a.field;
      f.ilf_asize = a.size;
      regions.push_back(std::move(a.region));
    }
  }
  f.ilf_size = static_cast<uint16_t>(regions.size());
  regions[0] = bytes_of(f);
  it->inodes.push_back(std::move(regions));
  return 0;
}

// An inode cluster buffer: never logged byte for byte, as the kernel never
// logs one.  A new chunk's clusters are ordered buffers with an inode-create
// item (CommittedTrans::Icreate).  The inodes whose bytes changed get inode
// items (the committed ones have theirs already: ct.inodes; others — an
// unlinked-list neighbour — from their on-disk bytes) and one inode buffer
// item carries the chunk holding each one's di_next_unlinked.
int cluster_buf(const CommittedTrans::Buf& b, const CommittedTrans& ct, const Superblock& sb, Items* it,
                std::string* why) {
  const size_t size = size_t{b.maps[0].len} << 9, isize = sb.inodesize;
  ChunkMap map(size / XD_BLF_CHUNK);
  for (size_t off = 0; off + isize <= size; off += isize) {
    bool changed = false;
    for (auto [from, to] : b.ranges) changed |= from < off + isize && to > off;
    if (!changed) continue;
    map.set(off + kNextUnlinkedOff, off + kNextUnlinkedOff + 4);
    const bool has_item = std::any_of(ct.inodes.begin(), ct.inodes.end(), [&](const CommittedTrans::Ino& ci) {
      return ci.cluster.daddr == b.maps[0].daddr && ci.offset == off;
    });
    if (has_item) continue;
    const std::span<const std::byte> dip = b.bytes(off, isize);
    if (dip.empty()) return not_kept(why, b);
    CommittedTrans::Ino ci;
    ci.ino = bc::load_be(dip.data() + offsetof(xd_dinode, di_ino), 8);
    ci.fields = kDirtyCore | kDirtyData | kDirtyAttr;
    ci.cluster = b.maps[0];
    ci.offset = off;
    ci.dinode.assign(dip.begin(), dip.end());
    if (int e = inode_item(ci, sb, it, why)) return e;
  }
  if (map.any() && !buf_item(b.maps[0].daddr, b.maps[0].len, XD_BLF_INODE_BUF | (XD_BLFT_DINO << XD_BLF_TYPE_SHIFT),
                             map, b, 0, &it->inode_bufs))
    return not_kept(why, b);
  return 0;
}

// An inode-create item: type and size host-endian, the rest big-endian.
void icreate_item(const CommittedTrans::Icreate& ic, const Superblock& sb, Items* it) {
  xd_icreate_log f{};
  f.icl_type = XD_LI_ICREATE;
  f.icl_size = 1;
  f.icl_ag = to_be32(ic.agno);
  f.icl_agbno = to_be32(ic.agbno);
  f.icl_count = to_be32(ic.count);
  f.icl_isize = to_be32(sb.inodesize);
  f.icl_length = to_be32(ic.length);
  f.icl_gen = to_be32(ic.gen);
  it->icreates.push_back({bytes_of(f)});
}

void cancel_items(const CommittedTrans::Buf& b, Items* it) {
  for (const bc::DiskRange& m : b.maps) {
    const ChunkMap none((size_t{m.len} << 9) / XD_BLF_CHUNK);
    buf_item(m.daddr, m.len, XD_BLF_CANCEL, none, b, 0, &it->cancels);  // no chunks: nothing to read
  }
}

}  // namespace

int format_trans(const CommittedTrans& ct, const Superblock& sb, uint32_t tid, uint64_t lsn, std::vector<LogOp>* ops,
                 FormatStats* stats, std::string* why) {
  Items it;
  for (const CommittedTrans::Icreate& ic : ct.icreates) icreate_item(ic, sb, &it);
  for (const CommittedTrans::Ino& ci : ct.inodes)
    if (int e = inode_item(ci, sb, &it, why)) return e;
  for (const CommittedTrans::Buf& b : ct.bufs) {
    if (b.stale) {
      cancel_items(b, &it);
    } else if (b.blft == XD_BLFT_DINO && b.maps.size() == 1) {
      if (int e = cluster_buf(b, ct, sb, &it, why)) return e;
    } else if (int e = plain_buf(b, sb, lsn, &it, why)) {
      return e;
    }
  }
  FormatStats st;
  st.buf_items = static_cast<uint32_t>(it.bufs.size() + it.inode_bufs.size());
  st.inode_buf_items = static_cast<uint32_t>(it.inode_bufs.size());
  st.inode_items = static_cast<uint32_t>(it.inodes.size());
  st.cancel_items = static_cast<uint32_t>(it.cancels.size());
  st.icreate_items = static_cast<uint32_t>(it.icreates.size());
  for (const auto* group : {&it.icreates, &it.bufs, &it.inodes, &it.inode_bufs, &it.cancels})
    for (const auto& item : *group) st.regions += static_cast<uint32_t>(item.size());

  ops->push_back({tid, XD_LOG_CLIENT_TRANSACTION, XD_LOG_OP_START, {}});
  struct {
    uint32_t magic, type, tid, num_items;
  } th{kLogTransMagic, kTransType, tid, st.regions};  // host-endian
  ops->push_back({tid, XD_LOG_CLIENT_TRANSACTION, 0, bytes_of(th)});
  for (auto* group : {&it.icreates, &it.bufs, &it.inodes, &it.inode_bufs, &it.cancels})
    for (auto& item : *group)
      for (Bytes& r : item) ops->push_back({tid, XD_LOG_CLIENT_TRANSACTION, 0, std::move(r)});
  ops->push_back({tid, XD_LOG_CLIENT_TRANSACTION, XD_LOG_OP_COMMIT, {}});
  if (stats) *stats = st;
  return 0;
}

}  // namespace xfsfuse::fs::xlog
