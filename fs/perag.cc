#include "fs/perag.h"

#include <cerrno>

namespace xfsfuse::fs {

PerAgTable::PerAgTable(const Superblock& sb, bc::BufferCache* cache, const AgHeaders* ag) : cache_(cache), ag_(ag) {
  ags_.reserve(sb.agcount);
  for (uint32_t agno = 0; agno < sb.agcount; agno++) ags_.push_back(std::make_unique<PerAg>(agno));
}

int PerAgTable::get(uint32_t agno, bool agf, PerAg** out) {
  if (agno >= ags_.size()) return EINVAL;
  PerAg& pag = *ags_[agno];
  *out = &pag;
  if (agf ? pag.agf_ready() : pag.agi_ready()) return 0;
  std::lock_guard<std::mutex> g(pag.init_mu_);
  if (agf && !pag.agf_ready()) {
    AgfInfo a;
    if (int err = ag_->read_agf(*cache_, agno, &a)) return err;
    pag.freeblks.store(a.freeblks, std::memory_order_relaxed);
    pag.longest.store(a.longest, std::memory_order_relaxed);
    pag.flcount.store(a.flcount, std::memory_order_relaxed);
    pag.btreeblks.store(a.btreeblks, std::memory_order_relaxed);
    pag.rmap_blocks.store(a.rmap_blocks, std::memory_order_relaxed);
    pag.agf_ready_.store(true, std::memory_order_release);
  } else if (!agf && !pag.agi_ready()) {
    AgiInfo a;
    if (int err = ag_->read_agi(*cache_, agno, &a)) return err;
    pag.icount.store(a.count, std::memory_order_relaxed);
    pag.ifree.store(a.freecount, std::memory_order_relaxed);
    pag.agi_ready_.store(true, std::memory_order_release);
  }
  return 0;
}

}  // namespace xfsfuse::fs
