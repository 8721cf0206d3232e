#include "fs/alloc/agi_tx.h"

#include <cerrno>
#include <cstring>

#include "fs/format/ag.h"
#include "fs/format/endian.h"
#include "fs/mount.h"

namespace xfsfuse::fs {

namespace {

size_t offset_of(AgiField f) {
  switch (f) {
    case AgiField::kCount: return offsetof(xd_agi, agi_count);
    case AgiField::kRoot: return offsetof(xd_agi, agi_root);
    case AgiField::kLevel: return offsetof(xd_agi, agi_level);
    case AgiField::kFreecount: return offsetof(xd_agi, agi_freecount);
    case AgiField::kNewino: return offsetof(xd_agi, agi_newino);
    case AgiField::kFreeRoot: return offsetof(xd_agi, agi_free_root);
    case AgiField::kFreeLevel: return offsetof(xd_agi, agi_free_level);
    case AgiField::kIblocks: return offsetof(xd_agi, agi_iblocks);
    case AgiField::kFblocks: return offsetof(xd_agi, agi_fblocks);
  }
  return 0;
}

}  // namespace

int AgiTx::get(Transaction& tp, uint32_t agno, AgiTx* out, bool trylock) {
  Mount& m = tp.mount();
  if (agno >= m.sb().agcount) return EINVAL;
  PerAg* pag;  // read shared before this thread holds the AGI exclusively
  if (int e = m.perag().get(agno, /*agf=*/false, &pag)) return e;
  const bc::DiskRange map{ag_header_daddr(m.sb(), agno, 2), static_cast<uint32_t>(m.sb().sectsize >> 9)};
  bc::BufHandle* h;
  if (int e = tp.read_buf({&map, 1}, &m.buf_ops().agi(), bc::kAnyOwner, &h, trylock ? unsigned{bc::kGetTrylock} : 0u))
    return e;
  out->tp_ = &tp;
  out->h_ = h;
  out->agno_ = agno;
  tp.on_commit([pag, h] {
    AgiInfo a;
    decode_agi({h->data(), h->size()}, &a);
    pag->icount.store(a.count, std::memory_order_relaxed);
    pag->ifree.store(a.freecount, std::memory_order_relaxed);
  });
  return 0;
}

uint32_t AgiTx::get(AgiField f) const { return static_cast<uint32_t>(bc::load_be(h_->data() + offset_of(f), 4)); }

void AgiTx::set(AgiField f, uint32_t v) { tp_->set_be32(h_, offset_of(f), v); }

uint32_t AgiTx::unlinked(unsigned bucket) const {
  return static_cast<uint32_t>(bc::load_be(h_->data() + offsetof(xd_agi, agi_unlinked) + 4 * size_t{bucket}, 4));
}

void AgiTx::set_unlinked(unsigned bucket, uint32_t agino) {
  tp_->set_be32(h_, offsetof(xd_agi, agi_unlinked) + 4 * size_t{bucket}, agino);
}

uint64_t AgiTx::daddr() const { return h_->maps()[0].daddr; }

}  // namespace xfsfuse::fs
