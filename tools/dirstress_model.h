// tools/dirstress_model.h — an in-memory directory answering DirOps the way a
// POSIX filesystem on Linux does, for --verify's replay and for unit tests.
//
// What it models, for one directory whose entries never gain children (all of
// dirstress's names live in one directory, so its subdirectories stay empty):
//   creat    follows symlinks (targets are names in the same directory; more
//            than 40 links: ELOOP, Linux's MAXSYMLINKS); a missing final name is
//            created as a regular file, a regular file is truncated (no change
//            here), a directory gives EISDIR, a device's open result depends on
//            the mount (nodev, driver) and is kAnyError
//   mkdir, symlink, mknod  EEXIST if the name exists (a dangling symlink too);
//            mknod gives mknod_errno when set (EPERM: no CAP_MKNOD on Linux
//            before 5.8; since 5.8 anyone may make a device 0:0, a whiteout)
//   rename   ENOENT if from is missing; from == to: nothing, 0; a directory
//            over a non-directory ENOTDIR, a non-directory over a directory
//            EISDIR; else the target is replaced
//   unlink   ENOENT; EISDIR on a directory (Linux's answer)
//   rmdir    ENOENT; ENOTDIR on a non-directory
// Not thread-safe; one instance per replay.
#pragma once

#include <string>

#include "tools/dirstress_ops.h"

namespace xfsfuse::tools::dirstress {

/// "Some error, which one the model cannot tell": the open of a device node.
inline constexpr int kAnyError = -1;

class ModelDir final : public DirOps {
 public:
  /// initial: the directory's contents at the start; mknod_errno: what mknod
  /// of a new name returns (0 when the caller may make device nodes).
  ModelDir(Tree initial, int mknod_errno) : tree_(std::move(initial)), mknod_errno_(mknod_errno) {}

  int creat(const std::string& name) override;
  int mkdir(const std::string& name) override;
  int symlink(const std::string& target, const std::string& name) override;
  int mknod(const std::string& name) override;
  int rename(const std::string& from, const std::string& to) override;
  int unlink(const std::string& name) override;
  int rmdir(const std::string& name) override;
  int lstat(const std::string& name, EntryType* type) override;

  const Tree& tree() const { return tree_; }

 private:
  Tree tree_;
  int mknod_errno_;
};

}  // namespace xfsfuse::tools::dirstress
