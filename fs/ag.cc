#include "fs/ag.h"

#include <cerrno>
#include <cstddef>
#include <cstring>

#include "fs/format/ag.h"
#include "fs/format/endian.h"

namespace xfsfuse::fs {

namespace {

// Sector n of AG agno, read through the cache.
int read_header(bc::BufferCache& cache, const Superblock& sb, uint32_t agno, uint32_t sector, const bc::BufOps& ops,
                bc::BufHandle* h) {
  if (agno >= sb.agcount) return EINVAL;
  const bc::DiskRange map{ag_header_daddr(sb, agno, sector), static_cast<uint32_t>(ag_header_sector(sb, 1))};
  return cache.get({&map, 1}, &ops, bc::kAnyOwner, bc::kGetShared, h);
}

}  // namespace

void decode_agf(std::span<const std::byte> sector, AgfInfo* out) {
  xd_agf a;
  std::memcpy(&a, sector.data(), sizeof a);
  out->length = be32(a.agf_length);
  out->freeblks = be32(a.agf_freeblks);
  out->longest = be32(a.agf_longest);
  out->flcount = be32(a.agf_flcount);
  out->btreeblks = be32(a.agf_btreeblks);
  out->rmap_blocks = be32(a.agf_rmap_blocks);
  out->refcount_blocks = be32(a.agf_refcount_blocks);
  out->versionnum = be32(a.agf_versionnum);
  out->seqno = be32(a.agf_seqno);
  for (int i = 0; i < 3; i++) {
    out->roots[i] = be32(a.agf_roots[i]);
    out->levels[i] = be32(a.agf_levels[i]);
  }
  out->flfirst = be32(a.agf_flfirst);
  out->fllast = be32(a.agf_fllast);
  out->refcount_root = be32(a.agf_refcount_root);
  out->refcount_level = be32(a.agf_refcount_level);
}

void decode_agi(std::span<const std::byte> sector, AgiInfo* out) {
  xd_agi a;
  std::memcpy(&a, sector.data(), sizeof a);
  out->length = be32(a.agi_length);
  out->count = be32(a.agi_count);
  out->freecount = be32(a.agi_freecount);
  out->iblocks = be32(a.agi_iblocks);
  out->fblocks = be32(a.agi_fblocks);
  out->versionnum = be32(a.agi_versionnum);
  out->seqno = be32(a.agi_seqno);
  out->root = be32(a.agi_root);
  out->level = be32(a.agi_level);
  out->free_root = be32(a.agi_free_root);
  out->free_level = be32(a.agi_free_level);
  out->newino = be32(a.agi_newino);
  out->dirino = be32(a.agi_dirino);
  for (size_t i = 0; i < out->unlinked.size(); i++) out->unlinked[i] = be32(a.agi_unlinked[i]);
}

int AgHeaders::read_agf(bc::BufferCache& cache, uint32_t agno, AgfInfo* out) const {
  bc::BufHandle h;
  if (int err = read_header(cache, ops_.sb(), agno, 1, ops_.agf(), &h)) return err;
  decode_agf({h.data(), h.size()}, out);
  return 0;
}

int AgHeaders::read_agi(bc::BufferCache& cache, uint32_t agno, AgiInfo* out) const {
  bc::BufHandle h;
  if (int err = read_header(cache, ops_.sb(), agno, 2, ops_.agi(), &h)) return err;
  decode_agi({h.data(), h.size()}, out);
  return 0;
}

}  // namespace xfsfuse::fs
