// tools/dirstress_model.cc — ModelDir: POSIX directory semantics in memory.
#include "tools/dirstress_model.h"

#include <cerrno>

namespace xfsfuse::tools::dirstress {

namespace {
constexpr int kMaxSymlinks = 40;  // Linux's MAXSYMLINKS: the 41st link followed fails
}

int ModelDir::creat(const std::string& name) {
  std::string at = name;
  for (int links = 0;; links++) {
    auto it = tree_.find(at);
    if (it == tree_.end()) {
      tree_[at] = Entry{EntryType::file, {}};
      return 0;
    }
    switch (it->second.type) {
      case EntryType::file: return 0;
      case EntryType::dir: return EISDIR;
      case EntryType::symlink:
        if (links == kMaxSymlinks) return ELOOP;
        at = it->second.target;
        break;
      case EntryType::chrdev:
      case EntryType::other: return kAnyError;
    }
  }
}

int ModelDir::mkdir(const std::string& name) {
  if (tree_.count(name)) return EEXIST;
  tree_[name] = Entry{EntryType::dir, {}};
  return 0;
}

int ModelDir::symlink(const std::string& target, const std::string& name) {
  if (tree_.count(name)) return EEXIST;
  tree_[name] = Entry{EntryType::symlink, target};
  return 0;
}

int ModelDir::mknod(const std::string& name) {
  if (tree_.count(name)) return EEXIST;
  if (mknod_errno_ != 0) return mknod_errno_;
  tree_[name] = Entry{EntryType::chrdev, {}};
  return 0;
}

int ModelDir::rename(const std::string& from, const std::string& to) {
  auto src = tree_.find(from);
  if (src == tree_.end()) return ENOENT;
  if (from == to) return 0;
  auto dst = tree_.find(to);
  if (dst != tree_.end()) {
    bool src_dir = src->second.type == EntryType::dir;
    bool dst_dir = dst->second.type == EntryType::dir;
    if (src_dir && !dst_dir) return ENOTDIR;
    if (!src_dir && dst_dir) return EISDIR;
  }
  Entry moved = std::move(src->second);
  tree_.erase(src);
  tree_[to] = std::move(moved);
  return 0;
}

int ModelDir::unlink(const std::string& name) {
  auto it = tree_.find(name);
  if (it == tree_.end()) return ENOENT;
  if (it->second.type == EntryType::dir) return EISDIR;
  tree_.erase(it);
  return 0;
}

int ModelDir::rmdir(const std::string& name) {
  auto it = tree_.find(name);
  if (it == tree_.end()) return ENOENT;
  if (it->second.type != EntryType::dir) return ENOTDIR;
  tree_.erase(it);
  return 0;
}

int ModelDir::lstat(const std::string& name, EntryType* type) {
  auto it = tree_.find(name);
  if (it == tree_.end()) return ENOENT;
  *type = it->second.type;
  return 0;
}

}  // namespace xfsfuse::tools::dirstress
