#include "fs/log/record.h"

#include <algorithm>
#include <cstring>

#include "buffer_cache/crc32c.h"
#include "fs/corrupt.h"
#include "fs/format/endian.h"

namespace xfsfuse::fs::xlog {

namespace {

uint32_t word_be(const std::byte* p) { return static_cast<uint32_t>(bc::load_be(p, 4)); }

constexpr uint32_t kFmtLinuxLE = 1;

}  // namespace

uint32_t RecordHeader::header_blocks() const {
  if (version < 2 || size <= XD_LOG_CYCLE_BYTES) return 1;
  return (size + XD_LOG_CYCLE_BYTES - 1) / XD_LOG_CYCLE_BYTES;
}

bool is_record_header(const std::byte* blk) { return word_be(blk) == kRecordMagic; }

uint32_t block_cycle(const std::byte* blk) {
  return is_record_header(blk) ? word_be(blk + offsetof(xd_log_rec_header, h_cycle)) : word_be(blk);
}

int decode_record_header(std::span<const std::byte> hdr, uint32_t block, uint32_t log_blocks, const bc::Uuid& uuid,
                         RecordHeader* out, std::string* why) {
  const std::byte* p = hdr.data();
  auto at = [&](size_t off, unsigned n) { return bc::load_be(p + off, n); };
  const std::string where = "log record at log block " + std::to_string(block);
  if (hdr.size() < kBlock || !is_record_header(p)) return corrupt(why, where + ": no record magic");
  RecordHeader h;
  h.cycle = static_cast<uint32_t>(at(offsetof(xd_log_rec_header, h_cycle), 4));
  h.version = static_cast<uint32_t>(at(offsetof(xd_log_rec_header, h_version), 4));
  h.len = static_cast<uint32_t>(at(offsetof(xd_log_rec_header, h_len), 4));
  h.lsn = at(offsetof(xd_log_rec_header, h_lsn), 8);
  h.tail_lsn = at(offsetof(xd_log_rec_header, h_tail_lsn), 8);
  std::memcpy(&h.crc, p + offsetof(xd_log_rec_header, h_crc), 4);  // little-endian on disk, as is the host
  h.prev_block = static_cast<uint32_t>(at(offsetof(xd_log_rec_header, h_prev_block), 4));
  h.num_logops = static_cast<uint32_t>(at(offsetof(xd_log_rec_header, h_num_logops), 4));
  h.size = static_cast<uint32_t>(at(offsetof(xd_log_rec_header, h_size), 4));
  const uint32_t fmt = static_cast<uint32_t>(at(offsetof(xd_log_rec_header, h_fmt), 4));
  if (h.version != 1 && h.version != 2) return corrupt(why, where + ": version " + std::to_string(h.version));
  if (lsn_block(h.lsn) != block || lsn_cycle(h.lsn) != h.cycle)
    return corrupt(why, where + ": h_lsn " + hex(h.lsn) + " does not name this block and cycle " +
                            std::to_string(h.cycle));
  if (h.size > (1u << 30)) return corrupt(why, where + ": h_size " + std::to_string(h.size));
  if (h.len > std::max<uint32_t>(h.size, XD_LOG_CYCLE_BYTES) || h.data_blocks() > h.header_blocks() * XD_LOG_CYCLE_SLOTS)
    return corrupt(why, where + ": h_len " + std::to_string(h.len) + " exceeds h_size " + std::to_string(h.size));
  if (h.blocks() >= log_blocks)
    return corrupt(why, where + ": " + std::to_string(h.blocks()) + " blocks do not fit a log of " +
                            std::to_string(log_blocks));
  if (fmt != kFmtLinuxLE) return corrupt(why, where + ": h_fmt " + std::to_string(fmt) + " is not Linux little-endian");
  if (std::memcmp(p + offsetof(xd_log_rec_header, h_fs_uuid), uuid.data(), uuid.size()) != 0)
    return corrupt(why, where + ": h_fs_uuid is not the filesystem's");
  *out = h;
  return 0;
}

uint32_t record_crc(const RecordHeader& h, std::span<const std::byte> rec) {
  static const std::byte zero[4] = {};
  constexpr size_t crc_off = offsetof(xd_log_rec_header, h_crc);
  uint32_t crc = bc::crc32c_update(~0u, rec.first(crc_off));
  crc = bc::crc32c_update(crc, zero);
  crc = bc::crc32c_update(crc, rec.subspan(crc_off + 4, kHeaderBytes - crc_off - 4));
  for (uint32_t i = 1; i < h.header_blocks(); i++) crc = bc::crc32c_update(crc, rec.subspan(i * kBlock, kExtHeaderBytes));
  crc = bc::crc32c_update(crc, rec.subspan(size_t{h.header_blocks()} * kBlock, h.len));
  return ~crc;
}

void encode_record(const RecordHeader& h, const bc::Uuid& uuid, uint32_t log_blocks, std::span<std::byte> rec) {
  std::byte* p = rec.data();
  std::memset(p, 0, size_t{h.header_blocks()} * kBlock);
  auto put = [&](size_t off, unsigned n, uint64_t v) { store_be(p + off, n, v); };
  put(offsetof(xd_log_rec_header, h_magicno), 4, kRecordMagic);
  put(offsetof(xd_log_rec_header, h_cycle), 4, h.cycle);
  put(offsetof(xd_log_rec_header, h_version), 4, h.version);
  put(offsetof(xd_log_rec_header, h_len), 4, h.len);
  put(offsetof(xd_log_rec_header, h_lsn), 8, h.lsn);
  put(offsetof(xd_log_rec_header, h_tail_lsn), 8, h.tail_lsn);
  put(offsetof(xd_log_rec_header, h_prev_block), 4, h.prev_block);
  put(offsetof(xd_log_rec_header, h_num_logops), 4, h.num_logops);
  put(offsetof(xd_log_rec_header, h_fmt), 4, kFmtLinuxLE);
  std::memcpy(p + offsetof(xd_log_rec_header, h_fs_uuid), uuid.data(), uuid.size());
  put(offsetof(xd_log_rec_header, h_size), 4, h.size);
  const uint32_t at = lsn_block(h.lsn);
  // Any block of the record past the end of the log carries the next cycle.
  auto cycle_of = [&](uint32_t i) { return uint64_t{at} + i >= log_blocks ? next_cycle(h.cycle) : h.cycle; };
  for (uint32_t i = 1; i < h.header_blocks(); i++)
    put(size_t{i} * kBlock + offsetof(xd_log_rec_ext_header, xh_cycle), 4, cycle_of(i));
  std::byte* data = p + size_t{h.header_blocks()} * kBlock;
  for (uint32_t i = 0; i < h.data_blocks(); i++) {
    // The slot layout is unstamp_record's.
    const uint32_t hb = i / XD_LOG_CYCLE_SLOTS, slot = i % XD_LOG_CYCLE_SLOTS;
    const size_t off =
        hb == 0 ? offsetof(xd_log_rec_header, h_cycle_data) : offsetof(xd_log_rec_ext_header, xh_cycle_data);
    std::memcpy(p + size_t{hb} * kBlock + off + slot * 4, data + size_t{i} * kBlock, 4);
    store_be(data + size_t{i} * kBlock, 4, cycle_of(h.header_blocks() + i));
  }
  const uint32_t crc = record_crc(h, rec);
  std::memcpy(p + offsetof(xd_log_rec_header, h_crc), &crc, 4);  // little-endian on disk, as is the host
}

void unstamp_record(const RecordHeader& h, std::span<std::byte> rec) {
  std::byte* data = rec.data() + size_t{h.header_blocks()} * kBlock;
  for (uint32_t i = 0; i < h.data_blocks(); i++) {
    // Slot i of the cycle data: header block i / 64 (the first one's slots
    // start at h_cycle_data, an extended header's after its xh_cycle).
    const uint32_t hb = i / XD_LOG_CYCLE_SLOTS, slot = i % XD_LOG_CYCLE_SLOTS;
    const size_t off = hb == 0 ? offsetof(xd_log_rec_header, h_cycle_data) : offsetof(xd_log_rec_ext_header, xh_cycle_data);
    std::memcpy(data + size_t{i} * kBlock, rec.data() + size_t{hb} * kBlock + off + slot * 4, 4);
  }
}

}  // namespace xfsfuse::fs::xlog
