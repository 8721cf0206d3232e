#include "tools/churn_walk.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

namespace xfsfuse::tools::churn {

namespace {

// Entries one thread takes at a time from a directory's list.
constexpr size_t kChunk = 256;
// Directories with fewer entries are lstat()ed on the calling thread alone:
// starting threads costs more than it saves.
constexpr size_t kMinParallel = 2 * kChunk;

struct Walk {
  unsigned threads;
  const std::atomic<bool>* stop;
  WalkResult result;
  std::string err;  // the first failure's message
};

// lstat()s names[next...] chunk by chunk; appends the indices of directories on
// device dev to *subdirs.  The first failure is kept in *error / *err.
void stat_chunks(int dirfd, const std::string& path, dev_t dev, const std::vector<std::string>& names,
                 std::atomic<size_t>* next, const std::atomic<bool>* stop, std::mutex* mu, int* error,
                 std::string* err, std::vector<size_t>* subdirs) {
  std::vector<size_t> mine;
  while (!stop->load(std::memory_order_relaxed)) {
    const size_t begin = next->fetch_add(kChunk);
    if (begin >= names.size()) break;
    const size_t end = std::min(begin + kChunk, names.size());
    for (size_t i = begin; i < end; i++) {
      struct stat st;
      if (::fstatat(dirfd, names[i].c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        const int e = errno;
        std::lock_guard<std::mutex> g(*mu);
        if (*error == 0) {
          *error = e;
          *err = path + "/" + names[i] + ": lstat: " + std::strerror(e);
        }
        next->store(names.size());
        return;
      }
      if (S_ISDIR(st.st_mode) && st.st_dev == dev) mine.push_back(i);
    }
  }
  std::lock_guard<std::mutex> g(*mu);
  subdirs->insert(subdirs->end(), mine.begin(), mine.end());
}

// Reads every name of the open directory d (not "." and "..").
int read_names(DIR* d, const std::string& path, std::vector<std::string>* names, std::string* err) {
  while (true) {
    errno = 0;
    const dirent* e = ::readdir(d);
    if (e == nullptr) {
      if (errno == 0) return 0;
      const int r = errno;
      *err = path + ": readdir: " + std::strerror(r);
      return r;
    }
    if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
    names->emplace_back(e->d_name);
  }
}

// Walks the directory open as fd (taken over: closed here), at path.
int walk_dir(Walk* w, int fd, const std::string& path, dev_t dev) {
  DIR* d = ::fdopendir(fd);
  if (d == nullptr) {
    const int e = errno;
    ::close(fd);
    w->err = path + ": fdopendir: " + std::strerror(e);
    return e;
  }
  w->result.directories++;
  std::vector<std::string> names;
  if (int e = read_names(d, path, &names, &w->err)) {
    ::closedir(d);
    return e;
  }
  w->result.entries += names.size();

  std::vector<size_t> subdirs;
  std::atomic<size_t> next{0};
  std::mutex mu;
  int error = 0;
  std::string err;
  const int dfd = ::dirfd(d);
  std::vector<std::thread> helpers;
  if (w->threads > 1 && names.size() >= kMinParallel) {
    for (unsigned t = 1; t < w->threads; t++)
      helpers.emplace_back(stat_chunks, dfd, std::cref(path), dev, std::cref(names), &next, w->stop, &mu, &error,
                           &err, &subdirs);
  }
  stat_chunks(dfd, path, dev, names, &next, w->stop, &mu, &error, &err, &subdirs);
  for (auto& t : helpers) t.join();
  if (error == 0 && w->stop->load()) error = EINTR, err = "interrupted";
  if (error != 0) {
    ::closedir(d);
    w->err = err;
    return error;
  }

  std::sort(subdirs.begin(), subdirs.end());  // readdir order, whatever thread saw each
  for (size_t i : subdirs) {
    const std::string sub = path + "/" + names[i];
    const int cfd = ::openat(dfd, names[i].c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (cfd < 0) {
      const int e = errno;
      ::closedir(d);
      w->err = sub + ": open: " + std::strerror(e);
      return e;
    }
    if (int e = walk_dir(w, cfd, sub, dev)) {
      ::closedir(d);
      return e;
    }
  }
  ::closedir(d);
  return 0;
}

}  // namespace

int walk_tree(const std::string& root, unsigned threads, const std::atomic<bool>* stop, WalkResult* out,
              std::string* err) {
  Walk w{threads < 1 ? 1u : threads, stop, {}, {}};
  const int fd = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    const int e = errno;
    *err = root + ": open: " + std::strerror(e);
    return e;
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const int e = errno;
    ::close(fd);
    *err = root + ": stat: " + std::strerror(e);
    return e;
  }
  const int e = walk_dir(&w, fd, root, st.st_dev);
  *out = w.result;
  if (e != 0) *err = w.err;
  return e;
}

}  // namespace xfsfuse::tools::churn
