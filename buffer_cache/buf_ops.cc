#include "buffer_cache/buf_ops.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "buffer_cache/crc32c.h"

namespace xfsfuse::bc {

uint64_t load_be(const std::byte* p, unsigned n) {
  uint64_t v = 0;
  for (unsigned i = 0; i < n; i++) v = v << 8 | std::to_integer<uint64_t>(p[i]);
  return v;
}

namespace {

bool fits(int off, size_t len, size_t size) { return off < 0 || static_cast<size_t>(off) + len <= size; }

std::string hex(uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "0x%" PRIx64, v);
  return b;
}

}  // namespace

std::span<const std::byte> HeaderBufOps::crc_span(std::span<const std::byte> data) const {
  return l_.crc_len ? data.first(std::min(l_.crc_len, data.size())) : data;
}

bool HeaderBufOps::check_fields(std::span<const std::byte> data, uint64_t daddr, const Uuid* uuid,
                                std::string* why) const {
  const size_t n = data.size();
  if (!fits(l_.magic_off, l_.magic_size, n) || !fits(l_.crc_off, 4, n) || !fits(l_.blkno_off, 8, n) ||
      !fits(l_.uuid_off, 16, n) || !fits(l_.owner_off, l_.owner_size, n) || !fits(l_.lsn_off, 8, n) ||
      l_.crc_len > n) {
    *why = "buffer of " + std::to_string(n) + " bytes is too short for its header";
    return false;
  }
  uint64_t magic = load_be(data.data() + l_.magic_off, l_.magic_size);
  if (std::find(l_.magics.begin(), l_.magics.end(), magic) == l_.magics.end()) {
    *why = "bad magic " + hex(magic);
    return false;
  }
  if (l_.blkno_off >= 0) {
    uint64_t blkno = load_be(data.data() + l_.blkno_off, 8);
    if (blkno != daddr) {
      *why = "blkno " + hex(blkno) + " is not the block's daddr " + hex(daddr);
      return false;
    }
  }
  if (l_.uuid_off >= 0 && uuid && std::memcmp(data.data() + l_.uuid_off, uuid->data(), 16) != 0) {
    *why = "uuid does not match the filesystem's";
    return false;
  }
  return true;
}

bool HeaderBufOps::verify_read(const VerifyInput& in, std::string* why) const {
  if (!check_fields(in.data, in.daddr, in.uuid, why)) return false;
  // The CRC last, as the kernel does: a bad magic says more than a bad CRC.
  if (l_.crc_off >= 0 && !xfs_cksum_ok(crc_span(in.data), static_cast<size_t>(l_.crc_off))) {
    *why = "CRC mismatch";
    return false;
  }
  return true;
}

bool HeaderBufOps::verify_write(std::span<std::byte> data, uint64_t daddr, const Uuid* uuid, uint64_t lsn,
                                std::string* why) const {
  if (!check_fields(data, daddr, uuid, why)) return false;
  if (lsn != 0 && l_.lsn_off >= 0) {
    for (int i = 0; i < 8; i++) data[l_.lsn_off + i] = static_cast<std::byte>(lsn >> (56 - 8 * i));
  }
  if (l_.crc_off >= 0) {
    auto s = l_.crc_len ? data.first(std::min(l_.crc_len, data.size())) : data;
    xfs_cksum_update(s, static_cast<size_t>(l_.crc_off));
  }
  return true;
}

bool HeaderBufOps::owner_ok(std::span<const std::byte> data, uint64_t owner) const {
  if (l_.owner_off < 0 || !fits(l_.owner_off, l_.owner_size, data.size())) return true;
  return load_be(data.data() + l_.owner_off, l_.owner_size) == owner;
}

}  // namespace xfsfuse::bc
