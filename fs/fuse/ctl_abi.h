/* fs/fuse/ctl_abi.h — the control channel into a running xfsfuse mount.
 *
 * The channel is a set of ioctls on any directory of the mount: open the
 * mount point (O_RDONLY | O_DIRECTORY) and ioctl() it.  FUSE forwards
 * "restricted" ioctls to the daemon, so every command has a fixed size
 * encoded in its number with _IOR / _IOWR; ioctls the daemon does not know
 * fail with ENOTTY, which is also what any other filesystem answers.
 * Commands that change state (drop caches, purge, set) are allowed to root
 * and to the user who mounted; others get EPERM.  XFSFUSE_IOC_STATS is open
 * to anyone who can open the directory.
 *
 * Plain C so tools, tests and other languages can use it; the layout is
 * fixed (no pointers, explicit padding).  xfsfuse-ctl (tools/) is the
 * command-line front end; the JSON keys are documented in the README.
 */
#ifndef XFSFUSE_FS_FUSE_CTL_ABI_H
#define XFSFUSE_FS_FUSE_CTL_ABI_H

#include <linux/ioctl.h>
#include <stdint.h>

/* Not 'X': XFS's own ioctls use it, and tools like xfs_io send those. */
#define XFSFUSE_CTL_TYPE 'x'

/* XFSFUSE_IOC_STATS: every counter, the mount options and the uptime as one
 * NUL-terminated JSON object (see README "Control channel").  Fails with
 * E2BIG if the text would not fit (it is about 3 KiB). */
#define XFSFUSE_CTL_TEXT_BYTES 16000
struct xfsfuse_ctl_text {
  char text[XFSFUSE_CTL_TEXT_BYTES];
};

/* XFSFUSE_IOC_DROP_CACHES: evicts every unreferenced clean buffer and every
 * unreferenced in-core inode; reports what went. */
struct xfsfuse_ctl_drop {
  uint64_t buffers;     /* buffers evicted from the buffer cache */
  uint64_t inodes;      /* in-core inodes dropped */
  uint64_t pages_free;  /* pool pages free afterwards */
};

/* XFSFUSE_IOC_PURGE: unmaps every parked vmap alias now (unmap_aliases). */
struct xfsfuse_ctl_purge {
  uint64_t pages_freed;  /* pages that went back to the pool's free list */
};

/* XFSFUSE_IOC_SET: changes one tunable of the running mount.  EINVAL for an
 * unknown key or a value out of range (vmap_batch: 1..65536). */
enum xfsfuse_ctl_key {
  XFSFUSE_CTL_VMAP_BATCH = 1, /* lazy purge batch: areas parked before a purge */
};
struct xfsfuse_ctl_set {
  uint32_t key;   /* enum xfsfuse_ctl_key */
  uint32_t pad;   /* zero */
  uint64_t value; /* in: the new value; out: the value before */
};

#define XFSFUSE_IOC_STATS _IOR(XFSFUSE_CTL_TYPE, 0xf0, struct xfsfuse_ctl_text)
#define XFSFUSE_IOC_DROP_CACHES _IOR(XFSFUSE_CTL_TYPE, 0xf1, struct xfsfuse_ctl_drop)
#define XFSFUSE_IOC_PURGE _IOR(XFSFUSE_CTL_TYPE, 0xf2, struct xfsfuse_ctl_purge)
#define XFSFUSE_IOC_SET _IOWR(XFSFUSE_CTL_TYPE, 0xf3, struct xfsfuse_ctl_set)

#endif /* XFSFUSE_FS_FUSE_CTL_ABI_H */
