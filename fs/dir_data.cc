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

uint16_t u16_at(std::span<const std::byte> b, size_t off) {
  return static_cast<uint16_t>(bc::load_be(b.data() + off, 2));
}
uint8_t u8_at(std::span<const std::byte> b, size_t off) { return std::to_integer<uint8_t>(b[off]); }

// Stores msg in *why and returns false (verifiers' convention).
bool fail(std::string* why, std::string msg) {
  *why = std::move(msg);
  return false;
}

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
// Returns true with *used (the slots in use), or false with *why.
bool check_bestfree_shape(const Bestfree& bf, int* used, std::string* why) {
  *used = 0;
  for (int i = 0; i < 3; i++) {
    const std::string slot = "bestfree[" + std::to_string(i) + "]";
    if (bf.length[i] == 0) {
      if (bf.offset[i] != 0) return fail(why, slot + " is empty but has an offset");
      continue;
    }
    if (*used != i) return fail(why, slot + " follows an empty slot");
    if (i > 0 && bf.length[i] > bf.length[i - 1]) return fail(why, slot + " is longer than the one before it");
    ++*used;
  }
  return true;
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

// Checks a data block's entries in [kDataHdrSize, end) and its bestfree
// (exactly the 3 longest free regions, longest first): every tag names its
// region's offset, names are 1..255 bytes without '/' or NUL, ftypes below
// kFtMax, no two free regions touch.  If offs is non-null, marks in it (one
// byte per 8 bytes of block) the start of every used entry.  Returns true, or
// false with *why.
bool check_data_entries(std::span<const std::byte> blk, size_t end, std::vector<uint8_t>* offs, std::string* why) {
  const Bestfree bf = bestfree(blk);
  int nbest;
  if (!check_bestfree_shape(bf, &nbest, why)) return false;
  bool seen[3] = {false, false, false};
  bool prev_free = false;
  for (size_t off = kDataHdrSize; off < end;) {
    auto bad = [&](const std::string& what) { return fail(why, "region at " + hex(off) + ": " + what); };
    size_t len;
    if (u16_at(blk, off) == kFreeTag) {
      len = u16_at(blk, off + 2);
      if (len < 8 || len % 8 || len > end - off) return bad("free length " + std::to_string(len));
      if (prev_free) return bad("free region right after another");
      int slot = -1;
      for (int i = 0; i < nbest; i++)
        if (bf.offset[i] == off) slot = i;
      if (slot >= 0 && bf.length[slot] != len)
        return bad("free length " + std::to_string(len) + ", bestfree says " + std::to_string(bf.length[slot]));
      if (slot < 0 && (nbest < 3 || len > bf.length[2]))
        return bad("free region of " + std::to_string(len) + " bytes missing from bestfree");
      if (slot >= 0) seen[slot] = true;
      prev_free = true;
    } else {
      if (end - off < entsize(1)) return bad("entry runs past the entry area");
      const size_t namelen = u8_at(blk, off + 8);
      len = entsize(namelen);
      if (namelen == 0) return bad("entry with an empty name");
      if (len > end - off) return bad("entry runs past the entry area");
      const DataEntry e = decode_entry(blk, off);
      if (e.name.find_first_of(std::string_view("/\0", 2)) != std::string_view::npos)
        return bad("name contains '/' or NUL");
      if (e.ftype >= kFtMax) return bad("ftype " + std::to_string(e.ftype));
      if (offs) (*offs)[off / 8] = 1;
      prev_free = false;
    }
    if (u16_at(blk, off + len - 2) != off) return bad("tag " + hex(u16_at(blk, off + len - 2)));
    off += len;
  }
  for (int i = 0; i < nbest; i++)
    if (!seen[i])
      return fail(why, "bestfree[" + std::to_string(i) + "] at " + hex(bf.offset[i]) + " is not a free region");
  return true;
}

class DataBufOps : public bc::HeaderBufOps {
 public:
  DataBufOps(const char* name, uint32_t magic)
      : bc::HeaderBufOps(dir3_header_layout(name, magic)), block_form_(magic == kDir3BlockMagic) {}
  bool verify_read(const bc::VerifyInput& in, std::string* why) const override;

 private:
  bool check_block_leaf(std::span<const std::byte> blk, std::string* why) const;
  const bool block_form_;
};

bool DataBufOps::verify_read(const bc::VerifyInput& in, std::string* why) const {
  if (!bc::HeaderBufOps::verify_read(in, why)) return false;
  if (in.data.size() < kDataHdrSize + sizeof(xd_dir2_block_tail) || in.data.size() % 8)
    return fail(why, "block of " + std::to_string(in.data.size()) + " bytes");
  return block_form_ ? check_block_leaf(in.data, why) : check_data_entries(in.data, in.data.size(), nullptr, why);
}

// Block form: the tail (count, stale), count leaf entries (hashval, address)
// before it, sorted by hash, each live one naming a distinct used entry whose
// name hashes to it, every used entry named once.
bool DataBufOps::check_block_leaf(std::span<const std::byte> blk, std::string* why) const {
  const size_t tail = blk.size() - sizeof(xd_dir2_block_tail);
  const size_t count = bc::load_be(blk.data() + tail, 4), stale = bc::load_be(blk.data() + tail + 4, 4);
  if (count > (tail - kDataHdrSize) / 8) return fail(why, "block tail count " + std::to_string(count) + " too large");
  if (stale > count) return fail(why, "block tail stale " + std::to_string(stale) + " > count");
  const size_t end = tail - count * 8;
  std::vector<uint8_t> offs(blk.size() / 8);
  if (!check_data_entries(blk, end, &offs, why)) return false;
  size_t used = 0, nstale = 0;
  for (uint8_t o : offs) used += o;
  uint32_t prev = 0;
  for (size_t i = 0; i < count; i++) {
    const uint32_t hash = static_cast<uint32_t>(bc::load_be(blk.data() + end + i * 8, 4));
    const uint64_t addr = bc::load_be(blk.data() + end + i * 8 + 4, 4);
    auto bad = [&](const std::string& what) { return fail(why, "leaf entry " + std::to_string(i) + " " + what); };
    if (hash < prev) return bad("hashval " + hex(hash) + " is below the one before it");
    prev = hash;
    if (addr == 0) {
      nstale++;
      continue;
    }
    const uint64_t off = addr * 8;
    if (off >= end || !offs[off / 8]) return bad("address " + hex(addr) + " names no entry");
    offs[off / 8] = 0;
    const DataEntry e = decode_entry(blk, off);
    if (da_hashname(e.name) != hash) return bad("hashval " + hex(hash) + " is not its name's hash");
  }
  if (nstale != stale)
    return fail(why,
                "block tail stale " + std::to_string(stale) + " but " + std::to_string(nstale) + " stale leaf entries");
  if (count - stale != used)
    return fail(why, std::to_string(used) + " entries but " + std::to_string(count - stale) + " live leaf entries");
  return true;
}

}  // namespace

}  // namespace xfsfuse::fs::dir

