// Recovery's reading of the log (fs/log/parse.h) on synthetic logs:
// transactions put together from ops grouped by tid, regions split across
// records, transactions without a commit dropped, ops of transactions that
// began before the tail skipped, and a CRC mismatch refused.
#include <catch2/catch.hpp>
#include <cerrno>
#include <cstring>
#include <string>

#include "fs/log/ends.h"
#include "fs/log/parse.h"
#include "tests/fs/log_test_util.h"

namespace xfsfuse::fs::test {
namespace {

constexpr uint32_t kBlocks = 1024;
const bc::Uuid kUuid{9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6};
constexpr uint8_t kTrans = XD_LOG_CLIENT_TRANSACTION;

std::vector<std::byte> host_words(std::initializer_list<uint32_t> words) {
  std::vector<std::byte> b(words.size() * 4);
  size_t i = 0;
  for (uint32_t w : words) std::memcpy(b.data() + 4 * i++, &w, 4);
  return b;
}
// A transaction header region: TRAN, type 40, tid, regions.
std::vector<std::byte> trans_header(uint32_t tid, uint32_t regions) { return host_words({0x5452414e, 40, tid, regions}); }
// An item's first region: type, region count, then `extra` bytes of value v.
std::vector<std::byte> item_first(uint16_t type, uint16_t size, size_t extra, uint8_t v) {
  std::vector<std::byte> b(4 + extra, std::byte{v});
  std::memcpy(b.data(), &type, 2);
  std::memcpy(b.data() + 2, &size, 2);
  return b;
}
std::vector<std::byte> bytes(size_t n, uint8_t v) { return std::vector<std::byte>(n, std::byte{v}); }
std::vector<std::byte> cat(std::initializer_list<std::vector<std::byte>> parts) {
  std::vector<std::byte> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

struct Log {
  MemDevice dev{size_t{kBlocks} * 512};
  LogBuilder b{dev, kBlocks, kUuid};
  std::vector<xlog::LogTransaction> got;
  xlog::ParseStats stats;
  std::string why;
  int parse() {
    xlog::LogEnds e;
    const xlog::LogReader r(dev, 0, kBlocks);
    if (int err = xlog::find_log_ends(r, kUuid, &e, &why)) return err;
    got.clear();
    return xlog::parse_log(r, kUuid, e, [&](xlog::LogTransaction&& t) {
      got.push_back(std::move(t));
      return 0;
    }, &stats, &why);
  }
};

}  // namespace

TEST_CASE("log parse: ops grouped by tid make transactions, a region cut by a record is joined", "[log]") {
  Log log;
  uint32_t at = log.b.record(0, 1, xlog::make_lsn(1, 0), LogBuilder::unmount(), 1);
  const uint32_t first = at;
  // Record 1: A starts, its header, a buffer item (2 regions) and the first
  // part of an inode item's second region; B starts and logs one item.
  const auto rec1 = cat({LogBuilder::op_with(0xA, kTrans, XD_LOG_OP_START, {}),
                         LogBuilder::op_with(0xA, kTrans, 0, trans_header(0xA, 4)),
                         LogBuilder::op_with(0xB, kTrans, XD_LOG_OP_START, {}),
                         LogBuilder::op_with(0xA, kTrans, 0, item_first(0x123c, 2, 20, 1)),
                         LogBuilder::op_with(0xA, kTrans, 0, bytes(256, 2)),
                         LogBuilder::op_with(0xB, kTrans, 0, trans_header(0xB, 1)),
                         LogBuilder::op_with(0xB, kTrans, 0, item_first(0x123f, 1, 24, 3)),
                         LogBuilder::op_with(0xA, kTrans, 0, item_first(0x123b, 2, 52, 4)),
                         LogBuilder::op_with(0xA, kTrans, XD_LOG_OP_CONTINUE, bytes(100, 5))});
  at += log.b.record(at, 1, xlog::make_lsn(1, first), rec1, 9);
  // Record 2: the rest of that region, A commits, B commits; C starts and
  // never commits.
  const auto rec2 = cat({LogBuilder::op_with(0xA, kTrans, XD_LOG_OP_WAS_CONT | XD_LOG_OP_END, bytes(76, 6)),
                         LogBuilder::op_with(0xA, kTrans, XD_LOG_OP_COMMIT, {}),
                         LogBuilder::op_with(0xB, kTrans, XD_LOG_OP_COMMIT, {}),
                         LogBuilder::op_with(0xC, kTrans, XD_LOG_OP_START, {}),
                         LogBuilder::op_with(0xC, kTrans, 0, trans_header(0xC, 1))});
  log.b.record(at, 1, xlog::make_lsn(1, first), rec2, 5);
  const int rc = log.parse();
  INFO(log.why);
  REQUIRE(rc == 0);
  REQUIRE(log.got.size() == 2);
  const xlog::LogTransaction& a = log.got[0];
  CHECK(a.tid == 0xA);
  CHECK(a.lsn == xlog::make_lsn(1, first));
  CHECK(a.commit_lsn == xlog::make_lsn(1, at));
  CHECK(a.type == 40);
  CHECK(a.num_items == 4);
  REQUIRE(a.items.size() == 2);
  CHECK(a.items[0].type == 0x123c);
  REQUIRE(a.items[0].regions.size() == 2);
  CHECK(a.items[0].regions[1] == bytes(256, 2));
  CHECK(a.items[1].type == 0x123b);
  REQUIRE(a.items[1].regions.size() == 2);
  CHECK(a.items[1].regions[0].size() == 56);
  CHECK(a.items[1].regions[1] == cat({bytes(100, 5), bytes(76, 6)}));  // joined across the records
  CHECK(log.stats.uncommitted == 1);
  CHECK(log.stats.committed == 2);
  CHECK(log.stats.records == 2);

  SECTION("B's item count is checked at its commit") {
    REQUIRE(log.got[1].items.size() == 1);
    CHECK(log.got[1].items[0].type == 0x123f);
    CHECK(log.got[1].items[0].regions[0].size() == 28);
  }
}

TEST_CASE("log parse: ops of a transaction that began before the tail are skipped", "[log]") {
  Log log;
  uint32_t at = log.b.record(0, 1, xlog::make_lsn(1, 0), LogBuilder::unmount(), 1);
  const uint32_t tail = at;
  // This record's tail is itself: the start of transaction 7 lies before it.
  at += log.b.record(at, 1, xlog::make_lsn(1, tail),
                     cat({LogBuilder::op_with(7, kTrans, 0, item_first(0x123c, 1, 8, 1)),
                          LogBuilder::op_with(7, kTrans, XD_LOG_OP_COMMIT, {}),
                          LogBuilder::op_with(8, kTrans, XD_LOG_OP_START, {}),
                          LogBuilder::op_with(8, kTrans, 0, trans_header(8, 1)),
                          LogBuilder::op_with(8, kTrans, 0, item_first(0x123c, 1, 8, 1)),
                          LogBuilder::op_with(8, kTrans, XD_LOG_OP_COMMIT, {})}),
                     6);
  REQUIRE(log.parse() == 0);
  REQUIRE(log.got.size() == 1);
  CHECK(log.got[0].tid == 8);
  CHECK(log.stats.ops_before_tail == 2);
}

TEST_CASE("log parse: bad transactions and records are corruption", "[log]") {
  Log log;
  uint32_t at = log.b.record(0, 1, xlog::make_lsn(1, 0), LogBuilder::unmount(), 1);
  const uint32_t tail = at;
  SECTION("an item that commits short of its regions") {
    log.b.record(at, 1, xlog::make_lsn(1, tail),
                 cat({LogBuilder::op_with(1, kTrans, XD_LOG_OP_START, {}), LogBuilder::op_with(1, kTrans, 0, trans_header(1, 3)),
                      LogBuilder::op_with(1, kTrans, 0, item_first(0x123c, 3, 8, 1)),
                      LogBuilder::op_with(1, kTrans, XD_LOG_OP_COMMIT, {})}),
                 4);
    CHECK(log.parse() == EUCLEAN);
    CHECK(log.why.find("1 of 3 regions") != std::string::npos);
  }
  SECTION("no transaction header") {
    log.b.record(at, 1, xlog::make_lsn(1, tail),
                 cat({LogBuilder::op_with(1, kTrans, XD_LOG_OP_START, {}), LogBuilder::op_with(1, kTrans, 0, bytes(16, 0)),
                      LogBuilder::op_with(1, kTrans, 0, item_first(0x123c, 1, 8, 1)),
                      LogBuilder::op_with(1, kTrans, XD_LOG_OP_COMMIT, {})}),
                 4);
    CHECK(log.parse() == EUCLEAN);
    CHECK(log.why.find("transaction header") != std::string::npos);
  }
  SECTION("a record whose CRC does not match, before the last one (not a torn write)") {
    const uint32_t bad = at;
    at += log.b.record(at, 1, xlog::make_lsn(1, tail), bytes(2048, 0), 0);
    for (int i = 0; i < 9; i++) at += log.b.record(at, 1, xlog::make_lsn(1, tail), bytes(1024, 0), 0);
    *log.dev.at(size_t{bad + 2} * 512 + 7) ^= std::byte{0x40};
    CHECK(log.parse() == EUCLEAN);
    CHECK(log.why.find("CRC mismatch") != std::string::npos);
  }
  SECTION("an op longer than its record") {
    auto data = LogBuilder::op_with(1, kTrans, XD_LOG_OP_START, {});
    store_be(data.data() + 4, 4, 4096);
    log.b.record(at, 1, xlog::make_lsn(1, tail), data, 1);
    CHECK(log.parse() == EUCLEAN);
    CHECK(log.why.find("past its end") != std::string::npos);
  }
}

}  // namespace xfsfuse::fs::test
