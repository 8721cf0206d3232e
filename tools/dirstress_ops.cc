// tools/dirstress_ops.cc — RealDirOps and scan_tree: the *at system calls.
#include "tools/dirstress_ops.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

namespace xfsfuse::tools::dirstress {

namespace {

int result(int rc) { return rc == 0 ? 0 : errno; }

EntryType type_of(mode_t mode) {
  if (S_ISREG(mode)) return EntryType::file;
  if (S_ISDIR(mode)) return EntryType::dir;
  if (S_ISLNK(mode)) return EntryType::symlink;
  if (S_ISCHR(mode)) return EntryType::chrdev;
  return EntryType::other;
}

}  // namespace

char type_letter(EntryType t) {
  switch (t) {
    case EntryType::file: return 'f';
    case EntryType::dir: return 'd';
    case EntryType::symlink: return 'l';
    case EntryType::chrdev: return 'c';
    case EntryType::other: break;
  }
  return '?';
}

int RealDirOps::creat(const std::string& name) {
  int fd = ::openat(dirfd_, name.c_str(), O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0) return errno;
  return result(::close(fd));
}

int RealDirOps::mkdir(const std::string& name) { return result(::mkdirat(dirfd_, name.c_str(), 0777)); }

int RealDirOps::symlink(const std::string& target, const std::string& name) {
  return result(::symlinkat(target.c_str(), dirfd_, name.c_str()));
}

int RealDirOps::mknod(const std::string& name) {
  return result(::mknodat(dirfd_, name.c_str(), S_IFCHR | 0666, 0));
}

int RealDirOps::rename(const std::string& from, const std::string& to) {
  return result(::renameat(dirfd_, from.c_str(), dirfd_, to.c_str()));
}

int RealDirOps::unlink(const std::string& name) { return result(::unlinkat(dirfd_, name.c_str(), 0)); }

int RealDirOps::rmdir(const std::string& name) { return result(::unlinkat(dirfd_, name.c_str(), AT_REMOVEDIR)); }

int RealDirOps::lstat(const std::string& name, EntryType* type) {
  struct stat st {};
  if (::fstatat(dirfd_, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return errno;
  *type = type_of(st.st_mode);
  return 0;
}

int scan_tree(int dirfd, Tree* out) {
  out->clear();
  int fd = ::openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno;
  DIR* d = ::fdopendir(fd);
  if (d == nullptr) {
    int e = errno;
    ::close(fd);
    return e;
  }
  int err = 0;
  errno = 0;
  while (dirent* de = ::readdir(d)) {
    std::string name = de->d_name;
    if (name == "." || name == "..") continue;
    struct stat st {};
    if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      err = errno;
      break;
    }
    Entry e{type_of(st.st_mode), {}};
    if (e.type == EntryType::symlink) {
      std::vector<char> buf(static_cast<size_t>(st.st_size) + 2);
      ssize_t n = ::readlinkat(dirfd, name.c_str(), buf.data(), buf.size());
      if (n < 0) {
        err = errno;
        break;
      }
      e.target.assign(buf.data(), static_cast<size_t>(n));
    }
    (*out)[name] = std::move(e);
    errno = 0;
  }
  if (err == 0 && errno != 0) err = errno;
  ::closedir(d);
  return err;
}

}  // namespace xfsfuse::tools::dirstress
