// fs/fuse/ops.h — the FUSE low-level operations, one group per file
// (internal to fs/fuse; lowlevel_ops() in fuse_fs.cc puts them in the table).
// Each follows the contract of its fuse_lowlevel_ops member; errors go back
// as positive errno values through FuseFs::reply_error.
#pragma once

#include <fuse_lowlevel.h>

#include "fs/inode.h"
#include "fs/ops/cred.h"

namespace xfsfuse::fuse::ops {

// access.cc: the permission check of access(2), open and opendir for the
// caller of req, as the kernel's generic_permission() makes it without ACLs:
// root may read anything and execute what has an x bit (or is a directory);
// everyone else gets the owner, group (primary or supplementary) or other
// bits.  mask: R_OK | W_OK | X_OK (F_OK: 0).  Returns 0, EROFS for W_OK on
// a read-only mount, or EACCES.
int check_access(fuse_req_t req, const fs::Inode& c, int mask);
/// The caller of req: uid, gid, and its supplementary groups read only when a
/// check needs them (Cred::load_groups): use it before req is answered.
fs::Cred cred_of(fuse_req_t req);

// ops_inode.cc: names, attributes, symlinks, permissions, statfs.
void lookup(fuse_req_t req, fuse_ino_t parent, const char* name);
void forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup);
void forget_multi(fuse_req_t req, size_t count, fuse_forget_data* forgets);
void getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);
void readlink(fuse_req_t req, fuse_ino_t ino);
void access(fuse_req_t req, fuse_ino_t ino, int mask);
void statfs(fuse_req_t req, fuse_ino_t ino);

// ops_dir.cc: directory handles and listings (offsets are fs::dir_iterate cookies).
void opendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);
void readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi);
void readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi);
void releasedir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);

// ops_file.cc: regular file handles and reads.
void open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);
void read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi);
void release(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);
/// SEEK_DATA / SEEK_HOLE (the kernel answers the other whences itself).
void lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence, fuse_file_info* fi);

// ops_write.cc: a read-write mount's changes (the ops table of a read-only
// mount points these at EROFS instead).
void setattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, fuse_file_info* fi);
void write(fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size, off_t off, fuse_file_info* fi);
void fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off, off_t len, fuse_file_info* fi);
void create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, fuse_file_info* fi);
void mknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t rdev);
void mkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode);
void unlink(fuse_req_t req, fuse_ino_t parent, const char* name);
void rmdir(fuse_req_t req, fuse_ino_t parent, const char* name);
/// fsync and fsyncdir: the inode is made durable, its data and every
/// transaction that logged it (Mount::fsync); fdatasync (datasync != 0)
/// leaves out transactions that changed only its timestamps.
void fsync(fuse_req_t req, fuse_ino_t ino, int datasync, fuse_file_info* fi);

// ops_rename.cc: rename(2) and renameat2(2) of a read-write mount (flags:
// RENAME_NOREPLACE, RENAME_EXCHANGE, RENAME_WHITEOUT).
void rename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t newparent, const char* newname,
            unsigned int flags);

// ops_link.cc: a read-write mount's hard links and symlinks (no O_TMPFILE:
// libfuse < 3.16 has no tmpfile request; see the file).
void link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char* newname);
void symlink(fuse_req_t req, const char* target, fuse_ino_t parent, const char* name);

// ops_xattr.cc: extended attributes.
void getxattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size);
void listxattr(fuse_req_t req, fuse_ino_t ino, size_t size);
void setxattr(fuse_req_t req, fuse_ino_t ino, const char* name, const char* value, size_t size, int flags);
void removexattr(fuse_req_t req, fuse_ino_t ino, const char* name);

// ops_ctl.cc: the control channel (fs/fuse/ctl_abi.h): stats, drop caches,
// purge, set vmap_batch, as ioctls on any directory or file of the mount.
void ioctl(fuse_req_t req, fuse_ino_t ino, unsigned int cmd, void* arg, fuse_file_info* fi, unsigned flags,
           const void* in_buf, size_t in_bufsz, size_t out_bufsz);

// ops_erofs.cc: points every operation that would write at an EROFS reply.
void set_erofs_ops(fuse_lowlevel_ops* ops);

}  // namespace xfsfuse::fuse::ops
