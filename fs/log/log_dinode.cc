#include "fs/log/log_dinode.h"

#include <cstdint>
#include <cstring>

#include "fs/format/endian.h"
#include "fs/format/inode.h"
#include "fs/inode.h"

namespace xfsfuse::fs::xlog {

namespace {

struct Field {
  size_t off, size;
};

// The integer fields of the v3 core other than the timestamps,
// di_next_unlinked, di_crc and di_lsn, at the offsets both forms share.
constexpr Field kFields[] = {
    {offsetof(xd_dinode, di_magic), 2},       {offsetof(xd_dinode, di_mode), 2},
    {offsetof(xd_dinode, di_version), 1},     {offsetof(xd_dinode, di_format), 1},
    {offsetof(xd_dinode, di_uid), 4},         {offsetof(xd_dinode, di_gid), 4},
    {offsetof(xd_dinode, di_nlink), 4},       {offsetof(xd_dinode, di_projid_lo), 2},
    {offsetof(xd_dinode, di_projid_hi), 2},   {offsetof(xd_dinode, di_big_nextents), 8},
    {offsetof(xd_dinode, di_size), 8},        {offsetof(xd_dinode, di_nblocks), 8},
    {offsetof(xd_dinode, di_extsize), 4},     {offsetof(xd_dinode, di_nextents), 4},
    {offsetof(xd_dinode, di_anextents), 2},   {offsetof(xd_dinode, di_forkoff), 1},
    {offsetof(xd_dinode, di_aformat), 1},     {offsetof(xd_dinode, di_dmevmask), 4},
    {offsetof(xd_dinode, di_dmstate), 2},     {offsetof(xd_dinode, di_flags), 2},
    {offsetof(xd_dinode, di_gen), 4},         {offsetof(xd_dinode, di_changecount), 8},
    {offsetof(xd_dinode, di_flags2), 8},      {offsetof(xd_dinode, di_cowextsize), 4},
    {offsetof(xd_dinode, di_ino), 8},
};

constexpr size_t kTimes[] = {offsetof(xd_dinode, di_atime), offsetof(xd_dinode, di_mtime),
                             offsetof(xd_dinode, di_ctime), offsetof(xd_dinode, di_crtime)};

uint64_t host(const std::byte* p, size_t n) {
  uint64_t v = 0;
  std::memcpy(&v, p, n);  // little-endian host: the low bytes
  return v;
}

void copy_opaque(const std::byte* in, std::byte* out) {
  std::memcpy(out + offsetof(xd_dinode, di_pad2), in + offsetof(xd_dinode, di_pad2), sizeof(xd_dinode::di_pad2));
  std::memcpy(out + offsetof(xd_dinode, di_uuid), in + offsetof(xd_dinode, di_uuid), sizeof(xd_dinode::di_uuid));
}

}  // namespace

void log_dinode_to_disk(const std::byte* in, std::byte* out) {
  for (const Field& f : kFields) store_be(out + f.off, static_cast<unsigned>(f.size), host(in + f.off, f.size));
  store_be(out + offsetof(xd_dinode, di_onlink), 2, 0);  // unused on v3 inodes
  copy_opaque(in, out);
  // Timestamps: one u64 with bigtime, else {s32 seconds, s32 nanoseconds}.
  const bool bigtime = host(in + offsetof(xd_dinode, di_flags2), 8) & kDiflag2Bigtime;
  for (size_t off : kTimes) {
    if (bigtime) {
      store_be(out + off, 8, host(in + off, 8));
    } else {
      store_be(out + off, 4, host(in + off, 4));
      store_be(out + off + 4, 4, host(in + off + 4, 4));
    }
  }
}

void disk_to_log_dinode(const std::byte* in, std::byte* out) {
  std::memset(out, 0, kInodeCoreSize);
  auto put = [&](size_t off, size_t n, uint64_t v) { std::memcpy(out + off, &v, n); };
  for (const Field& f : kFields) put(f.off, f.size, bc::load_be(in + f.off, static_cast<unsigned>(f.size)));
  copy_opaque(in, out);
  put(offsetof(xd_dinode, di_next_unlinked), 4, 0xffffffffu);
  put(offsetof(xd_dinode, di_lsn), 8, bc::load_be(in + offsetof(xd_dinode, di_lsn), 8));
  const bool bigtime = bc::load_be(in + offsetof(xd_dinode, di_flags2), 8) & kDiflag2Bigtime;
  for (size_t off : kTimes) {
    if (bigtime) {
      put(off, 8, bc::load_be(in + off, 8));
    } else {
      put(off, 4, bc::load_be(in + off, 4));
      put(off + 4, 4, bc::load_be(in + off + 4, 4));
    }
  }
}

}  // namespace xfsfuse::fs::xlog
