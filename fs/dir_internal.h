// fs/dir_internal.h — what the directory format files share with the
// dispatcher dir.cc: dir_sf.cc (short form in the inode), dir_data.cc (data
// blocks: verifier, entry walks, data-space iteration), dir_block.cc (block
// form), dir_leaf.cc (LEAF1/LEAFN blocks and hash lookups through the da
// btree for leaf and node forms).  Not an API: callers use fs/dir.h.
//
// Addresses: a directory's data space is a byte range from 0 (data blocks),
// its leaf space starts at byte 32 GiB and its free-index space at 64 GiB;
// a directory block is dirblksize bytes = 1 << dirblklog fsblocks.  A leaf
// entry's address is a data-space byte offset >> 3.  Cookies (fs/dir.h) use
// the same unit: an entry's `next` is (its data-space offset + its size) >> 3,
// and iteration from cookie c yields the entries at offsets >= c * 8.
// Format facts: XFS Algorithms & Data Structures, "Directories";
// docs/format.md "Directories (64 KiB blocks)"; layouts in fs/format/dir.h.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "btree/da_btree.h"
#include "fs/buf_ops.h"
#include "fs/dir.h"

namespace xfsfuse::fs::dir {

inline constexpr uint16_t kFreeTag = 0xffff;  // first 2 bytes of an unused region
inline constexpr size_t kDataHdrSize = 64;    // sizeof(xd_dir3_data_hdr): entries follow
inline constexpr size_t kLeafHdrSize = 64;    // sizeof(xd_dir3_leaf_hdr): leaf entries follow
inline constexpr uint8_t kFtMax = 9;          // ftypes 0..8 (8: whiteout)
inline constexpr uint64_t kLeafSpaceBytes = 32ull << 30;
inline constexpr uint64_t kFreeSpaceBytes = 64ull << 30;
/// Data-space offsets of ".", ".." and the first other entry (v3 headers).
inline constexpr uint32_t kDotOffset = 64, kDotdotOffset = 80, kFirstOffset = 96;

/// Bytes a data entry of namelen takes: ino 8, namelen 1, name, ftype 1,
/// tag 2, rounded up to 8.
inline uint32_t entsize(size_t namelen) { return static_cast<uint32_t>((8 + 1 + namelen + 1 + 2 + 7) & ~size_t{7}); }

/// One used entry of a data block.  name points into the block.
struct DataEntry {
  uint32_t off = 0;  ///< bytes from the block start
  std::string_view name;
  uint64_t ino = 0;
  uint8_t ftype = 0;
};

/// Where the entries of a cached directory block end: its size for a data
/// block (magic kDir3DataMagic), its leaf entries' first byte for block form's
/// block (kDir3BlockMagic).  0 if the buffer does not hold that structure: the
/// buffer cache verifies a buffer with the ops of its first reader only, and
/// a corrupt image can map one disk block at two fork offsets.
size_t entries_end(std::span<const std::byte> blk, uint32_t magic);

/// The used entry that starts at off, if one does (in [kDataHdrSize, end),
/// with its tag equal to off).  Bounds-checked.
bool entry_at(std::span<const std::byte> blk, size_t end, size_t off, DataEntry* out);

/// Calls fn for each used entry at offset >= from, in order, until it
/// returns false (then *stopped is set).  Returns false if it meets a region
/// that does not fit [kDataHdrSize, end) (see entries_end()), true otherwise.
bool walk_entries(std::span<const std::byte> blk, size_t end, size_t from,
                  const std::function<bool(const DataEntry&)>& fn, bool* stopped);

/// Geometry of ip's directory in fsblocks.
struct Geometry {
  uint32_t blksize = 0;     ///< directory block, bytes
  uint32_t blkfsbs = 0;     ///< directory block, fsblocks
  uint64_t leaf_dablk = 0;  ///< first fsblock of the leaf space
  uint64_t free_dablk = 0;  ///< first fsblock of the free-index space
};
Geometry geometry(const Superblock& sb);

/// A directory's format, decided as the kernel does: a local data fork is
/// short form; otherwise, if the last mapped fsblock of the data fork ends
/// the first directory block, block form; if it ends the first leaf-space
/// block, leaf form (one LEAF1 block); anything else is node form.
enum class Form { kShort, kBlock, kLeaf, kNode };

/// The format of ip's directory.  Returns 0 with *form, ENOTDIR, or EUCLEAN
/// (logged: a fork format no directory has, no data blocks, and if
/// check_size, block form with di_size other than one directory block).
int dir_form(Mount& m, const CachedInode& ip, Form* form, bool check_size = true);

/// The v5 directory block header (xd_dir3_blk_hdr: magic, CRC, blkno, uuid,
/// owner) as a HeaderBufOps layout, for data and free-index blocks.
bc::HeaderLayout dir3_header_layout(const char* name, uint32_t magic);

/// Checks that an entry's inode number is one this filesystem can hold;
/// if not, logs one line for `structure` at daddr and returns EUCLEAN.
int check_ino(Mount& m, const char* structure, uint64_t daddr, uint64_t ino, std::string_view name);

using EntryFn = std::function<bool(const DirEntry&)>;

inline constexpr uint64_t kMaxShortIno = 0xffffffff;  // the largest inumber 4 bytes hold

/// One short-form entry; name points into the fork.
struct SfEntry {
  uint32_t off = 0;  ///< where the entry would sit in a data block
  std::string_view name;
  uint64_t ino = 0;
  uint8_t ftype = 0;
};

/// Checks and decodes ip's short-form fork (di_size bytes of it): the parent
/// and the entries in fork order.  Returns 0 or EUCLEAN (logged).
int sf_decode(Mount& m, const CachedInode& ip, uint64_t* parent, std::vector<SfEntry>* out);

int sf_iterate(Mount& m, const CachedInode& ip, uint64_t cookie, const EntryFn& fn);
int sf_lookup(Mount& m, const CachedInode& ip, std::string_view name, uint64_t* ino, uint8_t* ftype);

/// Iterates the data blocks of ip's data space (block form: the one block,
/// whose entries end at its leaf; leaf and node forms: every mapped data
/// block below the leaf space) from cookie on.
int data_iterate(Mount& m, const CachedInode& ip, bool block_form, uint64_t cookie, const EntryFn& fn);

int block_lookup(Mount& m, const CachedInode& ip, std::string_view name, uint64_t* ino, uint8_t* ftype);
/// Leaf form (leaf_magic kDir3Leaf1Magic) or node form (kDir3LeafnMagic).
int leaf_lookup(Mount& m, const CachedInode& ip, uint16_t leaf_magic, std::string_view name, uint64_t* ino,
                uint8_t* ftype);

}  // namespace xfsfuse::fs::dir
