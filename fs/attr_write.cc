// attr_set / attr_remove (fs/attr_write.h): the format of the attr fork
// picks the path; the pieces are fs/attr_write_internal.h's.
#include "fs/attr_write.h"

#include <cerrno>

#include "fs/attr_internal.h"
#include "fs/attr_write_internal.h"
#include "fs/bmap_write.h"
#include "fs/da_write.h"
#include "fs/dir.h"
#include "fs/format/attr.h"
#include "fs/mount.h"

namespace xfsfuse::fs {

namespace {

using attr::NewAttr;

// An empty extents-format attr fork (the kernel keeps one after the last
// leaf went, and makes one for new files under some LSMs) is short form
// with no list yet.
bool is_short(const CachedInode& ip) {
  return ip.af.format == ForkFormat::kLocal || (ip.af.format == ForkFormat::kExtents && ip.af.extents.empty());
}

int check_sf(Mount& m, const CachedInode& ip) {
  if (ip.af.format != ForkFormat::kLocal) return 0;
  return attr::sf_walk(m, ip, [](const attr::AttrRecord&) { return true; });
}

// After a removal from the leaf h: back to short form (or no fork) when
// everything left fits (the kernel's xfs_attr_shortform_allfit).
int maybe_shrink(Transaction& tp, CachedInode* ip, bc::BufHandle* h) {
  const int forkoff = attr::leaf_allfit(*ip, {h->data(), h->size()});
  return forkoff == 0 ? 0 : attr::leaf_to_sf(tp, ip, h, forkoff);
}

// Adds a to the leaf h at pos (replacing pos's entry if found); a leaf
// without room becomes node form and the add goes on there (the kernel's
// xfs_attr_leaf_addname).
int leaf_set(Transaction& tp, CachedInode* ip, bc::BufHandle* h, const NewAttr& a, const attr::LeafPos& pos) {
  bool remote = false;
  if (!attr::leaf_add(tp, h, pos.index, a, &remote)) {
    if (int e = attr::leaf_to_node(tp, ip, h)) return e;
    return attr::node_set(tp, ip, a, 0);
  }
  if (remote) {
    uint32_t blk = 0;
    if (int e = attr::remote_set(tp, ip, a.value, &blk)) return e;
    attr::leaf_set_remote(tp, h, pos.index, blk, static_cast<uint32_t>(a.value.size()));
  }
  if (!pos.found) return 0;
  if (pos.remote)
    if (int e = attr::remote_remove(tp, ip, pos.valueblk, pos.valuelen)) return e;
  attr::leaf_remove(tp, h, pos.index + 1);  // the old entry, now after the new one
  return maybe_shrink(tp, ip, h);
}

int set_short(Transaction& tp, CachedInode* ip, const NewAttr& a, unsigned flags) {
  size_t off = 0, size = 0;
  const bool found = ip->af.format == ForkFormat::kLocal && attr::sf_find(*ip, a.ns, a.name, &off, &size);
  if (found && (flags & kXattrCreate)) return EEXIST;
  if (!found && (flags & kXattrReplace)) return ENODATA;
  if (ip->af.format != ForkFormat::kLocal) attr::sf_create(tp, ip);
  if (found)
    if (int e = attr::sf_remove(tp, ip, off, size, /*keep_fork=*/true)) return e;
  const int e = attr::sf_add(tp, ip, a);
  if (e != ENOSPC) return e;
  bc::BufHandle* h;
  if (int e2 = attr::sf_to_leaf(tp, ip, &h)) return e2;
  return leaf_set(tp, ip, h, a, attr::leaf_lookup({h->data(), h->size()}, a));
}

int parse(std::string_view name, NewAttr* a) {
  if (int e = attr::parse_name(name, &a->ns, &a->name)) return e;
  a->hash = da_hashname(a->name);
  return 0;
}

}  // namespace

// A set may map a leaf (leaf -> node), a leaf per tree level (a double
// split two), a root copy and the remote value, and, replacing, free as a
// removal does: the old value and a block per level joined.
uint64_t attr_set_reservation(const Superblock& sb, size_t valuelen) {
  const uint64_t rmt = attr::remote_blocks(sb, static_cast<uint32_t>(valuelen));
  // Plus a block for a short-form directory (a directory block) or an
  // inline symlink the new attr fork pushes out of the inode.
  return bmap_write_reservation(sb, rmt + da::kMaxDepth + 3) + bmap_write_reservation(sb, 1u << sb.dirblklog) +
         attr_remove_reservation(sb);
}

uint64_t attr_remove_reservation(const Superblock& sb) {
  return (da::kMaxDepth + 2) * bmap_unmap_reservation(sb);
}

int attr_set(Transaction& tp, CachedInode* ip, std::string_view name, std::span<const std::byte> value,
             unsigned flags) {
  NewAttr a;
  if (int e = parse(name, &a)) return e;
  if (value.size() > attr::kValueMax) return E2BIG;
  a.value = value;
  Mount& m = tp.mount();
  if (!ip->has_attr_fork()) {
    if (flags & kXattrReplace) return ENODATA;
    // The kernel sizes the new fork for this attribute as a short-form
    // entry with its name and value lengths taken as 8-bit numbers (the
    // value's length modulo 256: docs/format.md "Inodes"), whatever form
    // the attribute then goes to.
    const size_t sf_size = sizeof(xd_attr_sf_hdr) + 3 + (a.name.size() & 0xff) + (value.size() & 0xff);
    if (int e = attr::add_fork(tp, ip, sf_size)) return e;
  }
  if (is_short(*ip)) {
    if (int e = check_sf(m, *ip)) return e;
    if (int e = set_short(tp, ip, a, flags)) return e;
  } else {
    bc::BufHandle* h;
    if (int e = attr::leaf_read(tp, ip, &h)) return e;
    if (attr::is_node(h)) return attr::node_set(tp, ip, a, flags);
    const attr::LeafPos pos = attr::leaf_lookup({h->data(), h->size()}, a);
    if (pos.found && (flags & kXattrCreate)) return EEXIST;
    if (!pos.found && (flags & kXattrReplace)) return ENODATA;
    if (int e = leaf_set(tp, ip, h, a, pos)) return e;
  }
  return 0;
}

int attr_remove(Transaction& tp, CachedInode* ip, std::string_view name) {
  NewAttr a;
  if (int e = parse(name, &a)) return e;
  if (!ip->has_attr_fork()) return ENODATA;
  if (ip->af.format == ForkFormat::kLocal) {
    if (int e = check_sf(tp.mount(), *ip)) return e;
    size_t off = 0, size = 0;
    if (!attr::sf_find(*ip, a.ns, a.name, &off, &size)) return ENODATA;
    if (int e = attr::sf_remove(tp, ip, off, size, /*keep_fork=*/false)) return e;
  } else if (is_short(*ip)) {
    return ENODATA;
  } else {
    bc::BufHandle* h;
    if (int e = attr::leaf_read(tp, ip, &h)) return e;
    if (attr::is_node(h)) return attr::node_remove(tp, ip, a);
    const attr::LeafPos pos = attr::leaf_lookup({h->data(), h->size()}, a);
    if (!pos.found) return ENODATA;
    if (pos.remote)
      if (int e = attr::remote_remove(tp, ip, pos.valueblk, pos.valuelen)) return e;
    attr::leaf_remove(tp, h, pos.index);
    if (int e = maybe_shrink(tp, ip, h)) return e;
  }
  return 0;
}

}  // namespace xfsfuse::fs
