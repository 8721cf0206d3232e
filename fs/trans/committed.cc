// fs/trans/committed.cc — what a committed transaction hands the log of each
// buffer: the bytes the log formatter can read, not the whole buffer (a
// create in a directory of 64 KiB blocks changes a few hundred bytes of each
// block it touches; copying the blocks whole at every commit was most of
// what the log cost per operation: docs/performance.md "Two copies too
// many"; the rules are docs/log.md's "What CommittedTrans carries").
#include <algorithm>
#include <cstring>

#include "fs/format/log.h"
#include "fs/trans/trans.h"

namespace xfsfuse::fs {

namespace {

using Spans = CommittedTrans::Buf::Spans;

size_t span_bytes(const Spans& s) {
  size_t n = 0;
  for (auto [from, to] : s) n += to - from;
  return n;
}

// Copies the bytes of every span of `src` (held one after another in `from`)
// into `dst`, which holds the spans `dst_spans` one after another; each
// span of src lies inside one span of dst_spans.
void place(const Spans& src, const std::byte* from, const Spans& dst_spans, std::byte* dst) {
  size_t d = 0, d_at = 0;  // the dst span looked at and where its bytes start in dst
  for (auto [lo, hi] : src) {
    while (dst_spans[d].second < hi) d_at += dst_spans[d].second - dst_spans[d].first, d++;
    std::memcpy(dst + d_at + (lo - dst_spans[d].first), from, hi - lo);
    from += hi - lo;
  }
}

// Whether every span of `inner` lies inside one span of `outer` (both
// sorted and merged, as keep() makes them).
bool covers(const Spans& outer, const Spans& inner) {
  auto at = outer.begin();
  for (auto [lo, hi] : inner) {
    at = std::lower_bound(at, outer.end(), hi, [](const auto& sp, size_t v) { return sp.second < v; });
    if (at == outer.end() || at->first > lo) return false;
  }
  return true;
}

}  // namespace

Spans merge_spans(const Spans& a, const Spans& b) {
  Spans out;
  out.reserve(a.size() + b.size());
  size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    const auto& s = (j == b.size() || (i < a.size() && a[i].first <= b[j].first)) ? a[i++] : b[j++];
    if (!out.empty() && s.first <= out.back().second)
      out.back().second = std::max(out.back().second, s.second);
    else
      out.push_back(s);
  }
  return out;
}

void add_span(Spans& s, size_t from, size_t to) {
  // The first span that ends at or after `from` (it may touch or overlap
  // the new one); every span from there that starts at or before `to` merges.
  auto first = std::lower_bound(s.begin(), s.end(), from, [](const auto& sp, size_t v) { return sp.second < v; });
  auto last = first;
  while (last != s.end() && last->first <= to) ++last;
  if (first == last) {
    s.insert(first, {from, to});
    return;
  }
  first->first = std::min(first->first, from);
  first->second = std::max(std::prev(last)->second, to);
  s.erase(std::next(first), last);
}

void CommittedTrans::Buf::keep(std::span<const std::byte> all, uint32_t inodesize) {
  kept.clear();
  data.clear();
  if (ranges.empty()) return;  // ordered, nothing logged: no bytes
  if (maps.size() > 1 && XD_BLFT_IS_DIR(blft)) {
    data.assign(all.begin(), all.end());
    return;
  }
  const size_t grain = blft == XD_BLFT_DINO ? inodesize : XD_BLF_CHUNK;
  for (auto [from, to] : ranges) {
    const size_t lo = from / grain * grain, hi = std::min(all.size(), (to + grain - 1) / grain * grain);
    if (!kept.empty() && lo <= kept.back().second)
      kept.back().second = std::max(kept.back().second, hi);
    else
      kept.emplace_back(lo, hi);
  }
  if (kept.size() == 1 && kept[0].first == 0 && kept[0].second == all.size()) kept.clear();
  if (kept.empty()) {
    data.assign(all.begin(), all.end());
    return;
  }
  data.resize(span_bytes(kept));
  std::byte* at = data.data();
  for (auto [lo, hi] : kept) {
    std::memcpy(at, all.data() + lo, hi - lo);
    at += hi - lo;
  }
}

std::span<const std::byte> CommittedTrans::Buf::bytes(size_t off, size_t len) const {
  if (kept.empty()) return off <= data.size() && len <= data.size() - off ? std::span(data).subspan(off, len)
                                                                        : std::span<const std::byte>{};
  size_t at = 0;
  for (auto [lo, hi] : kept) {
    if (off >= lo && off + len <= hi) return std::span(data).subspan(at + (off - lo), len);
    at += hi - lo;
  }
  return {};
}

void CommittedTrans::Buf::overlay(Buf&& newer) {
  ordered = ordered || newer.ordered;
  blft = newer.blft;
  ops = newer.ops;
  if (newer.ranges.empty()) return;  // ordered only: no bytes of its own
  if (ranges.empty()) {
    ranges = std::move(newer.ranges);
    kept = std::move(newer.kept);
    data = std::move(newer.data);
    return;
  }
  // A checkpoint folds hundreds of commits into a hot buffer (an AGI, a
  // directory's leaf), each with a span or two: those go in place, where a
  // merge would build the whole list again every time.
  if (newer.ranges.size() <= 4)
    for (auto [from, to] : newer.ranges) add_span(ranges, from, to);
  else
    ranges = merge_spans(ranges, newer.ranges);
  if (newer.kept.empty()) {  // newer is whole
    kept.clear();
    data = std::move(newer.data);
  } else if (kept.empty()) {  // this is whole: newer's spans over it
    place(newer.kept, newer.data.data(), {{0, data.size()}}, data.data());
  } else if (covers(kept, newer.kept)) {  // newer's chunks are all kept here already (a hot buffer): in place
    place(newer.kept, newer.data.data(), kept, data.data());
  } else {
    Spans all = merge_spans(kept, newer.kept);
    std::vector<std::byte> merged(span_bytes(all));
    place(kept, data.data(), all, merged.data());
    place(newer.kept, newer.data.data(), all, merged.data());
    kept = std::move(all);
    data = std::move(merged);
  }
}

}  // namespace xfsfuse::fs
