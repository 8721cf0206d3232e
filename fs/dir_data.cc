// Directory data blocks: XDD3 blocks of leaf and node forms and the entry
// area of block form's XDB3 block.
//
// After the 64-byte xd_dir3_data_hdr (whose bestfree lists the 3 longest
// free regions, longest first) the block is tiled, up to its end (data
// blocks) or its leaf entries (block form), by:
//   used entry:  be64 inumber, u8 namelen, name, u8 ftype, pad to 8, be16 tag
//   free region: be16 0xffff, be16 length, ..., be16 tag
// where every tag is the region's own offset in the block.  The whole block is
// checked once, by the verifier, so the walks below trust it.
#include <algorithm>
#include <cerrno>
#include <cstring>

#include "fs/corrupt.h"
#include "fs/dir_internal.h"
#include "fs/format/dir.h"
#include "fs/format/endian.h"

namespace xfsfuse::fs::dir {

namespace {

static_assert(sizeof(xd_dir3_data_hdr) == kDataHdrSize);

uint16_t u16_at(std::span<const std::byte> b, size_t off) { return static_cast<uint16_t>(bc::load_be(b.data() + off, 2)); }
uint8_t u8_at(std::span<const std::byte> b, size_t off) { return std::to_integer<uint8_t>(b[off]); }

struct Bestfree {
  uint16_t offset[3];
  uint16_t length[3];
};

Bestfree bestfree(std::span<const std::byte> blk) {
  xd_dir3_data_hdr h;
  std::memcpy(&h, blk.data(), sizeof h);
  Bestfree bf;
  for (int i = 0; i < 3; i++) {
    bf.offset[i] = be16(h.best_free[i].offset);
    bf.length[i] = be16(h.best_free[i].length);
  }
  return bf;
}

// bestfree's own shape: lengths non-increasing, empty slots (offset 0) last.
// Returns the number of used slots, or -1 with *why.
int check_bestfree_shape(const Bestfree& bf, std::string* why) {
  int used = 0;
  for (int i = 0; i < 3; i++) {
    if (bf.length[i] == 0) {
      if (bf.offset[i] != 0) return corrupt(why, "bestfree[" + std::to_string(i) + "] is empty but has an offset"), -1;
      continue;
    }
    if (used != i) return corrupt(why, "bestfree[" + std::to_string(i) + "] follows an empty slot"), -1;
    if (i > 0 && bf.length[i] > bf.length[i - 1])
      return corrupt(why, "bestfree[" + std::to_string(i) + "] is longer than the one before it"), -1;
    used++;
  }
  return used;
}

// A used entry's fields at off.  REQUIRES: the entry lies in the block.
DataEntry decode_entry(std::span<const std::byte> blk, size_t off) {
  const size_t namelen = u8_at(blk, off + 8);
  DataEntry e;
  e.off = static_cast<uint32_t>(off);
  e.ino = bc::load_be(blk.data() + off, 8);
  e.name = {reinterpret_cast<const char*>(blk.data() + off + 9), namelen};
  e.ftype = u8_at(blk, off + 9 + namelen);
  return e;
}

class DataBufOps : public bc::HeaderBufOps {
 public:
  DataBufOps(const char* name, uint32_t magic) : bc::HeaderBufOps(layout(name, magic)), block_form_(magic == kBlockMagic) {}
  bool verify_read(const bc::VerifyInput& in, std::string* why) const override;

