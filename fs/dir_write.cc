// Directory changes (fs/dir_write.h): the arguments checked, then the
// directory's format decides which file does the work (short form:
// dir_sf_write.cc; block form: dir_block_write.cc; leaf form:
// dir_leaf_write.cc; node form: dir_node_write.cc).
#include "fs/dir_write.h"

#include <sys/stat.h>

#include <cerrno>

#include "fs/dir_write_internal.h"
#include "fs/format/geometry.h"

namespace xfsfuse::fs {

using dir::Form;

namespace {

bool valid_name(std::string_view name) {
  return !name.empty() && name.size() <= 255 && name != "." && name != ".." &&
         name.find_first_of(std::string_view("/\0", 2)) == std::string_view::npos;
}

// The directory's format for a change.
int form_for_change(Transaction& tp, CachedInode* dp, Form* form) { return dir::dir_form(tp.mount(), *dp, form); }

}  // namespace

int dir_add(Transaction& tp, CachedInode* dp, std::string_view name, uint64_t ino, uint8_t ftype) {
  if (!valid_name(name) || ftype >= dir::kFtMax || !ino_in_fs(tp.mount().sb(), ino)) return EINVAL;
  Form form;
  if (int err = form_for_change(tp, dp, &form)) return err;
  switch (form) {
    case Form::kShort: return dir::sf_add(tp, dp, name, ino, ftype);
    case Form::kBlock: return dir::block_add(tp, dp, name, ino, ftype);
    case Form::kLeaf: return dir::leaf_add(tp, dp, name, ino, ftype);
    default: return dir::node_add(tp, dp, name, ino, ftype);
  }
}

int dir_remove(Transaction& tp, CachedInode* dp, std::string_view name) {
  if (!valid_name(name)) return EINVAL;
  Form form;
  if (int err = form_for_change(tp, dp, &form)) return err;
  switch (form) {
    case Form::kShort: return dir::sf_remove(tp, dp, name);
    case Form::kBlock: return dir::block_remove(tp, dp, name);
    case Form::kLeaf: return dir::leaf_remove(tp, dp, name);
    default: return dir::node_remove(tp, dp, name);
  }
}

int dir_replace(Transaction& tp, CachedInode* dp, std::string_view name, uint64_t ino, uint8_t ftype) {
  if (name == "..") ftype = kFtDir;
  if ((name != ".." && !valid_name(name)) || ftype >= dir::kFtMax || !ino_in_fs(tp.mount().sb(), ino))
    return EINVAL;
  Form form;
  if (int err = form_for_change(tp, dp, &form)) return err;
  switch (form) {
    case Form::kShort: return dir::sf_replace(tp, dp, name, ino, ftype);
    case Form::kBlock: return dir::block_replace(tp, dp, name, ino, ftype);
    case Form::kLeaf: return dir::leaf_replace(tp, dp, name, ino, ftype);
    default: return dir::node_replace(tp, dp, name, ino, ftype);
  }
}

void dir_init(Transaction& tp, CachedInode* dp, uint64_t parent_ino) {
  dir::SfDir d;
  d.parent = parent_ino;
  dir::sf_encode(tp, dp, d);
}

int dir_is_empty(Mount& m, const CachedInode& dp, bool* empty) {
  if (!S_ISDIR(dp.core.mode)) return ENOTDIR;
  if (dp.core.format == ForkFormat::kLocal) {
    uint64_t parent;
    std::vector<dir::SfEntry> ents;
    if (int err = dir::sf_decode(m, dp, &parent, &ents)) return err;
    *empty = ents.empty();
    return 0;
  }
  *empty = true;
  return dir_iterate(m, dp, 0, [&](const DirEntry& e) {
    if (e.name == "." || e.name == "..") return true;
    *empty = false;
    return false;
  });
}

}  // namespace xfsfuse::fs
