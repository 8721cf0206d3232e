// Directory entry points: which format a directory is in, then the format's
// file (fs/dir_internal.h).  The format is decided as the kernel does: a
// local data fork is short form; otherwise, if the last mapped fsblock of the
// data fork ends the first directory block, block form; if it ends the first
// leaf-space block, leaf form (one LEAF1 block); anything else is node form.
#include <sys/stat.h>

#include <cerrno>

#include "fs/dir_internal.h"
#include "fs/inode.h"

namespace xfsfuse::fs {

namespace dir {

Geometry geometry(const Superblock& sb) {
  Geometry g;
  g.blksize = sb.dirblksize;
  g.blkfsbs = 1u << sb.dirblklog;
  g.leaf_dablk = kLeafSpaceBytes >> sb.blocklog;
  g.free_dablk = kFreeSpaceBytes >> sb.blocklog;
  return g;
}

int check_ino(Mount& m, const char* structure, uint64_t daddr, uint64_t ino, std::string_view name) {
  const Superblock& sb = m.sb();
  InodeLocation loc;
  // Inodes never sit in an AG's header sectors (superblock, AGF, AGI, AGFL).
  if (locate_inode(sb, ino, &loc) && uint64_t{loc.agbno} * sb.blocksize >= 4u * sb.sectsize) return 0;
  return m.report_corruption(
      structure, daddr,
      "entry \"" + std::string(name) + "\" has inode number " + std::to_string(ino) + ", outside the filesystem");
}

int dir_form(Mount& m, const CachedInode& ip, Form* form, bool check_size) {
  if (!S_ISDIR(ip.core.mode)) return ENOTDIR;
  const Geometry g = geometry(m.sb());
  const std::string at = "directory " + std::to_string(ip.core.ino) + ": ";
  switch (ip.core.format) {
    case ForkFormat::kLocal:
      *form = Form::kShort;
      return 0;
    case ForkFormat::kExtents:
    case ForkFormat::kBtree:
      break;
    default:
      return m.report_corruption("inode", ip.daddr, at + "data fork format is not local, extents or btree");
  }
  if (ip.df.extents.empty()) return m.report_corruption("inode", ip.daddr, at + "no data blocks");
  const uint64_t last = ip.df.extents.back().startoff + ip.df.extents.back().blockcount;
  if (last <= g.blkfsbs) {
    if (check_size && ip.core.size != g.blksize)
      return m.report_corruption("inode", ip.daddr, at + "block form but di_size " + std::to_string(ip.core.size));
    *form = Form::kBlock;
  } else {
    *form = last == g.leaf_dablk + g.blkfsbs ? Form::kLeaf : Form::kNode;
  }
  return 0;
}

}  // namespace dir

using dir::Form;

int dir_iterate(Mount& m, const CachedInode& dir, uint64_t cookie, const std::function<bool(const DirEntry&)>& fn) {
  Form form;
  if (int err = dir::dir_form(m, dir, &form)) return err;
  if (form == Form::kShort) return dir::sf_iterate(m, dir, cookie, fn);
  return dir::data_iterate(m, dir, form == Form::kBlock, cookie, fn);
}

int dir_lookup(Mount& m, const CachedInode& dir, std::string_view name, uint64_t* ino, uint8_t* ftype) {
  if (name.size() > 255) return ENAMETOOLONG;
  Form form;
  if (int err = dir::dir_form(m, dir, &form)) return err;
  if (name.empty()) return ENOENT;
  switch (form) {
    case Form::kShort:
      return dir::sf_lookup(m, dir, name, ino, ftype);
    case Form::kBlock:
      return dir::block_lookup(m, dir, name, ino, ftype);
    case Form::kLeaf:
      return dir::leaf_lookup(m, dir, kDir3Leaf1Magic, name, ino, ftype);
    case Form::kNode:
      return dir::leaf_lookup(m, dir, kDir3LeafnMagic, name, ino, ftype);
  }
  return EINVAL;
}

}  // namespace xfsfuse::fs
