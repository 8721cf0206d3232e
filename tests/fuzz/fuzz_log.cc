// tests/fuzz/fuzz_log.cc — libFuzzer target: the log's head and tail
// (fs/log/ends.h: cycle scan, holes, incomplete and torn records), record
// decoding, CRC and unstamping (fs/log/record.h) and the reading of every
// record into transactions (fs/log/parse.h) over a log in memory.
//
// Input: byte 0 = flags (bit 0: before the search, give every block that
// starts with the record magic this target's UUID and, where its record
// fits before the log's end, a correct CRC, so the fuzzer gets past both
// checks), then the log's bytes: a log of max(64, ceil(bytes / 512)) blocks,
// at most 1024, zero-padded.  Beyond not crashing, the answer must make
// sense: head and tail inside the log, tail = head when clean, and the last
// record reads back (decodes, CRC computable, unstamps).
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "fs/log/ends.h"
#include "fs/log/parse.h"
#include "buffer_cache/overlay_device.h"
#include "fs/log/record.h"
#include "fs/log/recover.h"
#include "tests/fs/log_test_util.h"

namespace {

using namespace xfsfuse::fs;

constexpr uint32_t kMinBlocks = 64, kMaxBlocks = 1024;
const xfsfuse::bc::Uuid kUuid{0x58, 0x46, 0x53, 0x46, 0x55, 0x53, 0x45, 0x2d, 0x6c, 0x6f, 0x67, 0x66, 0x75, 0x7a, 0x7a, 0x21};

void check(bool ok) {
  if (!ok) std::abort();
}


// Flag bit 0: UUIDs and CRCs made right, records that wrap left as they are.
void fix_headers(test::MemDevice& dev, uint32_t blocks) {
  for (uint32_t b = 0; b < blocks; b++) {
    std::byte* blk = dev.at(size_t{b} * xlog::kBlock);
    if (!xlog::is_record_header(blk)) continue;
    std::memcpy(blk + offsetof(xd_log_rec_header, h_fs_uuid), kUuid.data(), kUuid.size());
    xlog::RecordHeader h;
    std::string why;
    if (xlog::decode_record_header({blk, xlog::kBlock}, b, blocks, kUuid, &h, &why) != 0) continue;
    if (b + h.blocks() > blocks) continue;
    const uint32_t crc = xlog::record_crc(h, {blk, size_t{h.blocks()} * xlog::kBlock});
    std::memcpy(blk + offsetof(xd_log_rec_header, h_crc), &crc, 4);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const bool fix = data[0] & 1;
  const size_t bytes = size - 1;
  const uint32_t blocks =
      std::clamp<uint32_t>(static_cast<uint32_t>((std::min<size_t>(bytes, size_t{kMaxBlocks} * 512) + 511) / 512),
                           kMinBlocks, kMaxBlocks);
  test::MemDevice dev(size_t{blocks} * xlog::kBlock);
  std::memcpy(dev.at(0), data + 1, std::min<size_t>(bytes, dev.size_bytes()));
  if (fix) fix_headers(dev, blocks);

  const xlog::LogReader r(dev, 0, blocks);
  xlog::LogEnds e;
  std::string why;
  if (xlog::find_log_ends(r, kUuid, &e, &why) != 0) {
    if (std::getenv("XFSFUSE_FUZZ_VERBOSE")) std::printf("log of %u blocks: %s\n", blocks, why.c_str());
    check(!why.empty());
    return 0;
  }
  if (std::getenv("XFSFUSE_FUZZ_VERBOSE"))
    std::printf("log of %u blocks: head %u cycle %u, tail %u, %s, %u incomplete, %u torn\n", blocks, e.head_block,
                e.head_cycle, e.tail_block(), e.empty ? "empty" : e.clean ? "clean" : "dirty", e.incomplete, e.torn);
  check(e.head_block < blocks && e.tail_block() < blocks);
  if (e.clean) check(e.tail_lsn == e.head_lsn());
  if (e.empty) return 0;
  // The last record reads back whole.
  const uint32_t last = xlog::lsn_block(e.last_lsn);
  check(last < blocks);
  std::vector<std::byte> hdr(xlog::kBlock);
  check(r.read(last, 1, hdr.data()) == 0);
  xlog::RecordHeader h;
  check(xlog::decode_record_header(hdr, last, blocks, kUuid, &h, &why) == 0);
  std::vector<std::byte> rec(size_t{h.blocks()} * xlog::kBlock);
  check(r.read(last, h.blocks(), rec.data()) == 0);
  (void)xlog::record_crc(h, rec);
  xlog::unstamp_record(h, rec);
  // Recovery's reading of every record from the tail to the head.
  xlog::ParseStats stats;
  const int err = xlog::parse_log(r, kUuid, e, [&](xlog::LogTransaction&& t) {
    for (const xlog::LogItem& i : t.items) check(!i.regions.empty() && i.regions.size() == i.size);
    return 0;
  }, &stats, &why);
  check(err == 0 || err == EUCLEAN);
  if (err == 0) check(stats.committed <= stats.ops);
  if (err == 0 && !e.clean) {
    static const Superblock sb = test::small_test_sb(2048, kUuid);  // zeroes under an overlay per input
    static test::MemDevice fs_dev(size_t{2048} * 4096);
    xfsfuse::bc::OverlayDevice overlay(fs_dev);
    xlog::RecoveryStats rs;
    std::string rwhy;
    const int rerr = xlog::replay_log(overlay, sb, r, e, &rs, &rwhy);
    check(rerr == 0 || ((rerr == EUCLEAN || rerr == EOPNOTSUPP || rerr == EIO) && !rwhy.empty()));
    if (std::getenv("XFSFUSE_FUZZ_VERBOSE"))
      std::printf("  replay: %s\n", rerr ? rwhy.c_str() : rs.summary().c_str());
  }
  if (std::getenv("XFSFUSE_FUZZ_VERBOSE"))
    std::printf("  %s: %u records, %u transactions committed, %u not\n", err ? why.c_str() : "read", stats.records,
                stats.committed, stats.uncommitted);
  return 0;
}
