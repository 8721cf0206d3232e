// fs/log/replay_inode.cc — replaying inode items (the logged core is
// host-endian, the forks raw on-disk bytes; an in-memory bmbt root becomes
// the on-disk bmdr root) and inode-chunk creations.  Facts: docs/log.md
// "Inode items" and "Inode-chunk creation".
#include <sys/stat.h>

#include <algorithm>
#include <cstddef>
#include <cstring>

#include "fs/format/btree.h"
#include "fs/format/endian.h"
#include "fs/format/geometry.h"
#include "fs/format/inode.h"
#include "fs/format/log.h"
#include "fs/format/magic.h"
#include "fs/inode.h"
#include "fs/log/log_dinode.h"
#include "fs/log/replay_internal.h"

namespace xfsfuse::fs::xlog {

namespace {

constexpr uint32_t kNullAgino = 0xffffffffu;
constexpr size_t kLongBlockHeader = sizeof(xd_btree_lblock);  // 72: the in-memory bmbt root's header

template <typename T>
T host(const std::byte* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// The in-memory bmbt root (a long-form block header, keys, then pointers
// after room for exactly (len - 72) / 16 keys) to the on-disk bmdr root of a
// fork of fork_size bytes.  Returns false when it does not fit.
bool bmbt_root_to_bmdr(std::span<const std::byte> root, std::byte* fork, size_t fork_size) {
  if (root.size() < kLongBlockHeader || fork_size < sizeof(xd_bmdr_block)) return false;
  const uint16_t level = static_cast<uint16_t>(bc::load_be(root.data() + offsetof(xd_btree_lblock, bb_level), 2));
  const uint16_t numrecs = static_cast<uint16_t>(bc::load_be(root.data() + offsetof(xd_btree_lblock, bb_numrecs), 2));
  const size_t rmax = (root.size() - kLongBlockHeader) / 16, dmax = (fork_size - sizeof(xd_bmdr_block)) / 16;
  if (level == 0 || numrecs > rmax || numrecs > dmax) return false;
  store_be(fork, 2, level);
  store_be(fork + 2, 2, numrecs);
  const std::byte* keys = root.data() + kLongBlockHeader;
  std::memcpy(fork + sizeof(xd_bmdr_block), keys, size_t{numrecs} * 8);
  std::memcpy(fork + sizeof(xd_bmdr_block) + dmax * 8, keys + rmax * 8, size_t{numrecs} * 8);
  return true;
}

}  // namespace

int Replayer::replay_inode(const LogItem& it, uint64_t lsn) {
  const auto& r0 = it.regions.at(0);
  xd_inode_log_format f{};
  if (r0.size() == sizeof f) {
    std::memcpy(&f, r0.data(), sizeof f);
  } else if (r0.size() == XD_INODE_LOG_FORMAT_32) {  // the same without ilf_pad
    std::memcpy(&f, r0.data(), 12);
    std::memcpy(&f.ilf_ino, r0.data() + 12, 40);
  } else {
    return corrupt("inode item format of " + std::to_string(r0.size()) + " bytes");
  }
  const std::string what = "inode " + std::to_string(f.ilf_ino);
  if (it.regions.size() < 2) return corrupt(what + ": inode item without its core");
  if (f.ilf_fields & (XD_ILOG_DOWNER | XD_ILOG_AOWNER)) {
    why_ = what + ": the log asks for a bmbt owner change (an extent swap), which this driver cannot replay";
    return EOPNOTSUPP;
  }
  if (cancelled(f.ilf_blkno, static_cast<uint32_t>(f.ilf_len), false)) {
    st_.inodes_cancelled++;
    return 0;
  }
  // An inode cluster buffer is at most a chunk: 64 inodes.
  const uint64_t fs_sectors = uint64_t{sb_.dblocks} << (sb_.blocklog - 9);
  if (f.ilf_len <= 0 || f.ilf_blkno < 0 || f.ilf_boffset < 0 || uint64_t(f.ilf_len) > (64u * sb_.inodesize) >> 9 ||
      uint64_t(f.ilf_blkno) + uint64_t(f.ilf_len) > fs_sectors)
    return corrupt(what + ": inode item for " + std::to_string(f.ilf_len) + " sectors at daddr " +
                   std::to_string(f.ilf_blkno) + ", not an inode cluster of the filesystem");
  std::vector<std::byte> buf;
  if (int e = read(uint64_t(f.ilf_blkno), static_cast<uint32_t>(f.ilf_len), &buf)) return e;
  if (size_t(f.ilf_boffset) + sb_.inodesize > buf.size())
    return corrupt(what + ": inode item offset " + std::to_string(f.ilf_boffset) + " outside its cluster");
  std::byte* dip = buf.data() + f.ilf_boffset;
  const std::span<std::byte> raw{dip, sb_.inodesize};
  const auto& core = it.regions[1];
  if (bc::load_be(dip, 2) != kInodeMagic)
    return corrupt(what + ": no inode magic on disk at daddr " + std::to_string(f.ilf_blkno) + " offset " +
                   std::to_string(f.ilf_boffset));
  if (core.size() < XD_LOG_DINODE_SIZE || host<uint16_t>(core.data()) != kInodeMagic ||
      static_cast<uint8_t>(core[offsetof(xd_dinode, di_version)]) != 3)
    return corrupt(what + ": the logged inode core is not a v3 inode core");
  const uint64_t disk_lsn = bc::load_be(dip + offsetof(xd_dinode, di_lsn), 8);
  if (dip[offsetof(xd_dinode, di_version)] == std::byte{3} && disk_lsn != 0 && disk_lsn != ~uint64_t{0} &&
      disk_lsn > lsn) {
    st_.inodes_newer++;
    return 0;
  }

  // The kernel's sanity checks of the logged core before it is replayed.
  const uint16_t mode = host<uint16_t>(core.data() + offsetof(xd_dinode, di_mode));
  const uint8_t format = static_cast<uint8_t>(core[offsetof(xd_dinode, di_format)]);
  const uint8_t forkoff = static_cast<uint8_t>(core[offsetof(xd_dinode, di_forkoff)]);
  const uint64_t nblocks = host<uint64_t>(core.data() + offsetof(xd_dinode, di_nblocks));
  const uint64_t nextents = host<uint32_t>(core.data() + offsetof(xd_dinode, di_nextents));
  const uint64_t anextents = host<uint16_t>(core.data() + offsetof(xd_dinode, di_anextents));
  const size_t literal = sb_.inodesize - kInodeCoreSize;
  if (S_ISREG(mode) && format != uint8_t(ForkFormat::kExtents) && format != uint8_t(ForkFormat::kBtree))
    return corrupt(what + ": logged regular file with data fork format " + std::to_string(format));
  if (S_ISDIR(mode) && format != uint8_t(ForkFormat::kExtents) && format != uint8_t(ForkFormat::kBtree) &&
      format != uint8_t(ForkFormat::kLocal))
    return corrupt(what + ": logged directory with data fork format " + std::to_string(format));
  if (!(host<uint64_t>(core.data() + offsetof(xd_dinode, di_flags2)) & kDiflag2Nrext64) &&
      nextents + anextents > nblocks)
    return corrupt(what + ": logged extent counts " + std::to_string(nextents) + "+" + std::to_string(anextents) +
                   " exceed its " + std::to_string(nblocks) + " blocks");
  if (size_t{forkoff} * 8 > literal) return corrupt(what + ": logged fork offset " + std::to_string(forkoff));

  const uint32_t next_unlinked = static_cast<uint32_t>(bc::load_be(dip + offsetof(xd_dinode, di_next_unlinked), 4));
  log_dinode_to_disk(core.data(), dip);
  store_be(dip + offsetof(xd_dinode, di_next_unlinked), 4, next_unlinked);  // travels in inode buffer items
  store_be(dip + offsetof(xd_dinode, di_lsn), 8, lsn);

  const size_t dsize = forkoff ? size_t{forkoff} * 8 : literal, asize = literal - (forkoff ? dsize : literal);
  std::byte* dfork = dip + kInodeCoreSize;
  if (f.ilf_fields & XD_ILOG_DFORK) {
    if (it.regions.size() < 3 || f.ilf_dsize > it.regions[2].size() || f.ilf_dsize > dsize)
      return corrupt(what + ": logged data fork of " + std::to_string(f.ilf_dsize) + " bytes does not fit");
    const auto& reg = it.regions[2];
    if (f.ilf_fields & XD_ILOG_DBROOT) {
      if (!bmbt_root_to_bmdr({reg.data(), f.ilf_dsize}, dfork, dsize))
        return corrupt(what + ": logged data fork btree root does not fit the fork");
    } else {
      std::memcpy(dfork, reg.data(), f.ilf_dsize);
    }
  }
  if (f.ilf_fields & XD_ILOG_AFORK) {
    const size_t ai = (f.ilf_fields & XD_ILOG_DFORK) ? 3 : 2;
    if (forkoff == 0 || it.regions.size() <= ai || f.ilf_asize > it.regions[ai].size() || f.ilf_asize > asize)
      return corrupt(what + ": logged attr fork of " + std::to_string(f.ilf_asize) + " bytes does not fit");
    const auto& reg = it.regions[ai];
    std::byte* afork = dfork + dsize;
    if (f.ilf_fields & XD_ILOG_ABROOT) {
      if (!bmbt_root_to_bmdr({reg.data(), f.ilf_asize}, afork, asize))
        return corrupt(what + ": logged attr fork btree root does not fit the fork");
    } else {
      std::memcpy(afork, reg.data(), f.ilf_asize);
    }
  }
  if (f.ilf_fields & XD_ILOG_DEV) store_be(dfork, 4, f.ilf_u.ilfu_rdev);
  inode_update_crc(raw);

  Inode check;
  std::string w;
  const int e = decode_inode(sb_, f.ilf_ino, raw, &check, &w);
  if (e != 0 && e != ENOENT) return corrupt(what + ": the replayed inode fails its checks: " + w);
  st_.inodes++;
  return write(uint64_t(f.ilf_blkno), buf);
}

int Replayer::replay_icreate(const LogItem& it) {
  const auto& r0 = it.regions.at(0);
  if (r0.size() < sizeof(xd_icreate_log)) return corrupt("inode create item of " + std::to_string(r0.size()) + " bytes");
  xd_icreate_log ic;
  std::memcpy(&ic, r0.data(), sizeof ic);
  const uint32_t agno = be32(ic.icl_ag), agbno = be32(ic.icl_agbno), count = be32(ic.icl_count);
  const uint32_t isize = be32(ic.icl_isize), length = be32(ic.icl_length), gen = be32(ic.icl_gen);
  const std::string what = "inode create item for AG " + std::to_string(agno) + " agbno " + std::to_string(agbno);
  const uint32_t chunk = std::max<uint32_t>(1, 64u >> sb_.inopblog);
  const uint32_t cb = inode_cluster_blocks(sb_);
  if (agno >= sb_.agcount || agbno == 0 || agbno >= sb_.agblocks || length > sb_.agblocks - agbno)
    return corrupt(what + ": outside the AG");
  if (isize != sb_.inodesize || (length != chunk && (sb_.spino_align == 0 || length != sb_.spino_align)) ||
      count != (length << sb_.inopblog) || length % cb != 0)
    return corrupt(what + ": " + std::to_string(count) + " inodes of " + std::to_string(isize) + " bytes in " +
                   std::to_string(length) + " blocks");
  const uint32_t sectors = static_cast<uint32_t>(fsblocks_to_sectors(sb_, cb));
  // Any of its clusters freed later in the log: the whole creation is skipped.
  for (uint32_t b = 0; b < length; b += cb)
    if (cancelled(static_cast<int64_t>(agbno_to_daddr(sb_, agno, agbno + b)), sectors, false)) {
      st_.icreates_cancelled++;
      return 0;
    }
  std::vector<std::byte> buf(size_t{sectors} << 9);
  for (uint32_t b = 0; b < length; b += cb) {
    std::fill(buf.begin(), buf.end(), std::byte{0});
    for (size_t off = 0; off < buf.size(); off += isize) {
      xd_dinode d{};
      d.di_magic = to_be16(kInodeMagic);
      d.di_version = 3;
      d.di_gen = to_be32(gen);
      d.di_next_unlinked = to_be32(kNullAgino);
      const uint32_t agino = agbno_to_agino(sb_, agbno + b + static_cast<uint32_t>(off >> sb_.blocklog),
                                            static_cast<uint32_t>((off & (sb_.blocksize - 1)) >> sb_.inodelog));
      d.di_ino = to_be64(agino_to_ino(sb_, agno, agino));
      std::memcpy(d.di_uuid.b, sb_.meta_uuid.data(), 16);
      std::memcpy(buf.data() + off, &d, sizeof d);
      inode_update_crc({buf.data() + off, isize});
    }
    if (int e = write(agbno_to_daddr(sb_, agno, agbno + b), buf)) return e;
  }
  st_.icreates++;
  return 0;
}

}  // namespace xfsfuse::fs::xlog
