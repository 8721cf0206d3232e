#include "fs/fuse/stat.h"

#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "fs/format/endian.h"

namespace xfsfuse::fuse {

namespace {

timespec to_timespec(const fs::Timestamp& t) {
  timespec ts{};
  ts.tv_sec = t.sec;
  ts.tv_nsec = t.nsec;
  return ts;
}

// The raw device number in a device inode's data fork, host order (0 if the
// fork is not in device format or too short to hold one).
uint32_t raw_dev(const fs::CachedInode& ip) {
  if (ip.core.format != fs::ForkFormat::kDev) return 0;
  const auto fork = ip.fork_bytes(false);
  if (fork.size() < sizeof(uint32_t)) return 0;
  xd_be32 v;
  std::memcpy(&v, fork.data(), sizeof v);
  return fs::be32(v);
}

}  // namespace

dev_t decode_rdev(uint32_t dev) { return makedev(dev >> 18, dev & 0x3ffff); }

void fill_stat(const fs::Superblock& sb, const fs::CachedInode& ip, struct stat* st) {
  static const long page_size = sysconf(_SC_PAGESIZE);
  const fs::Inode& c = ip.core;
  *st = {};
  st->st_ino = c.ino;
  st->st_mode = c.mode;
  st->st_nlink = c.nlink;
  st->st_uid = c.uid;
  st->st_gid = c.gid;
  st->st_size = static_cast<off_t>(c.size);
  st->st_blocks = static_cast<blkcnt_t>(fs::fsblocks_to_sectors(sb, c.nblocks));
  st->st_blksize = std::max<blksize_t>(page_size, sb.blocksize);
  st->st_atim = to_timespec(c.atime);
  st->st_mtim = to_timespec(c.mtime);
  st->st_ctim = to_timespec(c.ctime);
  if (S_ISCHR(c.mode) || S_ISBLK(c.mode)) st->st_rdev = decode_rdev(raw_dev(ip));
}

}  // namespace xfsfuse::fuse
