#include "fs/ag.h"

#include <cerrno>
#include <cstddef>
#include <cstring>

#include "fs/format/ag.h"
#include "fs/format/endian.h"

namespace xfsfuse::fs {

namespace {

// Header checks beyond the generic ones: version, seqno, length and counters.
// The AG number comes from the daddr (each header sits at a fixed sector).
class AgHeaderOps : public bc::HeaderBufOps {
 public:
  AgHeaderOps(bc::HeaderLayout layout, const Superblock* sb) : HeaderBufOps(std::move(layout)), sb_(sb) {}

 protected:
  static bool fail(std::string* why, std::string s) {
    *why = std::move(s);
    return false;
  }
  const Superblock* sb_;
  uint32_t agno_of(uint64_t daddr) const { return daddr_to_agno(*sb_, daddr); }
};

class AgfOps : public AgHeaderOps {
 public:
  explicit AgfOps(const Superblock* sb)
      : AgHeaderOps({.name = "AGF", .magic_off = 0, .magic_size = 4, .magics = {kAgfMagic},
                     .crc_off = offsetof(xd_agf, agf_crc), .crc_len = 0,
                     .uuid_off = offsetof(xd_agf, agf_uuid), .lsn_off = offsetof(xd_agf, agf_lsn)},
                    sb) {}
  bool verify_read(const bc::VerifyInput& in, std::string* why) const override {
    if (!HeaderBufOps::verify_read(in, why)) return false;
    xd_agf a;
    std::memcpy(&a, in.data.data(), sizeof a);
    const uint32_t agno = agno_of(in.daddr), len = ag_length(*sb_, agno);
    if (be32(a.agf_versionnum) != 1) return fail(why, "version " + std::to_string(be32(a.agf_versionnum)));
    if (be32(a.agf_seqno) != agno) return fail(why, "seqno " + std::to_string(be32(a.agf_seqno)) + " in AG " + std::to_string(agno));
    if (be32(a.agf_length) != len) return fail(why, "length " + std::to_string(be32(a.agf_length)) + ", AG has " + std::to_string(len));
    if (be32(a.agf_freeblks) > len || be32(a.agf_longest) > be32(a.agf_freeblks) || be32(a.agf_btreeblks) > len)
      return fail(why, "free space counters exceed the AG");
    return true;
  }

};

class AgiOps : public AgHeaderOps {
 public:
  explicit AgiOps(const Superblock* sb)
      : AgHeaderOps({.name = "AGI", .magic_off = 0, .magic_size = 4, .magics = {kAgiMagic},
                     .crc_off = offsetof(xd_agi, agi_crc), .crc_len = 0,
                     .uuid_off = offsetof(xd_agi, agi_uuid), .lsn_off = offsetof(xd_agi, agi_lsn)},
                    sb) {}
  bool verify_read(const bc::VerifyInput& in, std::string* why) const override {
    if (!HeaderBufOps::verify_read(in, why)) return false;
    xd_agi a;
    std::memcpy(&a, in.data.data(), sizeof a);
    const uint32_t agno = agno_of(in.daddr), len = ag_length(*sb_, agno);
    if (be32(a.agi_versionnum) != 1) return fail(why, "version " + std::to_string(be32(a.agi_versionnum)));
    if (be32(a.agi_seqno) != agno) return fail(why, "seqno " + std::to_string(be32(a.agi_seqno)) + " in AG " + std::to_string(agno));
    if (be32(a.agi_length) != len) return fail(why, "length " + std::to_string(be32(a.agi_length)) + ", AG has " + std::to_string(len));
    if (be32(a.agi_freecount) > be32(a.agi_count) || uint64_t{be32(a.agi_count)} > uint64_t{len} * sb_->inopblock)
      return fail(why, "inode counters exceed the AG");
    return true;
  }

};

class AgflOps : public AgHeaderOps {
 public:
  explicit AgflOps(const Superblock* sb)
      : AgHeaderOps({.name = "AGFL", .magic_off = 0, .magic_size = 4, .magics = {kAgflMagic},
                     .crc_off = offsetof(xd_agfl, agfl_crc), .crc_len = 0,
                     .uuid_off = offsetof(xd_agfl, agfl_uuid), .lsn_off = offsetof(xd_agfl, agfl_lsn)},
                    sb) {}
  bool verify_read(const bc::VerifyInput& in, std::string* why) const override {
    if (!HeaderBufOps::verify_read(in, why)) return false;
    xd_agfl a;
    std::memcpy(&a, in.data.data(), sizeof a);
    const uint32_t agno = agno_of(in.daddr);
    if (be32(a.agfl_seqno) != agno) return fail(why, "seqno " + std::to_string(be32(a.agfl_seqno)) + " in AG " + std::to_string(agno));
    return true;
  }
};

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

AgHeaders::AgHeaders(const Superblock& sb)
    : sb_(sb),
      agf_ops_(std::make_unique<AgfOps>(&sb_)),
      agi_ops_(std::make_unique<AgiOps>(&sb_)),
      agfl_ops_(std::make_unique<AgflOps>(&sb_)) {}

AgHeaders::~AgHeaders() = default;

int AgHeaders::read_agf(bc::BufferCache& cache, uint32_t agno, AgfInfo* out) const {
  bc::BufHandle h;
  if (int err = read_header(cache, sb_, agno, 1, *agf_ops_, &h)) return err;
  decode_agf({h.data(), h.size()}, out);
  return 0;
}

int AgHeaders::read_agi(bc::BufferCache& cache, uint32_t agno, AgiInfo* out) const {
  bc::BufHandle h;
  if (int err = read_header(cache, sb_, agno, 2, *agi_ops_, &h)) return err;
  decode_agi({h.data(), h.size()}, out);
  return 0;
}

}  // namespace xfsfuse::fs
