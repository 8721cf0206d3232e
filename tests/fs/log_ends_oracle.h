// tests/fs/log_ends_oracle.h — the full-scan way of finding the ends of the
// log that fs/log/ends.cc used before it learned to bisect: read the cycle
// number of every log block, take the newest block written, look for holes
// in the in-flight window before it.  Kept only as the oracle of the
// differential test (log_ends_diff_test.cc): same rules (docs/log.md "The
// ends of the log"), every block read.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "fs/corrupt.h"
#include "fs/log/ends.h"
#include "fs/log/record.h"

namespace xfsfuse::fs::test::oracle {

using namespace xfsfuse::fs::xlog;  // NOLINT: the oracle reads like the code it was

inline constexpr uint32_t kWindow = 4096;        // in-flight writes: 8 record buffers of up to 256 KiB (log blocks)
inline constexpr uint32_t kMaxInFlight = 8;      // records a crash can leave torn
inline constexpr uint32_t kMaxRecordSize = 256 * 1024;  // largest h_size a writer uses
inline constexpr uint32_t kChunkBlocks = 2048;   // log blocks per read of the scan

// Positions are in write order, "T" = cycle * n + block: a record written
// later has a larger T, wrapping or not.
class Ends {
 public:
  Ends(const LogReader& r, const bc::Uuid& uuid, std::string* why) : r_(r), n_(r.blocks()), uuid_(uuid), why_(why) {}

  int run(LogEnds* out);

 private:
  struct Rec {
    uint64_t at = 0;  // T of its first header block
    RecordHeader h;
  };

  int scan();
  int find_head(uint64_t* head);
  // The record header nearest before T `before` (at most one log back):
  // *found false if there is none.
  int prev_record(uint64_t before, Rec* out, bool* found);
  // prev_record, none being corrupt.
  int need_prev_record(uint64_t before, Rec* out);
  int drop_incomplete(uint64_t* head, Rec* last, uint32_t* dropped);
  int drop_torn(uint64_t* head, Rec* last, uint32_t* dropped);
  int is_unmount_record(const Rec& rec, bool* yes);

