#include "fs/fuse/fuse_fs.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <shared_mutex>

#include "fs/fuse/ops.h"
#include "fs/fuse/stat.h"
#include "fs/fuse/stats.h"

namespace xfsfuse::fuse {

void FuseFs::reply_error(fuse_req_t req, int err) {
  // "No such attribute" answers every getxattr of security.selinux by ls -l:
  // counted apart, so that errors means something went wrong.
  if (err == ENODATA)
    counters_.nodata++;
  else
    counters_.errors++;
  if (err == EUCLEAN) counters_.euclean++;
  fuse_reply_err(req, err);
}

void FuseFs::fill_entry(const fs::CachedInode& ip, fuse_entry_param* e) {
  *e = {};
  e->ino = nodeid_of(ip.core.ino);
  e->generation = ip.core.gen;
  fill_stat(m_->sb(), ip, &e->attr);
  e->attr_timeout = kCacheTimeout;
  e->entry_timeout = kCacheTimeout;
}

void FuseFs::drop_cached_listing(uint64_t ino) {
  if (se_ == nullptr) return;
  counters_.listing_drops++;
  // offset 0, length 0: every page of the directory's cache, and its
  // attributes.  ENOENT (the kernel let go of the inode meanwhile) is fine.
  fuse_lowlevel_notify_inval_inode(se_, nodeid_of(ino), 0, 0);
}

void FuseFs::drop_cached_attrs(uint64_t ino) {
  if (se_ == nullptr) return;
  // offset -1: the attributes only.  ENOENT (no such inode in the kernel) is fine.
  fuse_lowlevel_notify_inval_inode(se_, nodeid_of(ino), -1, 0);
}

void FuseFs::node_dropped(const fs::InodeRef& ip) {
  {
    std::shared_lock<std::shared_mutex> l(ip->lock);
    if (ip->core.nlink != 0 || ip->is_free.load(std::memory_order_acquire)) return;
  }
  m_->inodegc().queue(ip);
}

namespace {

// Capabilities: READDIRPLUS always (not AUTO: `ls -l` of a huge directory
// must not fall back to one LOOKUP per entry after the first chunk; with
// readdirplus=adaptive the driver decides per reply whether entries carry
// attributes), AUTO only with readdirplus=auto;
// parallel lookups and readdirs in one directory, cached symlink targets.
void init(void* userdata, fuse_conn_info* conn) {
  const unsigned wanted = FUSE_CAP_READDIRPLUS | FUSE_CAP_PARALLEL_DIROPS | FUSE_CAP_CACHE_SYMLINKS;
  conn->want |= conn->capable & wanted;
  if (static_cast<FuseFs*>(userdata)->readdirplus() == ReaddirplusMode::kAuto)
    conn->want |= conn->capable & FUSE_CAP_READDIRPLUS_AUTO;
  else
    conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO;
  conn->time_gran = 1;
  auto* fs = static_cast<FuseFs*>(userdata);
  // O_TRUNC comes as a SETATTR of the size.  No FUSE_HANDLE_KILLPRIV (v1
  // or v2): the kernel takes set-id bits and file capabilities away itself
  // on a write, truncate or fallocate (file_remove_privs(): a SETATTR of the
  // mode and a REMOVEXATTR of security.capability, as the writer), because
  // only it knows the writer's CAP_FSETID; the driver changes no privilege
  // on its own (fs/ops/file_write.h, fs/ops/cred.h).
  conn->want &= ~(FUSE_CAP_ATOMIC_O_TRUNC | FUSE_CAP_HANDLE_KILLPRIV);
  // Every request through read(2), never splice (libfuse's -o splice_read):
  // the read hooks must see each one (fs/fuse/tmpfile.h, uring.cc).
  conn->want &= ~FUSE_CAP_SPLICE_READ;
  // POSIX ACLs as on a local XFS: the kernel checks permissions with them
  // (FUSE_POSIX_ACL turns on default_permissions), keeps the stored ACL in
  // step with chmod, and leaves the umask to the driver (with DONT_MASK),
  // which must not take it off when the directory has a default ACL
  // (fs/ops/acl.h).  Without DONT_MASK the mode would come already masked.
  // The price (-o noacl declines it): the kernel refreshes a directory's
  // attributes for its permission check after each change in it, one
  // GETATTR per create or unlink (docs/performance.md).
  constexpr uint64_t kAcl = FUSE_CAP_POSIX_ACL | FUSE_CAP_DONT_MASK;
  if (fs->options().acl && (conn->capable & kAcl) == kAcl) {
    conn->want |= FUSE_CAP_POSIX_ACL | FUSE_CAP_DONT_MASK;
    fs->set_kernel_checks(true);
  }
  if (fs->mount().writable()) {
    if (fs->options().writeback_cache) conn->want |= conn->capable & FUSE_CAP_WRITEBACK_CACHE;
    conn->max_write = kMaxWrite;
  }
}

void destroy(void* userdata) {
  auto* fs = static_cast<FuseFs*>(userdata);
  if (fs->stats_file().empty()) return;
  if (int e = write_stats(fs->stats_file(), stats_json(*fs)))
    std::fprintf(stderr, "xfsfuse: writing %s: %s\n", fs->stats_file().c_str(), std::strerror(e));
}

fuse_lowlevel_ops make_ops(bool writable) {
  fuse_lowlevel_ops o{};
  o.init = init;
  o.destroy = destroy;
  o.lookup = ops::lookup;
  o.forget = ops::forget;
  o.forget_multi = ops::forget_multi;
  o.getattr = ops::getattr;
  o.readlink = ops::readlink;
  o.access = ops::access;
  o.statfs = ops::statfs;
  o.opendir = ops::opendir;
  o.readdir = ops::readdir;
  o.readdirplus = ops::readdirplus;
  o.releasedir = ops::releasedir;
  o.open = ops::open;
  o.read = ops::read;
  o.release = ops::release;
  o.lseek = ops::lseek;
  o.getxattr = ops::getxattr;
  o.listxattr = ops::listxattr;
  o.ioctl = ops::ioctl;
  ops::set_erofs_ops(&o);
  if (writable) {
    o.setattr = ops::setattr;
    o.write = ops::write;
    o.fallocate = ops::fallocate;
    o.create = ops::create;
    o.mknod = ops::mknod;
    o.mkdir = ops::mkdir;
    o.unlink = ops::unlink;
    o.rmdir = ops::rmdir;
    o.rename = ops::rename;
    o.link = ops::link;
    o.symlink = ops::symlink;
    o.fsync = ops::fsync;
    o.fsyncdir = ops::fsync;
    // No FLUSH: writes are synchronous here (or, with writeback_cache, the
    // kernel writes its dirty pages back before it would send one), so a
    // close has nothing to wait for.  libfuse answers ENOSYS to the first
    // FLUSH and the kernel sends no more: a round trip saved on every
    // close(2) (cp -a of /usr/include: 9,065 of them).
    o.setxattr = ops::setxattr;
    o.removexattr = ops::removexattr;
    // No server-side copy: libfuse answers ENOSYS, so the kernel stops
    // asking and cp(1) falls back to read and write (EROFS made it fail).
    o.copy_file_range = nullptr;
  }
  return o;
}

}  // namespace

const fuse_lowlevel_ops& lowlevel_ops(bool writable) {
  static const fuse_lowlevel_ops ro = make_ops(false), rw = make_ops(true);
  return writable ? rw : ro;
}

}  // namespace xfsfuse::fuse
