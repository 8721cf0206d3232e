#include "fs/inode.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>

#include "buffer_cache/crc32c.h"
#include "fs/corrupt.h"
#include "fs/format/endian.h"
#include "fs/format/inode.h"

namespace xfsfuse::fs {

namespace {

constexpr uint64_t kBigtimeEpochOffset = uint64_t{1} << 31;  // seconds from 1901-12-13 to 1970-01-01

}  // namespace

bool locate_inode(const Superblock& sb, uint64_t ino, InodeLocation* out) {
  if (!ino_in_fs(sb, ino)) return false;
  const uint32_t agino = ino_to_agino(sb, ino);
  out->agno = ino_to_agno(sb, ino);
  out->agbno = agino_to_agbno(sb, agino);
  out->index = agino_to_index(sb, agino);
  out->daddr = ino_to_daddr(sb, ino);
  out->offset = ino_to_offset(sb, ino);
  return true;
}

Timestamp decode_timestamp(uint64_t raw_be, bool bigtime) {
  const uint64_t v = be64(raw_be);
  Timestamp t;
  if (bigtime) {
    t.sec = static_cast<int64_t>(v / 1000000000u) - static_cast<int64_t>(kBigtimeEpochOffset);
    t.nsec = static_cast<uint32_t>(v % 1000000000u);
  } else {
    t.sec = static_cast<int32_t>(static_cast<uint32_t>(v >> 32));
    t.nsec = static_cast<uint32_t>(v);
  }
  return t;
}

uint64_t encode_timestamp(const Timestamp& t, bool bigtime) {
  if (bigtime) {
    const int64_t min = -static_cast<int64_t>(kBigtimeEpochOffset);
    const int64_t max = static_cast<int64_t>(UINT64_MAX / 1000000000u) - static_cast<int64_t>(kBigtimeEpochOffset) - 1;
    const int64_t sec = std::clamp(t.sec, min, max);
    return to_be64(static_cast<uint64_t>(sec + static_cast<int64_t>(kBigtimeEpochOffset)) * 1000000000u + t.nsec);
  }
  const int64_t sec = std::clamp<int64_t>(t.sec, INT32_MIN, INT32_MAX);
  return to_be64(uint64_t{static_cast<uint32_t>(static_cast<int32_t>(sec))} << 32 | t.nsec);
}

void encode_inode_core(const Inode& n, std::span<std::byte> raw) {
  xd_dinode d;
  std::memcpy(&d, raw.data(), sizeof d);
  d.di_mode = to_be16(n.mode);
  d.di_format = static_cast<uint8_t>(n.format);
  d.di_onlink = 0;
  d.di_uid = to_be32(n.uid);
  d.di_gid = to_be32(n.gid);
  d.di_nlink = to_be32(n.nlink);
  d.di_projid_lo = to_be16(static_cast<uint16_t>(n.projid));
  d.di_projid_hi = to_be16(static_cast<uint16_t>(n.projid >> 16));
  d.di_size = to_be64(n.size);
  d.di_nblocks = to_be64(n.nblocks);
  d.di_extsize = to_be32(n.extsize);
  if (n.flags2 & kDiflag2Nrext64) {
    d.di_big_nextents = to_be64(n.nextents);
    d.di_nextents = to_be32(n.anextents);
    d.di_anextents = 0;
  } else {
    d.di_big_nextents = 0;
    d.di_nextents = to_be32(static_cast<uint32_t>(n.nextents));
    d.di_anextents = to_be16(static_cast<uint16_t>(n.anextents));
  }
  d.di_forkoff = n.forkoff;
  d.di_aformat = n.aformat;
  d.di_flags = to_be16(n.flags);
  d.di_flags2 = to_be64(n.flags2);
  d.di_gen = to_be32(n.gen);
  d.di_next_unlinked = to_be32(n.next_unlinked);
  d.di_changecount = to_be64(n.changecount);
  const bool bigtime = n.flags2 & kDiflag2Bigtime;
  d.di_atime = encode_timestamp(n.atime, bigtime);
  d.di_mtime = encode_timestamp(n.mtime, bigtime);
  d.di_ctime = encode_timestamp(n.ctime, bigtime);
  d.di_crtime = encode_timestamp(n.crtime, bigtime);
  std::memcpy(raw.data(), &d, sizeof d);
  inode_update_crc(raw);
}

void inode_update_crc(std::span<std::byte> raw) { bc::xfs_cksum_update(raw, offsetof(xd_dinode, di_crc)); }

void decode_inode_core(const Superblock& sb, uint64_t ino, std::span<const std::byte> raw, Inode* out) {
  xd_dinode d;
  std::memcpy(&d, raw.data(), sizeof d);
  *out = Inode{};
  out->ino = ino;
  out->mode = be16(d.di_mode);
  out->uid = be32(d.di_uid);
  out->gid = be32(d.di_gid);
  out->nlink = be32(d.di_nlink);
  out->projid = uint32_t{be16(d.di_projid_hi)} << 16 | be16(d.di_projid_lo);
  out->size = be64(d.di_size);
  out->nblocks = be64(d.di_nblocks);
  out->extsize = be32(d.di_extsize);
  out->flags = be16(d.di_flags);
  out->flags2 = be64(d.di_flags2);
  out->gen = be32(d.di_gen);
  out->next_unlinked = be32(d.di_next_unlinked);
  out->changecount = be64(d.di_changecount);
  out->forkoff = d.di_forkoff;
  out->aformat = d.di_aformat;
  if (out->flags2 & kDiflag2Nrext64) {
    out->nextents = be64(d.di_big_nextents);
    out->anextents = be32(d.di_nextents);  // di_big_anextents shares di_nextents' bytes
  } else {
    out->nextents = be32(d.di_nextents);
    out->anextents = be16(d.di_anextents);
  }
  const bool bigtime = out->flags2 & kDiflag2Bigtime;
  out->atime = decode_timestamp(d.di_atime, bigtime);
  out->mtime = decode_timestamp(d.di_mtime, bigtime);
  out->ctime = decode_timestamp(d.di_ctime, bigtime);
  out->crtime = decode_timestamp(d.di_crtime, bigtime);
  out->literal_size = sb.inodesize - static_cast<uint32_t>(kInodeCoreSize);
  out->format = static_cast<ForkFormat>(d.di_format);
}

int check_dinode_header(std::span<const std::byte> raw, uint64_t ino, const bc::Uuid* uuid, std::string* why) {
  if (raw.size() < sizeof(xd_dinode)) return corrupt(why, "inode of " + std::to_string(raw.size()) + " bytes");
  xd_dinode d;
  std::memcpy(&d, raw.data(), sizeof d);
  if (be16(d.di_magic) != kInodeMagic) return corrupt(why, "bad magic");
  if (d.di_version != 3) return corrupt(why, "inode version " + std::to_string(d.di_version) + " (v3 expected)");
  if (!bc::xfs_cksum_ok(raw, offsetof(xd_dinode, di_crc))) return corrupt(why, "CRC mismatch");
  if (be64(d.di_ino) != ino) return corrupt(why, "di_ino " + std::to_string(be64(d.di_ino)) + " is not its number");
  if (uuid != nullptr && std::memcmp(d.di_uuid.b, uuid->data(), 16) != 0)
    return corrupt(why, "uuid does not match the filesystem's");
  return 0;
}

int decode_inode(const Superblock& sb, uint64_t ino, std::span<const std::byte> raw, Inode* out, std::string* why) {
  if (raw.size() != sb.inodesize) return corrupt(why, "inode buffer of " + std::to_string(raw.size()) + " bytes");
  if (int err = check_dinode_header(raw, ino, &sb.meta_uuid, why)) return err;
  xd_dinode d;
  std::memcpy(&d, raw.data(), sizeof d);

  Inode n;
  decode_inode_core(sb, ino, raw, &n);

  if (n.mode == 0) {
    *why = "mode 0: a free inode";
    return ENOENT;
  }
  if (d.di_format > static_cast<uint8_t>(ForkFormat::kBtree))
    return corrupt(why, "unknown data fork format " + std::to_string(d.di_format));
  const bool is_dev = S_ISCHR(n.mode) || S_ISBLK(n.mode) || S_ISFIFO(n.mode) || S_ISSOCK(n.mode);
  if (is_dev != (n.format == ForkFormat::kDev)) {
    char mode[16];
    std::snprintf(mode, sizeof mode, "0%o", n.mode);
    return corrupt(why, "data fork format " + std::to_string(d.di_format) + " does not suit mode " + mode);
  }
  if (n.format == ForkFormat::kLocal && !S_ISDIR(n.mode) && !S_ISLNK(n.mode))
    return corrupt(why, "local data fork on a file that is neither a directory nor a symlink");
  if (uint32_t{n.forkoff} * 8 >= n.literal_size) return corrupt(why, "attr fork offset past the literal area");
  if (n.forkoff == 0 && n.anextents != 0) return corrupt(why, "attr extents without an attr fork");
  *out = n;
  return 0;
}

}  // namespace xfsfuse::fs