 private:
  static bc::HeaderLayout layout(const char* name, uint32_t magic) {
    bc::HeaderLayout l;
    l.name = name;
    l.magic_off = offsetof(xd_dir3_blk_hdr, magic);
    l.magic_size = 4;
    l.magics = {magic};
    l.crc_off = offsetof(xd_dir3_blk_hdr, crc);
    l.blkno_off = offsetof(xd_dir3_blk_hdr, blkno);
    l.uuid_off = offsetof(xd_dir3_blk_hdr, uuid);
    l.owner_off = offsetof(xd_dir3_blk_hdr, owner);
    return l;
  }
  bool check_block_leaf(std::span<const std::byte> blk, std::string* why) const;
  const bool block_form_;
};

bool DataBufOps::verify_read(const bc::VerifyInput& in, std::string* why) const {
  if (!bc::HeaderBufOps::verify_read(in, why)) return false;
  if (in.data.size() < kDataHdrSize + sizeof(xd_dir2_block_tail) || in.data.size() % 8)
    return corrupt(why, "block of " + std::to_string(in.data.size()) + " bytes"), false;
  return block_form_ ? check_block_leaf(in.data, why) : check_data_entries(in.data, in.data.size(), nullptr, why);
}

// Block form: the tail (count, stale), count leaf entries (hashval, address)
// before it, sorted by hash, each live one naming a distinct used entry whose
// name hashes to it, every used entry named once.
bool DataBufOps::check_block_leaf(std::span<const std::byte> blk, std::string* why) const {
  const size_t tail = blk.size() - sizeof(xd_dir2_block_tail);
  const size_t count = bc::load_be(blk.data() + tail, 4), stale = bc::load_be(blk.data() + tail + 4, 4);
  if (count > (tail - kDataHdrSize) / 8) return corrupt(why, "block tail count " + std::to_string(count) + " too large"), false;
  if (stale > count) return corrupt(why, "block tail stale " + std::to_string(stale) + " > count"), false;
  const size_t end = tail - count * 8;
  std::vector<uint8_t> offs(blk.size() / 8);
  if (!check_data_entries(blk, end, &offs, why)) return false;
  size_t used = 0, nstale = 0;
  for (uint8_t o : offs) used += o;
  uint32_t prev = 0;
  for (size_t i = 0; i < count; i++) {
    const uint32_t hash = static_cast<uint32_t>(bc::load_be(blk.data() + end + i * 8, 4));
    const uint64_t addr = bc::load_be(blk.data() + end + i * 8 + 4, 4);
    const std::string at = "leaf entry " + std::to_string(i);
    if (hash < prev) return corrupt(why, at + " hashval " + hex(hash) + " is below the one before it"), false;
    prev = hash;
    if (addr == 0) {
      nstale++;
      continue;
    }
    const uint64_t off = addr * 8;
    if (off >= end || !offs[off / 8]) return corrupt(why, at + " address " + hex(addr) + " names no entry"), false;
    offs[off / 8] = 0;
    const DataEntry e = decode_entry(blk, off);
    if (da_hashname(e.name) != hash) return corrupt(why, at + " hashval " + hex(hash) + " is not its name's hash"), false;
  }
  if (nstale != stale) return corrupt(why, "block tail stale " + std::to_string(stale) + " but " + std::to_string(nstale) + " stale leaf entries"), false;
  if (count - stale != used) return corrupt(why, std::to_string(used) + " entries but " + std::to_string(count - stale) + " live leaf entries"), false;
  return true;
}

}  // namespace

bool check_data_entries(std::span<const std::byte> blk, size_t end, std::vector<uint8_t>* offs, std::string* why) {
  const Bestfree bf = bestfree(blk);
  const int nbest = check_bestfree_shape(bf, why);
  if (nbest < 0) return false;
  bool seen[3] = {false, false, false};
  bool prev_free = false;
  for (size_t off = kDataHdrSize; off < end;) {
    const std::string at = "region at " + hex(off);
    size_t len;
    if (u16_at(blk, off) == kFreeTag) {
      len = u16_at(blk, off + 2);
      if (len < 8 || len % 8 || len > end - off) return corrupt(why, at + ": free length " + std::to_string(len)), false;
      if (prev_free) return corrupt(why, at + ": free region right after another"), false;
      int slot = -1;
      for (int i = 0; i < nbest; i++)
        if (bf.offset[i] == off) slot = i;
      if (slot >= 0 && bf.length[slot] != len)
        return corrupt(why, at + ": free length " + std::to_string(len) + ", bestfree says " + std::to_string(bf.length[slot])), false;
      if (slot < 0 && (nbest < 3 || len > bf.length[2]))
        return corrupt(why, at + ": free region of " + std::to_string(len) + " bytes missing from bestfree"), false;
      if (slot >= 0) seen[slot] = true;
      prev_free = true;
    } else {
      if (end - off < entsize(1)) return corrupt(why, at + ": entry runs past the entry area"), false;
      const size_t namelen = u8_at(blk, off + 8);
      len = entsize(namelen);
      if (namelen == 0) return corrupt(why, at + ": entry with an empty name"), false;
      if (len > end - off) return corrupt(why, at + ": entry runs past the entry area"), false;
      const DataEntry e = decode_entry(blk, off);
      if (e.name.find_first_of(std::string_view("/\0", 2)) != std::string_view::npos)
        return corrupt(why, at + ": name contains '/' or NUL"), false;
      if (e.ftype >= kFtMax) return corrupt(why, at + ": ftype " + std::to_string(e.ftype)), false;
      if (offs) (*offs)[off / 8] = 1;
      prev_free = false;
    }
    if (u16_at(blk, off + len - 2) != off) return corrupt(why, at + ": tag " + hex(u16_at(blk, off + len - 2))), false;
    off += len;
  }
  for (int i = 0; i < nbest; i++)
    if (!seen[i]) return corrupt(why, "bestfree[" + std::to_string(i) + "] at " + hex(bf.offset[i]) + " is not a free region"), false;
  return true;
}

const bc::BufOps& block_ops() {
  static const DataBufOps ops("dir3 block", kBlockMagic);
  return ops;
}

const bc::BufOps& data_ops() {
  static const DataBufOps ops("dir3 data", kDataMagic);
  return ops;
}

size_t block_entries_end(std::span<const std::byte> blk) {
  const size_t tail = blk.size() - sizeof(xd_dir2_block_tail);
  return tail - bc::load_be(blk.data() + tail, 4) * 8;
}

bool entry_at(std::span<const std::byte> blk, size_t end, size_t off, DataEntry* out) {
  if (off < kDataHdrSize || off % 8 || off >= end || end - off < entsize(1)) return false;
  if (u16_at(blk, off) == kFreeTag) return false;
  const size_t len = entsize(u8_at(blk, off + 8));
  if (len > end - off || u16_at(blk, off + len - 2) != off) return false;
  *out = decode_entry(blk, off);
  return true;
}

void walk_entries(std::span<const std::byte> blk, size_t end, size_t from, const std::function<bool(const DataEntry&)>& fn,
                  bool* stopped) {
  for (size_t off = kDataHdrSize; off < end;) {
    if (u16_at(blk, off) == kFreeTag) {
      off += u16_at(blk, off + 2);
      continue;
    }
    const DataEntry e = decode_entry(blk, off);
    if (off >= from && !fn(e)) {
      *stopped = true;
      return;
    }
    off += entsize(e.name.size());
  }
}

namespace {

// Emits the entries of one verified block at offsets >= from; block_base is
// the block's data-space byte offset.  Returns 0, or EUCLEAN for an entry
// whose inode number cannot exist.
int emit_block(Mount& m, const bc::BufHandle& h, const char* structure, size_t end, uint64_t block_base, size_t from,
               const EntryFn& fn, bool* stopped) {
  int err = 0;
  std::span<const std::byte> blk(h.data(), h.size());
  walk_entries(blk, end, from, [&](const DataEntry& e) {
    if ((err = check_ino(m, structure, h.daddr(), e.ino, e.name))) return false;
    return fn(DirEntry{e.name, e.ino, e.ftype, (block_base + e.off + entsize(e.name.size())) >> 3});
  }, stopped);
  return err;
}

}  // namespace

int data_iterate(Mount& m, const CachedInode& ip, bool block_form, uint64_t cookie, const EntryFn& fn) {
  const Geometry g = geometry(m.sb());
  if (cookie >= kLeafSpaceBytes >> 3) return 0;
  const uint64_t start = cookie << 3;
  bool stopped = false;
  bc::BufHandle h;
  if (block_form) {
    if (start >= g.blksize) return 0;
    if (int err = m.read_dablk(ip, false, 0, &block_ops(), &h))
      return err == ENOENT ? m.report_corruption("dir3 block", inode_daddr(m, ip), "block-form directory " + std::to_string(ip.core.ino) + " has a hole at block 0") : err;
    std::span<const std::byte> blk(h.data(), h.size());
    return emit_block(m, h, "dir3 block", block_entries_end(blk), 0, start, fn, &stopped);
  }
  const uint64_t first_db = start / g.blksize;
  uint64_t last_db = UINT64_MAX;
  for (const Extent& e : ip.data) {
    const uint64_t lo = std::max(e.startoff, first_db * g.blkfsbs);
    const uint64_t hi = std::min(e.startoff + e.blockcount, g.leaf_dablk);
    if (lo >= hi) continue;
    for (uint64_t db = lo / g.blkfsbs; db * g.blkfsbs < hi; db++) {
      if (db == last_db) continue;  // a directory block over several extents
      last_db = db;
      int err = m.read_dablk(ip, false, db * g.blkfsbs, &data_ops(), &h);
      if (err == ENOENT)
        return m.report_corruption("dir3 data", inode_daddr(m, ip), "directory " + std::to_string(ip.core.ino) + " data block " + std::to_string(db) + " is partly a hole");
      if (err) return err;
      const size_t from = db == first_db ? start % g.blksize : 0;
      if ((err = emit_block(m, h, "dir3 data", h.size(), db * g.blksize, from, fn, &stopped)) || stopped) return err;
    }
  }
  return 0;
}

}  // namespace xfsfuse::fs::dir
