#include "fs/ops/acl.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

#include "buffer_cache/buf_ops.h"
#include "fs/attr.h"
#include "fs/attr_write.h"
#include "fs/format/endian.h"
#include "fs/mount.h"
#include "fs/ops/setattr.h"
#include "fs/trans/trans.h"

namespace xfsfuse::fs {

namespace {

constexpr std::string_view kAccess = "system.posix_acl_access", kDefault = "system.posix_acl_default";
// Where XFS keeps each (the root namespace: fs/attr.h's "trusted.").
constexpr std::string_view kStoredAccess = kAclStoredNames[0], kStoredDefault = kAclStoredNames[1];

// The xattr form's version and entry tags (include/uapi/linux/posix_acl_xattr.h,
// include/uapi/linux/posix_acl.h).
constexpr uint32_t kXattrVersion = 2;
constexpr size_t kHeaderSize = 4, kEntrySize = 8;
enum Tag : uint16_t { kUserObj = 0x01, kUser = 0x02, kGroupObj = 0x04, kGroup = 0x08, kMask = 0x10, kOther = 0x20 };

// di_flags (XFS Algorithms & Data Structures, "On-disk Inode").
constexpr uint16_t kDiflagImmutable = 0x8, kDiflagAppend = 0x10;

uint32_t le(std::span<const std::byte> v, size_t off, size_t n) {
  uint32_t x = 0;
  for (size_t i = 0; i < n; ++i) x |= static_cast<uint32_t>(v[off + i]) << (8 * i);
  return x;
}

// An entry's place in a valid ACL's order.
int rank(uint16_t tag) {
  switch (tag) {
    case kUserObj: return 0;
    case kUser: return 1;
    case kGroupObj: return 2;
    case kGroup: return 3;
    case kMask: return 4;
    case kOther: return 5;
    default: return -1;
  }
}

// Whether acl is one the kernel's posix_acl_valid() takes: entries in the
// order owner, named users (ids rising), owning group, named groups (ids
// rising), mask, other; one each of owner, owning group and other; a mask
// (at most one) when there are named entries; permission bits within rwx.
bool valid(const std::vector<AclEntry>& acl) {
  int count[6] = {};
  int prev = 0;
  uint32_t prev_id = 0;
  for (const AclEntry& e : acl) {
    const int r = rank(e.tag);
    if (r < 0 || r < prev || (e.perm & ~07u) != 0) return false;
    const bool named = r == 1 || r == 3;
    if (r == prev && count[r] > 0 && (!named || e.id <= prev_id)) return false;
    count[r]++;
    prev = r;
    prev_id = e.id;
  }
  return count[0] == 1 && count[2] == 1 && count[5] == 1 && (count[1] + count[3] == 0 || count[4] == 1);
}

// Parses the xattr form: EINVAL for a malformed value or an invalid ACL.
int parse_xattr(std::span<const std::byte> v, std::vector<AclEntry>* out) {
  if (v.size() < kHeaderSize || (v.size() - kHeaderSize) % kEntrySize != 0 || le(v, 0, 4) != kXattrVersion)
    return EINVAL;
  out->clear();
  for (size_t off = kHeaderSize; off < v.size(); off += kEntrySize)
    out->push_back({static_cast<uint16_t>(le(v, off, 2)), static_cast<uint16_t>(le(v, off + 2, 2)), le(v, off + 4, 4)});
  return valid(*out) ? 0 : EINVAL;
}

// The entry that stands for the group class in a valid ACL: its mask when
// it has one, else its owning group's entry (which valid() guarantees).
template <class Acl>
auto& group_class(Acl& acl) {
  auto* found = &acl.front();
  bool seen = false;
  for (auto& a : acl)
    if (a.tag == kMask || (a.tag == kGroupObj && !seen)) {
      found = &a;
      seen = true;
    }
  return *found;
}

// The permission bits a valid ACL stands for (posix_acl_equiv_mode()):
// owner, group class, other.
uint16_t mode_of(const std::vector<AclEntry>& acl) {
  unsigned user = 0, other = 0;
  for (const AclEntry& e : acl) {
    if (e.tag == kUserObj) user = e.perm;
    if (e.tag == kOther) other = e.perm;
  }
  return static_cast<uint16_t>(user << 6 | unsigned{group_class(acl).perm} << 3 | other);
}

// Whether the mode says a valid ACL exactly: no named entries, no mask.
bool mode_says(const std::vector<AclEntry>& acl) {
  return std::none_of(acl.begin(), acl.end(),
                      [](const AclEntry& e) { return e.tag == kUser || e.tag == kGroup || e.tag == kMask; });
}

// XFS's own form of a stored ACL (docs/format.md "POSIX ACLs"): a big-endian
// 32-bit entry count, then 12-byte entries {be32 tag, be32 id, be16 perm,
// be16 pad}, the tags those of the xattr form; at most 5,461 entries on a v5
// filesystem (what fits a 64 KiB value).
constexpr size_t kDiskHeaderSize = 4, kDiskEntrySize = 12;
constexpr size_t kMaxDiskEntries = (65536 - kDiskHeaderSize) / kDiskEntrySize;
// The id the xattr form gives entries other than named users and groups.
constexpr uint32_t kUndefinedId = 0xffffffff;

void put_le(std::vector<std::byte>* out, uint32_t x, size_t n) {
  for (size_t i = 0; i < n; ++i) out->push_back(static_cast<std::byte>(x >> (8 * i)));
}

bool named(uint16_t tag) { return tag == kUser || tag == kGroup; }

// EUCLEAN, with one log line naming the stored ACL `stored` of ip and why.
int corrupt(Mount& m, const CachedInode& ip, std::string_view stored, const std::string& why) {
  return m.report_corruption("POSIX ACL", ip.daddr,
                             "inode " + std::to_string(ip.core.ino) + ": " + std::string(stored) + ": " + why);
}

// Reads the stored ACL `disk` (attribute `stored` of ip).  Returns 0 or
// EUCLEAN (one log line): a count the length does not bear out, more
// entries than a value holds, or a tag no ACL has.  (The kernel's XFS
// checks no more than these either; the order is the writer's.)
int parse_disk(Mount& m, const CachedInode& ip, std::string_view stored, std::span<const std::byte> disk,
               std::vector<AclEntry>* out) {
  if (disk.size() < kDiskHeaderSize)
    return corrupt(m, ip, stored, std::to_string(disk.size()) + " bytes, shorter than its count");
  const auto count = static_cast<uint32_t>(bc::load_be(disk.data(), 4));
  if (count > kMaxDiskEntries || disk.size() != kDiskHeaderSize + size_t{count} * kDiskEntrySize)
    return corrupt(m, ip, stored, std::to_string(count) + " entries in " + std::to_string(disk.size()) + " bytes");
  out->clear();
  for (size_t off = kDiskHeaderSize; off < disk.size(); off += kDiskEntrySize) {
    const auto tag = static_cast<uint32_t>(bc::load_be(&disk[off], 4));
    if (rank(static_cast<uint16_t>(tag)) < 0 || tag > 0xffff)
      return corrupt(m, ip, stored,
                     "entry " + std::to_string((off - kDiskHeaderSize) / kDiskEntrySize) + ": tag " + std::to_string(tag));
    out->push_back({static_cast<uint16_t>(tag), static_cast<uint16_t>(bc::load_be(&disk[off + 8], 2)),
                    named(static_cast<uint16_t>(tag)) ? static_cast<uint32_t>(bc::load_be(&disk[off + 4], 4)) : kUndefinedId});
  }
  return 0;
}

// The xattr form of acl; the id of entries other than named ones is
// 0xffffffff, as the kernel gives it.
std::vector<std::byte> to_xattr(const std::vector<AclEntry>& acl) {
  std::vector<std::byte> out;
  put_le(&out, kXattrVersion, 4);
  for (const AclEntry& e : acl) {
    put_le(&out, e.tag, 2);
    put_le(&out, e.perm, 2);
    put_le(&out, named(e.tag) ? e.id : kUndefinedId, 4);
  }
  return out;
}

// XFS's stored form of acl (at most kMaxDiskEntries entries).
std::vector<std::byte> to_disk(const std::vector<AclEntry>& acl) {
  std::vector<std::byte> out(kDiskHeaderSize + acl.size() * kDiskEntrySize);
  store_be(out.data(), 4, acl.size());
  size_t off = kDiskHeaderSize;
  for (const AclEntry& e : acl) {
    store_be(&out[off], 4, e.tag);
    store_be(&out[off + 4], 4, named(e.tag) ? e.id : kUndefinedId);
    store_be(&out[off + 8], 2, e.perm);
    off += kDiskEntrySize;
  }
  return out;
}

// Reads the stored ACL `stored` of ip for a change that works on its
// entries (inheritance, chmod), which needs a valid one.  Returns 0,
// ENODATA (none stored), EUCLEAN (one log line), EIO.  REQUIRES: ip.lock.
int read_valid(Mount& m, const CachedInode& ip, std::string_view stored, std::vector<AclEntry>* acl) {
  std::vector<std::byte> disk;
  if (int e = attr_get(m, ip, stored, &disk)) return e;
  if (int e = parse_disk(m, ip, stored, disk, acl)) return e;
  if (valid(*acl)) return 0;
  return corrupt(m, ip, stored, "not a valid ACL (entry order or base entries)");
}

bool has_attr(Mount& m, const CachedInode& ip, std::string_view name, int* err) {
  std::vector<std::byte> value;
  const int e = attr_get(m, ip, name, &value);
  *err = e == ENODATA ? 0 : e;
  return e == 0;
}

// One transaction: stores *store as the ACL `stored` (XFS's form), or else
// removes the stored one when there is one, and sets the permission bits to
// *mode when given.  stored_seen is what the caller found before reserving
// (removing a stored ACL needs the reservation): a different answer under
// the lock means EAGAIN, to run again.  As the kernel's XFS counts them
// (one transaction each): storing an ACL, even the same one again, and
// removing one each count once in di_changecount and set ctime; so does a
// mode that changes.
int change(Mount& m, const InodeRef& ip, const Cred& c, std::string_view stored, bool stored_seen,
           const std::optional<std::vector<std::byte>>& store, std::optional<uint16_t> mode) {
  std::unique_ptr<Transaction> tp;
  if (int e = Transaction::begin(m, &tp)) return e;
  const uint64_t blocks =
      store ? attr_set_reservation(m.sb(), store->size()) : stored_seen ? attr_remove_reservation(m.sb()) : 0;
  if (blocks != 0)
    if (int e = tp->reserve_blocks(blocks)) return e;
  tp->join_inode(ip);
  Inode& n = ip->core;
  if (n.flags & (kDiflagImmutable | kDiflagAppend)) return EPERM;
  if (!c.owner_or_capable(n)) return EPERM;
  bool changed = false;
  if (store) {
    if (int e = attr_set(*tp, ip.get(), stored, *store, 0)) return e;
    n.changecount++;
    changed = true;
  } else {
    int err;
    const bool stored_now = has_attr(m, *ip, stored, &err);
    if (err != 0) return err;
    if (stored_now != stored_seen) return EAGAIN;
    if (stored_now) {
      if (int e = attr_remove(*tp, ip.get(), stored)) return e;
      n.changecount++;
      changed = true;
    }
  }
  if (mode) {
    uint16_t want = static_cast<uint16_t>((n.mode & ~0777u) | *mode);
    if (!c.root() && !c.in_group(n.gid)) want &= static_cast<uint16_t>(~S_ISGID);
    if (want != n.mode) {
      n.mode = want;
      n.changecount++;
      changed = true;
    }
  }
  if (!changed) return 0;  // the transaction cancels: nothing to write
  n.ctime = current_time();
  tp->log_inode(ip.get(), kDirtyCore);
  return tp->commit();
}

int run(Mount& m, const InodeRef& ip, const Cred& c, std::string_view stored,
        const std::optional<std::vector<std::byte>>& store, std::optional<uint16_t> mode) {
  return retry_change(m, [&] {
    bool seen = false;
    if (!store) {
      int err;
      std::shared_lock<std::shared_mutex> l(ip->lock);
      seen = has_attr(m, *ip, stored, &err);
      if (err != 0) return err;
    }
    return change(m, ip, c, stored, seen, store, mode);
  });
}

}  // namespace

bool is_posix_acl_name(std::string_view name) { return name == kAccess || name == kDefault; }

std::string_view acl_name_of_stored(std::string_view stored) {
  if (stored == kStoredAccess) return kAccess;
  if (stored == kStoredDefault) return kDefault;
  return {};
}

int acl_get(Mount& m, const CachedInode& ip, std::string_view name, std::vector<std::byte>* value) {
  const std::string_view stored = name == kDefault ? kStoredDefault : kStoredAccess;
  std::vector<std::byte> disk;
  if (int e = attr_get(m, ip, stored, &disk)) return e;  // ENODATA: none stored, the mode says it all
  std::vector<AclEntry> acl;
  if (int e = parse_disk(m, ip, stored, disk, &acl)) return e;
  *value = to_xattr(acl);
  return 0;
}

int acl_set(Mount& m, const InodeRef& ip, const Cred& c, std::string_view name, std::span<const std::byte> value) {
  std::vector<AclEntry> acl;
  if (int e = parse_xattr(value, &acl)) return e;
  if (name == kDefault) {
    {
      std::shared_lock<std::shared_mutex> l(ip->lock);
      if (!S_ISDIR(ip->core.mode)) return EACCES;  // set_posix_acl(): a default ACL only on a directory
    }
    if (acl.size() > kMaxDiskEntries) return E2BIG;
    return run(m, ip, c, kStoredDefault, to_disk(acl), std::nullopt);  // stored even when the mode could say it
  }
  if (acl.size() > kMaxDiskEntries) return E2BIG;
  // posix_acl_update_mode(): an ACL the mode says goes; the mode takes the
  // ACL's bits either way.
  const uint16_t mode = mode_of(acl);
  if (mode_says(acl)) return run(m, ip, c, kStoredAccess, std::nullopt, mode);
  return run(m, ip, c, kStoredAccess, to_disk(acl), mode);
}

int acl_inherit(Mount& m, const CachedInode& dp, uint32_t mode, uint32_t umask, InheritedAcl* out) {
  *out = InheritedAcl{mode, {}, {}};
  if (S_ISLNK(mode)) return 0;
  std::vector<AclEntry> acl;
  const int e = read_valid(m, dp, kStoredDefault, &acl);
  if (e == ENODATA) {
    out->mode = mode & ~(umask & 0777u);
    return 0;
  }
  if (e != 0) return e;
  if (S_ISDIR(mode)) out->dflt = to_disk(acl);
  // Each of owner, group class and other: the entry keeps only what the
  // mode allows, and the mode only what the entry allows.  The group class
  // is the mask when there is one (the owning group's entry then stays).
  unsigned bits[3] = {(mode >> 6) & 7u, (mode >> 3) & 7u, mode & 7u};
  for (AclEntry& a : acl) {
    if (a.tag == kUserObj) {
      a.perm &= static_cast<uint16_t>(bits[0]);
      bits[0] = a.perm;
    } else if (a.tag == kOther) {
      a.perm &= static_cast<uint16_t>(bits[2]);
      bits[2] = a.perm;
    }
  }
  AclEntry& group = group_class(acl);
  group.perm &= static_cast<uint16_t>(bits[1]);
  bits[1] = group.perm;
  out->mode = (mode & ~0777u) | bits[0] << 6 | bits[1] << 3 | bits[2];
  if (!mode_says(acl)) out->access = to_disk(acl);
  return 0;
}

int acl_store_inherited(Mount& m, const InodeRef& ip, const InheritedAcl& in) {
  const std::pair<std::string_view, const std::vector<std::byte>*> stores[] = {{kStoredDefault, &in.dflt},
                                                                               {kStoredAccess, &in.access}};
  for (const auto& store : stores) {
    // Named, not bound: clang 14 (the fuzz build) lets no lambda capture a structured binding.
    const std::string_view stored = store.first;
    const std::vector<std::byte>* value = store.second;
    if (value->empty()) continue;
    const int e = retry_change(m, [&] {
      std::unique_ptr<Transaction> tp;
      if (int te = Transaction::begin(m, &tp)) return te;
      if (int te = tp->reserve_blocks(attr_set_reservation(m.sb(), value->size()))) return te;
      tp->join_inode(ip);
      if (int te = attr_set(*tp, ip.get(), stored, *value, 0)) return te;
      ip->core.changecount++;
      tp->log_inode(ip.get(), kDirtyCore);
      return tp->commit();
    });
    if (e != 0) return e;
  }
  return 0;
}

std::string acl_stored_fault(std::span<const std::byte> disk, bool* repair_silent) {
  *repair_silent = false;
  if (disk.size() < kDiskHeaderSize) return "ACL of " + std::to_string(disk.size()) + " bytes, shorter than its count";
  const auto count = static_cast<uint32_t>(bc::load_be(disk.data(), 4));
  if (count > kMaxDiskEntries) return "ACL of " + std::to_string(count) + " entries, more than " + std::to_string(kMaxDiskEntries);
  if (disk.size() < kDiskHeaderSize + size_t{count} * kDiskEntrySize)
    return "ACL of " + std::to_string(count) + " entries in " + std::to_string(disk.size()) + " bytes";
  unsigned seen[6] = {};
  std::vector<std::pair<uint32_t, uint32_t>> named_ids;  // (tag, id)
  for (uint32_t i = 0; i < count; ++i) {
    const std::byte* e = &disk[kDiskHeaderSize + i * kDiskEntrySize];
    const auto tag = static_cast<uint32_t>(bc::load_be(e, 4));
    const auto perm = static_cast<uint32_t>(bc::load_be(e + 8, 2));
    const std::string at = "ACL entry " + std::to_string(i) + ": ";
    if (perm & ~07u) return at + "permission bits " + std::to_string(perm) + " beyond rwx";
    const int r = tag > 0xffff ? -1 : rank(static_cast<uint16_t>(tag));
    if (r < 0) return at + "tag " + std::to_string(tag) + " is no ACL tag";
    if (named(static_cast<uint16_t>(tag))) {
      named_ids.emplace_back(tag, static_cast<uint32_t>(bc::load_be(e + 4, 4)));
    } else if (seen[r] > 0) {
      return at + "a second " + (tag == kUserObj ? "owner" : tag == kGroupObj ? "owning group" : tag == kMask ? "mask" : "other") + " entry";
    }
    seen[r]++;
  }
  std::sort(named_ids.begin(), named_ids.end());
  if (std::adjacent_find(named_ids.begin(), named_ids.end()) != named_ids.end()) return "ACL names a user or group twice";
  if (seen[0] == 0 || seen[2] == 0 || seen[5] == 0) return "ACL without an owner, owning group or other entry";
  if (!named_ids.empty() && seen[4] == 0) return "ACL with named entries and no mask";
  if (disk.size() != kDiskHeaderSize + size_t{count} * kDiskEntrySize) {
    *repair_silent = true;
    return "ACL of " + std::to_string(count) + " entries in " + std::to_string(disk.size()) + " bytes";
  }
  return {};
}

int acl_chmod(Mount& m, const InodeRef& ip, const Cred& c) {
  std::vector<AclEntry> acl;
  uint32_t mode;
  {
    std::shared_lock<std::shared_mutex> l(ip->lock);
    const int e = read_valid(m, *ip, kStoredAccess, &acl);
    if (e == ENODATA) return 0;
    if (e != 0) return e;
    mode = ip->core.mode;
  }
  for (AclEntry& a : acl) {
    if (a.tag == kUserObj) a.perm = static_cast<uint16_t>((mode >> 6) & 7);
    if (a.tag == kOther) a.perm = static_cast<uint16_t>(mode & 7);
  }
  group_class(acl).perm = static_cast<uint16_t>((mode >> 3) & 7);
  return run(m, ip, c, kStoredAccess, to_disk(acl), std::nullopt);
}

int acl_remove(Mount& m, const InodeRef& ip, const Cred& c, std::string_view name) {
  if (name == kDefault) {
    std::shared_lock<std::shared_mutex> l(ip->lock);
    if (!S_ISDIR(ip->core.mode)) return 0;  // set_posix_acl(): nothing to remove on a non-directory
  }
  return run(m, ip, c, name == kDefault ? kStoredDefault : kStoredAccess, std::nullopt, std::nullopt);
}

}  // namespace xfsfuse::fs
