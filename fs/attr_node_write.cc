// attr_set / attr_remove on a node-form attr fork (fs/attr_write_internal.h),
// in the order of the kernel's xfs_attr_set_iter states, which decides
// where blocks go: the entry is added (splitting leaves and nodes), then
// its remote value gets the first hole of the fork that holds it; a
// replace adds the new entry INCOMPLETE, then clears that flag and sets it
// on the old entry, frees the old remote value and removes the old entry;
// a removal frees the remote value, then removes the entry.  After every
// removal the tree tries a join (leaves at most half full, nodes, the root
// taking its only child); when block 0 is a leaf again and
// everything in it fits short form, the fork goes back to short form (or
// away).
#include <cerrno>

#include "fs/attr_node_internal.h"
#include "fs/attr_write.h"

namespace xfsfuse::fs::attr {

namespace {

// xfs_attr_leaf_shrink: block 0 a leaf again, its entries fitting short form.
int shrink_to_sf(Transaction& tp, CachedInode* ip) {
  bc::BufHandle* h;
  if (int e = leaf_read(tp, ip, &h)) return e;
  if (is_node(h)) return 0;
  const int forkoff = leaf_allfit(*ip, {h->data(), h->size()});
  return forkoff == 0 ? 0 : leaf_to_sf(tp, ip, h, forkoff);
}

// Finds a, which must be there.
int find_existing(ForkTree& ft, const NewAttr& a, LeafPos* pos) {
  if (int e = ft.find(a, pos)) return e;
  if (!pos->found) return ft.corrupt(ft.tree.path.leaf().h->daddr(), "an entry just written is not found");
  return 0;
}

// xfs_attr_node_remove_attr: removes the entry ft.find left the path at,
// then always tries a join (the kernel tests its lookup's "found", not
// xfs_attr3_leaf_remove's "under 37% full"; the leaf's toosmall decides);
// then xfs_attr_leaf_shrink.
int remove_found(Transaction& tp, CachedInode* ip, ForkTree& ft, size_t index) {
  leaf_remove(tp, ft.tree.path.leaf().h, index);
  ft.tree.fixhashpath(&ft.tree.path);
  if (ft.tree.path.active > 1)
    if (int e = ft.tree.join()) return e;
  return shrink_to_sf(tp, ip);
}

}  // namespace

int node_set(Transaction& tp, CachedInode* ip, const NewAttr& a, unsigned flags) {
  ForkTree ft(tp, ip);
  LeafPos old;
  if (int e = ft.find(a, &old)) return e;
  if (old.found && (flags & kXattrCreate)) return EEXIST;
  if (!old.found && (flags & kXattrReplace)) return ENODATA;
  NewAttr na = a;
  na.incomplete = old.found;
  if (int e = ft.add(na)) return e;
  bool local = false;
  leaf_newentsize(ft.block_size(), na, &local);
  if (!local) {
    uint32_t blk = 0;
    if (int e = remote_set(tp, ip, na.value, &blk)) return e;
    LeafPos p;
    if (int e = find_existing(ft, na, &p)) return e;
    leaf_set_remote(tp, ft.tree.path.leaf().h, p.index, blk, static_cast<uint32_t>(na.value.size()));
  }
  if (!old.found) return 0;
  // xfs_attr3_leaf_flipflags: the new entry made visible, the old hidden.
  LeafPos p;
  if (int e = find_existing(ft, na, &p)) return e;
  bc::BufHandle* nh = ft.tree.path.leaf().h;
  if (int e = find_existing(ft, a, &old)) return e;
  leaf_set_incomplete(tp, nh, p.index, false);
  leaf_set_incomplete(tp, ft.tree.path.leaf().h, old.index, true);
  if (old.remote)
    if (int e = remote_remove(tp, ip, old.valueblk, old.valuelen)) return e;
  NewAttr gone = a;
  gone.incomplete = true;
  if (int e = find_existing(ft, gone, &old)) return e;
  return remove_found(tp, ip, ft, old.index);
}

int node_remove(Transaction& tp, CachedInode* ip, const NewAttr& a) {
  ForkTree ft(tp, ip);
  LeafPos pos;
  if (int e = ft.find(a, &pos)) return e;
  if (!pos.found) return ENODATA;
  if (pos.remote)
    if (int e = remote_remove(tp, ip, pos.valueblk, pos.valuelen)) return e;
  return remove_found(tp, ip, ft, pos.index);
}

}  // namespace xfsfuse::fs::attr
