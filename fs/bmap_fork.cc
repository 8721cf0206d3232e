// Block allocation in AGF lock order, and the bmbt's transaction-backed host.
#include "fs/bmap_fork.h"

#include <algorithm>
#include <cerrno>

#include "btree/bmbt.h"
#include "btree/layout.h"
#include "fs/alloc/agf_tx.h"
#include "fs/alloc/alloc.h"
#include "fs/mount.h"

namespace xfsfuse::fs {

namespace {

// Whether this transaction may try AG agno's AGF at all: it holds it, or
// agno is not below the highest AGF it holds (docs/locking.md).
bool may_lock(const Transaction& tp, uint32_t agno) {
  return tp.holds_agf(agno) || int64_t{agno} > tp.highest_agf();
}

// The shortest extent worth taking for maxlen blocks, as the kernel's
// xfs_bmap_btalloc_select_lengths judges it from the AGs' longest free
// extents (in-core counters, AGs from start on, wrapping): maxlen when
// some AG has that much in one piece, else the longest there is (at least 1).
uint32_t select_minlen(Mount& m, uint32_t start, uint32_t maxlen) {
  const uint32_t agcount = m.sb().agcount;
  uint32_t best = 0;
  for (uint32_t i = 0; i < agcount && best < maxlen; i++) {
    PerAg* pag;
    if (m.perag().get((start + i) % agcount, /*agf=*/true, &pag) != 0) continue;
    best = std::max(best, pag->longest.load(std::memory_order_relaxed));
  }
  return std::clamp<uint32_t>(best, 1, maxlen);
}

// One pass over the AGs from start (agbno: the target in it, 0 for none)
// for minlen..maxlen blocks, in AGF lock order (bmap_alloc).
int alloc_from(Transaction& tp, uint32_t start, uint32_t agbno, uint32_t minlen, uint32_t maxlen, bool userdata,
               uint64_t* fsblock, uint32_t* len) {
  Mount& m = tp.mount();
  const Superblock& sb = m.sb();
  std::vector<uint32_t> busy;
  bool waited = false;  // the first AG tried waits for its AGF; later ones try
  for (uint32_t agno = start; agno < sb.agcount; agno++) {
    if (!may_lock(tp, agno)) continue;
    if (!tp.holds_agf(agno)) {
      // Unlocked look at the AG's counters: skip one with no free extent.
      PerAg* pag;
      if (m.perag().get(agno, /*agf=*/true, &pag) == 0 && pag->longest.load(std::memory_order_relaxed) == 0) continue;
    }
    // The target's AG: the kernel's NEAR_BNO search from the target (when
    // there is one); the others: the first extent long enough.
    AllocRequest r;
    r.agno = agno;
    r.target = agno == start ? agbno : 0;
    r.near = agno == start && agbno != 0;
    r.userdata = userdata;
    r.minlen = minlen;
    r.maxlen = maxlen;
    r.trylock = waited;
    uint32_t bno = 0;
    const int e = alloc_extent(tp, r, &bno, len);
    waited = true;
    if (e == 0) {
      *fsblock = agbno_to_fsblock(sb, agno, bno);
      return 0;
    }
    if (e == EAGAIN) busy.push_back(agno);
    else if (e != ENOSPC) return e;
  }
  // AGs another transaction held: wait for those still in lock order.
  for (uint32_t agno : busy) {
    if (!may_lock(tp, agno)) continue;
    AllocRequest r;
    r.agno = agno;
    r.userdata = userdata;
    r.minlen = minlen;
    r.maxlen = maxlen;
    uint32_t bno = 0;
    const int e = alloc_extent(tp, r, &bno, len);
    if (e == 0) {
      *fsblock = agbno_to_fsblock(sb, agno, bno);
      return 0;
    }
    if (e != ENOSPC) return e;
  }
  return ENOSPC;
}

}  // namespace

int bmap_alloc(Transaction& tp, uint64_t target, uint32_t maxlen, bool userdata, uint64_t* fsblock, uint32_t* len) {
  Mount& m = tp.mount();
  const Superblock& sb = m.sb();
  uint32_t start = fsblock_to_agno(sb, target), agbno = fsblock_to_agbno(sb, target);
  if (start >= sb.agcount || agbno >= ag_length(sb, start)) start = agbno = 0;
  if (tp.highest_agf() > int64_t{start}) {
    start = static_cast<uint32_t>(tp.highest_agf());
    agbno = 0;
  }
  const uint32_t minlen = select_minlen(m, start, maxlen);
  const int e = alloc_from(tp, start, agbno, minlen, maxlen, userdata, fsblock, len);
  // The counters that chose minlen are looked at unlocked and the AGs below
  // the highest AGF held are out of reach: then any length will do (the
  // kernel's low-space retry).
  if (e == ENOSPC && minlen > 1) return alloc_from(tp, start, agbno, 1, maxlen, userdata, fsblock, len);
  return e;
}

int bmap_lock_agfs(Transaction& tp, std::vector<uint32_t> agnos) {
  std::sort(agnos.begin(), agnos.end());
  agnos.erase(std::unique(agnos.begin(), agnos.end()), agnos.end());
  for (uint32_t agno : agnos) {
    if (tp.holds_agf(agno)) continue;
    AgfTx agf;
    if (int e = AgfTx::get(tp, agno, &agf, /*trylock=*/!may_lock(tp, agno))) return e;
  }
  return 0;
}

uint32_t bmbt_maxlevels(const Superblock& sb) {
  // The tallest bmbt of half-full blocks holding the most extents a data
  // fork may have (2^31 - 1, or 2^48 - 1 with NREXT64), plus the root level.
  const uint64_t max_extents = sb.features_incompat & kIncompatNrext64 ? (uint64_t{1} << 48) : (uint64_t{1} << 31);
  const uint64_t leaf_min = std::max<uint32_t>(1, btree::kBmbtBlockLayout.maxrecs(sb.blocksize, 0) / 2);
  const uint64_t node_min = std::max<uint32_t>(2, btree::kBmbtBlockLayout.maxrecs(sb.blocksize, 1) / 2);
  uint64_t blocks = (max_extents + leaf_min - 1) / leaf_min;
  uint32_t levels = 1;
  while (blocks > 1) {
    blocks = (blocks + node_min - 1) / node_min;
    levels++;
  }
  return levels + 1;
}

BmbtHost::BmbtHost(ForkEditor* fe)
    : BtreeHost(&fe->tp().mount().cache(), btree::BtreeKind::kBmbt, fe->tp().mount().sb().blocksize,
                fe->ip()->core.ino, fe->tp().mount().sb().meta_uuid),
      fe_(fe) {}

uint64_t BmbtHost::daddr_of(uint64_t ptr) const { return fsblock_to_daddr(fe_->tp().mount().sb(), ptr); }

int BmbtHost::alloc_block(uint64_t near, uint64_t* ptr) {
  const Superblock& sb = fe_->tp().mount().sb();
  // The cursor names a neighbouring block; with none (or a bad one), the inode's.
  uint64_t target = near;
  const uint32_t agno = fsblock_to_agno(sb, near);
  if (agno >= sb.agcount || fsblock_to_agbno(sb, near) >= ag_length(sb, agno)) {
    const uint64_t ino = fe_->ip()->core.ino;
    target = agbno_to_fsblock(sb, ino_to_agno(sb, ino), agino_to_agbno(sb, ino_to_agino(sb, ino)));
  }
  // A block this transaction freed earlier cannot take a new buffer before
  // the commit (Transaction::get_new_buf): such a block is kept allocated
  // until the end of the call and another one taken.
  for (;;) {
    uint32_t len = 0;
    if (int e = bmap_alloc(fe_->tp(), target, 1, /*userdata=*/false, ptr, &len)) return e;
    if (!fe_->tp().freed_here({daddr_of(*ptr), blocksize() >> 9})) break;
    fe_->free_later(*ptr, 1);
  }
  fe_->ip()->core.nblocks++;
  return 0;
}

int BmbtHost::free_block(uint64_t ptr) {
  fe_->free_later(ptr, 1);
  fe_->ip()->core.nblocks--;
  return 0;
}

int BmbtHost::read_block(uint64_t ptr, bc::BufHandle* out) {
  const bc::DiskRange map{daddr_of(ptr), blocksize() >> 9};
  bc::BufHandle* h;
  if (int e = fe_->tp().read_buf({&map, 1}, &btree::tree_buf_ops(kind()), owner(), &h)) return e;
  *out = cache()->alias(*h);
  return 0;
}

int BmbtHost::new_block(uint64_t ptr, bc::BufHandle* out) {
  const bc::DiskRange map{daddr_of(ptr), blocksize() >> 9};
  bc::BufHandle* h;
  if (int e = fe_->tp().get_new_buf({&map, 1}, &btree::tree_buf_ops(kind()), &h)) return e;
  *out = cache()->alias(*h);
  return 0;
}

void BmbtHost::log(bc::BufHandle& h, size_t off, size_t len) { fe_->tp().log_buf(&h, off, len); }

void BmbtHost::log_iroot(size_t, size_t) {
  fe_->tp().log_inode(fe_->ip(), fe_->attr_fork() ? kDirtyAttr : kDirtyData);
}

}  // namespace xfsfuse::fs
