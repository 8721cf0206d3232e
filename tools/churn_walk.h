// tools/churn_walk.h — one traversal of a directory tree, as `find` with
// `-xdev` and an lstat of every entry would do it.
//
// Each directory is read once (opendir/readdir, on the calling thread), then
// every entry is lstat()ed (fstatat(AT_SYMLINK_NOFOLLOW) against the open
// directory), those calls split among `threads` threads; subdirectories on the
// same device are walked depth first.  Call from one thread at a time.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace xfsfuse::tools::churn {

/// What one traversal saw.
struct WalkResult {
  uint64_t entries = 0;      ///< directory entries, "." and ".." not counted; root not counted
  uint64_t directories = 0;  ///< directories read, root included
};

/// Walks the tree under root with `threads` (>= 1) lstat threads.  Returns 0,
/// EINTR once *stop is true (checked between chunks of entries), or the errno of
/// the first open/readdir/fstatat that failed, with *err naming the path.
int walk_tree(const std::string& root, unsigned threads, const std::atomic<bool>* stop, WalkResult* out,
              std::string* err);

}  // namespace xfsfuse::tools::churn
