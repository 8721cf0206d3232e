// The unmount record writer (fs/log/unmount.h) on synthetic logs: dirty logs
// built by LogBuilder, torn records past the head, a head at the end of the
// log (the record wraps) and at the start of a pass; afterwards find_log_ends
// must say clean with tail == head right after the new record.  Also the
// record encoder (fs/log/record.h) against the decoder, and the cycle skip.
#include <catch2/catch.hpp>
#include <cerrno>
#include <string>

#include "fs/log/ends.h"
#include "fs/log/record.h"
#include "fs/log/unmount.h"
#include "tests/fs/log_test_util.h"

namespace xfsfuse::fs::test {
namespace {

constexpr uint32_t kBlocks = 8192;  // a 4 MiB log: larger than the 4096-block clearing window
const bc::Uuid kUuid{9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 11, 12, 13, 14, 15, 16};

struct Log {
  MemDevice dev{size_t{kBlocks} * 512};
  LogBuilder b{dev, kBlocks, kUuid};
  xlog::LogEnds ends() {
    xlog::LogEnds e;
    std::string why;
    INFO(why);
    REQUIRE(xlog::find_log_ends(xlog::LogReader(dev, 0, kBlocks), kUuid, &e, &why) == 0);
    return e;
  }
  // Writes the unmount record at the head find_log_ends finds; returns the ends before.
  xlog::LogEnds unmount(xlog::LogEnds* after) {
    const xlog::LogEnds before = ends();
    std::string why;
    const int rc = xlog::write_unmount_record(dev, 0, kBlocks, kUuid, before, after, &why);
    INFO(why);
    REQUIRE(rc == 0);
    return before;
  }
  uint32_t cycle(uint32_t blk) { return xlog::block_cycle(dev.at(size_t{blk} * 512)); }
};

std::vector<std::byte> trans_data(uint32_t bytes) {
  return LogBuilder::op(XD_LOG_CLIENT_TRANSACTION, XD_LOG_OP_START, bytes - 12);
}

// The record at log block b read back: decoded, CRC checked, unstamped.
void check_unmount_record(Log& log, uint32_t b, uint32_t cycle, uint32_t prev_block) {
  std::vector<std::byte> rec(2 * 512);
  REQUIRE(xlog::LogReader(log.dev, 0, kBlocks).read(b, 2, rec.data()) == 0);
  xlog::RecordHeader h;
  std::string why;
  REQUIRE(xlog::decode_record_header(rec, b, kBlocks, kUuid, &h, &why) == 0);
  CHECK(h.cycle == cycle);
  CHECK(h.version == 2);
  CHECK(h.len == 512);
  CHECK(h.lsn == xlog::make_lsn(cycle, b));
  CHECK(h.tail_lsn == h.lsn);
  CHECK(h.prev_block == prev_block);
  CHECK(h.num_logops == 1);
  CHECK(h.size == 32768);
  CHECK(h.crc == xlog::record_crc(h, rec));
  const uint32_t data_cycle = b + 1 < kBlocks ? cycle : xlog::next_cycle(cycle);
  CHECK(xlog::block_cycle(rec.data() + 512) == data_cycle);
  xlog::unstamp_record(h, rec);
  const std::byte* op = rec.data() + 512;
  CHECK(bc::load_be(op + 4, 4) == 8);  // oh_len: the 8-byte payload
  CHECK(op[8] == std::byte{XD_LOG_CLIENT_LOG});
  CHECK(op[9] == std::byte{XD_LOG_OP_UNMOUNT});
  CHECK(op[12] == std::byte{0x6e});  // 0x556e, host-endian
  CHECK(op[13] == std::byte{0x55});
}

void check_clean_after(const xlog::LogEnds& after, uint32_t head_block, uint32_t head_cycle, uint64_t record_lsn) {
  CHECK(after.clean);
  CHECK_FALSE(after.empty);
  CHECK(after.head_block == head_block);
  CHECK(after.head_cycle == head_cycle);
  CHECK(after.tail_lsn == after.head_lsn());
  CHECK(after.last_lsn == record_lsn);
  CHECK(after.torn == 0);
  CHECK(after.incomplete == 0);
}

class ReadOnlyDevice : public MemDevice {
 public:
  using MemDevice::MemDevice;
  bool writable() const override { return false; }
};

}  // namespace

TEST_CASE("log unmount: next_cycle and prev_cycle skip the record magic", "[log]") {
  CHECK(xlog::next_cycle(1) == 2);
  CHECK(xlog::next_cycle(0xfeedbabd) == 0xfeedbabf);
  CHECK(xlog::next_cycle(0xffffffff) == 1);
  CHECK(xlog::prev_cycle(0xfeedbabf) == 0xfeedbabd);
  CHECK(xlog::prev_cycle(1) == 0);
}

TEST_CASE("log unmount: encode_record is what decode_record_header and unstamp_record undo", "[log]") {
  const uint32_t cycle = GENERATE(7u, 0xfeedbabdu);
  std::vector<std::byte> data(40 * 1024);
  for (size_t i = 0; i < data.size(); i++) data[i] = static_cast<std::byte>(i * 31 + 3);
  xlog::RecordHeader h;
  h.cycle = cycle;
  h.version = 2;
  h.len = static_cast<uint32_t>(data.size());
  h.size = 65536;  // two header blocks
  const uint32_t at = kBlocks - 5;  // wraps: 2 header + 80 data blocks
  h.lsn = xlog::make_lsn(cycle, at);
  h.tail_lsn = xlog::make_lsn(cycle, 100);
  h.prev_block = 1234;
  h.num_logops = 3;
  std::vector<std::byte> rec(size_t{h.blocks()} * 512);
  std::memcpy(rec.data() + 2 * 512, data.data(), data.size());
  xlog::encode_record(h, kUuid, kBlocks, rec);
  xlog::RecordHeader d;
  std::string why;
  REQUIRE(xlog::decode_record_header(rec, at, kBlocks, kUuid, &d, &why) == 0);
  CHECK(d.len == h.len);
  CHECK(d.tail_lsn == h.tail_lsn);
  CHECK(d.prev_block == 1234);
  CHECK(d.num_logops == 3);
  CHECK(d.header_blocks() == 2);
  CHECK(d.crc == xlog::record_crc(d, rec));
  // Blocks at and past the log's end carry the next cycle (the magic skipped).
  for (uint32_t i = 1; i < h.blocks(); i++) {
    INFO("block " << i);
    CHECK(xlog::block_cycle(rec.data() + size_t{i} * 512) == (at + i < kBlocks ? cycle : xlog::next_cycle(cycle)));
  }
  xlog::unstamp_record(d, rec);
  CHECK(std::memcmp(rec.data() + 2 * 512, data.data(), data.size()) == 0);
}

TEST_CASE("log unmount: a dirty log becomes clean with tail == head after the new record", "[log]") {
  Log log;
  uint32_t at = log.b.record(0, 1, xlog::make_lsn(1, 0), LogBuilder::unmount(), 1);
  at += log.b.record(at, 1, xlog::make_lsn(1, 2), trans_data(32256), 3);
  const uint32_t last = at;
  at += log.b.record(at, 1, xlog::make_lsn(1, 2), trans_data(2048), 2);
  REQUIRE_FALSE(log.ends().clean);
  xlog::LogEnds after;
  const xlog::LogEnds before = log.unmount(&after);
  CHECK(before.head_block == at);
  check_clean_after(after, at + 2, 1, xlog::make_lsn(1, at));
  check_unmount_record(log, at, 1, last);
  // Blocks past the new head: empty headers of the previous pass (0 in the first).
  CHECK(log.cycle(at + 2) == 0);
  CHECK(log.cycle(at + 4095) == 0);

  SECTION("and a second one after it, as a second unmount writes") {
    xlog::LogEnds again;
    log.unmount(&again);
    check_clean_after(again, at + 4, 1, xlog::make_lsn(1, at + 2));
    check_unmount_record(log, at + 2, 1, at);
  }
}

TEST_CASE("log unmount: a never-written log and mkfs's log", "[log]") {
  Log log;
  xlog::LogEnds after;
  SECTION("never written: the first record, h_prev_block all ones") {
    REQUIRE(log.ends().empty);
    log.unmount(&after);
    check_clean_after(after, 2, 1, xlog::make_lsn(1, 0));
    check_unmount_record(log, 0, 1, 0xffffffff);
  }
  SECTION("mkfs's unmount record: the new one follows it") {
    log.b.record(0, 1, xlog::make_lsn(1, 0), LogBuilder::unmount(), 1);
    log.unmount(&after);
    check_clean_after(after, 4, 1, xlog::make_lsn(1, 2));
    check_unmount_record(log, 2, 1, 0);
  }
}

TEST_CASE("log unmount: the blocks a torn write left past the head are cleared", "[log]") {
  Log log;
  uint32_t at = log.b.record(0, 1, xlog::make_lsn(1, 0), LogBuilder::unmount(), 1);
  at += log.b.record(at, 1, xlog::make_lsn(1, 2), trans_data(4096), 2);
  const uint32_t head = at;
  // A 65-block record whose CRC fails (a block did not land whole), then one
  // more that landed: both are dropped, the head is where the first begins.
  at += log.b.record(at, 1, xlog::make_lsn(1, 2), trans_data(32256), 4);
  at += log.b.record(at, 1, xlog::make_lsn(1, 2), trans_data(4096), 2);
  *log.dev.at(size_t{head + 30} * 512 + 200) ^= std::byte{1};
  SECTION("torn by CRC") {}
  SECTION("cut short: the second record's last block never written") { log.b.stamp(at - 1, 0); }
  const xlog::LogEnds before = log.ends();
  REQUIRE(before.head_block == head);
  REQUIRE(before.torn + before.incomplete >= 1);
  xlog::LogEnds after;
  log.unmount(&after);
  check_clean_after(after, head + 2, 1, xlog::make_lsn(1, head));
  for (uint32_t b = head + 2; b < at; b++) {
    INFO("block " << b);
    REQUIRE(log.cycle(b) == 0);
  }

  SECTION("without the clearing the torn blocks would pass for the log's end") {
    for (uint32_t b = head + 2; b < at; b++) log.b.stamp(b, 1);
    const xlog::LogEnds e = log.ends();
    CHECK_FALSE((e.clean && e.head_block == head + 2));
  }
}

TEST_CASE("log unmount: a head at the end of the log", "[log]") {
  Log log;
  // Pass 1 up to `end`, each record its own tail (all older changes in place).
  const uint32_t end = GENERATE(kBlocks - 1, kBlocks - 2, kBlocks - 3);
  uint32_t at = 0;
  while (at + 64 < end) at += log.b.record(at, 1, xlog::make_lsn(1, at), trans_data(32256), 5);
  if (at < end) at += log.b.record(at, 1, xlog::make_lsn(1, at), trans_data((end - at - 1) * 512), 1);
  REQUIRE(at == end);
  const xlog::LogEnds before = log.ends();
  REQUIRE(before.head_block == end);
  REQUIRE(before.head_cycle == 1);
  xlog::LogEnds after;
  log.unmount(&after);
  INFO("head before " << end);
  if (end + 2 < kBlocks) {
    check_clean_after(after, end + 2, 1, xlog::make_lsn(1, end));
  } else {  // the new head is in pass 2: block 1 (the record wrapped) or 0
    check_clean_after(after, end + 2 - kBlocks, 2, xlog::make_lsn(1, end));
  }
  check_unmount_record(log, end, 1, xlog::lsn_block(before.last_lsn));
  // The clearing went on at the log's start with the head's cycle: what the
  // pass before left there is older than the tail now.
  CHECK(log.cycle(100) == 1);
  if (end == kBlocks - 1) CHECK(log.cycle(0) == 2);  // the record's data block
}

TEST_CASE("log unmount: a head at the start of a pass and a tail just ahead", "[log]") {
  Log log;
  uint32_t at = 0;
  while (at + 64 <= kBlocks) at += log.b.record(at, 1, xlog::make_lsn(1, at), trans_data(32256), 5);
  REQUIRE(at == kBlocks);
  SECTION("head at block 0 of pass 2: the unmount record starts it") {
    xlog::LogEnds after;
    log.unmount(&after);
    check_clean_after(after, 2, 2, xlog::make_lsn(2, 0));
    check_unmount_record(log, 0, 2, kBlocks - 64);
    CHECK(log.cycle(2) == 1);
    CHECK(log.cycle(4095) == 1);
  }
  SECTION("the tail less than 4096 blocks ahead of the head: the clearing stops before it") {
    const uint32_t tail = 640;  // a record of pass 1
    uint32_t h = log.b.record(0, 2, xlog::make_lsn(1, tail), trans_data(32256), 5);
    h += log.b.record(h, 2, xlog::make_lsn(1, tail), trans_data(32256), 5);
    REQUIRE(h + 4096 > tail);
    std::vector<std::byte> saved(size_t{kBlocks - tail} * 512);
    std::memcpy(saved.data(), log.dev.at(size_t{tail} * 512), saved.size());
    const xlog::LogEnds before = log.ends();
    REQUIRE(before.tail_lsn == xlog::make_lsn(1, tail));
    xlog::LogEnds after;
    log.unmount(&after);
    check_clean_after(after, h + 2, 2, xlog::make_lsn(2, h));
    CHECK(log.cycle(h + 2) == 1);
    CHECK(bc::load_be(log.dev.at(size_t{tail - 1} * 512 + 16), 8) == xlog::make_lsn(1, tail - 1));  // cleared
    CHECK(std::memcmp(saved.data(), log.dev.at(size_t{tail} * 512), saved.size()) == 0);
  }
}

TEST_CASE("log unmount: refused when the device is read-only or the log is full", "[log]") {
  xlog::LogEnds before;
  before.head_block = 10;
  before.head_cycle = 2;
  xlog::LogEnds after;
  std::string why;
  SECTION("read-only") {
    ReadOnlyDevice dev(size_t{kBlocks} * 512);
    CHECK(xlog::write_unmount_record(dev, 0, kBlocks, kUuid, before, &after, &why) == EROFS);
  }
  MemDevice dev(size_t{kBlocks} * 512);
  SECTION("the tail one block ahead of the head") {
    before.tail_lsn = xlog::make_lsn(1, 11);
    CHECK(xlog::write_unmount_record(dev, 0, kBlocks, kUuid, before, &after, &why) == ENOSPC);
    CHECK(xlog::block_cycle(dev.at(10 * 512)) == 0);  // nothing written
  }
  SECTION("a head outside the log, a tail two passes back") {
    before.tail_lsn = xlog::make_lsn(2, 0);
    before.head_block = kBlocks;
    CHECK(xlog::write_unmount_record(dev, 0, kBlocks, kUuid, before, &after, &why) == EINVAL);
    before.head_block = 10;
    before.tail_lsn = xlog::make_lsn(0, 20);
    CHECK(xlog::write_unmount_record(dev, 0, kBlocks, kUuid, before, &after, &why) == EINVAL);
  }
  SECTION("a log past the end of the device") {
    CHECK(xlog::write_unmount_record(dev, 512, kBlocks, kUuid, before, &after, &why) == EINVAL);
  }
}

}  // namespace xfsfuse::fs::test
