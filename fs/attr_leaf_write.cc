// Attr leaf block writes, in the kernel's manner so that the bytes match a
// kernel-made leaf (xfs_attr3_leaf_add / _add_work / _compact / _remove):
// - name records are carved from the end of a free region found in the
//   freemap (3 regions, searched from the last), the entry table grows into
//   a region that starts where the table ends; firstused follows the lowest
//   record;
// - with no region large enough but holes in the block (a removed record
//   not at firstused), the block is compacted: records repacked from the
//   block's end in entry order, one free region left;
// - a region the add leaves empty is cleared to (0, 0) and the block
//   marked as having holes;
// - a removed record's bytes join an adjacent region or replace the
//   smallest one if larger; the entry table closes up.
// Record sizes: local 3 + name + value, remote 11 + name, rounded up to 4;
// a value stays local while its record is under 3/4 of the block.
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "fs/attr_internal.h"
#include "fs/attr_write_internal.h"
#include "fs/bmap_write.h"
#include "fs/buf_ops.h"
#include "fs/format/attr.h"
#include "fs/format/endian.h"
#include "fs/format/magic.h"
#include "fs/mount.h"

namespace xfsfuse::fs::attr {

namespace {

constexpr size_t kHdr = sizeof(xd_attr3_leaf_hdr), kEntry = sizeof(xd_attr_leaf_entry), kMaps = kLeafMaps;
constexpr size_t kCountOff = offsetof(xd_attr3_leaf_hdr, count);
constexpr size_t kMagicOff = offsetof(xd_da3_blkinfo, hdr) + offsetof(xd_da_blkinfo, magic);
// A remote record is sized as 11 bytes + the name: the format's C struct
// (be32 valueblk, be32 valuelen, u8 namelen, u8 name[1]) is padded to 12
// bytes and its size less one counted, though the name starts at byte 9.
constexpr size_t kRemoteRecordHead = 11;

size_t round4(size_t n) { return (n + 3) & ~size_t{3}; }
size_t ld(const std::byte* b, size_t off, unsigned n) { return bc::load_be(b + off, n); }

std::span<std::byte> whole(bc::BufHandle* h) { return {h->data(), h->size()}; }
LeafHdr get_hdr(const bc::BufHandle* h) { return leaf_hdr({h->data(), h->size()}); }
void put_hdr(bc::BufHandle* h, const LeafHdr& r) { put_leaf_hdr(whole(h), r); }

std::byte* entry_at(std::byte* b, size_t i) { return b + kHdr + i * kEntry; }
size_t nameidx(const std::byte* b, size_t i) { return ld(b, kHdr + i * kEntry + 4, 2); }
uint8_t flags_of(const std::byte* b, size_t i) { return static_cast<uint8_t>(b[kHdr + i * kEntry + 6]); }

void log_all(Transaction& tp, bc::BufHandle* h) { tp.log_buf(h, 0, h->size()); }

// Inserts a at index from free region m (xfs_attr3_leaf_add_work).
void add_work(bc::BufHandle* h, LeafHdr* r, size_t index, const NewAttr& a, size_t m, bool* remote) {
  std::byte* b = h->data();
  std::memmove(entry_at(b, index + 1), entry_at(b, index), (r->count - index) * kEntry);
  r->count++;
  bool local = false;
  const size_t size = leaf_newentsize(h->size(), a, &local);
  r->map[m].size -= size;
  const size_t idx = r->map[m].base + r->map[m].size;
  std::byte* e = entry_at(b, index);
  store_be(e, 4, a.hash);
  store_be(e + 4, 2, idx);
  e[6] = static_cast<std::byte>(a.ns | (local ? kFlagLocal : 0) | (a.incomplete ? kFlagIncomplete : 0));
  e[7] = std::byte{0};
  std::memset(b + idx, 0, size);
  if (local) {
    store_be(b + idx, 2, a.value.size());
    b[idx + 2] = static_cast<std::byte>(a.name.size());
    std::memcpy(b + idx + 3, a.name.data(), a.name.size());
    if (!a.value.empty()) std::memcpy(b + idx + 3 + a.name.size(), a.value.data(), a.value.size());
  } else {
    b[idx + 8] = static_cast<std::byte>(a.name.size());
    std::memcpy(b + idx + 9, a.name.data(), a.name.size());
  }
  *remote = !local;
  r->firstused = std::min(r->firstused, idx);
  const size_t table_end = kHdr + (r->count - 1) * kEntry;
  for (FreeMap& f : r->map) {
    if (f.base == table_end) {
      f.base += kEntry;
      f.size -= std::min(f.size, kEntry);
    }
    // A region left empty is cleared and the block marked as having holes
    // (the kernel since its 2025 freemap fixes, backported to 6.18).
    if (f.size == 0 && f.base > 0) {
      f.base = 0;
      r->holes = 1;
    }
  }
  r->usedbytes += size;
}

}  // namespace

LeafHdr leaf_hdr(std::span<const std::byte> b) {
  LeafHdr r;
  r.count = ld(b.data(), kCountOff, 2);
  r.usedbytes = ld(b.data(), kCountOff + 2, 2);
  r.firstused = ld(b.data(), kCountOff + 4, 2);
  if (r.firstused == 0) r.firstused = b.size();  // 65536 in a 64 KiB block
  r.holes = static_cast<uint8_t>(b[kCountOff + 6]);
  for (size_t i = 0; i < kMaps; i++) {
    r.map[i].base = ld(b.data(), kCountOff + 8 + 4 * i, 2);
    r.map[i].size = ld(b.data(), kCountOff + 10 + 4 * i, 2);
  }
  return r;
}

void put_leaf_hdr(std::span<std::byte> b, const LeafHdr& r) {
  store_be(b.data() + kCountOff, 2, r.count);
  store_be(b.data() + kCountOff + 2, 2, r.usedbytes);
  store_be(b.data() + kCountOff + 4, 2, r.firstused == b.size() && r.firstused > 0xffff ? 0 : r.firstused);
  b[kCountOff + 6] = static_cast<std::byte>(r.holes);
  for (size_t i = 0; i < kMaps; i++) {
    store_be(b.data() + kCountOff + 8 + 4 * i, 2, r.map[i].base);
    store_be(b.data() + kCountOff + 10 + 4 * i, 2, r.map[i].size);
  }
}

uint32_t leaf_hashval(std::span<const std::byte> b, size_t i) {
  return static_cast<uint32_t>(ld(b.data(), kHdr + i * kEntry, 4));
}

size_t leaf_entsize(std::span<const std::byte> b, size_t i) {
  const size_t idx = nameidx(b.data(), i);
  if (flags_of(b.data(), i) & kFlagLocal) return round4(3 + ld(b.data(), idx, 2) + static_cast<size_t>(b[idx + 2]));
  return round4(kRemoteRecordHead + static_cast<size_t>(b[idx + 8]));
}

size_t leaf_newentsize(size_t blocksize, const NewAttr& a, bool* local) {
  const size_t size = round4(3 + a.name.size() + a.value.size());
  *local = size < blocksize / 2 + blocksize / 4;
  return *local ? size : round4(kRemoteRecordHead + a.name.size());
}

void leaf_compact(std::span<std::byte> b, LeafHdr* r) {
  std::vector<std::byte> src(b.begin(), b.end());
  std::memset(b.data() + kHdr, 0, b.size() - kHdr);
  LeafHdr s = *r, d;
  d.firstused = b.size();
  d.map[0] = {kHdr, b.size() - kHdr};
  leaf_moveents(src, &s, 0, b, &d, 0, s.count);
  *r = d;
}

bool is_node(const bc::BufHandle* h) { return ld(h->data(), kMagicOff, 2) == kDa3NodeMagic; }

LeafPos leaf_lookup(std::span<const std::byte> b, const NewAttr& a) {
  const size_t count = ld(b.data(), kCountOff, 2);
  LeafPos p;
  size_t i = 0;
  while (i < count && ld(b.data(), kHdr + i * kEntry, 4) < a.hash) i++;
  for (; i < count && ld(b.data(), kHdr + i * kEntry, 4) == a.hash; i++) {
    const uint8_t fl = flags_of(b.data(), i);
    if (((fl & kFlagIncomplete) != 0) != a.incomplete || (fl & kNamespaceMask) != a.ns) continue;
    const size_t idx = nameidx(b.data(), i);
    const bool local = fl & kFlagLocal;
    const size_t namelen = static_cast<size_t>(b[idx + (local ? 2 : 8)]);
    const char* name = reinterpret_cast<const char*>(b.data() + idx + (local ? 3 : 9));
    if (std::string_view(name, namelen) != a.name) continue;
    p.found = true;
    p.index = i;
    p.remote = !local;
    if (!local) {
      p.valueblk = static_cast<uint32_t>(ld(b.data(), idx, 4));
      p.valuelen = static_cast<uint32_t>(ld(b.data(), idx + 4, 4));
    }
    return p;
  }
  p.index = i;
  return p;
}

int leaf_read(Transaction& tp, CachedInode* ip, bc::BufHandle** out) {
  Mount& m = tp.mount();
  std::vector<bc::DiskRange> maps;
  int e = m.map_blocks(*ip, true, 0, 1, &maps);
  if (e == ENOENT)
    return m.report_corruption("attr fork", ip->daddr,
                               "inode " + std::to_string(ip->core.ino) + ": attr fork block 0 is a hole");
  if (e) return e;
  return tp.read_buf(maps, &attr3_leaf_ops(), ip->core.ino, out);
}

int leaf_create(Transaction& tp, CachedInode* ip, bc::BufHandle** out) {
  Mount& m = tp.mount();
  std::vector<bc::DiskRange> maps;
  if (int e = m.map_blocks(*ip, true, 0, 1, &maps)) return e;
  if (int e = tp.get_new_buf(maps, &attr3_leaf_ops(), out)) return e;
  leaf_init(tp, *ip, *out);
  return 0;
}

void leaf_init(Transaction& tp, const CachedInode& ip, bc::BufHandle* h) {
  std::byte* b = h->data();
  std::memset(b, 0, h->size());
  store_be(b + kMagicOff, 2, kAttr3LeafMagic);
  store_be(b + offsetof(xd_da3_blkinfo, blkno), 8, h->daddr());
  std::memcpy(b + offsetof(xd_da3_blkinfo, uuid), tp.mount().sb().meta_uuid.data(), 16);
  store_be(b + offsetof(xd_da3_blkinfo, owner), 8, ip.core.ino);
  LeafHdr r;
  r.firstused = h->size();
  r.map[0] = {kHdr, h->size() - kHdr};
  put_hdr(h, r);
  log_all(tp, h);
}

bool leaf_add(Transaction& tp, bc::BufHandle* h, size_t index, const NewAttr& a, bool* remote) {
  LeafHdr r = get_hdr(h);
  bool local = false;
  const size_t size = leaf_newentsize(h->size(), a, &local);
  const size_t table = (r.count + 1) * kEntry + kHdr;
  size_t sum = 0;
  for (size_t i = kMaps; i-- > 0;) {
    if (table > r.firstused) {
      sum += r.map[i].size;
      continue;
    }
    if (r.map[i].size == 0) continue;
    const size_t need = size + (r.map[i].base < r.firstused ? kEntry : 0);
    if (r.map[i].size >= need) {
      add_work(h, &r, index, a, i, remote);
      put_hdr(h, r);
      log_all(tp, h);
      return true;
    }
    sum += r.map[i].size;
  }
  if (!r.holes && sum < size) return false;
  leaf_compact(whole(h), &r);
  put_hdr(h, r);
  log_all(tp, h);
  if (r.map[0].size < size + kEntry) return false;
  add_work(h, &r, index, a, 0, remote);
  put_hdr(h, r);
  log_all(tp, h);
  return true;
}

void leaf_set_remote(Transaction& tp, bc::BufHandle* h, size_t index, uint32_t valueblk, uint32_t valuelen) {
  std::byte* b = h->data();
  const size_t idx = nameidx(b, index);
  store_be(b + idx, 4, valueblk);
  store_be(b + idx + 4, 4, valuelen);
  log_all(tp, h);
}

void leaf_remove(Transaction& tp, bc::BufHandle* h, size_t index) {
  std::byte* b = h->data();
  LeafHdr r = get_hdr(h);
  const size_t table = r.count * kEntry + kHdr;
  const size_t idx = nameidx(b, index), size = leaf_entsize(whole(h), index);
  size_t smallest_size = r.map[0].size;
  int before = -1, after = -1, smallest = kMaps - 1;
  for (size_t i = 0; i < kMaps; i++) {
    FreeMap& f = r.map[i];
    if (f.base == table) {
      f.base -= kEntry;
      f.size += kEntry;
    }
    if (f.base + f.size == idx) {
      before = static_cast<int>(i);
    } else if (f.base == idx + size) {
      after = static_cast<int>(i);
    } else if (f.size < smallest_size) {
      smallest_size = f.size;
      smallest = static_cast<int>(i);
    }
  }
  if (before >= 0 && after >= 0) {
    r.map[before].size += size + r.map[after].size;
    r.map[after] = {};
  } else if (before >= 0) {
    r.map[before].size += size;
  } else if (after >= 0) {
    r.map[after].base = idx;
    r.map[after].size += size;
  } else if (r.map[smallest].size < size) {
    r.map[smallest] = {idx, size};
  }
  const bool was_first = idx == r.firstused;
  std::memset(b + idx, 0, size);
  r.usedbytes -= size;
  std::memmove(entry_at(b, index), entry_at(b, index + 1), (r.count - index - 1) * kEntry);
  r.count--;
  std::memset(entry_at(b, r.count), 0, kEntry);
  if (was_first) {
    r.firstused = h->size();
    for (size_t i = 0; i < r.count; i++) r.firstused = std::min(r.firstused, nameidx(b, i));
  } else {
    r.holes = 1;
  }
  put_hdr(h, r);
  log_all(tp, h);
}

void leaf_set_incomplete(Transaction& tp, bc::BufHandle* h, size_t index, bool incomplete) {
  std::byte& fl = entry_at(h->data(), index)[6];
  fl = incomplete ? (fl | std::byte{kFlagIncomplete}) : (fl & ~std::byte{kFlagIncomplete});
  tp.log_buf(h, kHdr + index * kEntry + 6, 1);
}

int leaf_allfit(const CachedInode& ip, std::span<const std::byte> b) {
  const size_t count = ld(b.data(), kCountOff, 2);
  size_t bytes = sizeof(xd_attr_sf_hdr);
  for (size_t i = 0; i < count; i++) {
    const uint8_t fl = flags_of(b.data(), i);
    if (fl & kFlagIncomplete) continue;
    if (!(fl & kFlagLocal)) return 0;
    const size_t idx = nameidx(b.data(), i);
    const size_t namelen = static_cast<size_t>(b[idx + 2]), valuelen = ld(b.data(), idx, 2);
    if (namelen >= 255 || valuelen >= 255) return 0;
    bytes += 3 + namelen + valuelen;
  }
  if (ip.df.format != ForkFormat::kBtree && bytes == sizeof(xd_attr_sf_hdr)) return -1;
  return bytesfit(ip, bytes);
}

int leaf_to_sf(Transaction& tp, CachedInode* ip, bc::BufHandle* h, int forkoff) {
  const std::vector<std::byte> src(h->data(), h->data() + h->size());
  bool more = false;
  if (int e = bmap_unmap(tp, ip, 0, 1, 1, &more, kBmapAttrFork)) return e;
  tp.stale_buf(h);
  if (forkoff == -1) return remove_fork(tp, ip);
  sf_create(tp, ip);
  const size_t count = ld(src.data(), kCountOff, 2);
  for (size_t i = 0; i < count; i++) {
    const uint8_t fl = flags_of(src.data(), i);
    const size_t idx = nameidx(src.data(), i);
    if (fl & kFlagIncomplete || idx == 0) continue;
    NewAttr a;
    a.ns = fl & kNamespaceMask;
    const size_t namelen = static_cast<size_t>(src[idx + 2]);
    a.name = {reinterpret_cast<const char*>(src.data() + idx + 3), namelen};
    a.value = std::span<const std::byte>(src).subspan(idx + 3 + namelen, ld(src.data(), idx, 2));
    // The kernel's xfs_attr_shortform_add with the forkoff allfit chose.
    if (ip->core.forkoff != forkoff)
      if (int e = bmap_set_forkoff(tp, ip, static_cast<uint8_t>(forkoff))) return e;
    auto& b = ip->af.bytes;
    const size_t tot = bc::load_be(b.data(), 2);
    b.push_back(static_cast<std::byte>(namelen));
    b.push_back(static_cast<std::byte>(a.value.size()));
    b.push_back(static_cast<std::byte>(a.ns));
    b.insert(b.end(), src.begin() + static_cast<ptrdiff_t>(idx + 3),
             src.begin() + static_cast<ptrdiff_t>(idx + 3 + namelen + a.value.size()));
    store_be(b.data(), 2, tot + 3 + namelen + a.value.size());
    b[2] = static_cast<std::byte>(static_cast<unsigned>(b[2]) + 1);
  }
  tp.log_inode(ip, kDirtyCore | kDirtyAttr);
  return 0;
}

}  // namespace xfsfuse::fs::attr
