// The da btree's path, hash fix-ups and splits (fs/da_write.h; joins are in
// da_join.cc).
#include "fs/da_write.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "fs/format/endian.h"
#include "fs/format/magic.h"

namespace xfsfuse::fs::da {

uint32_t Tree::get(bc::BufHandle* h, size_t off, unsigned n) {
  return static_cast<uint32_t>(bc::load_be(h->data() + off, n));
}

void Tree::put(bc::BufHandle* h, size_t off, unsigned n, uint32_t v) {
  store_be(h->data() + off, n, v);
  tp.log_buf(h, off, n);
}

void Tree::init_header(bc::BufHandle* h, uint16_t magic) {
  std::byte* p = h->data();
  std::memset(p, 0, kNodeHdrSize);
  store_be(p + kMagicOff, 2, magic);
  store_be(p + kBlknoOff, 8, h->daddr());
  std::memcpy(p + kUuidOff, uuid_.data(), uuid_.size());
  store_be(p + kOwnerOff, 8, ino_);
  tp.log_buf(h, 0, kNodeHdrSize);
}

void Tree::move_node_ents(bc::BufHandle* h, size_t to, size_t from, size_t n) {
  if (n == 0) return;
  std::memmove(h->data() + kNodeHdrSize + 8 * to, h->data() + kNodeHdrSize + 8 * from, 8 * n);
  tp.log_buf(h, kNodeHdrSize + 8 * to, 8 * n);
}

// Reads block dablk into p's level `level` (below a node already there),
// which must hold what the level held: a leaf, or a node (the bottom of a
// path is a node while joins work on the node levels).  A node's index
// goes to its first (forward) or last entry, a leaf's to 0.
int Tree::read_level(Path* p, int level, uint32_t dablk, bool forward) {
  PathBlk& b = p->blk[static_cast<size_t>(level)];
  const bool want_node = level < p->active - 1 || b.node;
  bc::BufHandle* h;
  if (int err = owner.read(dablk, &h)) return err;
  const uint32_t magic = get(h, kMagicOff, 2);
  b = PathBlk{h, dablk, 0, 0, magic == kDa3NodeMagic};
  if (magic == owner.leaf_magic() && !want_node) {
    int count;
    b.hashval = owner.leaf_lasthash(h, &count);
    return 0;
  }
  const uint32_t count = node_count(h);
  if (magic != kDa3NodeMagic || !want_node || count == 0 || count > node_max())
    return owner.corrupt(h->daddr(), want_node ? "not a da node where the path has one" : "a da node where the path has a leaf");
  b.index = forward ? 0 : static_cast<int>(count) - 1;
  b.hashval = node_hash(h, count - 1);
  return 0;
}

int Tree::lookup(uint32_t hash) {
  path.active = 0;
  uint32_t dablk = owner.root();
  int expected = -1;  // the level the next block must have
  for (;;) {
    if (path.active == kMaxDepth) return owner.corrupt(path.blk[0].h->daddr(), "more than 5 levels of da nodes");
    PathBlk& b = path.blk[static_cast<size_t>(path.active++)];
    bc::BufHandle* h;
    if (int err = owner.read(dablk, &h)) return err;
    const uint32_t magic = get(h, kMagicOff, 2);
    b = PathBlk{h, dablk, 0, 0, magic == kDa3NodeMagic};
    if (magic == owner.leaf_magic()) {
      if (expected > 0) return owner.corrupt(h->daddr(), "a leaf where a level " + std::to_string(expected) + " node must be");
      int count;
      b.hashval = owner.leaf_lasthash(h, &count);
      return 0;
    }
    const uint32_t count = node_count(h), level = get(h, kNodeLevelOff, 2);
    if (magic != kDa3NodeMagic || count == 0 || count > node_max() || level == 0 || level >= kMaxDepth ||
        (expected >= 0 && level != static_cast<uint32_t>(expected)))
      return owner.corrupt(h->daddr(), "not a da node of the level its parent implies");
    expected = static_cast<int>(level) - 1;
    b.hashval = node_hash(h, count - 1);
    uint32_t probe = 0;
    while (probe < count && node_hash(h, probe) < hash) probe++;
    b.index = static_cast<int>(std::min(probe, count - 1));
    dablk = node_before(h, static_cast<size_t>(b.index));
    if (dablk == owner.root()) return owner.corrupt(h->daddr(), "a da node points back at the root");
  }
}

int Tree::path_shift(Path* p, bool forward, bool* moved) {
  *moved = false;
  int level = p->active - 2;
  uint32_t dablk = 0;
  for (; level >= 0; level--) {
    PathBlk& b = p->blk[static_cast<size_t>(level)];
    const int count = static_cast<int>(node_count(b.h));
    if (forward ? b.index < count - 1 : b.index > 0) {
      b.index += forward ? 1 : -1;
      dablk = node_before(b.h, static_cast<size_t>(b.index));
      break;
    }
  }
  if (level < 0) return 0;
  for (level++; level < p->active; level++) {
    if (int err = read_level(p, level, dablk, forward)) return err;
    const PathBlk& b = p->blk[static_cast<size_t>(level)];
    if (b.node) dablk = node_before(b.h, static_cast<size_t>(b.index));
  }
  *moved = true;
  return 0;
}

void Tree::fixhashpath(Path* p) {
  int level = p->active - 1;
  PathBlk& b = p->blk[static_cast<size_t>(level)];
  int count;
  uint32_t last;
  if (b.node) {
    count = static_cast<int>(node_count(b.h));
    last = count ? node_hash(b.h, static_cast<size_t>(count) - 1) : 0;
  } else {
    last = owner.leaf_lasthash(b.h, &count);
  }
  if (count == 0) return;
  for (level--; level >= 0; level--) {
    PathBlk& n = p->blk[static_cast<size_t>(level)];
    const size_t i = static_cast<size_t>(n.index);
    if (node_hash(n.h, i) == last) break;
    n.hashval = last;
    put(n.h, kNodeHdrSize + 8 * i, 4, last);
    last = node_hash(n.h, node_count(n.h) - 1);
  }
}

int Tree::link(PathBlk* old, PathBlk* added) {
  const bool before = old->node ? node_count(added->h) > 0 && node_count(old->h) > 0 &&
                                      (node_hash(added->h, 0) < node_hash(old->h, 0) ||
                                       node_hash(added->h, node_count(added->h) - 1) <
                                           node_hash(old->h, node_count(old->h) - 1))
                                : owner.leaf_order(old->h, added->h);
  const size_t near = before ? kBackOff : kForwOff, far = before ? kForwOff : kBackOff;
  const uint32_t sib = get(old->h, near, 4);
  put(added->h, far, 4, old->dablk);
  put(added->h, near, 4, sib);
  if (sib != 0) {
    bc::BufHandle* h;
    if (int err = owner.read(sib, &h)) return err;
    if (get(h, kMagicOff, 2) != get(old->h, kMagicOff, 2) || get(h, far, 4) != old->dablk)
      return owner.corrupt(h->daddr(), "a sibling's link does not name its neighbour");
    put(h, far, 4, added->dablk);
  }
  put(old->h, near, 4, added->dablk);
  return 0;
}

int Tree::split() {
  const int max = path.active - 1;
  PathBlk* add = &path.blk[static_cast<size_t>(max)];
  PathBlk added_at[kMaxDepth];
  for (int i = max; i >= 0 && add; path.active--, i--) {
    PathBlk* old = &path.blk[static_cast<size_t>(i)];
    PathBlk* added = &added_at[i];
    *added = PathBlk{};
    if (!old->node) {
      if (int err = owner.leaf_split(*this, old, added)) return err;
      add = added;
    } else {
      bool split = false;
      if (int err = node_split(old, added, add, max - i, &split)) return err;
      add = split ? added : nullptr;
    }
    fixhashpath(&path);
  }
  if (!add) return 0;
  PathBlk* root = &path.blk[0];
  if (int err = root_split(root, add)) return err;
  // The old root's copy and the new block are siblings (the new one was
  // linked to the root's dablk, which the copy no longer has).
  if (uint32_t forw = get(root->h, kForwOff, 4)) {
    if (forw != add->dablk) return owner.corrupt(root->h->daddr(), "the split root's sibling is not the new block");
    put(add->h, kBackOff, 4, root->dablk);
  }
  if (uint32_t back = get(root->h, kBackOff, 4)) {
    if (back != add->dablk) return owner.corrupt(root->h->daddr(), "the split root's sibling is not the new block");
    put(add->h, kForwOff, 4, root->dablk);
  }
  return 0;
}

int Tree::node_split(PathBlk* old, PathBlk* added, PathBlk* child, int level, bool* split) {
  const bool useextra = extravalid;
  *split = node_count(old->h) + 1 + (useextra ? 1 : 0) > node_max();
  if (*split) {
    uint32_t dablk;
    bc::BufHandle* h;
    if (int err = owner.grow(&dablk, &h)) return err;
    init_header(h, kDa3NodeMagic);
    put(h, kNodeLevelOff, 2, static_cast<uint32_t>(level));
    *added = PathBlk{h, dablk, 0, 0, true};
    node_rebalance(old, added);
    if (int err = link(old, added)) return err;
  }
  // The new child's entry goes right after the old child's; an extra leaf
  // of a double split goes before it or after it.
  PathBlk* into = static_cast<uint32_t>(old->index) <= node_count(old->h) ? old : added;
  into->index++;
  node_add(into, child);
  if (useextra) {
    if (extraafter) into->index++;
    node_add(into, &extrablk);
    extravalid = false;
  }
  return 0;
}

// Evens out two sibling nodes (b2 new and empty when splitting): half the
// difference moves, from the high end of the lower node to the low end of
// the higher one.
void Tree::node_rebalance(PathBlk* b1, PathBlk* b2) {
  bc::BufHandle *n1 = b1->h, *n2 = b2->h;
  if (node_count(n1) > 0 && node_count(n2) > 0 &&
      (node_hash(n2, 0) < node_hash(n1, 0) || node_hash(n2, node_count(n2) - 1) < node_hash(n1, node_count(n1) - 1)))
    std::swap(n1, n2);
  const int c1 = static_cast<int>(node_count(n1)), c2 = static_cast<int>(node_count(n2));
  int count = (c1 - c2) / 2;
  if (count == 0) return;
  if (count > 0) {
    const size_t n = static_cast<size_t>(count);
    move_node_ents(n2, n, 0, static_cast<size_t>(c2));
    std::memcpy(n2->data() + kNodeHdrSize, n1->data() + kNodeHdrSize + 8 * (static_cast<size_t>(c1) - n), 8 * n);
    tp.log_buf(n2, kNodeHdrSize, 8 * n);
  } else {
    const size_t n = static_cast<size_t>(-count);
    std::memcpy(n1->data() + kNodeHdrSize + 8 * static_cast<size_t>(c1), n2->data() + kNodeHdrSize, 8 * n);
    tp.log_buf(n1, kNodeHdrSize + 8 * static_cast<size_t>(c1), 8 * n);
    move_node_ents(n2, 0, n, static_cast<size_t>(c2) - n);
  }
  put(n1, kNodeCountOff, 2, static_cast<uint32_t>(c1 - count));
  put(n2, kNodeCountOff, 2, static_cast<uint32_t>(c2 + count));
  const uint32_t k1 = node_count(b1->h), k2 = node_count(b2->h);
  b1->hashval = node_hash(b1->h, k1 - 1);
  b2->hashval = node_hash(b2->h, k2 - 1);
  if (static_cast<uint32_t>(b1->index) >= k1) {
    b2->index = b1->index - static_cast<int>(k1);
    b1->index = static_cast<int>(k1) + 1;  // past the end: the insert goes to b2
  }
}

// Inserts child's (hashval, dablk) at b's index.
void Tree::node_add(PathBlk* b, const PathBlk* child) {
  const size_t count = node_count(b->h), i = static_cast<size_t>(b->index);
  if (i < count) move_node_ents(b->h, i + 1, i, count - i);
  store_be(b->h->data() + kNodeHdrSize + 8 * i, 4, child->hashval);
  store_be(b->h->data() + kNodeHdrSize + 8 * i + 4, 4, child->dablk);
  tp.log_buf(b->h, kNodeHdrSize + 8 * i, 8);
  put(b->h, kNodeCountOff, 2, static_cast<uint32_t>(count + 1));
  b->hashval = node_hash(b->h, count);
}

// The root (b1, at the root's dablk) moves to a new block and the root
// becomes a node one level up over it and b2.
int Tree::root_split(PathBlk* b1, PathBlk* b2) {
  uint32_t dablk;
  bc::BufHandle* h;
  if (int err = owner.grow(&dablk, &h)) return err;
  bc::BufHandle* root = b1->h;
  const size_t size = b1->node ? kNodeHdrSize + 8 * size_t{node_count(root)} : owner.leaf_used(root);
  const uint32_t level = b1->node ? get(root, kNodeLevelOff, 2) : 0;
  std::memcpy(h->data(), root->data(), size);
  store_be(h->data() + kBlknoOff, 8, h->daddr());
  tp.log_buf(h, 0, size);
  b1->h = h;
  b1->dablk = dablk;
  // The root made a node in place: its old bytes past the header and the
  // two entries stay.
  init_header(root, kDa3NodeMagic);
  put(root, kNodeLevelOff, 2, level + 1);
  store_be(root->data() + kNodeHdrSize, 4, b1->hashval);
  store_be(root->data() + kNodeHdrSize + 4, 4, b1->dablk);
  store_be(root->data() + kNodeHdrSize + 8, 4, b2->hashval);
  store_be(root->data() + kNodeHdrSize + 12, 4, b2->dablk);
  tp.log_buf(root, kNodeHdrSize, 16);
  put(root, kNodeCountOff, 2, 2);
  return 0;
}

}  // namespace xfsfuse::fs::da
