// The verifiers of fs/buf_ops.h that need the superblock: AG headers (the AG
// comes from the daddr: each header sits at a fixed sector of its AG) and
// inode clusters (inode numbers come from the position in the cluster).
#include <cstddef>
#include <cstring>
#include <string>

#include "fs/buf_ops.h"
#include "fs/format/ag.h"
#include "fs/format/endian.h"
#include "fs/inode.h"

namespace xfsfuse::fs {

namespace {

bool fail(std::string* why, std::string s) {
  *why = std::move(s);
  return false;
}

// Header checks beyond the generic ones: version, seqno, length and counters.
class AgHeaderOps : public bc::HeaderBufOps {
 public:
  AgHeaderOps(bc::HeaderLayout layout, const Superblock* sb) : HeaderBufOps(std::move(layout)), sb_(sb) {}

 protected:
  const Superblock* sb_;
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
    const uint32_t agno = daddr_to_agno(*sb_, in.daddr), len = ag_length(*sb_, agno);
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
    const uint32_t agno = daddr_to_agno(*sb_, in.daddr), len = ag_length(*sb_, agno);
    if (be32(a.agi_versionnum) != 1) return fail(why, "version " + std::to_string(be32(a.agi_versionnum)));
    if (be32(a.agi_seqno) != agno) return fail(why, "seqno " + std::to_string(be32(a.agi_seqno)) + " in AG " + std::to_string(agno));
    if (be32(a.agi_length) != len) return fail(why, "length " + std::to_string(be32(a.agi_length)) + ", AG has " + std::to_string(len));
    if (be32(a.agi_freecount) > be32(a.agi_count) || be32(a.agi_count) > fsblocks_to_inodes(*sb_, len))
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
    const uint32_t agno = daddr_to_agno(*sb_, in.daddr);
    if (be32(a.agfl_seqno) != agno) return fail(why, "seqno " + std::to_string(be32(a.agfl_seqno)) + " in AG " + std::to_string(agno));
    return true;
  }
};

// Inode clusters: see fs/buf_ops.h for why reads are lenient and writes not.
class InodeClusterOps : public bc::BufOps {
 public:
  explicit InodeClusterOps(const Superblock* sb) : sb_(sb) {}
  const char* name() const override { return "inode cluster"; }

  bool verify_read(const bc::VerifyInput& in, std::string* why) const override {
    if (in.data.empty() || in.data.size() % sb_->inodesize != 0)
      return fail(why, "cluster of " + std::to_string(in.data.size()) + " bytes is not a whole number of " +
                           std::to_string(sb_->inodesize) + "-byte inodes");
    return true;
  }

  bool verify_write(std::span<std::byte> data, uint64_t daddr, const bc::Uuid* uuid, uint64_t /*lsn*/,
                    std::string* why) const override {
    if (!verify_read(bc::VerifyInput{data, daddr, uuid}, why)) return false;
    const uint32_t agno = daddr_to_agno(*sb_, daddr), first = daddr_to_agbno(*sb_, daddr);
    for (size_t off = 0; off < data.size(); off += sb_->inodesize) {
      const uint32_t agbno = first + static_cast<uint32_t>(off >> sb_->blocklog);
      const uint32_t index = static_cast<uint32_t>((off & (sb_->blocksize - 1)) >> sb_->inodelog);
      const uint64_t ino = agino_to_ino(*sb_, agno, agbno_to_agino(*sb_, agbno, index));
      std::string reason;
      if (check_dinode_header(std::span<const std::byte>(data).subspan(off, sb_->inodesize), ino, uuid, &reason))
        return fail(why, "inode " + std::to_string(ino) + ": " + reason);
    }
    return true;
  }

 private:
  const Superblock* sb_;
};

}  // namespace

BufOpsSet::BufOpsSet(const Superblock& sb)
    : sb_(sb),
      agf_(std::make_unique<AgfOps>(&sb_)),
      agi_(std::make_unique<AgiOps>(&sb_)),
      agfl_(std::make_unique<AgflOps>(&sb_)),
      inode_cluster_(std::make_unique<InodeClusterOps>(&sb_)) {}

BufOpsSet::~BufOpsSet() = default;

}  // namespace xfsfuse::fs
