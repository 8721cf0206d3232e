// tools/dirstress_ops.h — the directory calls xfsfuse-dirstress makes, behind a
// small interface: RealDirOps makes them on a directory of a mounted
// filesystem (*at calls on one directory fd, so threads need no chdir);
// tools/dirstress_model.h answers them from an in-memory model (--verify).
//
// Every call works on one name in the one directory and returns 0 or a
// positive errno value.  Instances are used by one worker at a time.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace xfsfuse::tools::dirstress {

/// The type of a directory entry as lstat(2) reports it.
enum class EntryType : uint8_t { file, dir, symlink, chrdev, other };

/// One letter per type, as find(1)'s %y: f d l c ?.
char type_letter(EntryType t);

/// An entry as --verify compares it: its type and, for a symlink, its target.
struct Entry {
  EntryType type = EntryType::file;
  std::string target;
  bool operator==(const Entry&) const = default;
};

/// A directory's contents by name ("." and ".." left out).
using Tree = std::map<std::string, Entry>;

/// The calls of dirstress's phases.  Returns 0 or a positive errno.
class DirOps {
 public:
  virtual ~DirOps() = default;
  /// creat(name, 0666) then close: follows symlinks, truncates a regular file.
  virtual int creat(const std::string& name) = 0;
  virtual int mkdir(const std::string& name) = 0;
  /// symlink(target, name).
  virtual int symlink(const std::string& target, const std::string& name) = 0;
  /// mknod(name, S_IFCHR | 0666, 0): a character device 0:0 (needs CAP_MKNOD).
  virtual int mknod(const std::string& name) = 0;
  virtual int rename(const std::string& from, const std::string& to) = 0;
  virtual int unlink(const std::string& name) = 0;
  virtual int rmdir(const std::string& name) = 0;
  /// lstat(name): *type on success.
  virtual int lstat(const std::string& name, EntryType* type) = 0;
};

/// DirOps on an open directory fd (not owned; must outlive the object).
class RealDirOps final : public DirOps {
 public:
  explicit RealDirOps(int dirfd) : dirfd_(dirfd) {}
  int creat(const std::string& name) override;
  int mkdir(const std::string& name) override;
  int symlink(const std::string& target, const std::string& name) override;
  int mknod(const std::string& name) override;
  int rename(const std::string& from, const std::string& to) override;
  int unlink(const std::string& name) override;
  int rmdir(const std::string& name) override;
  int lstat(const std::string& name, EntryType* type) override;

 private:
  int dirfd_;
};

/// Reads the directory open at dirfd (not consumed; its offset is rewound)
/// into *out: names, types, symlink targets.  Returns 0 or a positive errno.
int scan_tree(int dirfd, Tree* out);

}  // namespace xfsfuse::tools::dirstress
