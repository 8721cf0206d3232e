// The log's head and tail (fs/log/ends.h) on synthetic logs: every shape of
// docs/log.md "The ends of the log" — empty, clean, dirty, wrapped, holes
// left by writes in flight, records cut short, torn records — and records
// themselves (extended headers, CRC, cycle stamps undone).
#include <catch2/catch.hpp>
#include <cerrno>
#include <string>

#include "fs/log/ends.h"
#include "fs/log/record.h"
#include "tests/fs/log_test_util.h"

namespace xfsfuse::fs::test {
namespace {

constexpr uint32_t kBlocks = 8192;  // a 4 MiB log: larger than the 4096-block in-flight window
const bc::Uuid kUuid{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

struct Log {
  MemDevice dev{size_t{kBlocks} * 512};
  LogBuilder b{dev, kBlocks, kUuid};
  int ends(xlog::LogEnds* out, std::string* why = nullptr) {
    std::string ignored;
    return xlog::find_log_ends(xlog::LogReader(dev, 0, kBlocks), kUuid, out, why ? why : &ignored);
  }
};

// A transaction's worth of data: n op headers and some payload.
std::vector<std::byte> trans_data(uint32_t bytes) {
  return LogBuilder::op(XD_LOG_CLIENT_TRANSACTION, XD_LOG_OP_START, bytes - 12);
}

}  // namespace

TEST_CASE("log ends: a zeroed log is empty and clean", "[log]") {
  Log log;
  xlog::LogEnds e;
  REQUIRE(log.ends(&e) == 0);
  CHECK(e.empty);
  CHECK(e.clean);
  CHECK(e.head_block == 0);
  CHECK(e.tail_lsn == e.head_lsn());
}

TEST_CASE("log ends: mkfs's unmount record leaves a clean log whose head follows it", "[log]") {
  Log log;
  REQUIRE(log.b.record(0, 1, xlog::make_lsn(1, 0), LogBuilder::unmount(), 1) == 2);
  xlog::LogEnds e;
  REQUIRE(log.ends(&e) == 0);
  CHECK_FALSE(e.empty);
  CHECK(e.clean);
  CHECK(e.head_block == 2);
  CHECK(e.head_cycle == 1);
  CHECK(e.tail_lsn == xlog::make_lsn(1, 2));
  CHECK(e.last_lsn == xlog::make_lsn(1, 0));
}

TEST_CASE("log ends: transactions after the unmount record make the log dirty, tail from the last record", "[log]") {
  Log log;
  uint32_t at = log.b.record(0, 1, xlog::make_lsn(1, 0), LogBuilder::unmount(), 1);
  const uint32_t first = at;
  at += log.b.record(at, 1, xlog::make_lsn(1, first), trans_data(32256), 3);
  at += log.b.record(at, 1, xlog::make_lsn(1, first), trans_data(1024), 2);
  xlog::LogEnds e;
  REQUIRE(log.ends(&e) == 0);
  CHECK_FALSE(e.clean);
  CHECK(e.head_block == at);
  CHECK(e.tail_lsn == xlog::make_lsn(1, first));
  CHECK(e.incomplete == 0);
  CHECK(e.torn == 0);

  SECTION("an unmount record written after them makes it clean again") {
    const uint32_t um = at;
    at += log.b.record(at, 1, xlog::make_lsn(1, first), LogBuilder::unmount(), 1);
    REQUIRE(log.ends(&e) == 0);
    CHECK(e.clean);
    CHECK(e.head_block == at);
    CHECK(e.tail_lsn == e.head_lsn());
    CHECK(e.last_lsn == xlog::make_lsn(1, um));
  }
}

TEST_CASE("log ends: a log that wrapped: the head is where the older pass begins", "[log]") {
  Log log;
  // Pass 1 fills the log with records of 64 blocks up to its end; pass 2
  // starts with a record that wraps (header in pass 1's last blocks).
  uint32_t at = 0;
  while (at + 64 <= kBlocks - 40) at += log.b.record(at, 1, xlog::make_lsn(1, 0), trans_data(32256), 5);
  const uint32_t wrapping = at;
  const uint32_t n = log.b.record(at, 1, xlog::make_lsn(1, wrapping - 64), trans_data(32256), 5);
  const uint32_t head = wrapping + n - kBlocks;  // past the wrap
  const uint32_t next = log.b.record(head, 2, xlog::make_lsn(1, wrapping), trans_data(4096), 2);
  xlog::LogEnds e;
  REQUIRE(log.ends(&e) == 0);
  CHECK_FALSE(e.clean);
  CHECK(e.head_block == head + next);
  CHECK(e.head_cycle == 2);
  CHECK(e.tail_lsn == xlog::make_lsn(1, wrapping));
  CHECK(e.last_lsn == xlog::make_lsn(2, head));

  SECTION("a head exactly at the end of the log is block 0 of the next pass") {
    Log exact;
    uint32_t a = 0;
    while (a + 64 < kBlocks) a += exact.b.record(a, 1, xlog::make_lsn(1, 0), trans_data(32256), 5);
    a += exact.b.record(a, 1, xlog::make_lsn(1, 0), trans_data((kBlocks - a - 1) * 512), 1);
    REQUIRE(a == kBlocks);
    REQUIRE(exact.ends(&e) == 0);
    CHECK(e.head_block == 0);
    CHECK(e.head_cycle == 2);
  }
}

TEST_CASE("log ends: a record whose blocks did not all land is dropped, the head moves to it", "[log]") {
  Log log;
  uint32_t at = log.b.record(0, 1, xlog::make_lsn(1, 0), LogBuilder::unmount(), 1);
  const uint32_t kept = at;
  at += log.b.record(at, 1, xlog::make_lsn(1, kept), trans_data(4096), 2);
  const uint32_t cut = at;
  at += log.b.record(at, 1, xlog::make_lsn(1, kept), trans_data(32256), 9);
  log.b.stamp(at - 1, 0);  // its last block never written
  xlog::LogEnds e;
  REQUIRE(log.ends(&e) == 0);
  CHECK(e.head_block == cut);
  CHECK(e.incomplete == 1);
  CHECK(e.last_lsn == xlog::make_lsn(1, kept));
  CHECK_FALSE(e.clean);
}

TEST_CASE("log ends: a hole of the older pass inside the in-flight window ends the log there", "[log]") {
  Log log;
  uint32_t at = log.b.record(0, 1, xlog::make_lsn(1, 0), LogBuilder::unmount(), 1);
  at += log.b.record(at, 1, xlog::make_lsn(1, 2), trans_data(32256), 4);
  const uint32_t lost = at;
  at += log.b.record(at, 1, xlog::make_lsn(1, 2), trans_data(32256), 4);
  at += log.b.record(at, 1, xlog::make_lsn(1, 2), trans_data(32256), 4);  // landed after a lost one
  for (uint32_t b = lost; b < lost + 64; b++) log.b.stamp(b, 0);
  xlog::LogEnds e;
  REQUIRE(log.ends(&e) == 0);
  CHECK(e.head_block == lost);
  CHECK(e.last_lsn == xlog::make_lsn(1, 2));
}

TEST_CASE("log ends: wrapped writes that landed before the end of the log did: the head is at the hole", "[log]") {
  // Pass 2 ... | pass 1 ... | hole still of pass 0 | pass 1: the newest
  // records at the start of the log came after the hole near its end.
  Log log;
  uint32_t at = 0;
  while (at + 64 <= kBlocks - 200) at += log.b.record(at, 1, xlog::make_lsn(1, 0), trans_data(32256), 5);
  const uint32_t hole = at;
  while (at + 64 <= kBlocks) at += log.b.record(at, 1, xlog::make_lsn(1, 0), trans_data(32256), 5);
  for (uint32_t b = hole; b < hole + 64; b++) log.b.stamp(b, 0);
  log.b.record(0, 2, xlog::make_lsn(1, hole), trans_data(4096), 2);
  xlog::LogEnds e;
  REQUIRE(log.ends(&e) == 0);
  CHECK(e.head_block == hole);
  CHECK(e.head_cycle == 1);
  CHECK(e.last_lsn == xlog::make_lsn(1, hole - 64));
}

TEST_CASE("log ends: a torn record (bad CRC) near the head is dropped with every record after it", "[log]") {
  Log log;
  uint32_t at = log.b.record(0, 1, xlog::make_lsn(1, 0), LogBuilder::unmount(), 1);
  at += log.b.record(at, 1, xlog::make_lsn(1, 2), trans_data(4096), 2);
  const uint32_t torn = at;
  at += log.b.record(at, 1, xlog::make_lsn(1, 2), trans_data(32256), 4);
  at += log.b.record(at, 1, xlog::make_lsn(1, 2), trans_data(4096), 2);
  *log.dev.at(size_t{torn + 5} * 512 + 100) ^= std::byte{1};
  xlog::LogEnds e;
  REQUIRE(log.ends(&e) == 0);
  CHECK(e.head_block == torn);
  CHECK(e.torn == 2);
  CHECK(e.last_lsn == xlog::make_lsn(1, 2));
}

TEST_CASE("log ends: cycle numbers no sequence of writes leaves are corruption", "[log]") {
  Log log;
  uint32_t at = log.b.record(0, 3, xlog::make_lsn(3, 0), LogBuilder::unmount(), 1);
  for (uint32_t b = at; b < kBlocks; b++) log.b.stamp(b, 2);
  log.b.stamp(at + 10, GENERATE(7u, 0u));
  xlog::LogEnds e;
  std::string why;
  CHECK(log.ends(&e, &why) == EUCLEAN);
  CHECK(why.find("log block " + std::to_string(at + 10)) != std::string::npos);
}

TEST_CASE("log ends: a last record naming a tail beyond itself is corruption", "[log]") {
  Log log;
  uint32_t at = log.b.record(0, 1, xlog::make_lsn(1, 0), LogBuilder::unmount(), 1);
  log.b.record(at, 1, xlog::make_lsn(1, 500), trans_data(1024), 2);
  xlog::LogEnds e;
  std::string why;
  CHECK(log.ends(&e, &why) == EUCLEAN);
  CHECK(why.find("tail") != std::string::npos);
}

TEST_CASE("log record: extended headers carry the cycle slots beyond 32 KiB and unstamping gives the data back", "[log]") {
  Log log;
  std::vector<std::byte> data(100 * 1024);
  for (size_t i = 0; i < data.size(); i++) data[i] = static_cast<std::byte>(i * 13 + 7);
  const uint32_t n = log.b.record(0, 1, xlog::make_lsn(1, 0), data, 1, 131072);
  xlog::RecordHeader h;
  std::string why;
  std::vector<std::byte> rec(size_t{n} * 512);
  REQUIRE(xlog::LogReader(log.dev, 0, kBlocks).read(0, n, rec.data()) == 0);
  REQUIRE(xlog::decode_record_header(rec, 0, kBlocks, kUuid, &h, &why) == 0);
  CHECK(h.header_blocks() == 4);
  CHECK(h.blocks() == n);
  CHECK(h.crc == xlog::record_crc(h, rec));
  xlog::unstamp_record(h, rec);
  CHECK(std::memcmp(rec.data() + 4 * 512, data.data(), data.size()) == 0);

  SECTION("a header of another filesystem or a wrong LSN is refused") {
    bc::Uuid other = kUuid;
    other[0] ^= 1;
    CHECK(xlog::decode_record_header(rec, 0, kBlocks, other, &h, &why) == EUCLEAN);
    CHECK(xlog::decode_record_header(rec, 8, kBlocks, kUuid, &h, &why) == EUCLEAN);
  }
}

}  // namespace xfsfuse::fs::test