namespace xfsfuse::fs {

const bc::BufOps& dir3_block_ops() {
  static const dir::DataBufOps ops("dir3 block", kDir3BlockMagic);
  return ops;
}

const bc::BufOps& dir3_data_ops() {
  static const dir::DataBufOps ops("dir3 data", kDir3DataMagic);
  return ops;
}

}  // namespace xfsfuse::fs

namespace xfsfuse::fs::dir {

size_t entries_end(std::span<const std::byte> blk, uint32_t magic) {
  if (blk.size() < kDataHdrSize + sizeof(xd_dir2_block_tail) || bc::load_be(blk.data(), 4) != magic) return 0;
  if (magic == kDir3DataMagic) return blk.size();
  const size_t tail = blk.size() - sizeof(xd_dir2_block_tail), count = bc::load_be(blk.data() + tail, 4);
  return count > (tail - kDataHdrSize) / 8 ? 0 : tail - count * 8;
}

bool entry_at(std::span<const std::byte> blk, size_t end, size_t off, DataEntry* out) {
  if (off < kDataHdrSize || off % 8 || off >= end || end - off < entsize(1)) return false;
  if (u16_at(blk, off) == kFreeTag) return false;
  const size_t len = entsize(u8_at(blk, off + 8));
  if (len > end - off || u16_at(blk, off + len - 2) != off) return false;
  *out = decode_entry(blk, off);
  return true;
}

bool walk_entries(std::span<const std::byte> blk, size_t end, size_t from,
                  const std::function<bool(const DataEntry&)>& fn, bool* stopped) {
  for (size_t off = kDataHdrSize; off < end;) {
    if (end - off < 8) return false;
    if (u16_at(blk, off) == kFreeTag) {
      const size_t len = u16_at(blk, off + 2);
      if (len < 8 || len % 8 || len > end - off) return false;
      off += len;
      continue;
    }
    if (end - off < entsize(1)) return false;
    const size_t namelen = u8_at(blk, off + 8);
    if (namelen == 0 || entsize(namelen) > end - off) return false;
    const DataEntry e = decode_entry(blk, off);
    if (off >= from && !fn(e)) {
      *stopped = true;
      return true;
    }
    off += entsize(namelen);
  }
  return true;
}

namespace {

// Emits the entries of one block at offsets >= from; block_base is the
// block's data-space byte offset.  Returns 0, or EUCLEAN (logged) for a block
// that is not what it should be or an entry whose inode number cannot exist.
int emit_block(Mount& m, const bc::BufHandle& h, uint32_t magic, uint64_t block_base, size_t from, const EntryFn& fn,
               bool* stopped) {
  const char* structure = magic == kDir3BlockMagic ? "dir3 block" : "dir3 data";
  std::span<const std::byte> blk(h.data(), h.size());
  const size_t end = entries_end(blk, magic);
  int err = 0;
  auto emit = [&](const DataEntry& e) {
    if ((err = check_ino(m, structure, h.daddr(), e.ino, e.name))) return false;
    return fn(DirEntry{e.name, e.ino, e.ftype, (block_base + e.off + entsize(e.name.size())) >> 3});
  };
  if (end == 0 || !walk_entries(blk, end, from, emit, stopped))
    return m.report_corruption(structure, h.daddr(),
                               "block at data-space byte " + hex(block_base) + " is not a " + structure + " block");
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
    if (int err = m.read_dablk(ip, false, 0, &dir3_block_ops(), &h))
      return err == ENOENT
                 ? m.report_corruption("dir3 block", ip.daddr,
                                       "block-form directory " + std::to_string(ip.core.ino) + " has a hole at block 0")
                 : err;
    return emit_block(m, h, kDir3BlockMagic, 0, start, fn, &stopped);
  }
  const uint64_t first_db = start / g.blksize;
  uint64_t last_db = UINT64_MAX;
  for (const Extent& e : ip.df.extents) {
    const uint64_t lo = std::max(e.startoff, first_db * g.blkfsbs);
    const uint64_t hi = std::min(e.startoff + e.blockcount, g.leaf_dablk);
    if (lo >= hi) continue;
    for (uint64_t db = lo / g.blkfsbs; db * g.blkfsbs < hi; db++) {
      if (db == last_db) continue;  // a directory block over several extents
      last_db = db;
      int err = m.read_dablk(ip, false, db * g.blkfsbs, &dir3_data_ops(), &h);
      if (err == ENOENT)
        return m.report_corruption(
            "dir3 data", ip.daddr,
            "directory " + std::to_string(ip.core.ino) + " data block " + std::to_string(db) + " is partly a hole");
      if (err) return err;
      const size_t from = db == first_db ? start % g.blksize : 0;
      if ((err = emit_block(m, h, kDir3DataMagic, db * g.blksize, from, fn, &stopped)) || stopped) return err;
    }
  }
  return 0;
}

}  // namespace xfsfuse::fs::dir
