// The attr fork as the owner of its da btree (fs/attr_node_internal.h):
// reading, growing and shrinking the fork's blocks, finding an entry and
// adding one.  Format facts: XFS Algorithms & Data Structures, "Node
// Attributes"; docs/format.md "Attr node form as the kernel writes it".
#include <cerrno>
#include <cstring>
#include <vector>

#include "fs/attr_node_internal.h"
#include "fs/bmap_write.h"
#include "fs/buf_ops.h"
#include "fs/format/attr.h"
#include "fs/format/endian.h"
#include "fs/format/magic.h"
#include "fs/mount.h"

namespace xfsfuse::fs::attr {

ForkTree::ForkTree(Transaction& tp, CachedInode* ip)
    : tree(tp, *this, ip->core.ino, tp.mount().sb().meta_uuid), tp_(tp), ip_(ip) {}

uint16_t ForkTree::leaf_magic() const { return kAttr3LeafMagic; }

uint32_t ForkTree::block_size() const { return tp_.mount().sb().blocksize; }

int ForkTree::corrupt(uint64_t daddr, const std::string& why) {
  return tp_.mount().report_corruption("attr da btree", daddr, "inode " + std::to_string(ip_->core.ino) + ": " + why);
}

int ForkTree::read(uint32_t dablk, bc::BufHandle** h) {
  std::vector<bc::DiskRange> maps;
  const int e = tp_.mount().map_blocks(*ip_, true, dablk, 1, &maps);
  if (e == ENOENT) return corrupt(ip_->daddr, "attr fork block " + std::to_string(dablk) + " is a hole");
  if (e) return e;
  return tp_.read_buf(maps, &attr3_leaf_ops(), ip_->core.ino, h);
}

int ForkTree::grow(uint32_t* dablk, bc::BufHandle** h) {
  const uint64_t at = first_unused(ip_->af.extents, 1);
  if (at >= UINT32_MAX) return EFBIG;
  std::vector<Extent> map;
  if (int e = bmap_write(tp_, ip_, at, 1, kBmapAttrFork, &map)) return e;
  std::vector<bc::DiskRange> maps;
  if (int e = tp_.mount().map_blocks(*ip_, true, at, 1, &maps)) return e;
  if (int e = tp_.get_new_buf(maps, &attr3_leaf_ops(), h)) return e;
  *dablk = static_cast<uint32_t>(at);
  return 0;
}

int ForkTree::shrink(uint32_t dablk, bc::BufHandle* h) {
  bool more = false;
  if (int e = bmap_unmap(tp_, ip_, dablk, 1, 1, &more, kBmapAttrFork)) return e;
  if (more) return EIO;  // one block is one extent at most: one call unmaps it
  tp_.stale_buf(h);
  return 0;
}

uint32_t ForkTree::leaf_lasthash(bc::BufHandle* h, int* count) const {
  const LeafHdr r = leaf_hdr({h->data(), h->size()});
  *count = static_cast<int>(r.count);
  return r.count ? leaf_hashval({h->data(), h->size()}, r.count - 1) : 0;
}

size_t ForkTree::leaf_used(bc::BufHandle* h) const {
  return sizeof(xd_attr3_leaf_hdr) + leaf_hdr({h->data(), h->size()}).count * sizeof(xd_attr_leaf_entry);
}

bool ForkTree::leaf_order(bc::BufHandle* a, bc::BufHandle* b) const {
  const std::span<const std::byte> sa{a->data(), a->size()}, sb{b->data(), b->size()};
  const size_t ca = leaf_hdr(sa).count, cb = leaf_hdr(sb).count;
  return ca > 0 && cb > 0 &&
         (leaf_hashval(sb, 0) < leaf_hashval(sa, 0) || leaf_hashval(sb, cb - 1) < leaf_hashval(sa, ca - 1));
}

int ForkTree::find(const NewAttr& a, LeafPos* pos) {
  if (int e = tree.lookup(a.hash)) return e;
  for (;;) {
    da::PathBlk& b = tree.path.leaf();
    *pos = leaf_lookup({b.h->data(), b.h->size()}, a);
    b.index = static_cast<int>(pos->index);
    if (pos->found || b.hashval != a.hash) return 0;
    bool moved = false;
    if (int e = tree.path_shift(&tree.path, true, &moved)) return e;
    if (!moved) return 0;
  }
}

int ForkTree::add(const NewAttr& a) {
  da::PathBlk& b = tree.path.leaf();
  bool remote = false;
  if (leaf_add(tp_, b.h, static_cast<size_t>(b.index), a, &remote)) {
    tree.fixhashpath(&tree.path);
    return 0;
  }
  if (tree.path.active < 2) return corrupt(b.h->daddr(), "a leaf to split is the root");
  pending = a;
  return tree.split();
}

int leaf_to_node(Transaction& tp, CachedInode* ip, bc::BufHandle* h) {
  ForkTree ft(tp, ip);
  uint32_t dablk;
  bc::BufHandle* copy;
  if (int e = ft.grow(&dablk, &copy)) return e;
  std::memcpy(copy->data(), h->data(), h->size());
  store_be(copy->data() + da::kBlknoOff, 8, copy->daddr());
  tp.log_buf(copy, 0, copy->size());
  int count;
  const uint32_t last = ft.leaf_lasthash(copy, &count);
  ft.tree.init_header(h, kDa3NodeMagic);
  store_be(h->data() + da::kNodeCountOff, 2, 1);
  store_be(h->data() + da::kNodeLevelOff, 2, 1);
  store_be(h->data() + da::kNodeHdrSize, 4, last);
  store_be(h->data() + da::kNodeHdrSize + 4, 4, dablk);
  tp.log_buf(h, 0, h->size());
  return 0;
}

}  // namespace xfsfuse::fs::attr
