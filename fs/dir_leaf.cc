// Directory leaf space: LEAF1 (leaf form) and LEAFN (node form) blocks, and
// hash lookups through them.
//
// A leaf block: xd_dir3_leaf_hdr (64 bytes: da3 blkinfo, count, stale), then
// `count` (hashval, address) entries sorted by hashval; a stale entry has
// address 0.  LEAF1 ends with bests[bestcount] (be16) and the be32
// bestcount.  The leaf space is a da btree rooted at the first leaf-space
// block (btree/da_btree.h): leaf form's root is its LEAF1 block; node form's
// is a da node, or a lone LEAFN right after the conversion from leaf form.
// Each block's own structure is checked once, by dir3_leaf_ops() when the buffer
// cache reads it; addresses are checked when a lookup follows them.
#include <algorithm>
#include <cerrno>
#include <cstring>

#include "fs/corrupt.h"
#include "fs/dir_internal.h"
#include "fs/format/dir.h"
#include "fs/format/endian.h"

namespace xfsfuse::fs::dir {

namespace {

static_assert(sizeof(xd_dir3_leaf_hdr) == kLeafHdrSize);

size_t leaf_count(std::span<const std::byte> b) { return bc::load_be(b.data() + offsetof(xd_dir3_leaf_hdr, count), 2); }
uint32_t leaf_hash(std::span<const std::byte> b, size_t i) {
  return static_cast<uint32_t>(bc::load_be(b.data() + kLeafHdrSize + i * 8, 4));
}
uint32_t leaf_addr(std::span<const std::byte> b, size_t i) {
  return static_cast<uint32_t>(bc::load_be(b.data() + kLeafHdrSize + i * 8 + 4, 4));
}

// Stores msg in *why and returns false (verifiers' convention).
bool fail(std::string* why, std::string msg) {
  *why = std::move(msg);
  return false;
}

// btree::DaBufOps::LeafCheck for LEAF1 and LEAFN blocks.
bool leaf_check(std::span<const std::byte> b, std::string* why) {
  if (b.size() < kLeafHdrSize + sizeof(xd_dir2_leaf_tail))
    return fail(why, "leaf block of " + std::to_string(b.size()) + " bytes");
  size_t limit = b.size();  // where the leaf entries must end
  if (bc::load_be(b.data() + offsetof(xd_da_blkinfo, magic), 2) == kDir3Leaf1Magic) {
    const size_t bestcount = bc::load_be(b.data() + b.size() - sizeof(xd_dir2_leaf_tail), 4);
    if (bestcount > (limit - sizeof(xd_dir2_leaf_tail) - kLeafHdrSize) / 2)
      return fail(why, "leaf bestcount " + std::to_string(bestcount) + " too large");
    limit -= sizeof(xd_dir2_leaf_tail) + bestcount * 2;
  }
  const size_t count = leaf_count(b);
  const size_t stale = bc::load_be(b.data() + offsetof(xd_dir3_leaf_hdr, stale), 2);
  if (count > (limit - kLeafHdrSize) / 8) return fail(why, "leaf count " + std::to_string(count) + " too large");
  size_t nstale = 0;
  for (size_t i = 0; i < count; i++) {
    if (i > 0 && leaf_hash(b, i) < leaf_hash(b, i - 1))
      return fail(
          why, "leaf entry " + std::to_string(i) + " hashval " + hex(leaf_hash(b, i)) + " is below the one before it");
    nstale += leaf_addr(b, i) == 0;
  }
  if (nstale != stale)
    return fail(why, "leaf stale " + std::to_string(stale) + " but " + std::to_string(nstale) + " stale entries");
  return true;
}

// Leaf blocks ip maps: a bound on any walk along forw links.
uint64_t leaf_blocks(const CachedInode& ip, const Geometry& g) {
  uint64_t fsbs = 0;
  for (const Extent& e : ip.df.extents) {
    const uint64_t lo = std::max(e.startoff, g.leaf_dablk), hi = std::min(e.startoff + e.blockcount, g.free_dablk);
    if (lo < hi) fsbs += hi - lo;
  }
  return (fsbs + g.blkfsbs - 1) / g.blkfsbs;
}

// Follows leaf entry address addr of the leaf in leaf_buf to its data entry;
// *data holds the data block.  Returns 0, or EUCLEAN (reported) if the
// address names no entry.
int resolve(Mount& m, const CachedInode& ip, const Geometry& g, const bc::BufHandle& leaf_buf, const char* structure,
            uint32_t addr, bc::BufHandle* data, DataEntry* out) {
  const uint64_t off = uint64_t{addr} * 8, db = off / g.blksize;
  auto at = [&] { return "directory " + std::to_string(ip.core.ino) + ": leaf address " + hex(addr); };
  if (off >= kLeafSpaceBytes) return m.report_corruption(structure, leaf_buf.daddr(), at() + " is past the data space");
  int err = m.read_dablk(ip, false, db * g.blkfsbs, &dir3_data_ops(), data);
  if (err == ENOENT)
    return m.report_corruption(structure, leaf_buf.daddr(),
                               at() + " names data block " + std::to_string(db) + ", a hole");
  if (err) return err;
  const size_t end = entries_end({data->data(), data->size()}, kDir3DataMagic);
  if (end == 0)
    return m.report_corruption("dir3 data", data->daddr(),
                               at() + " names data block " + std::to_string(db) + ", which is not a dir3 data block");
  if (!entry_at({data->data(), data->size()}, end, off % g.blksize, out))
    return m.report_corruption(structure, leaf_buf.daddr(),
                               at() + " names no entry of data block " + std::to_string(db));
  return 0;
}

}  // namespace

}  // namespace xfsfuse::fs::dir

