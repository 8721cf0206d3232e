#include "fs/log/writer.h"

#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "fs/format/endian.h"
#include "fs/log/record.h"

namespace xfsfuse::fs::xlog {

namespace {

constexpr size_t kOpHeader = sizeof(xd_log_op_header);
constexpr size_t kMinFirstPart = 16;  // an op is never cut before this many payload bytes

int fail(std::string* why, int err, std::string msg) {
  *why = std::move(msg);
  return err;
}

// One record being filled: its data bytes (whole log blocks at the end).
struct Record {
  std::vector<std::byte> data;
  uint32_t ops = 0;
};

// Log blocks from the head on that may be written before reaching the tail
// (the whole log when the tail is the head itself).
int room(const LogPlace& at, uint32_t* out, std::string* why) {
  const uint32_t n = at.log_blocks, tc = lsn_cycle(at.tail_lsn), tb = lsn_block(at.tail_lsn);
  if (at.tail_lsn == 0 || (tc == at.head_cycle && tb == at.head_block)) {
    *out = n;
  } else if (tb < n && tc == at.head_cycle && tb < at.head_block) {
    *out = n - at.head_block + tb;
  } else if (tb < n && tc == prev_cycle(at.head_cycle) && tb > at.head_block) {
    *out = tb - at.head_block;
  } else {
    return fail(why, EINVAL, "tail LSN " + std::to_string(tc) + ":" + std::to_string(tb) +
                                 " is not within one pass behind the head");
  }
  return 0;
}

// Splits ops into records' data of at most cap bytes each; (*first)[i] =
// the record holding op i's first part.
std::vector<Record> pack(std::span<const LogOp> ops, size_t cap, std::vector<uint32_t>* first) {
  std::vector<Record> recs(1);
  first->clear();
  auto put_header = [&](Record& r, const LogOp& op, uint32_t len, uint8_t flags) {
    std::byte h[kOpHeader] = {};
    store_be(h + offsetof(xd_log_op_header, oh_tid), 4, op.tid);
    store_be(h + offsetof(xd_log_op_header, oh_len), 4, len);
    h[offsetof(xd_log_op_header, oh_clientid)] = std::byte{op.clientid};
    h[offsetof(xd_log_op_header, oh_flags)] = std::byte{flags};
    r.data.insert(r.data.end(), h, h + kOpHeader);
    r.ops++;
  };
  for (const LogOp& op : ops) {
    size_t done = 0;
    bool cont = false;
    do {
      Record* r = &recs.back();
      const size_t left = cap - std::min(cap, r->data.size());
      const size_t rest = op.payload.size() - done;
      // Room for the header and the whole rest, or for a first part of at
      // least kMinFirstPart bytes; else the op starts in the next record.
      if (left < kOpHeader + std::min(rest, kMinFirstPart)) {
        recs.emplace_back();
        continue;
      }
      const size_t part = std::min(rest, left - kOpHeader);
      uint8_t flags = op.flags;
      if (cont) flags = static_cast<uint8_t>((op.flags & ~XD_LOG_OP_START) | XD_LOG_OP_WAS_CONT);
      if (part < rest) {
        flags = static_cast<uint8_t>((flags & ~XD_LOG_OP_COMMIT) | XD_LOG_OP_CONTINUE);
      } else if (cont) {
        flags |= XD_LOG_OP_END;
      }
      if (!cont) first->push_back(static_cast<uint32_t>(recs.size() - 1));
      put_header(*r, op, static_cast<uint32_t>(part), flags);
      r->data.insert(r->data.end(), op.payload.begin() + static_cast<ptrdiff_t>(done),
                     op.payload.begin() + static_cast<ptrdiff_t>(done + part));
      done += part;
      cont = true;
    } while (done < op.payload.size() || !cont);
  }
  if (recs.back().data.empty()) recs.pop_back();
  return recs;
}

// Writes count log blocks from data at log block blk on, wrapping past the end.
int write_blocks(bc::BlockDevice& dev, uint64_t start, uint32_t n, uint32_t blk, size_t count, const std::byte* data) {
  const size_t first = std::min<size_t>(count, n - blk);
  iovec iov{const_cast<std::byte*>(data), first * kBlock};
  if (int err = dev.pwritev(&iov, 1, start + uint64_t{blk} * kBlock)) return err;
  if (first == count) return 0;
  iovec rest{const_cast<std::byte*>(data) + first * kBlock, (count - first) * kBlock};
  return dev.pwritev(&rest, 1, start);
}

}  // namespace

int write_ops(bc::BlockDevice& dev, const LogPlace& at, std::span<const LogOp> ops, Written* out, std::string* why) {
  const uint32_t n = at.log_blocks;
  if (!dev.writable()) return fail(why, EROFS, "the device is read-only");
  if (n < 64 || at.log_start + uint64_t{n} * kBlock > dev.size_bytes())
    return fail(why, EINVAL, "a log of " + std::to_string(n) + " log blocks does not fit the device");
  if (at.head_block >= n || at.head_cycle == 0 || at.head_cycle == kRecordMagic)
    return fail(why, EINVAL, "head " + std::to_string(at.head_cycle) + ":" + std::to_string(at.head_block) +
                                 " does not fit the log");
  if (at.record_size == 0 || at.record_size % XD_LOG_CYCLE_BYTES != 0 || at.record_size > 8 * XD_LOG_CYCLE_BYTES)
    return fail(why, EINVAL, "record size " + std::to_string(at.record_size) + " is not a multiple of 32 KiB up to 256 KiB");
  uint32_t avail = 0;
  LogPlace limit = at;
  if (at.limit_lsn != 0) limit.tail_lsn = at.limit_lsn;
  if (int err = room(limit, &avail, why)) return err;

  RecordHeader proto;
  proto.version = 2;
  proto.size = at.record_size;
  const size_t cap = at.record_size - size_t{proto.header_blocks()} * kBlock;
  std::vector<uint32_t> first;
  const std::vector<Record> recs = pack(ops, cap, &first);
  std::vector<uint64_t> rec_lsn;

  // Lay every record out in one buffer, in log order from the head.
  std::vector<std::byte> buf;
  uint32_t blk = at.head_block, cycle = at.head_cycle, prev = at.prev_block;
  Written w;
  for (const Record& r : recs) {
    RecordHeader h = proto;
    h.cycle = cycle;
    h.len = static_cast<uint32_t>((r.data.size() + kBlock - 1) / kBlock * kBlock);
    h.lsn = make_lsn(cycle, blk);
    h.tail_lsn = at.tail_lsn ? at.tail_lsn : (w.records ? w.first_lsn : h.lsn);
    h.prev_block = prev;
    h.num_logops = r.ops;
    const size_t off = buf.size();
    buf.resize(off + size_t{h.blocks()} * kBlock);
    std::memcpy(buf.data() + off + size_t{h.header_blocks()} * kBlock, r.data.data(), r.data.size());
    encode_record(h, at.uuid, n, std::span(buf).subspan(off, size_t{h.blocks()} * kBlock));
    rec_lsn.push_back(h.lsn);
    if (w.records++ == 0) w.first_lsn = h.lsn;
    w.last_lsn = h.lsn;
    prev = blk;
    const uint64_t end = uint64_t{blk} + h.blocks();
    blk = static_cast<uint32_t>(end % n);
    if (end >= n) cycle = next_cycle(cycle);
  }
  w.blocks = static_cast<uint32_t>(buf.size() / kBlock);
  w.op_lsn.reserve(first.size());
  for (uint32_t r : first) w.op_lsn.push_back(rec_lsn[r]);
  w.head_block = blk;
  w.head_cycle = cycle;
  // The records must end before the tail: a full log would read as empty.
  if (w.blocks >= avail)
    return fail(why, ENOSPC, std::to_string(w.blocks) + " log blocks do not fit the " + std::to_string(avail) +
                                 " before the tail");
  if (int err = write_blocks(dev, at.log_start, n, at.head_block, w.blocks, buf.data()))
    return fail(why, err, "writing " + std::to_string(w.blocks) + " log blocks failed");
  if (int err = dev.sync()) return fail(why, err, "syncing the log failed");
  *out = w;
  return 0;
}

}  // namespace xfsfuse::fs::xlog
