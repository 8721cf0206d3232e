// Attr leaf blocks (16-bit magic 0x3bee in the xd_da3_blkinfo) and the da
// btree that node form puts above them; a leaf-form fork is the tree whose
// root, at attr fork block 0, is its only leaf.
//
// A leaf block (one fsblock): xd_attr3_leaf_hdr (80 bytes), then `count`
// xd_attr_leaf_entry (hashval, nameidx, flags) sorted by hashval, free space,
// and from firstused to the block's end the name records, each at a 4-byte
// aligned nameidx:
//   local  (kFlagLocal set): be16 valuelen, u8 namelen, name, value
//   remote:                  be32 valueblk, be32 valuelen, u8 namelen, name
// firstused 0 stands for 65536 in 64 KiB blocks, where it does not fit 16 bits.
// The whole entry table is checked when the buffer cache reads the block
// (leaf_block_ok below, through btree::DaBufOps); the walks re-check the parts
// they use (see usable_hdr), as another reader may have read it first.
#include <cerrno>
#include <cstring>

#include "btree/da_btree.h"
#include "fs/attr_internal.h"
#include "fs/buf_ops.h"
#include "fs/corrupt.h"
#include "fs/dir.h"
#include "fs/format/attr.h"
#include "fs/format/endian.h"

namespace xfsfuse::fs::attr {

namespace {

constexpr size_t kHdrSize = sizeof(xd_attr3_leaf_hdr);
constexpr size_t kEntrySize = sizeof(xd_attr_leaf_entry);
constexpr size_t kLocalHead = 3;   // valuelen, namelen
constexpr size_t kRemoteHead = 9;  // valueblk, valuelen, namelen
constexpr uint8_t kKnownFlags = kFlagLocal | kNamespaceMask | kFlagIncomplete;

struct LeafHdr {
  size_t count = 0;
  size_t firstused = 0;  // bytes from the block start
};

LeafHdr leaf_hdr(std::span<const std::byte> b) {
  xd_attr3_leaf_hdr h;
  std::memcpy(&h, b.data(), sizeof h);
  LeafHdr r{be16(h.count), be16(h.firstused)};
  if (r.firstused == 0 && b.size() == 65536) r.firstused = 65536;
  return r;
}

xd_attr_leaf_entry leaf_entry(std::span<const std::byte> b, size_t i) {
  xd_attr_leaf_entry e;
  std::memcpy(&e, b.data() + kHdrSize + i * kEntrySize, sizeof e);
  return e;
}

const uint8_t* u8_at(std::span<const std::byte> b, size_t off) { return reinterpret_cast<const uint8_t*>(b.data() + off); }

// The record of entry e.  REQUIRES: e passed check_entry().
AttrRecord leaf_record(std::span<const std::byte> b, const xd_attr_leaf_entry& e) {
  const size_t idx = be16(e.nameidx);
  AttrRecord r;
  r.flags = e.flags & (kNamespaceMask | kFlagIncomplete);
  if (e.flags & kFlagLocal) {
    const size_t namelen = *u8_at(b, idx + 2);
    r.valuelen = static_cast<uint32_t>(bc::load_be(b.data() + idx, 2));
    r.name = {reinterpret_cast<const char*>(u8_at(b, idx + kLocalHead)), namelen};
    r.value = b.subspan(idx + kLocalHead + namelen, r.valuelen);
  } else {
    r.remote = true;
    r.valueblk = static_cast<uint32_t>(bc::load_be(b.data() + idx, 4));
    r.valuelen = static_cast<uint32_t>(bc::load_be(b.data() + idx + 4, 4));
    r.name = {reinterpret_cast<const char*>(u8_at(b, idx + kRemoteHead)), *u8_at(b, idx + 8)};
  }
  return r;
}

// Checks entry i and its name record.  REQUIRES: the header fits the block.
bool check_entry(std::span<const std::byte> b, const LeafHdr& h, size_t i, std::string* why) {
  const xd_attr_leaf_entry e = leaf_entry(b, i);
  const std::string at = "entry " + std::to_string(i);
  if (i > 0 && be32(e.hashval) < be32(leaf_entry(b, i - 1).hashval)) {
    *why = at + " hashval " + hex(be32(e.hashval)) + " is below the one before it";
    return false;
  }
  if (e.flags & ~kKnownFlags || (e.flags & kNamespaceMask) == kNamespaceMask) {
    *why = at + " has flags " + hex(e.flags);
    return false;
  }
  const bool local = e.flags & kFlagLocal;
  const size_t idx = be16(e.nameidx), head = local ? kLocalHead : kRemoteHead;
  if (idx < h.firstused || idx % 4 != 0 || idx + head > b.size()) {
    *why = at + " nameidx " + std::to_string(idx) + " is not an aligned offset in [firstused " +
           std::to_string(h.firstused) + ", " + std::to_string(b.size()) + ")";
    return false;
  }
  const size_t namelen = *u8_at(b, idx + head - 1);
  const size_t valuelen = local ? bc::load_be(b.data() + idx, 2) : 0;
  if (namelen == 0 || idx + head + namelen + valuelen > b.size()) {
    *why = at + " record at " + std::to_string(idx) + " (name " + std::to_string(namelen) + " bytes, value " +
           std::to_string(valuelen) + ") does not fit the block";
    return false;
  }
  return true;
}

// Decodes the header into *h and checks that the entry table fits below
// firstused, and firstused in the block.
bool check_hdr(std::span<const std::byte> b, LeafHdr* h, std::string* why) {
  if (b.size() < kHdrSize) {
    *why = "leaf block of " + std::to_string(b.size()) + " bytes";
    return false;
  }
  *h = leaf_hdr(b);
  if (kHdrSize + h->count * kEntrySize > h->firstused || h->firstused > b.size()) {
    *why = "count " + std::to_string(h->count) + " and firstused " + std::to_string(h->firstused) + " do not fit a " +
           std::to_string(b.size()) + "-byte block";
    return false;
  }
  return true;
}

std::span<const std::byte> bytes(const bc::BufHandle& h) { return {h.data(), h.size()}; }

// The attr fork's da btree.  m and ip must outlive it.
btree::DaTree make_tree(Mount& m, const CachedInode& ip) {
  btree::DaTree t;
  t.root = 0;
  t.leaf_magic = kAttr3LeafMagic;
  t.read = [&m, &ip](uint32_t dablk, bc::BufHandle* out) { return m.read_dablk(ip, true, dablk, &attr3_leaf_ops(), out); };
  t.report = [&m, ino = ip.core.ino](uint64_t daddr, const std::string& why) {
    return m.report_corruption("attr da btree", daddr, "inode " + std::to_string(ino) + ": " + why);
  };
  return t;
}

// da_first_leaf / da_lookup_leaf's ENOENT (block 0 is a hole) is corruption
// here: the caller saw attr fork extents.
int root_hole(Mount& m, const CachedInode& ip, int err) {
  if (err != ENOENT) return err;
  return m.report_corruption("attr fork", ip.daddr,
                             "inode " + std::to_string(ip.core.ino) + ": attr fork block 0 is a hole");
}

// Leaves a walk may visit: a longer forw chain must loop.
uint64_t fork_blocks(const CachedInode& ip) {
  uint64_t n = 0;
  for (const Extent& e : ip.af.extents) n += e.blockcount;
  return n;
}

// The cache verifies a block once, with the ops of whoever reads it first,
// so a leaf cross-linked into another tree, or first read unverified, may
// never have met leaf_block_ok().  The walks therefore re-check what they use,
// O(1) apiece: the header before the entry table, an entry before its
// record.  These return 0, or EUCLEAN after one log line.
int usable_hdr(Mount& m, const CachedInode& ip, const btree::DaLeaf& leaf, LeafHdr* h) {
  std::string why;
  if (check_hdr(bytes(leaf.buf), h, &why)) return 0;
  return m.report_corruption("attr leaf", leaf.buf.daddr(), "inode " + std::to_string(ip.core.ino) + ": " + why);
}

int usable_entry(Mount& m, const CachedInode& ip, const btree::DaLeaf& leaf, const LeafHdr& h, size_t i) {
  std::string why;
  if (check_entry(bytes(leaf.buf), h, i, &why)) return 0;
  return m.report_corruption("attr leaf", leaf.buf.daddr(), "inode " + std::to_string(ip.core.ino) + ": " + why);
}

// Moves *leaf to its right sibling, the (*visited + 1)th leaf of the walk.
// Returns 0, ENOENT (no sibling), or an errno (reported).
int next_leaf(Mount& m, const CachedInode& ip, const btree::DaTree& t, btree::DaLeaf* leaf, uint64_t* visited) {
  const uint64_t daddr = leaf->buf.daddr();
  if (int err = btree::da_next_leaf(t, leaf)) return err;
  if (++*visited > fork_blocks(ip))
    return m.report_corruption("attr leaf", daddr, "inode " + std::to_string(ip.core.ino) + ": more than " +
                                                       std::to_string(fork_blocks(ip)) + " leaves in the forw chain");
  return 0;
}

}  // namespace

// btree::DaBufOps::LeafCheck for attr leaves: the header, then every entry.
// Remote value fields are checked when the value is read.
bool leaf_block_ok(std::span<const std::byte> b, std::string* why) {
  LeafHdr h;
  if (!check_hdr(b, &h, why)) return false;
  for (size_t i = 0; i < h.count; i++)
    if (!check_entry(b, h, i, why)) return false;
  return true;
}

void leaf_entries(std::span<const std::byte> b,
                  const std::function<void(size_t i, uint32_t hashval, const AttrRecord& r)>& fn) {
  const LeafHdr h = leaf_hdr(b);
  for (size_t i = 0; i < h.count; i++) {
    const xd_attr_leaf_entry e = leaf_entry(b, i);
    fn(i, be32(e.hashval), leaf_record(b, e));
  }
}

int leaf_walk(Mount& m, const CachedInode& ip, const RecordFn& fn) {
  const btree::DaTree t = make_tree(m, ip);
  btree::DaLeaf leaf;
  if (int err = btree::da_first_leaf(t, &leaf)) return root_hole(m, ip, err);
  uint64_t visited = 1;
  uint32_t prev_hash = 0;
  for (;;) {
    const auto b = bytes(leaf.buf);
    LeafHdr h;
    if (int err = usable_hdr(m, ip, leaf, &h)) return err;
    if (h.count > 0 && be32(leaf_entry(b, 0).hashval) < prev_hash)
      return m.report_corruption("attr leaf", leaf.buf.daddr(),
                                 "inode " + std::to_string(ip.core.ino) + ": first hashval " +
                                     hex(be32(leaf_entry(b, 0).hashval)) + " is below the left sibling's last " +
                                     hex(prev_hash));
    for (size_t i = 0; i < h.count; i++) {
      if (int err = usable_entry(m, ip, leaf, h, i)) return err;
      if (!fn(leaf_record(b, leaf_entry(b, i)))) return 0;
    }
    if (h.count > 0) prev_hash = be32(leaf_entry(b, h.count - 1).hashval);
    int err = next_leaf(m, ip, t, &leaf, &visited);
    if (err == ENOENT) return 0;
    if (err) return err;
  }
}

int leaf_get(Mount& m, const CachedInode& ip, uint8_t ns, std::string_view name, std::vector<std::byte>* value) {
  const uint32_t hash = da_hashname(name);
  const btree::DaTree t = make_tree(m, ip);
  btree::DaLeaf leaf;
  if (int err = btree::da_lookup_leaf(t, hash, &leaf)) return root_hole(m, ip, err);
  uint64_t visited = 1;
  for (;;) {
    const auto b = bytes(leaf.buf);
    LeafHdr h;
    if (int err = usable_hdr(m, ip, leaf, &h)) return err;
    size_t lo = 0, hi = h.count;  // first entry with hashval >= hash
    while (lo < hi) {
      const size_t mid = lo + (hi - lo) / 2;
      if (be32(leaf_entry(b, mid).hashval) < hash) lo = mid + 1;
      else hi = mid;
    }
    for (size_t i = lo; i < h.count; i++) {
      const xd_attr_leaf_entry e = leaf_entry(b, i);
      if (be32(e.hashval) != hash) return ENODATA;
      if (int err = usable_entry(m, ip, leaf, h, i)) return err;
      const AttrRecord r = leaf_record(b, e);
      if (!matches(r, ns, name)) continue;
      if (!r.remote) {
        value->assign(r.value.begin(), r.value.end());
        return 0;
      }
      leaf.buf.release();
      return remote_read(m, ip, r.valueblk, r.valuelen, value);
    }
    // The run of equal hashes may go on in the right sibling.
    int err = next_leaf(m, ip, t, &leaf, &visited);
    if (err == ENOENT) return ENODATA;
    if (err) return err;
  }
}

}  // namespace xfsfuse::fs::attr

namespace xfsfuse::fs {

const btree::DaBufOps& attr3_leaf_ops() {
  static const btree::DaBufOps ops("attr3 leaf", {kAttr3LeafMagic}, attr::leaf_block_ok);
  return ops;
}

}  // namespace xfsfuse::fs
