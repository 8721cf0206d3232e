// The da btree's joins (fs/da_write.h), as the kernel's xfs_da3_join.
#include <cerrno>
#include <cstring>

#include "fs/da_write.h"
#include "fs/format/endian.h"
#include "fs/format/magic.h"

namespace xfsfuse::fs::da {

int Tree::join() {
  for (; path.active >= 2; path.active--) {
    PathBlk* drop = &path.blk[static_cast<size_t>(path.active - 1)];
    PathBlk* save = &altpath.blk[static_cast<size_t>(path.active - 1)];
    int action = 0;
    if (!drop->node) {
      if (int err = owner.leaf_toosmall(*this, &action)) return err;
      if (action == 0) return 0;
      owner.leaf_unbalance(*this, drop, save);
    } else {
      node_remove(drop);
      fixhashpath(&path);
      if (int err = node_toosmall(&action)) return err;
      if (action == 0) return 0;
      node_unbalance(drop, save);
    }
    fixhashpath(&altpath);
    if (int err = unlink(drop, save)) return err;
    altpath.active = 0;
    if (int err = owner.shrink(drop->dablk, drop->h)) return err;
    drop->h = nullptr;
  }
  // Joined all the way up: the root loses the dropped child's entry and,
  // left with one child, takes its place.
  node_remove(&path.blk[0]);
  fixhashpath(&path);
  return root_join(&path.blk[0]);
}

// Removes b's entry at its index (the last entry's bytes zeroed).
void Tree::node_remove(PathBlk* b) {
  const size_t count = node_count(b->h);
  size_t i = static_cast<size_t>(b->index);
  if (i + 1 < count) {
    move_node_ents(b->h, i, i + 1, count - i - 1);
    i = count - 1;
  }
  std::memset(b->h->data() + kNodeHdrSize + 8 * i, 0, 8);
  tp.log_buf(b->h, kNodeHdrSize + 8 * i, 8);
  put(b->h, kNodeCountOff, 2, static_cast<uint32_t>(count - 1));
  b->hashval = i > 0 ? node_hash(b->h, i - 1) : 0;
}

// xfs_da3_node_toosmall: a node at most half full merges with the lower-
// numbered sibling that takes its entries leaving a quarter of a node free
// (the other sibling if not); path then names the block dropped, altpath
// the block kept.  An empty node is dropped (action 2).
int Tree::node_toosmall(int* action) {
  *action = 0;
  PathBlk& b = path.blk[static_cast<size_t>(path.active - 1)];
  const int count = static_cast<int>(node_count(b.h)), max = static_cast<int>(node_max());
  if (count > max / 2) return 0;
  if (count == 0) {
    bool moved = false;
    altpath = path;
    if (int err = path_shift(&altpath, get(b.h, kForwOff, 4) != 0, &moved)) return err;
    *action = moved ? 2 : 0;
    return 0;
  }
  const int room = max - max / 4 - count;
  bool merge = false;
  if (int err = pick_merge([&](bc::BufHandle* h) { return room - static_cast<int>(node_count(h)) >= 0; }, &merge))
    return err;
  *action = merge ? 1 : 0;
  return 0;
}

int Tree::pick_merge(const std::function<bool(bc::BufHandle*)>& fits, bool* merge) {
  *merge = false;
  PathBlk& b = path.blk[static_cast<size_t>(path.active - 1)];
  const uint32_t forw = get(b.h, kForwOff, 4), back = get(b.h, kBackOff, 4);
  bool forward = forw < back;
  uint32_t dablk = 0;
  int i = 0;
  for (; i < 2; forward = !forward, i++) {
    dablk = forward ? forw : back;
    if (dablk == 0) continue;
    bc::BufHandle* h;
    if (int err = owner.read(dablk, &h)) return err;
    if (get(h, kMagicOff, 2) != get(b.h, kMagicOff, 2))
      return owner.corrupt(h->daddr(), "a sibling is not a block of the same kind");
    if (fits(h)) break;
  }
  if (i >= 2) return 0;
  altpath = path;
  return path_shift(dablk < b.dablk ? &altpath : &path, forward, merge);
}

// Moves every entry of drop into save, at its start if drop's hashes are
// lower.
void Tree::node_unbalance(PathBlk* drop, PathBlk* save) {
  const size_t dc = node_count(drop->h), sc = node_count(save->h);
  if (dc == 0) return;
  size_t at = sc;
  if (node_hash(drop->h, 0) < node_hash(save->h, 0) || node_hash(drop->h, dc - 1) < node_hash(save->h, sc - 1)) {
    move_node_ents(save->h, dc, 0, sc);
    at = 0;
  }
  std::memcpy(save->h->data() + kNodeHdrSize + 8 * at, drop->h->data() + kNodeHdrSize, 8 * dc);
  tp.log_buf(save->h, kNodeHdrSize + 8 * at, 8 * dc);
  put(save->h, kNodeCountOff, 2, static_cast<uint32_t>(sc + dc));
  save->hashval = node_hash(save->h, sc + dc - 1);
}

// Takes drop out of the sibling chain next to save.
int Tree::unlink(PathBlk* drop, PathBlk* save) {
  const bool back = get(save->h, kBackOff, 4) == drop->dablk;
  const size_t near = back ? kBackOff : kForwOff, far = back ? kForwOff : kBackOff;
  const uint32_t sib = get(drop->h, near, 4);
  put(save->h, near, 4, sib);
  if (sib != 0) {
    bc::BufHandle* h;
    if (int err = owner.read(sib, &h)) return err;
    if (get(h, kMagicOff, 2) != get(save->h, kMagicOff, 2) || get(h, far, 4) != drop->dablk)
      return owner.corrupt(h->daddr(), "a sibling's link does not name its neighbour");
    put(h, far, 4, save->dablk);
  }
  return 0;
}

// A root node with one child takes the child's whole block (a leaf, when one
// leaf is left) and the child is freed.
int Tree::root_join(PathBlk* root) {
  if (node_count(root->h) > 1) return 0;
  const uint32_t level = get(root->h, kNodeLevelOff, 2), child = node_before(root->h, 0);
  bc::BufHandle* h;
  if (int err = owner.read(child, &h)) return err;
  const bool child_node = get(h, kMagicOff, 2) == kDa3NodeMagic;
  if ((child_node ? get(h, kNodeLevelOff, 2) + 1 : 1) != level || get(h, kForwOff, 4) != 0 || get(h, kBackOff, 4) != 0)
    return owner.corrupt(h->daddr(), "the root's only child has siblings or the wrong level");
  std::memcpy(root->h->data(), h->data(), owner.block_size());
  store_be(root->h->data() + kBlknoOff, 8, root->h->daddr());
  tp.log_buf(root->h, 0, owner.block_size());
  root->node = child_node;
  return owner.shrink(child, h);
}

}  // namespace xfsfuse::fs::da
