#include "fs/alloc/agf_tx.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "btree/sbtree.h"
#include "fs/format/ag.h"
#include "fs/format/endian.h"
#include "fs/mount.h"

namespace xfsfuse::fs {

namespace {

size_t offset_of(AgfField f) {
  switch (f) {
    case AgfField::kBnoRoot: return offsetof(xd_agf, agf_roots) + 0;
    case AgfField::kCntRoot: return offsetof(xd_agf, agf_roots) + 4;
    case AgfField::kBnoLevel: return offsetof(xd_agf, agf_levels) + 0;
    case AgfField::kCntLevel: return offsetof(xd_agf, agf_levels) + 4;
    case AgfField::kFlfirst: return offsetof(xd_agf, agf_flfirst);
    case AgfField::kFllast: return offsetof(xd_agf, agf_fllast);
    case AgfField::kFlcount: return offsetof(xd_agf, agf_flcount);
    case AgfField::kFreeblks: return offsetof(xd_agf, agf_freeblks);
    case AgfField::kLongest: return offsetof(xd_agf, agf_longest);
    case AgfField::kBtreeblks: return offsetof(xd_agf, agf_btreeblks);
  }
  return 0;
}

// The AGFL of agf's AG, joined; *slots points at its agbno array.
int read_agfl(AgfTx& agf, bc::BufHandle** h, std::byte** slots) {
  Mount& m = agf.trans().mount();
  const bc::DiskRange map{ag_header_daddr(m.sb(), agf.agno(), 3), static_cast<uint32_t>(m.sb().sectsize >> 9)};
  if (int e = agf.trans().read_buf({&map, 1}, &m.buf_ops().agfl(), bc::kAnyOwner, h)) return e;
  *slots = (*h)->data() + kAgflHeaderSize;
  return 0;
}

// Checks that flfirst, fllast and flcount describe one run of the ring.
int check_ring(AgfTx& agf, uint32_t size) {
  const uint32_t first = agf.get(AgfField::kFlfirst), last = agf.get(AgfField::kFllast),
                 count = agf.get(AgfField::kFlcount);
  const bool ok = first < size && last < size && count <= size &&
                  (count == 0 ? (last + 1) % size == first : (last + size - first) % size + 1 == count);
  if (ok) return 0;
  Mount& m = agf.trans().mount();
  return m.report_corruption("AGF", ag_header_daddr(m.sb(), agf.agno(), 1),
                             "AGFL ring flfirst " + std::to_string(first) + ", fllast " + std::to_string(last) +
                                 ", flcount " + std::to_string(count) + " in " + std::to_string(size) + " slots");
}

}  // namespace

int AgfTx::get(Transaction& tp, uint32_t agno, AgfTx* out, bool trylock) {
  Mount& m = tp.mount();
  if (agno >= m.sb().agcount) return EINVAL;
  // The in-core counters are read first: that reads the AGF shared, which
  // must happen before this thread holds it exclusively.
  PerAg* pag;
  if (int e = m.perag().get(agno, /*agf=*/true, &pag)) return e;
  const bc::DiskRange map{ag_header_daddr(m.sb(), agno, 1), static_cast<uint32_t>(m.sb().sectsize >> 9)};
  bc::BufHandle* h;
  if (int e = tp.read_buf({&map, 1}, &m.buf_ops().agf(), bc::kAnyOwner, &h, trylock ? unsigned{bc::kGetTrylock} : 0u))
    return e;
  tp.hold_agf(agno);
  out->tp_ = &tp;
  out->h_ = h;
  out->agno_ = agno;
  out->length_ = ag_length(m.sb(), agno);
  // The AG's in-core counters follow the committed AGF.  Hooked once per
  // transaction and AG (a second AgfTx of the same AG adds a harmless copy).
  tp.on_commit([pag, h] {
    AgfInfo a;
    decode_agf({h->data(), h->size()}, &a);
    pag->freeblks.store(a.freeblks, std::memory_order_relaxed);
    pag->longest.store(a.longest, std::memory_order_relaxed);
    pag->flcount.store(a.flcount, std::memory_order_relaxed);
    pag->btreeblks.store(a.btreeblks, std::memory_order_relaxed);
  });
  return 0;
}

uint32_t AgfTx::get(AgfField f) const { return static_cast<uint32_t>(bc::load_be(h_->data() + offset_of(f), 4)); }

void AgfTx::set(AgfField f, uint32_t v) { tp_->set_be32(h_, offset_of(f), v); }

uint32_t agfl_size(const Superblock& sb) { return static_cast<uint32_t>((sb.sectsize - kAgflHeaderSize) / 4); }

int agfl_get(AgfTx& agf, bool for_btree, uint32_t* agbno) {
  Mount& m = agf.trans().mount();
  const uint32_t size = agfl_size(m.sb());
  if (int e = check_ring(agf, size)) return e;
  if (agf.get(AgfField::kFlcount) == 0) return ENOSPC;
  bc::BufHandle* h;
  std::byte* slots;
  if (int e = read_agfl(agf, &h, &slots)) return e;
  const uint32_t first = agf.get(AgfField::kFlfirst);
  xd_be32 v;
  std::memcpy(&v, slots + 4 * first, sizeof v);
  const uint32_t bno = be32(v);
  // Blocks 0-3 hold the AG headers.
  if (bno < 4 || bno >= agf.length())
    return m.report_corruption("AGFL", h->daddr(), "slot " + std::to_string(first) + " holds agbno " +
                                                       std::to_string(bno) + ", outside the AG's free blocks");
  agf.set(AgfField::kFlfirst, (first + 1) % size);
  agf.add(AgfField::kFlcount, -1);
  if (for_btree) agf.add(AgfField::kBtreeblks, 1);
  *agbno = bno;
  return 0;
}

int agfl_put(AgfTx& agf, bool from_btree, uint32_t agbno) {
  Mount& m = agf.trans().mount();
  const uint32_t size = agfl_size(m.sb());
  if (int e = check_ring(agf, size)) return e;
  if (agf.get(AgfField::kFlcount) == size) return ENOSPC;
  bc::BufHandle* h;
  std::byte* slots;
  if (int e = read_agfl(agf, &h, &slots)) return e;
  const uint32_t last = (agf.get(AgfField::kFllast) + 1) % size;
  const xd_be32 v = to_be32(agbno);
  std::memcpy(slots + 4 * last, &v, sizeof v);
  agf.trans().log_buf(h, kAgflHeaderSize + 4 * last, 4);
  agf.set(AgfField::kFllast, last);
  agf.add(AgfField::kFlcount, 1);
  if (from_btree) agf.add(AgfField::kBtreeblks, -1);
  return 0;
}

uint32_t agfl_min_free(const AgfTx& agf, uint32_t maxlevels) {
  auto need = [&](AgfField level) { return 2 * std::min(agf.get(level) + 1, maxlevels) - 2; };
  return need(AgfField::kBnoLevel) + need(AgfField::kCntLevel);
}

uint32_t alloc_maxlevels(const Superblock& sb) {
  const uint64_t leaf_min = btree::sbtree_maxrecs(btree::SbtreeKind::kBnobt, sb.blocksize, 0) / 2;
  const uint64_t node_min = btree::sbtree_maxrecs(btree::SbtreeKind::kBnobt, sb.blocksize, 1) / 2;
  uint64_t records = (uint64_t{sb.agblocks} + 1) / 2;
  uint32_t levels = 1;
  uint64_t blocks = (records + leaf_min - 1) / leaf_min;
  while (blocks > 1) {
    blocks = (blocks + node_min - 1) / node_min;
    levels++;
  }
  return levels;
}

}  // namespace xfsfuse::fs
