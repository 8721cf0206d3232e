#include "fs/ops/acl.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdint>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "buffer_cache/buf_ops.h"
#include "fs/attr.h"
#include "fs/attr_write.h"
#include "fs/mount.h"
#include "fs/ops/setattr.h"
#include "fs/trans/trans.h"

namespace xfsfuse::fs {

namespace {

constexpr std::string_view kAccess = "system.posix_acl_access", kDefault = "system.posix_acl_default";
// Where XFS keeps each (the root namespace: fs/attr.h's "trusted.").
constexpr std::string_view kStoredAccess = "trusted.SGI_ACL_FILE", kStoredDefault = "trusted.SGI_ACL_DEFAULT";

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

// The rwx bits an ACL value stands for (0..0777), nullopt when the mode
// cannot say it (named users or groups, a mask: posix_acl_equiv_mode() says
// "not equivalent"), or EINVAL in *err for a malformed value.
std::optional<uint16_t> equivalent_mode(std::span<const std::byte> v, int* err) {
  *err = 0;
  if (v.size() < kHeaderSize || (v.size() - kHeaderSize) % kEntrySize != 0 || le(v, 0, 4) != kXattrVersion) {
    *err = EINVAL;
    return std::nullopt;
  }
  uint16_t mode = 0;
  unsigned seen = 0;
  bool equivalent = true;
  for (size_t off = kHeaderSize; off < v.size(); off += kEntrySize) {
    const uint16_t tag = static_cast<uint16_t>(le(v, off, 2));
    const uint16_t perm = static_cast<uint16_t>(le(v, off + 2, 2)) & 07;
    switch (tag) {
      case kUserObj: mode |= perm << 6; break;
      case kGroupObj: mode |= perm << 3; break;
      case kOther: mode |= perm; break;
      case kUser: case kGroup: case kMask: equivalent = false; break;
      default: *err = EINVAL; return std::nullopt;
    }
    seen |= tag;
  }
  // The kernel passes only valid ACLs; one without its three base entries
  // is not one.
  if ((seen & (kUserObj | kGroupObj | kOther)) != (kUserObj | kGroupObj | kOther)) {
    *err = EINVAL;
    return std::nullopt;
  }
  if (!equivalent) return std::nullopt;
  return mode;
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

// Turns the stored ACL `disk` (attribute `stored` of ip) into the xattr
// form.  Returns 0 or EUCLEAN (one log line): a count the length does not
// bear out, more entries than a value holds, or a tag no ACL has.
int disk_to_xattr(Mount& m, const CachedInode& ip, std::string_view stored, std::span<const std::byte> disk,
                  std::vector<std::byte>* out) {
  const auto corrupt = [&](const std::string& why) {
    return m.report_corruption("POSIX ACL", ip.daddr,
                               "inode " + std::to_string(ip.core.ino) + ": " + std::string(stored) + ": " + why);
  };
  if (disk.size() < kDiskHeaderSize) return corrupt(std::to_string(disk.size()) + " bytes, shorter than its count");
  const uint32_t count = static_cast<uint32_t>(bc::load_be(disk.data(), 4));
  if (count > kMaxDiskEntries || disk.size() != kDiskHeaderSize + size_t{count} * kDiskEntrySize)
    return corrupt(std::to_string(count) + " entries in " + std::to_string(disk.size()) + " bytes");
  out->clear();
  put_le(out, kXattrVersion, 4);
  for (size_t off = kDiskHeaderSize; off < disk.size(); off += kDiskEntrySize) {
    const auto tag = static_cast<uint32_t>(bc::load_be(&disk[off], 4));
    switch (tag) {
      case kUserObj: case kUser: case kGroupObj: case kGroup: case kMask: case kOther: break;
      default: return corrupt("entry " + std::to_string((off - kDiskHeaderSize) / kDiskEntrySize) + ": tag " +
                              std::to_string(tag));
    }
    put_le(out, tag, 2);
    put_le(out, static_cast<uint32_t>(bc::load_be(&disk[off + 8], 2)), 2);
    put_le(out, tag == kUser || tag == kGroup ? static_cast<uint32_t>(bc::load_be(&disk[off + 4], 4)) : kUndefinedId, 4);
  }
  return 0;
}

bool has_attr(Mount& m, const CachedInode& ip, std::string_view name, int* err) {
  std::vector<std::byte> value;
  const int e = attr_get(m, ip, name, &value);
  *err = e == ENODATA ? 0 : e;
  return e == 0;
}

// One transaction: removes the stored ACL `stored` when there is one and
// sets the permission bits to *mode when given.  stored_seen is what the
// caller found before reserving (a stored ACL needs the reservation): a
// different answer under the lock means EAGAIN, to run again.
int change(Mount& m, const InodeRef& ip, const Cred& c, std::string_view stored, bool stored_seen,
           std::optional<uint16_t> mode) {
  std::unique_ptr<Transaction> tp;
  if (int e = Transaction::begin(m, &tp)) return e;
  if (stored_seen)
    if (int e = tp->reserve_blocks(attr_remove_reservation(m.sb()))) return e;
  tp->join_inode(ip);
  Inode& n = ip->core;
  if (n.flags & (kDiflagImmutable | kDiflagAppend)) return EPERM;
  if (!c.owner_or_capable(n)) return EPERM;
  int err;
  const bool stored_now = has_attr(m, *ip, stored, &err);
  if (err != 0) return err;
  if (stored_now != stored_seen) return EAGAIN;
  bool changed = false;
  if (stored_now) {
    if (int e = attr_remove(*tp, ip.get(), stored)) return e;
    n.changecount++;
    changed = true;
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

int run(Mount& m, const InodeRef& ip, const Cred& c, std::string_view stored, std::optional<uint16_t> mode) {
  return retry_change(m, [&] {
    int err;
    bool seen;
    {
      std::shared_lock<std::shared_mutex> l(ip->lock);
      seen = has_attr(m, *ip, stored, &err);
    }
    if (err != 0) return err;
    return change(m, ip, c, stored, seen, mode);
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
  return disk_to_xattr(m, ip, stored, disk, value);
}

int acl_set(Mount& m, const InodeRef& ip, const Cred& c, std::string_view name, std::span<const std::byte> value) {
  int err;
  const std::optional<uint16_t> mode = equivalent_mode(value, &err);
  if (err != 0) return err;
  if (name == kDefault) {
    {
      std::shared_lock<std::shared_mutex> l(ip->lock);
      if (!S_ISDIR(ip->core.mode)) return EACCES;  // set_posix_acl(): a default ACL only on a directory
    }
    return EOPNOTSUPP;  // a default ACL is stored as it is: not written yet
  }
  if (!mode) return EOPNOTSUPP;
  return run(m, ip, c, kStoredAccess, mode);
}

int acl_remove(Mount& m, const InodeRef& ip, const Cred& c, std::string_view name) {
  if (name == kDefault) {
    std::shared_lock<std::shared_mutex> l(ip->lock);
    if (!S_ISDIR(ip->core.mode)) return 0;  // set_posix_acl(): nothing to remove on a non-directory
  }
  return run(m, ip, c, name == kDefault ? kStoredDefault : kStoredAccess, std::nullopt);
}

}  // namespace xfsfuse::fs
