// tests/fs/log_test_util.h — synthetic logs in memory for the log tests:
// a BlockDevice over a byte vector and a record writer that lays records
// out as docs/log.md "Records" describes (header blocks, cycle stamps,
// CRC), so the readers can be tried on every shape a crash can leave.
#pragma once

#include <sys/uio.h>

#include <bit>
#include <cerrno>
#include <cstring>
#include <vector>

#include "buffer_cache/block_device.h"
#include "buffer_cache/buf_ops.h"
#include "fs/format/endian.h"
#include "fs/log/record.h"
#include "fs/superblock.h"

namespace xfsfuse::fs::test {

/// The geometry of a small filesystem for replay tests: blocks fsblocks of
/// 4 KiB in one AG, 512-byte inodes (chunks aligned to 8 blocks, sparse
/// pieces of 4), 64 KiB directory blocks, uuid as both uuids.
inline Superblock small_test_sb(uint32_t blocks, const bc::Uuid& uuid) {
  Superblock sb;
  sb.blocksize = 4096;
  sb.blocklog = 12;
  sb.sectsize = 512;
  sb.sectlog = 9;
  sb.inodesize = 512;
  sb.inodelog = 9;
  sb.inopblock = 8;
  sb.inopblog = 3;
  sb.agcount = 1;
  sb.agblocks = blocks;
  sb.agblklog = static_cast<uint8_t>(std::bit_width(blocks - 1));
  sb.dblocks = blocks;
  sb.dirblklog = 4;
  sb.dirblksize = 65536;
  sb.inoalignmt = 8;
  sb.spino_align = 4;
  sb.uuid = sb.meta_uuid = uuid;
  return sb;
}

/// A device over a vector of bytes.
class MemDevice : public bc::BlockDevice {
 public:
  explicit MemDevice(size_t bytes) : bytes_(bytes) {}
  int preadv(const iovec* iov, int n, uint64_t off) override {
    for (int i = 0; i < n; i++) {
      if (off + iov[i].iov_len > bytes_.size()) return EIO;
      std::memcpy(iov[i].iov_base, bytes_.data() + off, iov[i].iov_len);
      off += iov[i].iov_len;
    }
    return 0;
  }
  int pwritev(const iovec* iov, int n, uint64_t off) override {
    for (int i = 0; i < n; i++) {
      if (off + iov[i].iov_len > bytes_.size()) return EIO;
      std::memcpy(bytes_.data() + off, iov[i].iov_base, iov[i].iov_len);
      off += iov[i].iov_len;
    }
    return 0;
  }
  int sync() override { return 0; }
  uint64_t size_bytes() const override { return bytes_.size(); }
  bool writable() const override { return true; }
  std::byte* at(size_t off) { return bytes_.data() + off; }

 private:
  std::vector<std::byte> bytes_;
};

/// Writes records into a log of `blocks` log blocks at offset 0 of a MemDevice.
class LogBuilder {
 public:
  LogBuilder(MemDevice& dev, uint32_t blocks, const bc::Uuid& uuid) : dev_(dev), blocks_(blocks), uuid_(uuid) {}

  /// Writes one record whose header is at log block `block` of pass `cycle`
  /// (blocks past the log's end wrap and carry cycle + 1): `data` (padded to
  /// whole blocks) stamped, header blocks for h_size `size`, CRC set.
  /// Returns the number of blocks written.
  uint32_t record(uint32_t block, uint32_t cycle, uint64_t tail_lsn, std::vector<std::byte> data, uint32_t num_logops,
                  uint32_t size = 32768) {
    xlog::RecordHeader h;
    h.version = 2;
    h.size = size;
    h.len = static_cast<uint32_t>((data.size() + 511) / 512 * 512);
    data.resize(h.len);
    const uint32_t hblocks = h.header_blocks(), total = h.blocks();
    std::vector<std::byte> rec(size_t{total} * 512);
    auto put32 = [&](size_t off, uint32_t v) { store_be(rec.data() + off, 4, v); };
    put32(0, xlog::kRecordMagic);
    put32(4, cycle);
    put32(8, 2);
    put32(12, h.len);
    store_be(rec.data() + 16, 8, xlog::make_lsn(cycle, block));
    store_be(rec.data() + 24, 8, tail_lsn);
    put32(36, prev_block_);
    put32(40, num_logops);
    put32(300, 1);
    std::memcpy(rec.data() + 304, uuid_.data(), 16);
    put32(320, size);
    for (uint32_t e = 1; e < hblocks; e++)  // stamped like data blocks: the next cycle past the wrap
      put32(size_t{e} * 512, block + e >= blocks_ ? cycle + 1 : cycle);
    for (uint32_t i = 0; i < h.data_blocks(); i++) {
      const uint32_t hb = i / 64, slot = i % 64;
      const size_t slot_off = size_t{hb} * 512 + (hb == 0 ? 44 : 4) + slot * 4;
      std::memcpy(rec.data() + slot_off, data.data() + size_t{i} * 512, 4);  // the word the stamp replaces
      std::memcpy(rec.data() + size_t{hblocks + i} * 512, data.data() + size_t{i} * 512, 512);
    }
    for (uint32_t i = 0; i < total; i++) {  // stamp every data block with the cycle it lands in
      if (i < hblocks) continue;
      const uint32_t b = block + i;
      put32(size_t{i} * 512, b >= blocks_ ? cycle + 1 : cycle);
    }
    h.cycle = cycle;
    const uint32_t crc = xlog::record_crc(h, rec);
    std::memcpy(rec.data() + 32, &crc, 4);
    for (uint32_t i = 0; i < total; i++) std::memcpy(dev_.at(size_t{(block + i) % blocks_} * 512), rec.data() + size_t{i} * 512, 512);
    prev_block_ = block;
    return total;
  }

  /// Data holding one op: a 12-byte op header (clientid, flags) and len payload bytes.
  static std::vector<std::byte> op(uint8_t clientid, uint8_t flags, uint32_t len, uint32_t tid = 0x1234) {
    std::vector<std::byte> d(12 + len, std::byte{0x5a});
    store_be(d.data(), 4, tid);
    store_be(d.data() + 4, 4, len);
    d[8] = std::byte{clientid};
    d[9] = std::byte{flags};
    d[10] = d[11] = std::byte{0};
    return d;
  }
  /// One op: its 12-byte header (transaction tid, clientid, flags) and payload.
  static std::vector<std::byte> op_with(uint32_t tid, uint8_t clientid, uint8_t flags, const std::vector<std::byte>& payload) {
    std::vector<std::byte> d = op(clientid, flags, 0, tid);
    store_be(d.data() + 4, 4, payload.size());
    d.insert(d.end(), payload.begin(), payload.end());
    return d;
  }
  /// An unmount record's data (as the kernel writes it: no payload).
  static std::vector<std::byte> unmount() { return op(XD_LOG_CLIENT_LOG, XD_LOG_OP_UNMOUNT, 0); }

  /// Sets the cycle stamp of log block b (its first word) as if an older pass left it.
  void stamp(uint32_t b, uint32_t cycle) { store_be(dev_.at(size_t{b} * 512), 4, cycle); }

 private:
  MemDevice& dev_;
  const uint32_t blocks_;
  const bc::Uuid uuid_;
  uint32_t prev_block_ = 0xffffffff;
};

}  // namespace xfsfuse::fs::test
