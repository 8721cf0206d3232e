#include "fs/alloc/alloc_host.h"

#include "fs/format/records.h"
#include "fs/mount.h"

namespace xfsfuse::fs {

AllocHost::AllocHost(AgfTx* agf, btree::BtreeKind kind)
    : BtreeHost(&agf->trans().mount().cache(), kind, agf->trans().mount().sb().blocksize, agf->agno(),
                agf->trans().mount().sb().meta_uuid),
      agf_(agf),
      cnt_(kind == btree::BtreeKind::kCntbt) {}

uint64_t AllocHost::daddr_of(uint64_t ptr) const {
  const Superblock& sb = agf_->trans().mount().sb();
  return fsblock_to_daddr(sb, (uint64_t{agf_->agno()} << sb.agblklog) | ptr);
}

int AllocHost::alloc_block(uint64_t, uint64_t* ptr) {
  uint32_t agbno;
  if (int e = agfl_get(*agf_, /*for_btree=*/true, &agbno)) return e;
  *ptr = agbno;
  return 0;
}

int AllocHost::free_block(uint64_t ptr) {
  if (int e = agfl_put(*agf_, /*from_btree=*/true, static_cast<uint32_t>(ptr))) return e;
  agf_->trans().invalidate_range({daddr_of(ptr), blocksize() >> 9});
  return 0;
}

int AllocHost::read_block(uint64_t ptr, bc::BufHandle* out) {
  const bc::DiskRange map{daddr_of(ptr), blocksize() >> 9};
  bc::BufHandle* h;
  if (int e = agf_->trans().read_buf({&map, 1}, &btree::tree_buf_ops(kind()), owner(), &h)) return e;
  *out = cache()->alias(*h);
  return 0;
}

int AllocHost::new_block(uint64_t ptr, bc::BufHandle* out) {
  const bc::DiskRange map{daddr_of(ptr), blocksize() >> 9};
  bc::BufHandle* h;
  if (int e = agf_->trans().get_new_buf({&map, 1}, &btree::tree_buf_ops(kind()), &h)) return e;
  *out = cache()->alias(*h);
  return 0;
}

void AllocHost::log(bc::BufHandle& h, size_t off, size_t len) { agf_->trans().log_buf(&h, off, len); }

void AllocHost::set_root(uint64_t ptr, unsigned levels) {
  agf_->set(cnt_ ? AgfField::kCntRoot : AgfField::kBnoRoot, static_cast<uint32_t>(ptr));
  agf_->set(cnt_ ? AgfField::kCntLevel : AgfField::kBnoLevel, levels);
}

void AllocHost::lastrec_changed(const std::byte* rec) {
  agf_->set(AgfField::kLongest, rec ? decode_alloc_rec(rec).blockcount : 0);
}

btree::BtreeCursor AllocHost::cursor() {
  return btree::BtreeCursor(this, agf_->get(cnt_ ? AgfField::kCntRoot : AgfField::kBnoRoot),
                            agf_->get(cnt_ ? AgfField::kCntLevel : AgfField::kBnoLevel));
}

}  // namespace xfsfuse::fs
