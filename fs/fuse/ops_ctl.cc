// fs/fuse/ops_ctl.cc — the control channel: ioctls of fs/fuse/ctl_abi.h.
//
// The kernel forwards only "restricted" ioctls to a FUSE daemon: the sizes
// come from the command number, so in_bufsz / out_bufsz are exactly the
// struct sizes of ctl_abi.h (checked anyway).  Unknown commands get ENOTTY,
// as on any filesystem.  State-changing commands are for root and for the
// user running the daemon (who mounted); anyone else gets EPERM.
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "fs/fuse/ctl_abi.h"
#include "fs/fuse/fuse_fs.h"
#include "fs/fuse/ops.h"
#include "fs/fuse/stats.h"

namespace xfsfuse::fuse::ops {

namespace {

bool may_change(fuse_req_t req) {
  const fuse_ctx* ctx = fuse_req_ctx(req);
  return ctx->uid == 0 || ctx->uid == getuid();
}

void ctl_stats(fuse_req_t req, FuseFs& fs) {
  xfsfuse_ctl_text out{};
  const std::string text = stats_json(fs).dump();
  if (text.size() >= sizeof out.text) return fs.reply_error(req, E2BIG);
  std::memcpy(out.text, text.data(), text.size());
  fuse_reply_ioctl(req, 0, &out, sizeof out);
}

void ctl_drop_caches(fuse_req_t req, FuseFs& fs) {
  // Dirty buffers first, as `sync; echo 3 > /proc/sys/vm/drop_caches` for
  // the kernel: with the log, a changed buffer stays dirty until a push or
  // the flusher writes it home, so without this what is dropped would
  // depend on their timing.  EBUSY (one pinned meanwhile) drops the rest.
  if (fs.mount().write_back() == EIO) return fs.reply_error(req, EIO);
  xfsfuse_ctl_drop out{};
  uint64_t inodes = 0, buffers = 0;
  fs.mount().drop_caches(&inodes, &buffers);
  out.inodes = inodes;
  out.buffers = buffers;
  out.pages_free = fs.mount().cache().stats().pool.pages_free;
  fuse_reply_ioctl(req, 0, &out, sizeof out);
}

void ctl_purge(fuse_req_t req, FuseFs& fs) {
  xfsfuse_ctl_purge out{};
  out.pages_freed = fs.mount().vm().purge(vmap::PurgeReason::kExplicit);
  fuse_reply_ioctl(req, 0, &out, sizeof out);
}

void ctl_set(fuse_req_t req, FuseFs& fs, const void* in_buf) {
  xfsfuse_ctl_set in;
  std::memcpy(&in, in_buf, sizeof in);
  if (in.key != XFSFUSE_CTL_VMAP_BATCH || in.pad != 0 || in.value == 0 || in.value > kMaxVmapBatch)
    return fs.reply_error(req, EINVAL);
  uint32_t old = 0;
  if (int e = fs.mount().vm().set_batch(static_cast<uint32_t>(in.value), &old)) return fs.reply_error(req, e);
  xfsfuse_ctl_set out = in;
  out.value = old;
  fuse_reply_ioctl(req, 0, &out, sizeof out);
}

}  // namespace

void ioctl(fuse_req_t req, fuse_ino_t, unsigned int cmd, void*, fuse_file_info*, unsigned flags, const void* in_buf,
           size_t in_bufsz, size_t out_bufsz) {
  FuseFs& fs = fs_of(req);
  fs.counters().ioctl++;
  if (flags & FUSE_IOCTL_UNRESTRICTED) return fs.reply_error(req, ENOTTY);
  switch (cmd) {
    case XFSFUSE_IOC_STATS:
      if (out_bufsz < sizeof(xfsfuse_ctl_text)) return fs.reply_error(req, EINVAL);
      return ctl_stats(req, fs);
    case XFSFUSE_IOC_DROP_CACHES:
      if (out_bufsz < sizeof(xfsfuse_ctl_drop)) return fs.reply_error(req, EINVAL);
      if (!may_change(req)) return fs.reply_error(req, EPERM);
      return ctl_drop_caches(req, fs);
    case XFSFUSE_IOC_PURGE:
      if (out_bufsz < sizeof(xfsfuse_ctl_purge)) return fs.reply_error(req, EINVAL);
      if (!may_change(req)) return fs.reply_error(req, EPERM);
      return ctl_purge(req, fs);
    case XFSFUSE_IOC_SET:
      if (in_bufsz < sizeof(xfsfuse_ctl_set) || out_bufsz < sizeof(xfsfuse_ctl_set)) return fs.reply_error(req, EINVAL);
      if (!may_change(req)) return fs.reply_error(req, EPERM);
      return ctl_set(req, fs, in_buf);
    default:
      return fs.reply_error(req, ENOTTY);
  }
}

}  // namespace xfsfuse::fuse::ops
