// buffer_cache/crc32c.h — XFS metadata checksums (CRC32C through ISA-L).
//
// XFS v5 checksums a metadata block with CRC32C (Castagnoli), seed ~0,
// computed over the block with its 4-byte CRC field zeroed, and stores the
// inverted result little-endian (docs/format.md "Checksums and
// self-describing headers"; checked against a mkfs.xfs 6.1 superblock).
// ISA-L's crc32_iscsi(buf, len, ~0) returns the value before that final
// inversion.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace xfsfuse::bc {

/// CRC32C of data as XFS stores it (before little-endian encoding), with the
/// 4 bytes at crc_off taken as zero.  REQUIRES: crc_off + 4 <= data.size().
uint32_t xfs_cksum(std::span<const std::byte> data, size_t crc_off);

/// True if the little-endian CRC stored at crc_off matches the data.
bool xfs_cksum_ok(std::span<const std::byte> data, size_t crc_off);

/// One raw CRC32C step over data (no seed, no final inversion): XFS starts
/// with ~0 and stores the inverted end value.  For checksums over several
/// pieces (log records: header, extended headers, data).
uint32_t crc32c_update(uint32_t crc, std::span<const std::byte> data);

/// Recomputes the CRC and stores it little-endian at crc_off.
void xfs_cksum_update(std::span<std::byte> data, size_t crc_off);

}  // namespace xfsfuse::bc
