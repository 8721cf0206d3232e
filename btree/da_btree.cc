#include "btree/da_btree.h"

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>

#include "fs/format/dir.h"
#include "fs/format/endian.h"

namespace xfsfuse::btree {

using fs::be16;
using fs::be32;

namespace {

static_assert(sizeof(xd_da3_node_hdr) == kDaNodeHdrSize && sizeof(xd_da_node_entry) == kDaNodeEntrySize);

std::string hex(uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "0x%llx", static_cast<unsigned long long>(v));
  return b;
}

xd_da3_node_hdr node_hdr(std::span<const std::byte> block) {
  xd_da3_node_hdr h;
  std::memcpy(&h, block.data(), sizeof h);
  return h;
}

xd_da_node_entry node_entry(std::span<const std::byte> block, size_t i) {
  xd_da_node_entry e;
  std::memcpy(&e, block.data() + kDaNodeHdrSize + i * kDaNodeEntrySize, sizeof e);
  return e;
}

uint16_t block_magic(const bc::BufHandle& h) {
  return h.size() < sizeof(xd_da_blkinfo) ? 0 : static_cast<uint16_t>(bc::load_be(h.data() + 8, 2));
}

size_t max_node_entries(size_t block_size) {
  return block_size < kDaNodeHdrSize ? 0 : (block_size - kDaNodeHdrSize) / kDaNodeEntrySize;
}

// Index of the first entry whose hashval >= key, or the last entry.
// REQUIRES: 1 <= count <= max_node_entries(block.size()).
size_t pick_child(std::span<const std::byte> block, size_t count, uint32_t key) {
  size_t lo = 0, hi = count;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (be32(node_entry(block, mid).hashval) < key)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo == count ? count - 1 : lo;
}

// Walks from the root down to a leaf; leftmost picks entry 0 at every node.
int descend(const DaTree& t, uint32_t key, bool leftmost, DaLeaf* out) {
  bc::BufHandle h;
  uint32_t dablk = t.root;
  if (int err = t.read(dablk, &h)) return err;
  int want_level = -1;  // the level the current block must have; -1 at the root
  for (;;) {
    std::span<const std::byte> block(h.data(), h.size());
    uint16_t magic = block_magic(h);
    if (magic != fs::kDa3NodeMagic) {
      if (want_level > 0)
        return t.report(h.daddr(), "dablk " + hex(dablk) + " has magic " + hex(magic) + ", not a node of level " +
                                       std::to_string(want_level));
      if (magic != t.leaf_magic)
        return t.report(h.daddr(), "dablk " + hex(dablk) + " has magic " + hex(magic) +
                                       ", not this tree's leaf magic " + hex(t.leaf_magic));
      out->buf = std::move(h);
      out->dablk = dablk;
      return 0;
    }
    if (block.size() < kDaNodeHdrSize)
      return t.report(h.daddr(), "node block of " + std::to_string(block.size()) + " bytes");
    xd_da3_node_hdr hdr = node_hdr(block);
    const unsigned level = be16(hdr.level);
    const size_t count = be16(hdr.count);
    if (want_level == 0 || (want_level > 0 && level != static_cast<unsigned>(want_level)))
      return t.report(h.daddr(), "node at dablk " + hex(dablk) + " has level " + std::to_string(level) + ", expected " +
                                     (want_level == 0 ? std::string("a leaf") : std::to_string(want_level)));
    if (level == 0 || level >= kDaNodeMaxDepth)
      return t.report(h.daddr(),
                      "node level " + std::to_string(level) + " outside 1.." + std::to_string(kDaNodeMaxDepth - 1));
    if (count == 0 || count > max_node_entries(block.size()))
      return t.report(h.daddr(), "node count " + std::to_string(count) + " outside 1.." +
                                     std::to_string(max_node_entries(block.size())));
    const size_t i = leftmost ? 0 : pick_child(block, count, key);
    const uint32_t child = be32(node_entry(block, i).before);
    // No block is held while the next one is read: a corrupt image may link
    // blocks in a cycle, and holding one while waiting for another would
    // order their locks both ways.
    const uint64_t parent_daddr = h.daddr();
    h.release();
    bc::BufHandle c;
    int err = t.read(child, &c);
    if (err == ENOENT)
      return t.report(parent_daddr, "node entry " + std::to_string(i) + " points at dablk " + hex(child) + ", a hole");
    if (err) return err;
    h = std::move(c);
    dablk = child;
    want_level = static_cast<int>(level) - 1;
  }
}

}  // namespace

