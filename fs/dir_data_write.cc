// Free space of a directory data or block-form block, changed as the kernel
// changes it (fs/dir_write_internal.h, DataBlockEdit).
//
// A block is tiled by used entries and free regions (be16 0xffff, be16
// length, ..., be16 tag = own offset); bestfree (3 slots of be16 offset, be16
// length at byte 48 of the header) lists the longest regions, longest first,
// unused slots (0, 0).  The table is kept incrementally: a region is found in
// it by offset (never when it is shorter than the last slot), a new or grown
// region is inserted at the first slot it is strictly longer than, and a
// region whose fate the table cannot know (it left a full table, or landed in
// the last slot) asks for a rescan.  Those rules decide which of two regions
// of equal length comes first, so they are followed exactly
// (docs/format.md "bestfree, leaves and bests").
#include <cerrno>
#include <cstddef>
#include <cstring>

#include "fs/dir_write_internal.h"
#include "fs/format/dir.h"
#include "fs/format/endian.h"

namespace xfsfuse::fs::dir {

static_assert(offsetof(xd_dir3_data_hdr, best_free) == DataBlockEdit::kBestfreeOff);

DataBlockEdit::DataBlockEdit(Transaction& tp, bc::BufHandle* h, uint64_t ino)
    : tp_(tp), h_(h), ino_(ino), block_form_(u32(0) == kDir3BlockMagic) {}

void DataBlockEdit::put(size_t off, unsigned n, uint64_t v) {
  store_be(h_->data() + off, n, v);
  log(off, n);
}

int DataBlockEdit::corrupt(const std::string& why) {
  return tp_.mount().report_corruption(block_form_ ? "dir3 block" : "dir3 data", h_->daddr(),
                                       "directory " + std::to_string(ino_) + ": " + why);
}

DataBlockEdit::Bestfree DataBlockEdit::load_bf() const {
  Bestfree bf;
  for (int i = 0; i < 3; i++) {
    bf.off[i] = best_off(i);
    bf.len[i] = best_len(i);
  }
  return bf;
}

void DataBlockEdit::store_bf(const Bestfree& bf) {
  for (int i = 0; i < 3; i++) {
    store_be(h_->data() + kBestfreeOff + 4 * i, 2, bf.off[i]);
    store_be(h_->data() + kBestfreeOff + 4 * i + 2, 2, bf.len[i]);
  }
  log(kBestfreeOff, 12);
}

int DataBlockEdit::find_bf(const Bestfree& bf, size_t off, size_t len) {
  if (len < bf.len[2]) return -1;
  for (int i = 0; i < 3; i++) {
    if (bf.off[i] == 0) return -1;
    if (bf.off[i] == off) return i;
  }
  return -1;
}

int DataBlockEdit::insert_bf(Bestfree& bf, size_t off, size_t len) {
  for (int i = 0; i < 3; i++) {
    if (len <= bf.len[i]) continue;
    for (int j = 2; j > i; j--) {
      bf.off[j] = bf.off[j - 1];
      bf.len[j] = bf.len[j - 1];
    }
    bf.off[i] = static_cast<uint16_t>(off);
    bf.len[i] = static_cast<uint16_t>(len);
    return i;
  }
  return -1;
}

void DataBlockEdit::remove_bf(Bestfree& bf, int slot) {
  for (int j = slot; j < 2; j++) {
    bf.off[j] = bf.off[j + 1];
    bf.len[j] = bf.len[j + 1];
  }
  bf.off[2] = bf.len[2] = 0;
}

void DataBlockEdit::put_free(size_t off, size_t len) {
  put(off, 2, kFreeTag);
  put(off + 2, 2, len);
  put(off + len - 2, 2, off);
}

int DataBlockEdit::use_free(size_t region, size_t off, size_t len) {
  if (region < kDataHdrSize || region + 4 > size() || !is_free(region)) return corrupt("no free region at " + std::to_string(region));
  const size_t oldlen = free_len(region);
  if (off < region || off + len > region + oldlen || region + oldlen > size() || u16(region + oldlen - 2) != region)
    return corrupt("free region at " + std::to_string(region) + " does not hold [" + std::to_string(off) + ", " +
                   std::to_string(off + len) + ")");
  Bestfree bf = load_bf();
  const int slot = find_bf(bf, region, oldlen);
  const bool front = region == off, back = region + oldlen == off + len;
  if (front && back) {
    if (slot >= 0) {
      if (bf.off[2] != 0)
        needscan_ = true;
      else
        remove_bf(bf, slot);
    }
  } else if (front || back) {
    const size_t rest = front ? off + len : region, restlen = oldlen - len;
    put_free(rest, restlen);
    if (slot >= 0) {
      remove_bf(bf, slot);
      const int at = insert_bf(bf, rest, restlen);
      if (at < 0) return corrupt("bestfree lost the region at " + std::to_string(rest));
      if (at == 2) needscan_ = true;
    }
  } else {
    const size_t len1 = off - region, off2 = off + len, len2 = oldlen - len - len1;
    put_free(region, len1);
    put_free(off2, len2);
    if (slot >= 0) {
      if (bf.len[2] != 0) {
        needscan_ = true;
      } else {
        remove_bf(bf, slot);
        insert_bf(bf, region, len1);
        insert_bf(bf, off2, len2);
      }
    }
  }
  store_bf(bf);
  return 0;
}

int DataBlockEdit::make_free(size_t off, size_t len) {
  const size_t end = this->end();
  size_t prev = 0, post = 0;  // 0: no free neighbour
  if (off > kDataHdrSize) {
    const size_t t = u16(off - 2);
    if (t >= kDataHdrSize && t < off && is_free(t)) prev = t;
  }
  if (off + len < end && is_free(off + len)) post = off + len;
  Bestfree bf = load_bf();
  if (prev && post) {
    const int s1 = find_bf(bf, prev, free_len(prev)), s2 = find_bf(bf, post, free_len(post));
    const size_t newlen = free_len(prev) + len + free_len(post);
    put_free(prev, newlen);
    if (bf.len[2] != 0) {
      needscan_ = true;
    } else {
      // Exactly the two neighbours are in the table, in slots 0 and 1.
      if (s1 < 0 || s2 < 0) return corrupt("bestfree misses a free region next to " + std::to_string(off));
      remove_bf(bf, 1);
      remove_bf(bf, 0);
      insert_bf(bf, prev, newlen);
    }
  } else if (prev || post) {
    const size_t at = prev ? prev : off, oldlen = free_len(prev ? prev : post), newlen = oldlen + len;
    const int slot = find_bf(bf, prev ? prev : post, oldlen);
    put_free(at, newlen);
    if (slot >= 0) {
      remove_bf(bf, slot);
      insert_bf(bf, at, newlen);
    } else if (newlen > bf.len[2]) {
      needscan_ = true;
    }
  } else {
    put_free(off, len);
    insert_bf(bf, off, len);
  }
  store_bf(bf);
  return 0;
}

void DataBlockEdit::add_hole(size_t off, size_t len) {
  put_free(off, len);
  Bestfree bf = load_bf();
  insert_bf(bf, off, len);
  store_bf(bf);
}

void DataBlockEdit::clear_bestfree() { store_bf(Bestfree{}); }

void DataBlockEdit::set_magic(uint32_t magic) {
  put(0, 4, magic);
  block_form_ = magic == kDir3BlockMagic;
  tp_.retype_buf(h_, block_form_ ? &dir3_block_ops() : &dir3_data_ops());
}

void DataBlockEdit::scan_if_needed() {
  if (!needscan_) return;
  needscan_ = false;
  Bestfree bf{};
  const size_t end = this->end();
  for (size_t off = kDataHdrSize; off + 8 <= end;) {
    if (is_free(off)) {
      if (free_len(off) == 0) break;  // cannot happen in a verified block
      insert_bf(bf, off, free_len(off));
      off += free_len(off);
    } else {
      off += entsize(std::to_integer<uint8_t>(h_->data()[off + 8]));
    }
  }
  store_bf(bf);
}

void DataBlockEdit::write_entry(size_t off, uint64_t ino, std::string_view name, uint8_t ftype) {
  std::byte* p = h_->data() + off;
  store_be(p, 8, ino);
  p[8] = static_cast<std::byte>(name.size());
  std::memcpy(p + 9, name.data(), name.size());
  p[9 + name.size()] = static_cast<std::byte>(ftype);
  const size_t len = entsize(name.size());
  store_be(p + len - 2, 2, off);
  log(off, len);
}

}  // namespace xfsfuse::fs::dir