  const LogReader& r_;
  const uint32_t n_;
  const bc::Uuid& uuid_;
  std::string* why_;
  std::vector<uint32_t> cycle_;  // per log block
  std::vector<bool> header_;     // per log block: starts with the record magic
};

inline int Ends::scan() {
  cycle_.resize(n_);
  header_.resize(n_);
  std::vector<std::byte> buf(size_t{kChunkBlocks} * kBlock);
  for (uint32_t b = 0; b < n_; b += kChunkBlocks) {
    const uint32_t count = std::min(kChunkBlocks, n_ - b);
    if (int err = r_.read(b, count, buf.data())) return err;
    for (uint32_t i = 0; i < count; i++) {
      const std::byte* blk = buf.data() + size_t{i} * kBlock;
      cycle_[b + i] = block_cycle(blk);
      header_[b + i] = is_record_header(blk);
    }
  }
  return 0;
}

inline int Ends::find_head(uint64_t* head) {
  const uint32_t c0 = cycle_[0];
  uint64_t tmax = 0;
  for (uint32_t b = 0; b < n_; b++) {
    const uint32_t c = cycle_[b];
    // Block 0 is in the newest pass or, if its write was lost, in the one
    // before; other blocks are one pass older, or two in a hole near the
    // end of the log left by writes in flight when the log wrapped.
    if (uint64_t{c} + 2 < c0 || uint64_t{c} > uint64_t{c0} + 1)
      return corrupt(why_, "log block " + std::to_string(b) + " has cycle " + std::to_string(c) + ", block 0 has " +
                               std::to_string(c0));
    if (c != 0) tmax = std::max(tmax, uint64_t{c} * n_ + b);
  }
  // The first hole (a block still of its older pass) within the in-flight
  // window before the newest block written is the head; else right after it.
  const uint64_t w = std::min<uint64_t>(kWindow, n_);
  *head = tmax + 1;
  for (uint64_t t = tmax + 1 >= w ? tmax + 1 - w : 0; t <= tmax; t++) {
    if (cycle_[t % n_] < t / n_) {
      *head = t;
      break;
    }
  }
  return 0;
}

inline int Ends::prev_record(uint64_t before, Rec* out, bool* found) {
  *found = false;
  for (uint64_t k = 1; k <= n_ && k <= before; k++) {
    const uint64_t t = before - k;
    const uint32_t b = static_cast<uint32_t>(t % n_);
    if (!header_[b] || cycle_[b] != t / n_) continue;
    std::vector<std::byte> blk(kBlock);
    if (int err = r_.read(b, 1, blk.data())) return err;
    if (int err = decode_record_header(blk, b, n_, uuid_, &out->h, why_)) return err;
    if (out->h.size > kMaxRecordSize)
      return corrupt(why_, "log record at log block " + std::to_string(b) + ": h_size " + std::to_string(out->h.size));
    out->at = t;
    *found = true;
    return 0;
  }
  return 0;
}

inline int Ends::need_prev_record(uint64_t before, Rec* out) {
  bool found = false;
  if (int err = prev_record(before, out, &found)) return err;
  if (!found) return corrupt(why_, "no log record header before log block " + std::to_string(before % n_));
  return 0;
}

inline int Ends::drop_incomplete(uint64_t* head, Rec* last, uint32_t* dropped) {
  for (uint32_t tries = 0;; tries++) {
    if (int err = need_prev_record(*head, last)) return err;
    if (last->at + last->h.blocks() == *head) return 0;
    if (tries == kMaxInFlight)
      return corrupt(why_, "no complete log record ends at the head (log block " + std::to_string(*head % n_) + ")");
    *head = last->at;  // a record cut short by the head: it was not all written
    (*dropped)++;
  }
}

inline int Ends::drop_torn(uint64_t* head, Rec* last, uint32_t* dropped) {
  // The records of the in-flight window, newest first; they must follow
  // each other without gaps.
  std::vector<Rec> recs{*last};
  while (recs.size() < kMaxInFlight && recs.back().at > 0 && *head - recs.back().at < n_) {
    Rec prev;
    bool found = false;
    if (int err = prev_record(recs.back().at, &prev, &found)) return err;
    if (!found || prev.at + prev.h.blocks() != recs.back().at || *head - prev.at >= n_) break;
    recs.push_back(prev);
  }
  // Oldest first: the first whose CRC fails moves the head back to it.
  for (size_t i = recs.size(); i-- > 0;) {
    const Rec& rec = recs[i];
    std::vector<std::byte> bytes(size_t{rec.h.blocks()} * kBlock);
    if (int err = r_.read(rec.at, rec.h.blocks(), bytes.data())) return err;
    if (rec.h.crc == 0 || rec.h.crc == record_crc(rec.h, bytes)) continue;  // mkfs writes CRC 0
    *dropped = static_cast<uint32_t>(i + 1);
    *head = rec.at;
    if (i + 1 < recs.size()) {
      *last = recs[i + 1];
      return 0;
    }
    if (int err = need_prev_record(*head, last)) return err;
    if (last->at + last->h.blocks() != *head)
      return corrupt(why_, "the log record before the torn one at log block " + std::to_string(*head % n_) +
                               " does not end there");
    return 0;
  }
  return 0;
}

inline int Ends::is_unmount_record(const Rec& rec, bool* yes) {
  *yes = false;
  if (rec.h.num_logops != 1 || rec.h.len < sizeof(xd_log_op_header)) return 0;
  std::vector<std::byte> data(kBlock);
  if (int err = r_.read(rec.at + rec.h.header_blocks(), 1, data.data())) return err;
  // The op header's flags are past the first word, which the cycle stamp replaced.
  const auto flags = static_cast<uint8_t>(data[offsetof(xd_log_op_header, oh_flags)]);
  *yes = (flags & XD_LOG_OP_UNMOUNT) != 0;
  return 0;
}

inline int Ends::run(LogEnds* out) {
  *out = LogEnds{};
  if (int err = scan()) return err;
  if (cycle_[0] == 0) {  // never written
    out->empty = out->clean = true;
    out->tail_lsn = out->head_lsn();
    return 0;
  }
  uint64_t head = 0;
  if (int err = find_head(&head)) return err;
  Rec last;
  if (int err = drop_incomplete(&head, &last, &out->incomplete)) return err;
  if (int err = drop_torn(&head, &last, &out->torn)) return err;
  out->head_block = static_cast<uint32_t>(head % n_);
  out->head_cycle = static_cast<uint32_t>(head / n_);
  out->last_lsn = last.h.lsn;
  bool unmount = false;
  if (int err = is_unmount_record(last, &unmount)) return err;
  if (unmount) {
    out->clean = true;
    out->tail_lsn = out->head_lsn();
    return 0;
  }
  out->tail_lsn = last.h.tail_lsn;
  const uint64_t tail = uint64_t{lsn_cycle(last.h.tail_lsn)} * n_ + lsn_block(last.h.tail_lsn);
  if (lsn_block(last.h.tail_lsn) >= n_ || tail > last.at || head - tail > n_)
    return corrupt(why_, "the last log record (LSN " + hex(last.h.lsn) + ") names tail LSN " + hex(last.h.tail_lsn) +
                             ", outside the log between the head and that record");
  return 0;
}


/// The ends of the log as the full scan finds them (blocks_read stays 0).
inline int find_log_ends(const LogReader& r, const bc::Uuid& uuid, LogEnds* out, std::string* why) {
  Ends e(r, uuid, why);
  return e.run(out);
}

}  // namespace xfsfuse::fs::test::oracle
