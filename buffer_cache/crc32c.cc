#include "buffer_cache/crc32c.h"

#include <isa-l/crc.h>

#include <cstring>

namespace xfsfuse::bc {

namespace {

uint32_t crc_raw(const std::byte* p, size_t len, uint32_t crc) {
  auto* u = reinterpret_cast<unsigned char*>(const_cast<std::byte*>(p));  // ISA-L takes non-const, reads only
  while (len > 0) {
    int n = len > (1u << 30) ? (1 << 30) : static_cast<int>(len);
    crc = crc32_iscsi(u, n, crc);
    u += n;
    len -= static_cast<size_t>(n);
  }
  return crc;
}

uint32_t load_le32(const std::byte* p) {
  uint8_t b[4];
  std::memcpy(b, p, 4);
  return uint32_t{b[0]} | uint32_t{b[1]} << 8 | uint32_t{b[2]} << 16 | uint32_t{b[3]} << 24;
}

}  // namespace

uint32_t xfs_cksum(std::span<const std::byte> data, size_t crc_off) {
  static const std::byte zero[4] = {};
  uint32_t crc = crc_raw(data.data(), crc_off, ~0u);
  crc = crc_raw(zero, 4, crc);
  crc = crc_raw(data.data() + crc_off + 4, data.size() - crc_off - 4, crc);
  return ~crc;
}

uint32_t crc32c_update(uint32_t crc, std::span<const std::byte> data) { return crc_raw(data.data(), data.size(), crc); }

bool xfs_cksum_ok(std::span<const std::byte> data, size_t crc_off) {
  return load_le32(data.data() + crc_off) == xfs_cksum(data, crc_off);
}

void xfs_cksum_update(std::span<std::byte> data, size_t crc_off) {
  uint32_t c = xfs_cksum(data, crc_off);
  const uint8_t b[4] = {uint8_t(c), uint8_t(c >> 8), uint8_t(c >> 16), uint8_t(c >> 24)};
  std::memcpy(data.data() + crc_off, b, 4);
}

}  // namespace xfsfuse::bc
