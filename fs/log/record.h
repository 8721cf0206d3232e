// fs/log/record.h — log records: decoding and encoding a record header, the
// cycle number every log block carries, a record's CRC, and the cycle stamps.
// Format: docs/log.md "Records"; structs in fs/format/log.h.
// Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "buffer_cache/buf_ops.h"
#include "fs/format/log.h"

namespace xfsfuse::fs::xlog {

inline constexpr uint32_t kBlock = XD_LOG_BLOCK;  ///< bytes in a log block
inline constexpr uint32_t kRecordMagic = 0xfeedbabe;
inline constexpr size_t kHeaderBytes = sizeof(xd_log_rec_header);         ///< 328, checksummed
inline constexpr size_t kExtHeaderBytes = sizeof(xd_log_rec_ext_header);  ///< 260, checksummed

/// LSN: the record's cycle and the log block of its header.
inline uint64_t make_lsn(uint32_t cycle, uint32_t block) { return uint64_t{cycle} << 32 | block; }
inline uint32_t lsn_cycle(uint64_t lsn) { return static_cast<uint32_t>(lsn >> 32); }
inline uint32_t lsn_block(uint64_t lsn) { return static_cast<uint32_t>(lsn); }

/// The cycle after c: c + 1, skipping the record magic (a data block stamped
/// with it would read as a header) and 0 (never-written blocks).
inline uint32_t next_cycle(uint32_t c) {
  do c++;
  while (c == kRecordMagic || c == 0);
  return c;
}
/// The cycle before c (>= 1): c − 1, skipping the record magic; 0 before the first pass.
inline uint32_t prev_cycle(uint32_t c) {
  c--;
  return c == kRecordMagic ? c - 1 : c;
}

/// A decoded record header (first header block).
struct RecordHeader {
  uint32_t cycle = 0;
  uint32_t version = 0;
  uint32_t len = 0;          ///< data bytes after the header blocks
  uint64_t lsn = 0;
  uint64_t tail_lsn = 0;
  uint32_t crc = 0;          ///< as stored (h_crc read little-endian)
  uint32_t prev_block = 0;
  uint32_t num_logops = 0;
  uint32_t size = 0;         ///< h_size: the writer's record buffer size, bytes

  /// Header blocks: one per 32 KiB of h_size (v2), at least one.
  uint32_t header_blocks() const;
  /// Data blocks: h_len rounded up to whole log blocks.
  uint32_t data_blocks() const { return (len + kBlock - 1) / kBlock; }
  /// Header and data blocks.
  uint32_t blocks() const { return header_blocks() + data_blocks(); }
};

/// The cycle a log block was written in: a record header's h_cycle, else the
/// stamp in its first word (0: never written).  REQUIRES: blk holds 512 bytes.
uint32_t block_cycle(const std::byte* blk);

/// True if blk (512 bytes) starts with the record magic.
bool is_record_header(const std::byte* blk);

/// Decodes the header block hdr (512 bytes) found at log block `block` of a
/// log of log_blocks blocks, and checks it: magic, version 1 or 2, h_lsn's
/// block = `block`, 0 <= h_len <= max(h_size, 32 KiB) and the record shorter
/// than the log, h_fmt 1, h_fs_uuid = uuid.  Returns 0, or EUCLEAN with *why.
int decode_record_header(std::span<const std::byte> hdr, uint32_t block, uint32_t log_blocks, const bc::Uuid& uuid,
                         RecordHeader* out, std::string* why);

/// CRC32C of a record as written: rec = its header blocks then its data
/// blocks, as on disk (stamped); h_crc counts as zero.  REQUIRES:
/// rec.size() >= h.blocks() * 512.
uint32_t record_crc(const RecordHeader& h, std::span<const std::byte> rec);

/// Lays out a record for writing, the inverse of decode_record_header and
/// unstamp_record: rec holds h.blocks() * 512 bytes, its data blocks (after
/// the header blocks) the data as produced.  Fills the header blocks from h
/// (h.crc ignored; h_fmt 1, h_fs_uuid uuid, cycle slots and extended headers),
/// moves the first word of every data block into its cycle slot and stamps it
/// with the cycle it lands in: h.cycle, or next_cycle(h.cycle) for blocks past
/// the end of a log of log_blocks log blocks (the record's header is at
/// lsn_block(h.lsn)); last, h_crc over the result (record_crc).
/// REQUIRES: rec.size() == h.blocks() * 512, h.len a multiple of 512.
void encode_record(const RecordHeader& h, const bc::Uuid& uuid, uint32_t log_blocks, std::span<std::byte> rec);

/// Puts back the first word of every data block from the header blocks'
/// cycle slots (rec as record_crc takes it), so the data reads as the
/// writer produced it.  REQUIRES: rec.size() >= h.blocks() * 512.
void unstamp_record(const RecordHeader& h, std::span<std::byte> rec);

}  // namespace xfsfuse::fs::xlog
