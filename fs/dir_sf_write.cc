// Short-form directories changed as the kernel changes them, and their
// conversion to block form.
//
// The fork is decoded into an SfDir, changed, and encoded again: every
// inumber takes 4 bytes, or 8 when any of them (the parent's included) needs
// more than 32 bits, and i8count counts those (docs/format.md "Short-form
// directories").  Where a new entry goes (XFS Algorithms & Data Structures,
// "Shortform Directories", and the kernel's behaviour, measured):
//  - it goes after the last entry, at the data-block offset right after the
//    last entry's, unless the inode numbers grow to 8 bytes or a block built
//    from the directory would not hold it there: then into the first gap of
//    offsets (from 96) that holds it, or after the last entry;
//  - if the short form would outgrow the data fork, or a block built from it
//    could not hold the entry anywhere, the directory becomes block form
//    first.
// Block form from short form: "." at 64, ".." at 80, every entry at its
// offset, the gaps between them (and up to the leaf) free regions offered to
// bestfree in offset order, the leaf sorted by hash (in the kernel's order
// for equal hashes: sort_like_kernel).
#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>

#include "fs/dir_write_internal.h"
#include "fs/format/dir.h"
#include "fs/format/endian.h"

namespace xfsfuse::fs::dir {

namespace {

int sf_load(Mount& m, const CachedInode& dp, SfDir* d) {
  std::vector<SfEntry> ents;
  if (int err = sf_decode(m, dp, &d->parent, &ents)) return err;
  d->ents.clear();
  for (const SfEntry& e : ents) d->ents.push_back(SfDir::Ent{e.off, std::string(e.name), e.ino, e.ftype});
  return 0;
}

bool needs_ino8(const SfDir& d) {
  if (d.parent > kMaxShortIno) return true;
  return std::any_of(d.ents.begin(), d.ents.end(), [](const SfDir::Ent& e) { return e.ino > kMaxShortIno; });
}

size_t fork_bytes(const CachedInode& dp) { return fork_size(dp.core, false); }

using LeafEnt = std::pair<uint32_t, uint32_t>;  // hashval, address

// Sorts leaf entries by hash the way the kernel's sort() does (a bottom-up
// heapsort popping two elements a round), which is not stable: leaf entries
// of equal hash end in the order the kernel leaves them.
void sort_like_kernel(std::vector<LeafEnt>& v) {
  auto cmp = [&](size_t i, size_t j) { return v[i].first < v[j].first ? -1 : v[i].first > v[j].first ? 1 : 0; };
  auto parent = [](size_t i) { return (i - 1) / 2; };
  size_t n = v.size(), a = v.size() / 2, shift = 0;
  if (a == 0) return;
  for (;;) {
    if (a) {  // building the heap: sift down the next element
      a -= size_t{1} << shift;
    } else if (n > 3) {  // the largest to the end, then the larger of its children
      std::swap(v[0], v[--n]);
      shift = cmp(1, 2) <= 0;
      a = size_t{1} << shift;
      std::swap(v[a], v[--n]);
    } else {
      break;
    }
    // Down the path of larger children (the right one on ties) to a leaf,
    // back up to where v[a] belongs, then rotate it there.
    size_t b = a, c = 0, d = 0;
    for (;;) {
      c = 2 * b + 1;
      d = c + 1;
      if (d >= n) break;
      b = cmp(c, d) > 0 ? c : d;
    }
    if (d == n) b = c;
    while (b != a && cmp(a, b) >= 0) b = parent(b);
    for (c = b; b != a;) {
      b = parent(b);
      std::swap(v[b], v[c]);
    }
  }
  std::swap(v[0], v[--n]);
  if (n == 2 && cmp(0, 1) > 0) std::swap(v[0], v[1]);
}

// Makes dp a block-form directory holding what d holds (the kernel's
// xfs_dir2_sf_to_block).
int sf_to_block(Transaction& tp, CachedInode* dp, const SfDir& d) {
  Mount& m = tp.mount();
  const Geometry g = geometry(m.sb());
  dp->core.format = dp->df.format = ForkFormat::kExtents;
  dp->df.bytes.clear();
  dp->df.extents.clear();
  dp->core.nextents = 0;
  dp->core.size = 0;
  std::vector<bc::DiskRange> maps;
  if (int err = dir_alloc_block(tp, dp, 0, &maps)) return err;
  bc::BufHandle* h;
  if (int err = tp.get_new_buf(maps, &dir3_block_ops(), &h)) return err;
  const size_t bs = g.blksize;
  std::byte* p = h->data();
  store_be(p + offsetof(xd_dir3_blk_hdr, magic), 4, kDir3BlockMagic);
  store_be(p + offsetof(xd_dir3_blk_hdr, blkno), 8, maps[0].daddr);
  std::memcpy(p + offsetof(xd_dir3_blk_hdr, uuid), m.sb().meta_uuid.data(), 16);
  store_be(p + offsetof(xd_dir3_blk_hdr, owner), 8, dp->core.ino);
  tp.log_buf(h, 0, kDataHdrSize);
  DataBlockEdit e(tp, h, dp->core.ino);
  e.add_hole(kDataHdrSize, bs - kDataHdrSize);  // a fresh data block: one free region
  const size_t n = d.ents.size(), tail = 8 + (n + 2) * 8, endoff = bs - tail;
  if (int err = e.use_free(kDataHdrSize, endoff, tail)) return err;
  e.put(bs - 8, 4, n + 2);
  e.put(bs - 4, 4, 0);
  if (int err = e.use_free(kDataHdrSize, kDataHdrSize, e.free_len(kDataHdrSize))) return err;
  e.write_entry(kDotOffset, dp->core.ino, ".", kFtDir);
  e.write_entry(kDotdotOffset, d.parent, "..", kFtDir);
  std::vector<LeafEnt> leaf = {{da_hashname("."), kDotOffset / 8}, {da_hashname(".."), kDotdotOffset / 8}};
  size_t off = kFirstOffset, i = 0;
  while (off < endoff) {
    const size_t next = i == n ? endoff : d.ents[i].off;
    if (next + (i == n ? 0 : entsize(d.ents[i].name.size())) > endoff || next < off)
      return e.corrupt("short-form entry offsets do not fit one block");
    if (off < next) {
      e.add_hole(off, next - off);
      off = next;
      continue;
    }
    const SfDir::Ent& s = d.ents[i++];
    e.write_entry(off, s.ino, s.name, s.ftype);
    leaf.emplace_back(da_hashname(s.name), static_cast<uint32_t>(off / 8));
    off += entsize(s.name.size());
  }
  sort_like_kernel(leaf);
  for (size_t k = 0; k < leaf.size(); k++) {
    store_be(p + endoff + 8 * k, 4, leaf[k].first);
    store_be(p + endoff + 8 * k + 4, 4, leaf[k].second);
  }
  e.log(endoff, leaf.size() * 8);
  dp->core.size = bs;
  tp.log_inode(dp, kDirtyCore | kDirtyData);
  return 0;
}

}  // namespace

size_t SfDir::size() const {
  const size_t inosize = needs_ino8(*this) ? 8 : 4;
  size_t n = 2 + inosize;
  for (const Ent& e : ents) n += 3 + e.name.size() + 1 + inosize;
  return n;
}

void sf_encode(Transaction& tp, CachedInode* dp, const SfDir& d) {
  const size_t fsize = fork_bytes(*dp);
  if (dp->df.format != ForkFormat::kLocal) {
    // Bytes past the short form keep what the inode held there, as the kernel leaves them.
    const size_t start = std::min(dp->raw.size(), kInodeCoreSize);
    const size_t len = std::min(dp->raw.size() - start, fsize);
    dp->df.bytes.assign(dp->raw.begin() + static_cast<ptrdiff_t>(start),
                        dp->raw.begin() + static_cast<ptrdiff_t>(start + len));
  }
  dp->df.bytes.resize(std::max(dp->df.bytes.size(), fsize));
  const bool ino8 = needs_ino8(d);
  const unsigned inosize = ino8 ? 8 : 4;
  std::byte* p = dp->df.bytes.data();
  p[0] = static_cast<std::byte>(d.ents.size());
  size_t i8count = d.parent > kMaxShortIno;
  for (const SfDir::Ent& e : d.ents) i8count += e.ino > kMaxShortIno;
  p[1] = static_cast<std::byte>(i8count);
  store_be(p + 2, inosize, d.parent);
  size_t pos = 2 + inosize;
  for (const SfDir::Ent& e : d.ents) {
    p[pos] = static_cast<std::byte>(e.name.size());
    store_be(p + pos + 1, 2, e.off);
    std::memcpy(p + pos + 3, e.name.data(), e.name.size());
    p[pos + 3 + e.name.size()] = static_cast<std::byte>(e.ftype);
    store_be(p + pos + 4 + e.name.size(), inosize, e.ino);
    pos += 4 + e.name.size() + inosize;
  }
  dp->core.format = dp->df.format = ForkFormat::kLocal;
  dp->df.extents.clear();
  dp->core.nextents = 0;
  dp->core.size = pos;
  tp.log_inode(dp, kDirtyCore | kDirtyData);
}

}  // namespace xfsfuse::fs::dir