namespace xfsfuse::fs {

const btree::DaBufOps& dir3_leaf_ops() {
  static const btree::DaBufOps ops("dir3 leaf", {kDir3Leaf1Magic, kDir3LeafnMagic}, dir::leaf_check);
  return ops;
}

}  // namespace xfsfuse::fs

namespace xfsfuse::fs::dir {

int leaf_lookup(Mount& m, const CachedInode& ip, uint16_t leaf_magic, std::string_view name, uint64_t* ino,
                uint8_t* ftype) {
  const Geometry g = geometry(m.sb());
  const char* structure = leaf_magic == kDir3Leaf1Magic ? "dir3 leaf1" : "dir3 leafn";
  auto dir = [&] { return "directory " + std::to_string(ip.core.ino) + ": "; };
  btree::DaTree t;
  t.root = static_cast<uint32_t>(g.leaf_dablk);
  t.leaf_magic = leaf_magic;
  t.read = [&](uint32_t dablk, bc::BufHandle* out) { return m.read_dablk(ip, false, dablk, &dir3_leaf_ops(), out); };
  t.report = [&](uint64_t daddr, const std::string& why) {
    return m.report_corruption("dir3 node", daddr, dir() + why);
  };
  const uint32_t hash = da_hashname(name);
  btree::DaLeaf leaf;
  int err = btree::da_lookup_leaf(t, hash, &leaf);
  if (err == ENOENT) return m.report_corruption(structure, ip.daddr, dir() + "no block at the leaf-space start");
  if (err) return err;
  const uint64_t max_leaves = leaf_blocks(ip, g);
  for (uint64_t walked = 1;; walked++) {
    std::span<const std::byte> b(leaf.buf.data(), leaf.buf.size());
    const size_t count = leaf_count(b);
    if (b.size() < kLeafHdrSize || count > (b.size() - kLeafHdrSize) / 8)  // verified by other ops: see entries_end()
      return m.report_corruption(structure, leaf.buf.daddr(),
                                 dir() + "leaf count " + std::to_string(count) + " does not fit the block");
    size_t lo = 0, hi = count;
    while (lo < hi) {
      const size_t mid = lo + (hi - lo) / 2;
      if (leaf_hash(b, mid) < hash)
        lo = mid + 1;
      else
        hi = mid;
    }
    for (; lo < count && leaf_hash(b, lo) == hash; lo++) {
      if (leaf_addr(b, lo) == 0) continue;  // stale
      bc::BufHandle data;
      DataEntry e;
      if ((err = resolve(m, ip, g, leaf.buf, structure, leaf_addr(b, lo), &data, &e))) return err;
      if (e.name != name) continue;
      if ((err = check_ino(m, "dir3 data", data.daddr(), e.ino, e.name))) return err;
      *ino = e.ino;
      if (ftype) *ftype = e.ftype;
      return 0;
    }
    if (lo < count) return ENOENT;                          // a larger hash follows: the run is over
    if ((err = btree::da_next_leaf(t, &leaf))) return err;  // ENOENT: that was the last leaf
    if (walked >= max_leaves)
      return m.report_corruption(
          "dir3 node", leaf.buf.daddr(),
          dir() + "leaf forw chain longer than the " + std::to_string(max_leaves) + " leaf blocks mapped");
  }
}

}  // namespace xfsfuse::fs::dir
