// tools/fsck/mounted.h — whether an image is mounted read-write right now,
// which makes any check of it meaningless (xfs_repair refuses such a
// device the same way: "contains a mounted and writable filesystem").
#pragma once

#include <string>

namespace xfsfuse::fsck {

/// True when the file or block device at image backs a read-write mount in
/// this mount namespace (/proc/self/mounts): a block device mounted as
/// itself; an image file behind a loop device (its backing_file in sysfs);
/// or an image file as a FUSE mount's source (xfsfuse, fuse2fs name the
/// image there).  *where = that mount point.  False when image cannot be
/// stat'ed or nothing matches.
bool mounted_writable(const std::string& image, std::string* where);

}  // namespace xfsfuse::fsck