namespace xfsfuse::fs {

int dir_sf_to_block(Transaction& tp, CachedInode* dp) {
  dir::SfDir d;
  if (int err = dir::sf_load(tp.mount(), *dp, &d)) return err;
  return dir::sf_to_block(tp, dp, d);
}

}  // namespace xfsfuse::fs

namespace xfsfuse::fs::dir {

int sf_add(Transaction& tp, CachedInode* dp, std::string_view name, uint64_t ino, uint8_t ftype) {
  Mount& m = tp.mount();
  SfDir d;
  if (int err = sf_load(m, *dp, &d)) return err;
  const bool had8 = needs_ino8(d), big = ino > kMaxShortIno, objchange = big && !had8;
  size_t newsize = d.size() + 3 + name.size() + 1 + (had8 ? 8 : 4);
  if (objchange) newsize += (d.ents.size() + 2) * 4;
  // Where the entry would go in a block built from the directory.
  const uint32_t esize = entsize(name.size()), blksize = m.sb().dirblksize;
  uint32_t last_end = kFirstOffset;
  bool holefit = false;
  for (const SfDir::Ent& e : d.ents) {
    holefit = holefit || last_end + esize <= e.off;
    last_end = e.off + entsize(e.name.size());
  }
  const size_t used = last_end + (d.ents.size() + 3) * 8 + 8;
  if (newsize > fork_bytes(*dp) || used + (holefit ? 0 : esize) > blksize) {
    if (int err = sf_to_block(tp, dp, d)) return err;
    return block_add(tp, dp, name, ino, ftype);
  }
  SfDir::Ent ne{last_end, std::string(name), ino, ftype};
  auto at = d.ents.end();
  if (objchange || used + esize > blksize) {
    uint32_t off = kFirstOffset;
    for (at = d.ents.begin(); at != d.ents.end(); ++at) {
      if (off + esize <= at->off) break;
      off = at->off + entsize(at->name.size());
    }
    ne.off = off;
  }
  d.ents.insert(at, std::move(ne));
  sf_encode(tp, dp, d);
  return 0;
}

int sf_remove(Transaction& tp, CachedInode* dp, std::string_view name) {
  SfDir d;
  if (int err = sf_load(tp.mount(), *dp, &d)) return err;
  auto it = std::find_if(d.ents.begin(), d.ents.end(), [&](const SfDir::Ent& e) { return e.name == name; });
  if (it == d.ents.end()) return ENOENT;
  d.ents.erase(it);
  sf_encode(tp, dp, d);
  return 0;
}

int sf_replace(Transaction& tp, CachedInode* dp, std::string_view name, uint64_t ino, uint8_t ftype) {
  SfDir d;
  if (int err = sf_load(tp.mount(), *dp, &d)) return err;
  SfDir::Ent* ent = nullptr;
  if (name != "..") {
    auto it = std::find_if(d.ents.begin(), d.ents.end(), [&](const SfDir::Ent& e) { return e.name == name; });
    if (it == d.ents.end()) return ENOENT;
    ent = &*it;
  }
  // Growing to 8-byte inumbers: block form if the short form would not fit.
  if (ino > kMaxShortIno && !needs_ino8(d) && d.size() + (d.ents.size() + 1) * 4 > fork_bytes(*dp)) {
    if (int err = sf_to_block(tp, dp, d)) return err;
    return block_replace(tp, dp, name, ino, ftype);
  }
  if (ent) {
    ent->ino = ino;
    ent->ftype = ftype;
  } else {
    d.parent = ino;
  }
  sf_encode(tp, dp, d);
  return 0;
}

}  // namespace xfsfuse::fs::dir
