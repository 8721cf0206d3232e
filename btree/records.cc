#include "btree/records.h"

#include "buffer_cache/buf_ops.h"

namespace xfsfuse::btree {

namespace {

constexpr uint64_t mask(unsigned bits) { return (uint64_t{1} << bits) - 1; }

}  // namespace

void store_be(std::byte* p, unsigned n, uint64_t v) {
  for (unsigned i = 0; i < n; i++) p[i] = static_cast<std::byte>(v >> (8 * (n - 1 - i)));
}

void encode_alloc_rec(const AllocRec& r, std::byte* out) {
  store_be(out, 4, r.startblock);
  store_be(out + 4, 4, r.blockcount);
}

AllocRec decode_alloc_rec(const std::byte* in) {
  return AllocRec{static_cast<uint32_t>(bc::load_be(in, 4)), static_cast<uint32_t>(bc::load_be(in + 4, 4))};
}

void encode_inobt_rec(const InobtRec& r, std::byte* out) {
  store_be(out, 4, r.startino);
  store_be(out + 4, 2, r.holemask);
  store_be(out + 6, 1, r.count);
  store_be(out + 7, 1, r.freecount);
  store_be(out + 8, 8, r.free);
}

InobtRec decode_inobt_rec(const std::byte* in) {
  return InobtRec{static_cast<uint32_t>(bc::load_be(in, 4)), static_cast<uint16_t>(bc::load_be(in + 4, 2)),
                  static_cast<uint8_t>(in[6]), static_cast<uint8_t>(in[7]), bc::load_be(in + 8, 8)};
}

// l0 = unwritten:1 | startoff:54 | startblock's high 9 bits;
// l1 = startblock's low 43 bits | blockcount:21.
void encode_bmbt_rec(const BmbtRec& r, std::byte* out) {
  const uint64_t sb = r.startblock & mask(52);
  const uint64_t l0 = (uint64_t{r.unwritten} << 63) | ((r.startoff & mask(54)) << 9) | (sb >> 43);
  const uint64_t l1 = ((sb & mask(43)) << 21) | (r.blockcount & mask(21));
  store_be(out, 8, l0);
  store_be(out + 8, 8, l1);
}

BmbtRec decode_bmbt_rec(const std::byte* in) {
  const uint64_t l0 = bc::load_be(in, 8), l1 = bc::load_be(in + 8, 8);
  return BmbtRec{(l0 >> 9) & mask(54), ((l0 & mask(9)) << 43) | (l1 >> 21), static_cast<uint32_t>(l1 & mask(21)),
                 (l0 >> 63) != 0};
}

}  // namespace xfsfuse::btree
