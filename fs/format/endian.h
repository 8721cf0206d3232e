// fs/format/endian.h — reading and writing the raw big-endian fields of the
// fs/format structs from C++ (the CRC fields are little-endian and belong to
// buffer_cache/crc32c.h), and store_be for fields reached by byte offset.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>

#include "fs/format/types.h"

namespace xfsfuse::fs {

static_assert(std::endian::native == std::endian::little, "xfsfuse assumes a little-endian host");

inline uint16_t be16(xd_be16 v) { return __builtin_bswap16(v); }
inline uint32_t be32(xd_be32 v) { return __builtin_bswap32(v); }
inline uint64_t be64(xd_be64 v) { return __builtin_bswap64(v); }
inline xd_be16 to_be16(uint16_t v) { return __builtin_bswap16(v); }
inline xd_be32 to_be32(uint32_t v) { return __builtin_bswap32(v); }
inline xd_be64 to_be64(uint64_t v) { return __builtin_bswap64(v); }

/// Stores the low n bytes of v (n = 1, 2, 4 or 8), big-endian, at p, which
/// need not be aligned: for fields known by offset and width rather than by
/// struct (btree headers of either form, keys, pointers).  Its reading
/// counterpart is bc::load_be (buffer_cache/buf_ops.h).
inline void store_be(std::byte* p, unsigned n, uint64_t v) {
  for (unsigned i = 0; i < n; i++) p[i] = static_cast<std::byte>(v >> (8 * (n - 1 - i)));
}

}  // namespace xfsfuse::fs
