// fs/fuse/tmpfile.h — O_TMPFILE through a libfuse that knows no FUSE_TMPFILE.
//
// The kernel (Linux 6.1+, FUSE protocol 7.37) serves open(O_TMPFILE) on a
// FUSE mount with a FUSE_TMPFILE request laid out exactly as FUSE_CREATE
// (fuse_create_in, then a name; the reply an entry and an open handle), and
// takes an ENOSYS answer as "never again: EOPNOTSUPP".  libfuse 3.14, the
// project's, has no such request (its low-level .tmpfile member came in
// 3.16) and answers ENOSYS.  So the transports hand such a request to libfuse
// as the FUSE_CREATE it is laid out as: its name is always "/" (the name
// vfs_tmpfile() gives the unnamed dentry), which no real create can carry, and
// ops::create (ops_write.cc) makes an O_TMPFILE inode (fs::make_tmpfile)
// when it sees that name.
// Thread safety: the functions touch only the buffer they are given.
#pragma once

#include <fuse_lowlevel.h>

#include <cstddef>

namespace xfsfuse::fuse {

/// The name of a create that stands for an O_TMPFILE open (see above).
inline constexpr const char kTmpfileName[] = "/";

/// If the request in buf (len bytes, fuse_in_header first, then its
/// arguments, as read from /dev/fuse or assembled from a ring entry) is a
/// FUSE_TMPFILE whose name is kTmpfileName, makes its opcode FUSE_CREATE.
/// Anything else is left as it is.
void tmpfile_as_create(void* buf, size_t len);

/// Serves /dev/fuse of se (mounted) through read/writev hooks that apply
/// tmpfile_as_create to every request: for a session the rings do not
/// serve (their own hooks do the same, fs/fuse/uring.cc).  Returns 0 or a
/// positive errno (then O_TMPFILE answers EOPNOTSUPP, as before).
int install_dev_hooks(fuse_session* se);

}  // namespace xfsfuse::fuse
