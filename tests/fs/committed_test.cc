// What a commit hands the log of each buffer (fs/trans/committed.cc): only
// the chunks (or inodes) its changes touch, kept bytes equal to the buffer's,
// and a checkpoint of many commits to one buffer (fs/log/checkpoint.h) that
// holds the newest bytes of every chunk any of them changed — checked
// against a model buffer, then through the log formatter's buffer items.
#include <catch2/catch.hpp>
#include <algorithm>
#include <cstring>
#include <random>

#include "fs/format/log.h"
#include "fs/log/checkpoint.h"
#include "fs/log/format.h"
#include "fs/trans/trans.h"
#include "tests/fs/log_test_util.h"

namespace xfsfuse::fs::test {
namespace {

using Bytes = std::vector<std::byte>;

Bytes random_bytes(size_t n, std::mt19937& rng) {
  Bytes v(n);
  for (auto& b : v) b = std::byte(static_cast<uint8_t>(rng()));
  return v;
}

CommittedTrans::Buf committed(const Bytes& all, CommittedTrans::Buf::Spans ranges, uint16_t blft, uint32_t segments = 1) {
  CommittedTrans::Buf b;
  const uint32_t sectors = static_cast<uint32_t>(all.size() / 512 / segments);
  for (uint32_t i = 0; i < segments; i++) b.maps.push_back({uint64_t{5000} + 100 * i, sectors});
  b.ranges = std::move(ranges);
  b.blft = blft;
  b.keep(all, 512);
  return b;
}

// The spans sorted, and overlapping or touching ones joined: as a
// transaction records its ranges (the model, not add_span or merge_spans).
CommittedTrans::Buf::Spans sorted_merged(CommittedTrans::Buf::Spans spans) {
  std::sort(spans.begin(), spans.end());
  CommittedTrans::Buf::Spans out;
  for (auto r : spans)
    if (!out.empty() && r.first <= out.back().second)
      out.back().second = std::max(out.back().second, r.second);
    else
      out.push_back(r);
  return out;
}

bool kept_equals(const CommittedTrans::Buf& b, const Bytes& all, size_t off, size_t len) {
  std::span<const std::byte> got = b.bytes(off, len);
  return got.size() == len && std::memcmp(got.data(), all.data() + off, len) == 0;
}

}  // namespace

TEST_CASE("committed buffers: a commit keeps the chunks its changes touch and no more", "[log]") {
  std::mt19937 rng(7);
  const Bytes all = random_bytes(65536, rng);

  // Two changes in one chunk, one across a chunk boundary, one far off.
  CommittedTrans::Buf b = committed(all, {{10, 12}, {100, 104}, {250, 260}, {40000, 40001}}, XD_BLFT_DIR_DATA);
  CHECK(b.kept == CommittedTrans::Buf::Spans{{0, 384}, {39936, 40064}});
  CHECK(b.data.size() == 384 + 128);
  CHECK(kept_equals(b, all, 0, 384));
  CHECK(kept_equals(b, all, 39936, 128));
  CHECK(kept_equals(b, all, 300, 20));
  CHECK(b.bytes(384, 128).empty());    // not kept
  CHECK(b.bytes(300, 100).empty());    // runs past a kept span
  CHECK(b.bytes(65500, 100).empty());  // past the buffer

  // An inode cluster keeps whole inodes (512 bytes here).
  CommittedTrans::Buf c = committed(Bytes(all.begin(), all.begin() + 16384), {{1100, 1104}}, XD_BLFT_DINO);
  CHECK(c.kept == CommittedTrans::Buf::Spans{{1024, 1536}});
  CHECK(kept_equals(c, all, 1024, 512));

  // Changes covering the whole buffer, and a directory block of several
  // extents (its CRC is recomputed over all of it), are kept whole.
  CommittedTrans::Buf w = committed(Bytes(all.begin(), all.begin() + 4096), {{0, 4096}}, XD_BLFT_BTREE);
  CHECK(w.kept.empty());
  CHECK(w.data == Bytes(all.begin(), all.begin() + 4096));
  CommittedTrans::Buf seg = committed(all, {{10, 12}}, XD_BLFT_DIR_DATA, 16);
  CHECK(seg.kept.empty());
  CHECK(seg.data == all);
  CHECK(kept_equals(seg, all, 60000, 5000));
}

TEST_CASE("committed buffers: a checkpoint of many commits holds each changed chunk's newest bytes", "[log]") {
  const Superblock sb = small_test_sb(4096, bc::Uuid{1, 2, 3, 4});
  for (uint32_t seed = 1; seed <= 20; seed++) {
    std::mt19937 rng(seed);
    Bytes model = random_bytes(65536, rng);
    xlog::CheckpointBuilder cb;
    CommittedTrans::Buf::Spans changed;
    const int commits = 1 + static_cast<int>(rng() % 30);
    for (int t = 0; t < commits; t++) {
      // Some commits change the whole block (kept whole), most a few bytes;
      // with even seeds none whole and all in the first 2 KiB, as a hot
      // buffer's header and first entries, so that later commits touch only
      // chunks the checkpoint holds already (overlay in place).
      const bool hot = seed % 2 == 0;
      const size_t span = hot ? 2048 : model.size();
      CommittedTrans::Buf::Spans ranges;
      if (!hot && rng() % 8 == 0) {
        ranges = {{0, model.size()}};
      } else {
        for (int k = 1 + static_cast<int>(rng() % 4); k > 0; k--) {
          const size_t off = rng() % span, len = 1 + rng() % 300;
          ranges.emplace_back(off, std::min(model.size(), off + len));
        }
        ranges = sorted_merged(std::move(ranges));
      }
      for (auto [from, to] : ranges)
        for (size_t i = from; i < to; i++) model[i] = std::byte(static_cast<uint8_t>(rng()));
      changed.insert(changed.end(), ranges.begin(), ranges.end());
      CommittedTrans ct;
      ct.bufs.push_back(committed(model, ranges, XD_BLFT_DIR_DATA));
      REQUIRE(cb.fits(ct));
      cb.add(std::move(ct));
    }
    CommittedTrans ckpt = cb.take();
    REQUIRE(ckpt.bufs.size() == 1);
    const CommittedTrans::Buf& b = ckpt.bufs[0];
    INFO("seed " << seed << ", " << commits << " commits");
    for (auto [from, to] : changed) {
      const size_t lo = from / XD_BLF_CHUNK * XD_BLF_CHUNK, hi = (to + XD_BLF_CHUNK - 1) / XD_BLF_CHUNK * XD_BLF_CHUNK;
      REQUIRE(kept_equals(b, model, lo, hi - lo));
    }
    // Its changed ranges are the union of every commit's, merged.
    CHECK(b.ranges == sorted_merged(changed));
    // The formatter's one buffer item carries the model's bytes for every
    // chunk its map sets.
    std::vector<xlog::LogOp> ops;
    std::string why;
    REQUIRE(xlog::format_trans(ckpt, sb, 1, xlog::make_lsn(1, 0), &ops, nullptr, &why) == 0);
    REQUIRE(ops.size() >= 4);
    xd_buf_log_format f{};
    std::memcpy(&f, ops[2].payload.data(), std::min(sizeof f, ops[2].payload.size()));
    REQUIRE(f.blf_type == XD_LI_BUF);
    size_t op = 3;
    for (size_t c = 0; c < 512;) {
      if (!(f.blf_data_map[c / 32] & (1u << (c % 32)))) {
        c++;
        continue;
      }
      size_t e = c;
      while (e < 512 && (f.blf_data_map[e / 32] & (1u << (e % 32)))) e++;
      REQUIRE(op < ops.size());
      CHECK(ops[op].payload == Bytes(model.begin() + static_cast<ptrdiff_t>(c * XD_BLF_CHUNK),
                                  model.begin() + static_cast<ptrdiff_t>(e * XD_BLF_CHUNK)));
      op++;
      c = e;
    }
    CHECK(op + 1 == ops.size());  // then the commit op
  }
}


TEST_CASE("committed buffers: add_span keeps a sorted, merged list as merge_spans makes it", "[log]") {
  using Spans = CommittedTrans::Buf::Spans;
  // A byte map is the model: the spans must cover exactly the bytes added,
  // as few spans as that takes (touching spans are one).
  for (unsigned seed = 1; seed <= 50; seed++) {
    std::mt19937 rng(seed);
    Spans s, merged;
    std::vector<bool> covered(600, false);
    for (int i = 0; i < 40; i++) {
      const size_t from = rng() % 560, to = from + 1 + rng() % 40;
      add_span(s, from, to);
      merged = merge_spans(merged, {{from, to}});
      for (size_t b = from; b < to; b++) covered[b] = true;
      INFO("seed " << seed << " add " << from << ".." << to);
      REQUIRE(s == merged);
      Spans want;
      for (size_t b = 0; b < covered.size(); b++) {
        if (!covered[b]) continue;
        if (!want.empty() && want.back().second == b)
          want.back().second = b + 1;
        else
          want.emplace_back(b, b + 1);
      }
      REQUIRE(s == want);
    }
  }
}

}  // namespace xfsfuse::fs::test
