// check_superblocks: every secondary superblock against the primary (which
// Mount::open already decoded and judged), and the internal log's claim.
//
// Secondaries are written by mkfs (and growfs) and never kept up to date
// with counters, rbmino/rsumino, quota inodes, versionnum bits the kernel
// adds later (ATTR), sb_inprogress (1 in every secondary mkfs writes), or
// sb_rootino (null in the secondary of the AG holding the log on every mkfs
// 6.1 image here, 128 in the others; xfs_repair -n calls them clean): only
// the geometry and features must agree (xfs_db `sb N` / `p`).
#include <cerrno>
#include <cstring>

#include "fs/buf_ops.h"
#include "fs/corrupt.h"
#include "fs/format/endian.h"
#include "fs/format/sb.h"
#include "fs/superblock.h"
#include "tools/fsck/context.h"

namespace xfsfuse::fsck {

namespace {

// The fields a secondary must share with the primary, as (name, primary, secondary).
void compare(Context& cx, uint32_t agno, uint64_t daddr, const fs::Superblock& p, const fs::Superblock& s) {
  auto field = [&](const char* name, uint64_t want, uint64_t got) {
    if (want != got)
      cx.rep.report("secondary superblock", agno, kNoIno, daddr,
                    std::string(name) + " " + std::to_string(got) + " but the primary has " + std::to_string(want));
  };
  field("sb_blocksize", p.blocksize, s.blocksize);
  field("sb_dblocks", p.dblocks, s.dblocks);
  field("sb_agblocks", p.agblocks, s.agblocks);
  field("sb_agcount", p.agcount, s.agcount);
  field("sb_sectsize", p.sectsize, s.sectsize);
  field("sb_inodesize", p.inodesize, s.inodesize);
  field("sb_inopblock", p.inopblock, s.inopblock);
  field("sb_dirblklog", p.dirblklog, s.dirblklog);
  field("sb_logstart", p.logstart, s.logstart);
  field("sb_logblocks", p.logblocks, s.logblocks);
  field("sb_inoalignmt", p.inoalignmt, s.inoalignmt);
  field("sb_spino_align", p.spino_align, s.spino_align);
  field("sb_imax_pct", p.imax_pct, s.imax_pct);
  field("sb_features_incompat", p.features_incompat, s.features_incompat);
  field("sb_features_ro_compat", p.features_ro_compat, s.features_ro_compat);
  // A secondary's uuid is not judged by xfs_repair -n (a copy with another
  // uuid is "clean" to it): a warning, not a problem.
  if (std::memcmp(p.uuid.data(), s.uuid.data(), p.uuid.size()) != 0)
    cx.rep.warn(Problem{"secondary superblock", agno, kNoIno, daddr, "sb_uuid differs from the primary's"});
  if (std::memcmp(p.meta_uuid.data(), s.meta_uuid.data(), p.meta_uuid.size()) != 0)
    cx.rep.warn(Problem{"secondary superblock", agno, kNoIno, daddr, "sb_meta_uuid differs from the primary's"});
}

// The primary's sb_features2 and sb_bad_features2 must be equal (an old
// layout bug left the field at two offsets; mkfs and the kernel write both,
// and xfs_repair -n reports "superblock has a features2 mismatch").
void check_primary(Context& cx) {
  const bc::DiskRange map{0, static_cast<uint32_t>(fs::ag_header_sector(cx.sb, 1))};
  bc::BufHandle h;
  if (cx.m.cache().get({&map, 1}, &fs::superblock_ops(), bc::kAnyOwner, bc::kGetShared, &h) != 0) return;  // Mount read it
  xd_dsb d;
  std::memcpy(&d, h.data(), sizeof d);
  const uint32_t f2 = fs::be32(d.sb_features2), bad = fs::be32(d.sb_bad_features2);
  if (f2 != bad)
    cx.rep.report("superblock", kNoAg, kNoIno, 0,
                  "sb_features2 " + fs::hex(f2) + " but sb_bad_features2 " + fs::hex(bad) + " (they must match)");
}

}  // namespace

void check_superblocks(Context& cx) {
  const fs::Superblock& sb = cx.sb;
  check_primary(cx);
  for (uint32_t agno = 1; agno < sb.agcount; agno++) {
    const uint64_t daddr = fs::ag_header_daddr(sb, agno, 0);
    const bc::DiskRange map{daddr, static_cast<uint32_t>(fs::ag_header_sector(sb, 1))};
    bc::BufHandle h;
    const int e = cx.m.cache().get({&map, 1}, &fs::superblock_ops(), bc::kAnyOwner, bc::kGetShared, &h);
    if (e != 0) {
      cx.rep.report("secondary superblock", agno, kNoIno, daddr,
                    e == EUCLEAN ? "bad magic or CRC" : std::string("cannot read: ") + std::strerror(e));
      continue;
    }
    fs::Superblock s;
    std::string why;
    if (fs::decode_superblock({h.data(), h.size()}, &s, &why) != 0) {
      cx.rep.report("secondary superblock", agno, kNoIno, daddr, why);
      continue;
    }
    compare(cx, agno, daddr, sb, s);
    if (cx.progress) cx.progress("superblocks", double(agno) / sb.agcount);
  }
  if (sb.logstart != 0) {
    cx.space.claim(fs::fsblock_to_agno(sb, sb.logstart), fs::fsblock_to_agbno(sb, sb.logstart), sb.logblocks,
                   Owner::kLog, 0);
  }
}

}  // namespace xfsfuse::fsck
