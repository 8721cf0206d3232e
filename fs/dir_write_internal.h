// fs/dir_write_internal.h — what the directory write files share:
// dir_data_write.cc (free space of a data or block-form block, edited as the
// kernel edits it), dir_sf_write.cc (short form), dir_block_write.cc (block
// form), dir_alloc.cc (directory blocks in the data fork) and the dispatcher
// dir_write.cc.  Not an API: callers use fs/dir_write.h.
// Format facts: XFS Algorithms & Data Structures, "Directories";
// docs/format.md "Directories (64 KiB blocks)" ("bestfree, leaves and bests").
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "fs/dir_internal.h"
#include "fs/dir_write.h"

namespace xfsfuse::fs::dir {

/// Allocates the fsblocks of the directory block at fork block dablk (1 <<
/// sb_dirblklog of them; contiguous if free space allows, else in up to that
/// many extents, near the inode) through bmap_write (fs/bmap_write.h: the
/// extent list, the bmbt and core nextents / nblocks follow) and returns the
/// block's disk ranges in *maps.  Takes the blocks from tp's reservation.
/// Returns 0, ENOSPC, EAGAIN (retry the whole change), EUCLEAN, EIO.
int dir_alloc_block(Transaction& tp, CachedInode* dp, uint64_t dablk, std::vector<bc::DiskRange>* maps);

/// Frees the directory block at fork block dablk (the inverse of
/// dir_alloc_block): its extents leave dp's fork, its buffer h (joined to tp)
/// is never written again.  Returns 0, EAGAIN, EUCLEAN, EIO.
int dir_free_block(Transaction& tp, CachedInode* dp, uint64_t dablk, bc::BufHandle* h);

/// A directory data or block-form block being changed in tp.  The free-space
/// calls keep bestfree exactly as the kernel keeps it: a region that stays
/// in the table is moved within it, one that leaves it or grows past its
/// last slot marks the table for a rescan (scan_if_needed), and a rescan
/// inserts the regions in offset order on strictly greater length.  Every
/// change is logged in tp.
class DataBlockEdit {
 public:
  static constexpr size_t kBestfreeOff = 48;  ///< xd_dir3_data_hdr.best_free
  /// h: the joined buffer; ino: the directory (for log lines).
  DataBlockEdit(Transaction& tp, bc::BufHandle* h, uint64_t ino);
  std::byte* data() { return h_->data(); }
  size_t size() const { return h_->size(); }
  uint16_t u16(size_t off) const { return static_cast<uint16_t>(bc::load_be(h_->data() + off, 2)); }
  uint32_t u32(size_t off) const { return static_cast<uint32_t>(bc::load_be(h_->data() + off, 4)); }
  /// Stores v (n bytes, big-endian) at off and logs it.
  void put(size_t off, unsigned n, uint64_t v);
  void log(size_t off, size_t len) { tp_.log_buf(h_, off, len); }

  /// Block form: the tail's count and stale, and where the leaf starts.
  uint32_t count() const { return u32(size() - 8); }
  uint32_t stale() const { return u32(size() - 4); }
  size_t leaf_off() const { return size() - 8 - size_t{count()} * 8; }
  /// Where the entries end: the leaf (block form) or the block's end (data).
  size_t end() const { return block_form_ ? leaf_off() : size(); }

  /// Takes [off, off + len) out of the free region at region.  Returns 0 or
  /// EUCLEAN (logged) when region is not a free region holding that range.
  int use_free(size_t region, size_t off, size_t len);
  /// Makes [off, off + len) free, merged with free neighbours.  Returns 0 or
  /// EUCLEAN (logged) for a bestfree table that does not match the regions.
  int make_free(size_t off, size_t len);
  /// Writes a free region of len bytes at off and offers it to bestfree (the
  /// holes of a block built from a short-form directory).
  void add_hole(size_t off, size_t len);
  /// Clears bestfree (every free region taken back by the caller).
  void clear_bestfree();
  /// Rebuilds bestfree if a change above asked for it.
  void scan_if_needed();
  /// Writes a used entry at off (inumber, namelen, name, ftype, tag); bytes of
  /// padding keep what they held, as the kernel leaves them.
  void write_entry(size_t off, uint64_t ino, std::string_view name, uint8_t ftype);

  /// bestfree slot i (0..2): the region's offset (0: unused slot) and length.
  uint16_t best_off(int i) const { return u16(kBestfreeOff + 4 * i); }
  uint16_t best_len(int i) const { return u16(kBestfreeOff + 4 * i + 2); }
  /// A free region's length (REQUIRES: one starts at off).
  uint16_t free_len(size_t off) const { return u16(off + 2); }
  bool is_free(size_t off) const { return u16(off) == kFreeTag; }
  int corrupt(const std::string& why);

 private:
  struct Bestfree {
    uint16_t off[3], len[3];
  };
  Bestfree load_bf() const;
  void store_bf(const Bestfree& bf);
  static int find_bf(const Bestfree& bf, size_t off, size_t len);
  static int insert_bf(Bestfree& bf, size_t off, size_t len);
  static void remove_bf(Bestfree& bf, int slot);
  void put_free(size_t off, size_t len);

  Transaction& tp_;
  bc::BufHandle* h_;
  uint64_t ino_;
  bool block_form_;
  bool needscan_ = false;
};

/// Block-form operations (dir_block_write.cc).  REQUIRES: dp in block form.
int block_add(Transaction& tp, CachedInode* dp, std::string_view name, uint64_t ino, uint8_t ftype);
int block_remove(Transaction& tp, CachedInode* dp, std::string_view name);
int block_replace(Transaction& tp, CachedInode* dp, std::string_view name, uint64_t ino, uint8_t ftype);

/// Short-form operations (dir_sf_write.cc).  REQUIRES: dp in short form.
int sf_add(Transaction& tp, CachedInode* dp, std::string_view name, uint64_t ino, uint8_t ftype);
int sf_remove(Transaction& tp, CachedInode* dp, std::string_view name);
int sf_replace(Transaction& tp, CachedInode* dp, std::string_view name, uint64_t ino, uint8_t ftype);

/// A short-form directory as values: what sf_encode() writes.
struct SfDir {
  uint64_t parent = 0;
  struct Ent {
    uint32_t off = 0;
    std::string name;
    uint64_t ino = 0;
    uint8_t ftype = 0;
  };
  std::vector<Ent> ents;
  /// Bytes the short form takes: header, then namelen, offset, name, ftype
  /// and 4- or 8-byte inumber per entry (8 when any inumber, the parent's
  /// included, needs more than 32 bits).
  size_t size() const;
};

/// Makes dp's data fork the short-form directory d (format local, di_size)
/// and logs dp.  The fork's bytes past d keep what they held.
void sf_encode(Transaction& tp, CachedInode* dp, const SfDir& d);

}  // namespace xfsfuse::fs::dir
