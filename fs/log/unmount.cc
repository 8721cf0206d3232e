#include "fs/log/unmount.h"

#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "fs/corrupt.h"
#include "fs/format/endian.h"
#include "fs/log/reader.h"
#include "fs/log/record.h"

namespace xfsfuse::fs::xlog {

namespace {

constexpr uint32_t kClearWindow = 4096;      // log blocks a crash can leave written past the head (docs/log.md)
constexpr uint32_t kUnmountTid = 0x756d6e74; // any: clientid 0xaa ops belong to no transaction
constexpr uint32_t kRecordSize = 32768;      // h_size of the kernel's default record buffer
constexpr uint32_t kNoPrevBlock = 0xffffffff;  // h_prev_block of a log's first record (mkfs)

int fail(std::string* why, int err, std::string msg) {
  *why = std::move(msg);
  return err;
}

// Writes count log blocks from data at log block blk on, wrapping past the end.
int write_blocks(bc::BlockDevice& dev, uint64_t start, uint32_t n, uint32_t blk, uint32_t count,
                 const std::byte* data) {
  const uint32_t first = std::min(count, n - blk);
  iovec iov{const_cast<std::byte*>(data), size_t{first} * kBlock};
  if (int err = dev.pwritev(&iov, 1, start + uint64_t{blk} * kBlock)) return err;
  if (first == count) return 0;
  iovec rest{const_cast<std::byte*>(data) + size_t{first} * kBlock, size_t{count - first} * kBlock};
  return dev.pwritev(&rest, 1, start);
}

// Log blocks from the head on that may be overwritten: up to the tail of a
// dirty log, up to the last record of a clean one (its tail is the head),
// the whole log when it is empty.  The stop is in the head's pass, before the
// head, or in the previous pass at or after it.
int room_ahead(const LogEnds& e, uint32_t n, uint32_t* out, std::string* why) {
  if (e.empty) {
    *out = n;
    return 0;
  }
  const uint64_t stop = e.clean ? e.last_lsn : e.tail_lsn;
  const uint32_t sc = lsn_cycle(stop), sb = lsn_block(stop);
  if (sb < n && sc == e.head_cycle && sb <= e.head_block) {
    *out = sb == e.head_block ? n : n - e.head_block + sb;
  } else if (sb < n && sc == prev_cycle(e.head_cycle) && sb >= e.head_block) {
    *out = sb - e.head_block;
  } else {
    return fail(why, EINVAL, std::string(e.clean ? "last record" : "tail") + " LSN " + hex(stop) +
                                 " is not within one pass behind the head LSN " + hex(e.head_lsn()));
  }
  return 0;
}

// Step 1: count blocks from the head become empty record headers.
int clear_ahead(bc::BlockDevice& dev, uint64_t start, uint32_t n, const bc::Uuid& uuid, const LogEnds& e,
                uint32_t count) {
  std::vector<std::byte> buf(size_t{count} * kBlock);
  for (uint32_t i = 0; i < count; i++) {
    const uint64_t at = uint64_t{e.head_block} + i;
    RecordHeader h;
    h.cycle = at < n ? prev_cycle(e.head_cycle) : e.head_cycle;
    h.version = 2;
    h.lsn = make_lsn(h.cycle, static_cast<uint32_t>(at % n));
    h.tail_lsn = e.tail_lsn;
    encode_record(h, uuid, n, std::span(buf).subspan(size_t{i} * kBlock, kBlock));
  }
  if (int err = write_blocks(dev, start, n, e.head_block, count, buf.data())) return err;
  return dev.sync();
}

// Step 2: the unmount record at the head.
int write_record(bc::BlockDevice& dev, uint64_t start, uint32_t n, const bc::Uuid& uuid, const LogEnds& e) {
  RecordHeader h;
  h.cycle = e.head_cycle;
  h.version = 2;
  h.len = kBlock;
  h.lsn = e.head_lsn();
  h.tail_lsn = h.lsn;  // nothing before it is needed any more
  h.prev_block = e.empty ? kNoPrevBlock : lsn_block(e.last_lsn);
  h.num_logops = 1;
  h.size = kRecordSize;
  std::vector<std::byte> rec(size_t{h.blocks()} * kBlock);
  std::byte* op = rec.data() + kBlock;
  store_be(op + offsetof(xd_log_op_header, oh_tid), 4, kUnmountTid);
  store_be(op + offsetof(xd_log_op_header, oh_len), 4, sizeof(xd_log_unmount));
  op[offsetof(xd_log_op_header, oh_clientid)] = std::byte{XD_LOG_CLIENT_LOG};
  op[offsetof(xd_log_op_header, oh_flags)] = std::byte{XD_LOG_OP_UNMOUNT};
  const xd_log_unmount payload{XD_LOG_UNMOUNT_MAGIC, 0, 0};  // host-endian
  std::memcpy(op + sizeof(xd_log_op_header), &payload, sizeof payload);
  encode_record(h, uuid, n, rec);
  if (int err = write_blocks(dev, start, n, e.head_block, h.blocks(), rec.data())) return err;
  return dev.sync();
}

}  // namespace

int write_unmount_record(bc::BlockDevice& dev, uint64_t log_start_bytes, uint32_t log_blocks, const bc::Uuid& uuid,
                         const LogEnds& before, LogEnds* after, std::string* why) {
  const uint32_t n = log_blocks;
  constexpr uint32_t kRecordBlocks = 2;
  if (!dev.writable()) return fail(why, EROFS, "the device is read-only");
  if (n < 64 || log_start_bytes + uint64_t{n} * kBlock > dev.size_bytes())
    return fail(why, EINVAL, "a log of " + std::to_string(n) + " log blocks does not fit the device");
  if (before.head_block >= n || before.head_cycle == 0 || before.head_cycle == kRecordMagic)
    return fail(why, EINVAL, "head LSN " + hex(before.head_lsn()) + " does not fit the log");
  uint32_t room = 0;
  if (int err = room_ahead(before, n, &room, why)) return err;
  if (room < kRecordBlocks)
    return fail(why, ENOSPC, "the log is full: the tail is " + std::to_string(room) + " log blocks ahead of the head");
  if (int err = clear_ahead(dev, log_start_bytes, n, uuid, before, std::min(kClearWindow, room)))
    return fail(why, err, "clearing the log past its head failed");
  if (int err = write_record(dev, log_start_bytes, n, uuid, before))
    return fail(why, err, "writing the unmount record failed");

  if (int err = find_log_ends(LogReader(dev, log_start_bytes, n), uuid, after, why)) return err;
  const uint64_t end = uint64_t{before.head_block} + kRecordBlocks;
  const uint64_t want = end < n ? make_lsn(before.head_cycle, static_cast<uint32_t>(end))
                                : make_lsn(next_cycle(before.head_cycle), static_cast<uint32_t>(end - n));
  if (!after->clean || after->head_lsn() != want || after->last_lsn != before.head_lsn())
    return fail(why, EIO, "after writing the unmount record at LSN " + hex(before.head_lsn()) + " the log reads " +
                              (after->clean ? "clean" : "dirty") + " with head LSN " + hex(after->head_lsn()) +
                              ", not clean with head LSN " + hex(want));
  return 0;
}

}  // namespace xfsfuse::fs::xlog
