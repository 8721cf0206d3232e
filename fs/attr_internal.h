// fs/attr_internal.h — what the attr format files share with the dispatcher
// attr.cc: attr_sf.cc (short form in the inode), attr_leaf.cc (leaf blocks,
// and the da btree over them that node form adds), attr_remote.cc (values in
// remote blocks).  Not an API: callers outside fs/attr*.cc use fs/attr.h.
//
// Each format is decoded into AttrRecords: the namespace flags, the name as
// stored (without the "user." prefix) and where the value lives.
// Format facts: the XFS Algorithms & Data Structures document, "Extended
// Attributes" and "Directory and Attribute Block Headers"; layouts in
// fs/format/attr.h.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fs/mount.h"

namespace xfsfuse::fs::attr {

// Entry flags (xd_attr_leaf_entry.flags; short-form entries use the namespace bits only).
inline constexpr uint8_t kFlagLocal = 1u << 0;       ///< leaf: the value follows the name in the block
inline constexpr uint8_t kFlagRoot = 1u << 1;        ///< "trusted." namespace
inline constexpr uint8_t kFlagSecure = 1u << 2;      ///< "security." namespace
inline constexpr uint8_t kFlagIncomplete = 1u << 7;  ///< half created or removed: invisible
inline constexpr uint8_t kNamespaceMask = kFlagRoot | kFlagSecure;

inline constexpr uint32_t kValueMax = 65536;  ///< largest value, bytes (Linux XATTR_SIZE_MAX)

/// One attribute as stored.  name and value point into the in-core inode or
/// a held buffer: valid only during the RecordFn call.
struct AttrRecord {
  uint8_t flags = 0;                 ///< kNamespaceMask bits, kFlagIncomplete
  std::string_view name;             ///< without the namespace prefix, 1..255 bytes
  bool remote = false;               ///< value in remote blocks (leaf blocks only)
  std::span<const std::byte> value;  ///< the value when !remote
  uint32_t valueblk = 0;             ///< remote: attr fork block (fsblocks) where the value starts
  uint32_t valuelen = 0;             ///< bytes of the value
};

/// Called per record in on-disk order; returns false to stop the walk.
using RecordFn = std::function<bool(const AttrRecord&)>;

/// Splits a full name ("user.x", "trusted.x", "security.x") into its
/// namespace bits (*ns) and the name as stored (*bare, a view into full).
/// Returns 0, EOPNOTSUPP (another prefix), ERANGE (over 255 bytes, prefix
/// included, as the VFS limits names), EINVAL (nothing after the prefix).
int parse_name(std::string_view full, uint8_t* ns, std::string_view* bare);

/// True if r is the visible attribute ns (namespace bits) + name.
inline bool matches(const AttrRecord& r, uint8_t ns, std::string_view name) {
  return !(r.flags & kFlagIncomplete) && (r.flags & kNamespaceMask) == ns && r.name == name;
}

/// Decodes a short-form attr fork (its whole bytes) into *out, views into
/// fork: every entry inside totsize, a name, namespace bits only, totsize
/// where the entries end.  Returns 0, or EUCLEAN with the reason in *why
/// (nothing logged).
int sf_decode(std::span<const std::byte> fork, std::vector<AttrRecord>* out, std::string* why);

/// The leaf block check the attr verifier runs (attr3_leaf_ops()): header
/// count and firstused inside the block, then every entry (flags, hash order,
/// an aligned record inside [firstused, block end) with a name).  Returns
/// true, or false with the reason in *why.
bool leaf_block_ok(std::span<const std::byte> block, std::string* why);

/// Calls fn(i, hashval, record) for every entry of a leaf block, in order.
/// REQUIRES: leaf_block_ok(block).
void leaf_entries(std::span<const std::byte> block,
                  const std::function<void(size_t i, uint32_t hashval, const AttrRecord& r)>& fn);

/// Walks the short-form attrs in ip's attr fork (di_aformat local).  Every
/// entry is checked before fn sees any.  Returns 0, or EUCLEAN after one log
/// line (header or entry outside the fork, empty name, bad namespace bits,
/// totsize not where the entries end).
int sf_walk(Mount& m, const CachedInode& ip, const RecordFn& fn);

/// Walks every leaf block of an extents/btree-format attr fork (one leaf, or
/// a da btree over leaves), leftmost leaf first, then through forw.  Blocks
/// are checked as the buffer cache reads them, and each entry again before
/// fn sees it.  Returns 0, or EUCLEAN (one log line: a structure check
/// failed, the leaves' hashes go down from one leaf to the next, the chain is
/// longer than the fork), EIO, ENOMEM.
int leaf_walk(Mount& m, const CachedInode& ip, const RecordFn& fn);

/// Looks up ns + name in an extents/btree-format attr fork by its name hash
/// and copies its value (local or remote) into *value.  Returns 0, ENODATA,
/// EUCLEAN (one log line), EIO, ENOMEM.
int leaf_get(Mount& m, const CachedInode& ip, uint8_t ns, std::string_view name, std::vector<std::byte>* value);

/// Reads the remote value of valuelen bytes that starts at attr fork block
/// valueblk: ceil(valuelen / (blocksize - 56)) fsblocks, each read as its own
/// buffer with an "XARM" header (magic, CRC over the fsblock, uuid, owner =
/// the inode, blkno = its daddr) whose offset and bytes must continue the
/// value.  Returns 0, EUCLEAN (one log line: a header check, a hole in the
/// range, valuelen 0 or over kValueMax), EIO, ENOMEM.
int remote_read(Mount& m, const CachedInode& ip, uint32_t valueblk, uint32_t valuelen, std::vector<std::byte>* out);

}  // namespace xfsfuse::fs::attr
