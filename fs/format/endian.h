// fs/format/endian.h — reading and writing the raw big-endian fields of the
// fs/format structs from C++ (the CRC fields are little-endian and belong to
// buffer_cache/crc32c.h).
#pragma once

#include <bit>
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

}  // namespace xfsfuse::fs
