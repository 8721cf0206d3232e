// The log writer's formatting and record packing (fs/log/format.h,
// fs/log/writer.h) read back by our own log reader and recovery, in memory:
// a record over 32 KiB (extended headers), a region split across records, a
// record that wraps the end of the log, a 16-extent directory block as 16
// buffer items, a freed buffer as a cancel item that recovery's first pass
// counts and that keeps an earlier copy of the buffer from being replayed.
#include <catch2/catch.hpp>
#include <cstring>

#include "fs/format/log.h"
#include "fs/log/ends.h"
#include "fs/log/format.h"
#include "fs/log/parse.h"
#include "fs/log/reader.h"
#include "fs/log/recover.h"
#include "fs/log/writer.h"
#include "tests/fs/log_test_util.h"

namespace xfsfuse::fs::test {
namespace {

const bc::Uuid kUuid{1, 2, 3, 4};

std::vector<std::byte> pattern(size_t n, unsigned seed) {
  std::vector<std::byte> v(n);
  for (size_t i = 0; i < n; i++) v[i] = std::byte(static_cast<uint8_t>(i * 7 + seed + (i >> 9)));
  return v;
}

// A log of n log blocks at byte 0 of dev.
struct MemLog {
  MemDevice& dev;
  uint32_t n;
  xlog::LogEnds ends() const {
    xlog::LogEnds e;
    std::string why;
    const int rc = xlog::find_log_ends(xlog::LogReader(dev, 0, n), kUuid, &e, &why);
    INFO(why);
    REQUIRE(rc == 0);
    return e;
  }
  std::vector<xlog::LogTransaction> parse(const xlog::LogEnds& e, xlog::ParseStats* st) const {
    std::vector<xlog::LogTransaction> out;
    std::string why;
    const int rc = xlog::parse_log(
        xlog::LogReader(dev, 0, n), kUuid, e,
        [&](xlog::LogTransaction&& t) {
          out.push_back(std::move(t));
          return 0;
        },
        st, &why);
    INFO(why);
    REQUIRE(rc == 0);
    return out;
  }
  xlog::Written write(const xlog::LogEnds& e, std::span<const xlog::LogOp> ops, uint32_t record_size = 32768) {
    xlog::LogPlace at;
    at.log_blocks = n;
    at.uuid = kUuid;
    at.head_block = e.head_block;
    at.head_cycle = e.head_cycle;
    at.prev_block = e.empty ? 0xffffffff : xlog::lsn_block(e.last_lsn);
    at.record_size = record_size;
    xlog::Written w;
    std::string why;
    const int rc = xlog::write_ops(dev, at, ops, &w, &why);
    INFO(why);
    REQUIRE(rc == 0);
    return w;
  }
};

// One transaction of a single one-region item holding payload.
std::vector<xlog::LogOp> one_region(uint32_t tid, std::vector<std::byte> payload) {
  const uint16_t ts[2] = {0x4242, 1};  // an item type no one replays, one region
  std::memcpy(payload.data(), ts, 4);
  std::vector<xlog::LogOp> ops;
  ops.push_back({tid, XD_LOG_CLIENT_TRANSACTION, XD_LOG_OP_START, {}});
  const uint32_t th[4] = {kLogTransMagic, 40, tid, 1};
  std::vector<std::byte> hdr(16);
  std::memcpy(hdr.data(), th, 16);
  ops.push_back({tid, XD_LOG_CLIENT_TRANSACTION, 0, hdr});
  ops.push_back({tid, XD_LOG_CLIENT_TRANSACTION, 0, payload});
  ops.push_back({tid, XD_LOG_CLIENT_TRANSACTION, XD_LOG_OP_COMMIT, {}});
  return ops;
}

void check_one(const std::vector<xlog::LogTransaction>& ts, uint32_t tid, const std::vector<std::byte>& payload) {
  REQUIRE(ts.size() == 1);
  CHECK(ts[0].tid == tid);
  CHECK(ts[0].num_items == 1);
  REQUIRE(ts[0].items.size() == 1);
  REQUIRE(ts[0].items[0].regions.size() == 1);
  CHECK(ts[0].items[0].regions[0] == payload);
}

}  // namespace

TEST_CASE("log write: a record over 32 KiB has extended headers and reads back", "[log]") {
  MemDevice dev(2048 * 512);
  MemLog log{dev, 2048};
  auto payload = pattern(200000, 3);
  auto ops = one_region(7, payload);
  std::memcpy(payload.data(), ops[2].payload.data(), 4);
  const xlog::Written w = log.write(log.ends(), ops, 262144);
  CHECK(w.records == 1);
  const xlog::LogEnds e = log.ends();
  CHECK_FALSE(e.clean);
  CHECK(e.head_block == w.head_block);
  CHECK(w.blocks == 8 + (200000 + 4 * 12 + 16 + 511) / 512);
  xlog::ParseStats st;
  check_one(log.parse(e, &st), 7, payload);
  CHECK(st.records == 1);
}

TEST_CASE("log write: a region split across records is put back together", "[log]") {
  MemDevice dev(2048 * 512);
  MemLog log{dev, 2048};
  auto ops = one_region(9, pattern(90000, 5));
  const auto payload = ops[2].payload;
  const xlog::Written w = log.write(log.ends(), ops);
  CHECK(w.records == 3);  // 32256 data bytes a record
  xlog::ParseStats st;
  check_one(log.parse(log.ends(), &st), 9, payload);
  CHECK(st.records == 3);
  CHECK(st.ops == 6);  // start, header, the region in 3 parts, commit
}

TEST_CASE("log write: a record wrapping the end of the log carries the next cycle after the wrap", "[log]") {
  MemDevice dev(256 * 512);
  MemLog log{dev, 256};
  const xlog::Written a = log.write(log.ends(), one_region(1, pattern(100000, 1)));  // about 200 blocks
  const xlog::LogEnds e1 = log.ends();
  REQUIRE(e1.head_block == a.head_block);
  REQUIRE(e1.head_block > 190);
  auto ops = one_region(2, pattern(40000, 2));
  const auto payload = ops[2].payload;
  xlog::LogPlace at;
  at.log_blocks = 256;
  at.uuid = kUuid;
  at.head_block = e1.head_block;
  at.head_cycle = e1.head_cycle;
  at.prev_block = xlog::lsn_block(e1.last_lsn);
  at.tail_lsn = 0;  // the first record of the write is the tail: the first transaction is done
  xlog::Written b;
  std::string why;
  REQUIRE(xlog::write_ops(dev, at, ops, &b, &why) == 0);
  CHECK(b.head_cycle == 2);
  CHECK(b.head_block < e1.head_block);
  CHECK(xlog::block_cycle(dev.at(0)) == 2);
  const xlog::LogEnds e2 = log.ends();
  CHECK(e2.head_cycle == 2);
  CHECK(e2.head_block == b.head_block);
  xlog::ParseStats st;
  check_one(log.parse(e2, &st), 2, payload);

  // A write that would pass the tail is refused.
  at.head_block = e2.head_block;
  at.head_cycle = 2;
  at.tail_lsn = e2.tail_lsn;
  CHECK(xlog::write_ops(dev, at, one_region(3, pattern(150000, 3)), &b, &why) == ENOSPC);
}

TEST_CASE("log format: a directory block in 16 extents is 16 buffer items", "[log]") {
  const Superblock sb = small_test_sb(4096, kUuid);
  CommittedTrans ct;
  CommittedTrans::Buf b;
  for (uint32_t i = 0; i < 16; i++) b.maps.push_back({uint64_t{1000} + 40 * i, 8});
  b.ranges = {{200, 300}, {40000, 40010}};
  b.blft = XD_BLFT_DIR_DATA;
  b.data = pattern(65536, 9);
  ct.bufs.push_back(b);
  std::vector<xlog::LogOp> ops;
  xlog::FormatStats st;
  std::string why;
  REQUIRE(xlog::format_trans(ct, sb, 5, xlog::make_lsn(1, 0), &ops, &st, &why) == 0);
  CHECK(st.buf_items == 16);
  CHECK(st.regions == 16 + 16 + 1);  // formats, one run each, the 40000 run apart

  MemDevice dev(2048 * 512);
  MemLog log{dev, 2048};
  log.write(log.ends(), ops);
  xlog::ParseStats ps;
  const auto ts = log.parse(log.ends(), &ps);
  REQUIRE(ts.size() == 1);
  REQUIRE(ts[0].items.size() == 16);
  for (uint32_t i = 0; i < 16; i++) {
    const xlog::LogItem& it = ts[0].items[i];
    CHECK(it.type == XD_LI_BUF);
    xd_buf_log_format f{};
    std::memcpy(&f, it.regions[0].data(), it.regions[0].size());
    CHECK(f.blf_blkno == int64_t(1000 + 40 * i));
    CHECK(f.blf_len == 8);
    CHECK((f.blf_flags >> XD_BLF_TYPE_SHIFT) == XD_BLFT_DIR_DATA);
    CHECK(f.blf_map_size == 1);  // 4 KiB: 32 chunks
    const size_t off = size_t{i} * 4096;
    // Chunk 0 of every segment; chunks 1 and 2 of the first for the range
    // 200..300; chunk 24 of segment 9 for 40000 (byte 3136 of it).
    if (i == 0) {
      CHECK(f.blf_data_map[0] == 0x7);
      CHECK(it.regions[1] == std::vector<std::byte>(b.data.begin(), b.data.begin() + 384));
    } else {
      CHECK(f.blf_data_map[0] == (i == 9 ? 0x01000001u : 0x1u));
      CHECK(it.regions.size() == (i == 9 ? 3u : 2u));
      CHECK(it.regions[1] == std::vector<std::byte>(b.data.begin() + off, b.data.begin() + off + it.regions[1].size()));
    }
  }
}

TEST_CASE("log format: a freed buffer is a cancel item that keeps its earlier copy from replaying", "[log]") {
  // A filesystem of 512 blocks, its log after it on the same device.
  const uint32_t fs_blocks = 512, log_blocks = 256;
  const Superblock sb = small_test_sb(fs_blocks, kUuid);
  const uint64_t log_start = uint64_t{fs_blocks} * 4096;
  MemDevice dev(log_start + log_blocks * 512);
  const uint64_t daddr = 800;  // some 4 KiB block of no known type
  std::memset(dev.at(daddr * 512), 0x11, 4096);

  CommittedTrans t1, t2;
  CommittedTrans::Buf b;
  b.maps = {{daddr, 8}};
  b.ranges = {{0, 4096}};
  b.data.assign(4096, std::byte{0xab});
  t1.bufs.push_back(b);
  CommittedTrans::Buf s;
  s.maps = {{daddr, 8}};
  s.stale = true;
  t2.bufs.push_back(s);

  xlog::LogPlace at;
  at.log_start = log_start;
  at.log_blocks = log_blocks;
  at.uuid = kUuid;
  std::string why;
  uint64_t tail = 0;
  for (const CommittedTrans* ct : {&t1, &t2}) {
    std::vector<xlog::LogOp> ops;
    xlog::FormatStats st;
    REQUIRE(xlog::format_trans(*ct, sb, ct == &t1 ? 1 : 2, xlog::make_lsn(at.head_cycle, at.head_block), &ops, &st,
                               &why) == 0);
    CHECK(st.cancel_items == (ct == &t2 ? 1u : 0u));
    at.tail_lsn = tail;
    xlog::Written w;
    REQUIRE(xlog::write_ops(dev, at, ops, &w, &why) == 0);
    if (tail == 0) tail = w.first_lsn;
    at.prev_block = xlog::lsn_block(w.last_lsn);
    at.head_block = w.head_block;
    at.head_cycle = w.head_cycle;
  }
  const xlog::LogReader r(dev, log_start, log_blocks);
  xlog::LogEnds e;
  REQUIRE(xlog::find_log_ends(r, kUuid, &e, &why) == 0);
  REQUIRE_FALSE(e.clean);
  CHECK(e.tail_lsn == xlog::make_lsn(1, 0));
  xlog::RecoveryStats rs;
  const int rc = xlog::replay_log(dev, sb, r, e, &rs, &why);
  INFO(why);
  REQUIRE(rc == 0);
  CHECK(rs.transactions == 2);
  CHECK(rs.cancels == 1);
  CHECK(rs.buffers_cancelled == 1);
  CHECK(rs.buffers == 0);
  CHECK(*dev.at(daddr * 512) == std::byte{0x11});
}

}  // namespace xfsfuse::fs::test