bool da_node_check(std::span<const std::byte> block, std::string* why) {
  if (block.size() < kDaNodeHdrSize) {
    *why = "node block of " + std::to_string(block.size()) + " bytes";
    return false;
  }
  xd_da3_node_hdr hdr = node_hdr(block);
  const unsigned level = be16(hdr.level);
  const size_t count = be16(hdr.count);
  if (level == 0 || level >= kDaNodeMaxDepth) {
    *why = "node level " + std::to_string(level) + " outside 1.." + std::to_string(kDaNodeMaxDepth - 1);
    return false;
  }
  if (count == 0 || count > max_node_entries(block.size())) {
    *why = "node count " + std::to_string(count) + " outside 1.." + std::to_string(max_node_entries(block.size()));
    return false;
  }
  for (size_t i = 1; i < count; i++) {
    if (be32(node_entry(block, i).hashval) < be32(node_entry(block, i - 1).hashval)) {
      *why = "node hashval " + hex(be32(node_entry(block, i).hashval)) + " at entry " + std::to_string(i) +
             " is below the one before it";
      return false;
    }
  }
  return true;
}

namespace {

bc::HeaderLayout da3_layout(std::string name, const std::vector<uint16_t>& leaf_magics) {
  bc::HeaderLayout l;
  l.name = std::move(name);
  l.magic_off = offsetof(xd_da_blkinfo, magic);
  l.magic_size = 2;
  l.magics.push_back(fs::kDa3NodeMagic);
  l.magics.insert(l.magics.end(), leaf_magics.begin(), leaf_magics.end());
  l.crc_off = offsetof(xd_da3_blkinfo, crc);
  l.blkno_off = offsetof(xd_da3_blkinfo, blkno);
  l.uuid_off = offsetof(xd_da3_blkinfo, uuid);
  l.owner_off = offsetof(xd_da3_blkinfo, owner);
  l.lsn_off = offsetof(xd_da3_blkinfo, lsn);
  l.owner_size = 8;
  return l;
}

}  // namespace

DaBufOps::DaBufOps(std::string name, std::vector<uint16_t> leaf_magics, LeafCheck leaf_check)
    : bc::HeaderBufOps(da3_layout(std::move(name), leaf_magics)), leaf_check_(leaf_check) {}

bool DaBufOps::verify_read(const bc::VerifyInput& in, std::string* why) const {
  if (!bc::HeaderBufOps::verify_read(in, why)) return false;
  if (bc::load_be(in.data.data() + layout().magic_off, 2) == fs::kDa3NodeMagic) return da_node_check(in.data, why);
  return leaf_check_ == nullptr || leaf_check_(in.data, why);
}

int da_lookup_leaf(const DaTree& t, uint32_t hashval, DaLeaf* out) { return descend(t, hashval, false, out); }

int da_first_leaf(const DaTree& t, DaLeaf* out) { return descend(t, 0, true, out); }

int da_next_leaf(const DaTree& t, DaLeaf* leaf) {
  xd_da_blkinfo info;
  std::memcpy(&info, leaf->buf.data(), sizeof info);
  const uint32_t forw = be32(info.forw);
  if (forw == 0) return ENOENT;
  const uint64_t leaf_daddr = leaf->buf.daddr();
  leaf->buf.release();  // not held across the next read (see descend)
  bc::BufHandle h;
  int err = t.read(forw, &h);
  if (err == ENOENT)
    return t.report(leaf_daddr, "leaf at dablk " + hex(leaf->dablk) + " has forw " + hex(forw) + ", a hole");
  if (err) return err;
  if (block_magic(h) != t.leaf_magic)
    return t.report(h.daddr(), "right sibling of the leaf at dablk " + hex(leaf->dablk) + " has magic " +
                                   hex(block_magic(h)) + ", not " + hex(t.leaf_magic));
  std::memcpy(&info, h.data(), sizeof info);
  if (be32(info.back) != leaf->dablk)
    return t.report(h.daddr(), "leaf at dablk " + hex(forw) + " has back " + hex(be32(info.back)) +
                                   ", not its left sibling " + hex(leaf->dablk));
  leaf->buf = std::move(h);
  leaf->dablk = forw;
  return 0;
}

}  // namespace xfsfuse::btree
