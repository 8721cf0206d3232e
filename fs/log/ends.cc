#include "fs/log/ends.h"

#include <algorithm>
#include <vector>

#include "fs/corrupt.h"
#include "fs/log/cycle_map.h"
#include "fs/log/record.h"

namespace xfsfuse::fs::xlog {

namespace {

constexpr uint32_t kWindow = 4096;        // in-flight writes: 8 record buffers of up to 256 KiB (log blocks)
constexpr uint32_t kMaxInFlight = 8;      // records a crash can leave torn
constexpr uint32_t kMaxRecordSize = 256 * 1024;  // largest h_size a writer uses
constexpr uint32_t kMaxRecordBlocks = kMaxRecordSize / kBlock + kMaxRecordSize / XD_LOG_CYCLE_BYTES;  // data + headers
constexpr uint32_t kBackBlocks = 1024;    // log blocks read at a time when looking back for a record header

// Positions are in write order, "T" = cycle * n + block: a record written
// later has a larger T, wrapping or not.  Position T is "fresh" when its
// block carries cycle T / n (it was written in that pass).
class Ends {
 public:
  Ends(const LogReader& r, const bc::Uuid& uuid, std::string* why) : map_(r), n_(r.blocks()), uuid_(uuid), why_(why) {}

  int run(LogEnds* out);
  uint64_t blocks_read() const { return map_.blocks_read(); }

 private:
  struct Rec {
    uint64_t at = 0;  // T of its first header block
    RecordHeader h;
  };

  // The cycle of the block at T t (and whether it starts a header),
  // checked against block 0's: EUCLEAN for one no writes leave.
  int cycle(uint64_t t, uint32_t* c, bool* header = nullptr);
  // Whether T t is fresh.  Only called near the newest block written,
  // where no block can be of a later pass than t's: EUCLEAN for one.
  int fresh(uint64_t t, bool* yes);
  // Bisection over blocks [lo, *hi) where block lo has cycle c: *hi
  // becomes a block not of cycle c right after one that is.
  int bisect(uint32_t c, uint32_t lo, uint32_t* hi);
  int find_head(uint64_t* head);
  // The record header nearest before T `before`, at most `back` blocks
  // (and one log) back: *found false if there is none.
  int prev_record(uint64_t before, Rec* out, bool* found, uint64_t back = UINT64_MAX);
  // prev_record, none being corrupt.
  int need_prev_record(uint64_t before, Rec* out);
  int drop_incomplete(uint64_t* head, Rec* last, uint32_t* dropped);
  int drop_torn(uint64_t* head, Rec* last, uint32_t* dropped);
  int is_unmount_record(const Rec& rec, bool* yes);

  CycleMap map_;
  const uint32_t n_;
  const bc::Uuid& uuid_;
  std::string* why_;
  uint32_t c0_ = 0;  // block 0's cycle
};

int Ends::cycle(uint64_t t, uint32_t* c, bool* header) {
  if (int err = map_.get(t, c, header)) return err;
  // Block 0 is in the newest pass or, if its write was lost, in the one
  // before; other blocks are one pass older, or two in a hole near the
  // end of the log left by writes in flight when the log wrapped.
  if (uint64_t{*c} + 2 < c0_ || uint64_t{*c} > uint64_t{c0_} + 1)
    return corrupt(why_, "log block " + std::to_string(t % n_) + " has cycle " + std::to_string(*c) +
                             ", block 0 has " + std::to_string(c0_));
  return 0;
}

int Ends::fresh(uint64_t t, bool* yes) {
  uint32_t c = 0;
  if (int err = cycle(t, &c)) return err;
  *yes = c == t / n_;
  if (c > t / n_)
    return corrupt(why_, "log block " + std::to_string(t % n_) + " has cycle " + std::to_string(c) +
                             ", ahead of the newest writes around it (cycle " + std::to_string(t / n_) + ")");
  return 0;
}

int Ends::bisect(uint32_t c, uint32_t lo, uint32_t* hi) {
  while (*hi - lo > 1) {
    const uint32_t mid = lo + (*hi - lo) / 2;
    uint32_t cm = 0;
    if (int err = cycle(mid, &cm)) return err;
    (cm == c ? lo : *hi) = mid;
  }
  return 0;
}

// The head is the first hole (a stale block, still of an older pass) in
// the in-flight window before the newest block written, else the block
// after that one.  Outside that window every position of the last n is
// fresh, so the log's blocks are one run of cycle c from block 0 and one
// run of c - 1 after it: bisection finds a fresh position followed by a
// stale one, which is either the end of the newest write or the start of
// a hole.  Either way the newest block written is at most a window after
// it, and the holes at most a window before that.
int Ends::find_head(uint64_t* head) {
  // Block 0 is fresh in pass c0.  If its write was lost (a hole, c0 one
  // pass behind), the bisection may stop at a block of c0 + 1; then the
  // newest pass is c0 + 1 and that block is fresh in it.
  uint32_t pass = c0_, hi = n_;
  if (int err = bisect(pass, 0, &hi)) return err;
  if (hi < n_) {
    uint32_t c = 0;
    if (int err = cycle(hi, &c)) return err;
    if (uint64_t{c} == uint64_t{c0_} + 1) {
      pass = c;
      const uint32_t lo = hi;
      hi = n_;
      if (int err = bisect(pass, lo, &hi)) return err;
    }
  }
  const uint64_t stale = uint64_t{pass} * n_ + hi;  // after a fresh position; >= n
  const uint64_t w = std::min<uint64_t>(kWindow, n_);
  // The newest block written: the last fresh position up to a window past it.
  if (int err = map_.load(stale, w)) return err;
  uint64_t newest = stale - 1;
  for (uint64_t t = stale; t < stale + w; t++) {
    bool yes = false;
    if (int err = fresh(t, &yes)) return err;
    if (yes) newest = t;
  }
  // The first hole in the window before it; every block of the window is
  // checked, as none may be newer than the newest.
  if (int err = map_.load(newest + 1 - w, w)) return err;
  *head = newest + 1;
  for (uint64_t t = newest + 1 - w; t <= newest; t++) {
    bool yes = false;
    if (int err = fresh(t, &yes)) return err;
    if (!yes && *head == newest + 1) *head = t;
  }
  return 0;
}

int Ends::prev_record(uint64_t before, Rec* out, bool* found, uint64_t back) {
  *found = false;
  for (uint64_t k = 1; k <= n_ && k <= before && k <= back; k++) {
    const uint64_t t = before - k;
    const uint32_t b = static_cast<uint32_t>(t % n_);
    if (!map_.known(t)) {  // read back a stretch at a time
      const uint64_t span = std::min<uint64_t>({kBackBlocks, n_, t + 1});
      if (int err = map_.load(t + 1 - span, span)) return err;
    }
    uint32_t c = 0;
    bool header = false;
    if (int err = cycle(t, &c, &header)) return err;
    if (!header || c != t / n_) continue;
    std::vector<std::byte> blk(kBlock);
    if (int err = map_.read(b, 1, blk.data())) return err;
    if (int err = decode_record_header(blk, b, n_, uuid_, &out->h, why_)) return err;
    if (out->h.size > kMaxRecordSize)
      return corrupt(why_, "log record at log block " + std::to_string(b) + ": h_size " + std::to_string(out->h.size));
    out->at = t;
    *found = true;
    return 0;
  }
  return 0;
}

int Ends::need_prev_record(uint64_t before, Rec* out) {
  bool found = false;
  if (int err = prev_record(before, out, &found)) return err;
  if (!found) return corrupt(why_, "no log record header before log block " + std::to_string(before % n_));
  return 0;
}

int Ends::drop_incomplete(uint64_t* head, Rec* last, uint32_t* dropped) {
  for (uint32_t tries = 0;; tries++) {
    if (int err = need_prev_record(*head, last)) return err;
    if (last->at + last->h.blocks() == *head) return 0;
    if (tries == kMaxInFlight)
      return corrupt(why_, "no complete log record ends at the head (log block " + std::to_string(*head % n_) + ")");
    *head = last->at;  // a record cut short by the head: it was not all written
    (*dropped)++;
  }
}

int Ends::drop_torn(uint64_t* head, Rec* last, uint32_t* dropped) {
  // The records of the in-flight window, newest first; they must follow
  // each other without gaps.
  std::vector<Rec> recs{*last};
  while (recs.size() < kMaxInFlight && recs.back().at > 0 && *head - recs.back().at < n_) {
    Rec prev;
    bool found = false;
    // Only a header at most a record's length back can end where the next begins.
    if (int err = prev_record(recs.back().at, &prev, &found, kMaxRecordBlocks)) return err;
    if (!found || prev.at + prev.h.blocks() != recs.back().at || *head - prev.at >= n_) break;
    recs.push_back(prev);
  }
  // Oldest first: the first whose CRC fails moves the head back to it.
  for (size_t i = recs.size(); i-- > 0;) {
    const Rec& rec = recs[i];
    std::vector<std::byte> bytes(size_t{rec.h.blocks()} * kBlock);
    if (int err = map_.read(rec.at, rec.h.blocks(), bytes.data())) return err;
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

int Ends::is_unmount_record(const Rec& rec, bool* yes) {
  *yes = false;
  if (rec.h.num_logops != 1 || rec.h.len < sizeof(xd_log_op_header)) return 0;
  std::vector<std::byte> data(kBlock);
  if (int err = map_.read(rec.at + rec.h.header_blocks(), 1, data.data())) return err;
  // The op header's flags are past the first word, which the cycle stamp replaced.
  const auto flags = static_cast<uint8_t>(data[offsetof(xd_log_op_header, oh_flags)]);
  *yes = (flags & XD_LOG_OP_UNMOUNT) != 0;
  return 0;
}

int Ends::run(LogEnds* out) {
  *out = LogEnds{};
  if (int err = map_.get(0, &c0_)) return err;
  if (c0_ == 0) {  // never written
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

}  // namespace

int find_log_ends(const LogReader& r, const bc::Uuid& uuid, LogEnds* out, std::string* why) {
  Ends e(r, uuid, why);
  const int err = e.run(out);
  out->blocks_read = e.blocks_read();
  return err;
}

}  // namespace xfsfuse::fs::xlog
