#include "fs/fuse/options.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <tuple>

namespace xfsfuse::fuse {

const char* readdirplus_name(ReaddirplusMode m) {
  switch (m) {
    case ReaddirplusMode::kAdaptive: return "adaptive";
    case ReaddirplusMode::kAlways: return "always";
    case ReaddirplusMode::kAuto: return "auto";
  }
  return "?";
}

namespace {

// What fuse_opt_parse() fills in (a C struct: it writes through offsets).
struct RawOptions {
  char* cache_mb = nullptr;
  char* offset = nullptr;
  char* sizelimit = nullptr;
  char* vmap = nullptr;
  char* vmap_batch = nullptr;
  int norecovery = 0;
  int nolog = 0;
  int vmap_all = 0;
  int writeback_cache = 0;
  int io_uring = -1;     // -1: neither io_uring nor noio_uring given
  int init_xattrs = 1;
  int acl = 1;
  char* stats_file = nullptr;
  char* readdirplus = nullptr;
  char* ring_sched = nullptr;
  char* image = nullptr;
  char* mountpoint = nullptr;  // a copy: the argument itself stays for fuse_parse_cmdline()
  int info_only = 0;     // -h / --help / -V / --version: no paths needed
  int rw = 1;            // the last of ro / rw was rw (neither: rw, as mount(8))
  int fsname = 0;        // the user named the fsname
  int subtype = 0;       // ... or the subtype
  int blkdev = 0;        // ... or blkdev
};

enum Key { kKeyRo, kKeyRw, kKeyFsname, kKeySubtype, kKeyBlkdev };

#define XFSFUSE_OPT(templ, field, value) {templ, offsetof(RawOptions, field), value}
const fuse_opt kSpecs[] = {
    XFSFUSE_OPT("cache_mb=%s", cache_mb, 0),
    XFSFUSE_OPT("offset=%s", offset, 0),
    XFSFUSE_OPT("sizelimit=%s", sizelimit, 0),
    XFSFUSE_OPT("vmap=%s", vmap, 0),
    XFSFUSE_OPT("vmap_batch=%s", vmap_batch, 0),
    XFSFUSE_OPT("norecovery", norecovery, 1),
    XFSFUSE_OPT("nolog", nolog, 1),
    XFSFUSE_OPT("vmap_all", vmap_all, 1),
    XFSFUSE_OPT("writeback_cache", writeback_cache, 1),
    XFSFUSE_OPT("io_uring", io_uring, 1),
    XFSFUSE_OPT("noio_uring", io_uring, 0),
    XFSFUSE_OPT("init_xattrs", init_xattrs, 1),
    XFSFUSE_OPT("noinit_xattrs", init_xattrs, 0),
    XFSFUSE_OPT("acl", acl, 1),
    XFSFUSE_OPT("noacl", acl, 0),
    XFSFUSE_OPT("stats_file=%s", stats_file, 0),
    XFSFUSE_OPT("readdirplus=%s", readdirplus, 0),
    XFSFUSE_OPT("ring_sched=%s", ring_sched, 0),
    FUSE_OPT_KEY("ro", kKeyRo),
    FUSE_OPT_KEY("rw", kKeyRw),
    FUSE_OPT_KEY("fsname=", kKeyFsname),
    FUSE_OPT_KEY("subtype=", kKeySubtype),
    FUSE_OPT_KEY("blkdev", kKeyBlkdev),
    FUSE_OPT_END,
};
#undef XFSFUSE_OPT

// fuse_opt_parse() callback: returns 0 to drop the argument, 1 to keep it for
// libfuse, -1 for an error.
int opt_proc(void* data, const char* arg, int key, fuse_args*) {
  auto* raw = static_cast<RawOptions*>(data);
  switch (key) {
    case FUSE_OPT_KEY_NONOPT:
      if (raw->image == nullptr) {
        raw->image = strdup(arg);
        return raw->image != nullptr ? 0 : -1;
      }
      if (raw->mountpoint == nullptr && (raw->mountpoint = strdup(arg)) == nullptr) return -1;
      return 1;  // MOUNTPOINT (and any extra, which libfuse refuses)
    case FUSE_OPT_KEY_OPT:
      for (const char* info : {"-h", "--help", "-V", "--version"})
        if (std::strcmp(arg, info) == 0) raw->info_only = 1;
      return 1;
    case kKeyRo:
      raw->rw = 0;
      return 0;
    case kKeyRw:
      raw->rw = 1;
      return 0;
    case kKeyFsname:
      raw->fsname = 1;
      return 1;
    case kKeySubtype:
      raw->subtype = 1;
      return 1;
    case kKeyBlkdev:
      raw->blkdev = 1;
      return 1;
    default:
      return 1;
  }
}

// Parses a decimal number in [lo, hi] with nothing else around it.
bool parse_number(const char* s, unsigned long lo, unsigned long hi, unsigned long* out) {
  if (s == nullptr || *s < '0' || *s > '9') return false;
  errno = 0;
  char* end = nullptr;
  const unsigned long v = std::strtoul(s, &end, 10);
  if (errno != 0 || *end != '\0' || v < lo || v > hi) return false;
  *out = v;
  return true;
}

std::string absolute(const char* path) {
  if (path[0] == '/') return path;
  char cwd[PATH_MAX];
  if (getcwd(cwd, sizeof cwd) == nullptr) return path;
  return std::string(cwd) + "/" + path;
}

constexpr unsigned long kMaxCacheMb = 1ul << 20;

// The errno of stat(path), with *st filled.
int stat_errno(const char* path, struct stat* st) { return ::stat(path, st) == 0 ? 0 : errno; }

// Checks IMAGE, MOUNTPOINT and the stats file's directory before anything is
// opened, so that each mistake gets its own line: nothing given, no
// MOUNTPOINT, the two swapped, an IMAGE that is a directory or missing, a
// MOUNTPOINT that is not a directory, a stats file that could never be
// written.  Sets out->image to IMAGE's absolute path.
int check_paths(const RawOptions& raw, Options* out, std::string* err) {
  if (raw.image == nullptr) {
    *err = "no IMAGE and MOUNTPOINT given (usage: xfsfuse IMAGE MOUNTPOINT [-o OPTIONS]; see --help)";
    return EINVAL;
  }
  const std::string image = raw.image;
  if (raw.mountpoint == nullptr) {
    *err = image + ": no MOUNTPOINT given after it (usage: xfsfuse IMAGE MOUNTPOINT [-o OPTIONS])";
    return EINVAL;
  }
  const std::string mnt = raw.mountpoint;
  struct stat ist {}, mst {};
  const int ie = stat_errno(raw.image, &ist), me = stat_errno(raw.mountpoint, &mst);
  if (ie == 0 && S_ISDIR(ist.st_mode)) {
    const bool swapped = me == 0 && (S_ISREG(mst.st_mode) || S_ISBLK(mst.st_mode));
    *err = image + ": is a directory, not an image file or block device" +
           (swapped ? " (IMAGE and MOUNTPOINT swapped? the order is xfsfuse IMAGE MOUNTPOINT)" : "");
    return EISDIR;
  }
  if (ie != 0) {
    *err = image + ": " + std::strerror(ie);
    return ie;
  }
  if (!S_ISREG(ist.st_mode) && !S_ISBLK(ist.st_mode)) {
    *err = image + ": not an image file or block device";
    return EINVAL;
  }
  // libfuse also takes "/dev/fd/N", a /dev/fuse descriptor its caller mounted
  // already (fuse_session_mount): no directory to check then.
  const bool premounted = mnt.starts_with("/dev/fd/");
  if (!premounted && (me != 0 || !S_ISDIR(mst.st_mode))) {
    *err = "mount point " + mnt + ": " + (me != 0 ? std::strerror(me) : "not a directory");
    return me != 0 ? me : ENOTDIR;
  }
  if (!out->stats_file.empty()) {
    const std::string dir = out->stats_file.substr(0, out->stats_file.rfind('/') + 1);
    if (::access(dir.c_str(), W_OK | X_OK) != 0) {
      const int e = errno;
      *err = "stats_file=" + out->stats_file + ": its directory " + dir + ": " + std::strerror(e);
      return e;
    }
  }
  char* real = realpath(raw.image, nullptr);
  if (real == nullptr) {
    const int e = errno;
    *err = image + ": " + std::strerror(e);
    return e;
  }
  out->image = real;
  out->image_is_blockdev = S_ISBLK(ist.st_mode);
  std::free(real);
  return 0;
}

// Checks the values in raw and fills *out; returns 0 or an errno with *err.
int convert(const RawOptions& raw, Options* out, std::string* err) {
  out->mount.writable = raw.rw != 0;
  if (raw.rw && raw.norecovery) {
    *err = "norecovery needs a read-only mount (-o ro,norecovery)";
    return EINVAL;
  }
  unsigned long v = 0;
  for (auto [name, text, field] : {std::tuple{"offset", raw.offset, &out->mount.offset},
                                   std::tuple{"sizelimit", raw.sizelimit, &out->mount.sizelimit}}) {
    if (text == nullptr) continue;
    unsigned long bytes = 0;
    if (!parse_number(text, name[0] == 'o' ? 0 : 1, ULONG_MAX, &bytes)) {
      *err = std::string(name) + "=" + text + ": want a number of bytes";
      return EINVAL;
    }
    *field = bytes;
  }
  if (raw.cache_mb != nullptr) {
    if (!parse_number(raw.cache_mb, 1, kMaxCacheMb, &v)) {
      *err = "cache_mb=" + std::string(raw.cache_mb) + ": want a number of MiB, 1.." + std::to_string(kMaxCacheMb);
      return EINVAL;
    }
    out->mount.cache_bytes = size_t{v} << 20;
  }
  if (raw.vmap != nullptr && vmap::parse_policy(raw.vmap, &out->mount.vmap_policy) != 0) {
    *err = "vmap=" + std::string(raw.vmap) + ": want eager, lazy or lazy-noref";
    return EINVAL;
  }
  if (raw.vmap_batch != nullptr) {
    if (!parse_number(raw.vmap_batch, 1, kMaxVmapBatch, &v)) {
      *err = "vmap_batch=" + std::string(raw.vmap_batch) + ": want a number, 1.." + std::to_string(kMaxVmapBatch);
      return EINVAL;
    }
    out->mount.vmap_batch = static_cast<uint32_t>(v);
  }
  out->mount.norecovery = raw.norecovery != 0;
  out->mount.write_log = raw.nolog == 0;
  out->writeback_cache = raw.writeback_cache != 0 && raw.rw;
  out->io_uring = raw.io_uring != 0;
  out->io_uring_asked = raw.io_uring == 1;
  out->mount.vmap_all = raw.vmap_all != 0;
  out->mount.init_xattrs = raw.init_xattrs != 0;
  out->acl = raw.acl != 0;
  if (raw.readdirplus != nullptr) {
    const std::string_view r = raw.readdirplus;
    if (r == "adaptive") {
      out->readdirplus = ReaddirplusMode::kAdaptive;
    } else if (r == "always") {
      out->readdirplus = ReaddirplusMode::kAlways;
    } else if (r == "auto") {
      out->readdirplus = ReaddirplusMode::kAuto;
    } else {
      *err = "readdirplus=" + std::string(r) + ": want adaptive, always or auto";
      return EINVAL;
    }
  }
  if (raw.ring_sched != nullptr) {
    const std::string_view r = raw.ring_sched;
    if (r != "idle" && r != "normal") {
      *err = "ring_sched=" + std::string(r) + ": want idle or normal";
      return EINVAL;
    }
    out->ring_sched_idle = r == "idle";
  }
  if (raw.stats_file != nullptr) out->stats_file = absolute(raw.stats_file);
  return raw.info_only ? 0 : check_paths(raw, out, err);
}

// Appends "-o ro|rw,subtype=xfsfuse,fsname=IMAGE[,blkdev]" (what the user did not set).
int add_fuse_options(fuse_args* args, const RawOptions& raw, const Options& o) {
  char* opts = nullptr;
  int rc = fuse_opt_add_opt(&opts, o.mount.writable ? "rw" : "ro");
  if (rc == 0 && !raw.subtype) rc = fuse_opt_add_opt(&opts, "subtype=xfsfuse");
  if (rc == 0 && !raw.fsname && !o.image.empty()) rc = fuse_opt_add_opt_escaped(&opts, ("fsname=" + o.image).c_str());
  // A block device mounted by root is a "fuseblk" mount, as the kernel shows
  // block-device filesystems (libfuse allows blkdev only for root).
  if (rc == 0 && !raw.blkdev && o.image_is_blockdev && ::geteuid() == 0) rc = fuse_opt_add_opt(&opts, "blkdev");
  if (rc == 0) rc = fuse_opt_add_arg(args, "-o");
  if (rc == 0) rc = fuse_opt_add_arg(args, opts);
  std::free(opts);
  return rc == 0 ? 0 : ENOMEM;
}

}  // namespace

int parse_options(fuse_args* args, Options* out, std::string* err) {
  RawOptions raw;
  int rc = 0;
  if (fuse_opt_parse(args, &raw, kSpecs, opt_proc) != 0) {
    *err = "bad arguments (see --help)";  // fuse_opt_parse printed which
    rc = EINVAL;
  }
  if (rc == 0) rc = convert(raw, out, err);
  if (rc == 0) {
    rc = add_fuse_options(args, raw, *out);
    if (rc != 0) *err = std::strerror(rc);
  }
  for (char* p : {raw.cache_mb, raw.offset, raw.sizelimit, raw.vmap, raw.vmap_batch, raw.stats_file, raw.readdirplus, raw.ring_sched, raw.image, raw.mountpoint})
    std::free(p);
  return rc;
}

void print_usage(const char* prog) {
  const fs::MountOptions d;
  std::printf(
      "usage: %s IMAGE MOUNTPOINT [options]\n"
      "Mounts the XFS v5 filesystem in IMAGE (an image file or a block device) at MOUNTPOINT.\n"
      "\n"
      "xfsfuse options:\n"
      "    -o rw                  read-write (the default, as for mount(8)); refused, with the reason,\n"
      "                           for what the write path cannot keep correct (see README)\n"
      "    -o ro                  read-only: nothing is ever written to IMAGE\n"
      "    -o cache_mb=N          metadata buffer cache budget in MiB (default %zu)\n"
      "    -o offset=BYTES        the filesystem starts BYTES into IMAGE (a partition of a disk image)\n"
      "    -o sizelimit=BYTES     and spans at most BYTES from there (default: to IMAGE's end)\n"
      "    -o vmap=POLICY         unmap policy of directory-block mappings: eager, lazy, lazy-noref\n"
      "                           (default %s)\n"
      "    -o vmap_batch=N        lazy policies: purge once N unmapped areas are parked (default %u)\n"
      "    -o vmap_all            map every multi-page buffer through a vmap slot, as the kernel's\n"
      "                           xfs_buf did (default: buffers whose pages are contiguous in the\n"
      "                           pool use its linear mapping, no syscall); for xfsfuse-churn\n"
      "    -o writeback_cache     rw: let the kernel keep written pages and send them later (faster\n"
      "                           small writes; but ENOSPC then shows at fsync or close, not at\n"
      "                           write: see README)\n"
      "    -o io_uring            serve requests through FUSE over io_uring, one ring per CPU, each\n"
      "                           request answered on its caller's CPU (Linux 6.14+, the fuse\n"
      "                           module's enable_uring=Y; else /dev/fuse, and stderr says why).\n"
      "                           The default whenever enable_uring is Y at mount time\n"
      "    -o noio_uring          serve every request through /dev/fuse\n"
      "    -o ring_sched=POLICY   io_uring: idle (default) runs the ring threads under SCHED_IDLE\n"
      "                           while requests flow and none of them starves, so that a caller\n"
      "                           stays on its CPU (needs CAP_SYS_NICE); normal: SCHED_OTHER\n"
      "    -o norecovery          with ro: do not replay a dirty log; the view may be stale\n"
      "    -o nolog               rw, for debugging: do not write the XFS log; NEEDSREPAIR is set\n"
      "                           while mounted instead, so a crash needs xfs_repair\n"
      "    -o noinit_xattrs       rw: new inodes without the empty attr fork a kernel built with\n"
      "                           CONFIG_SECURITY gives them (di_forkoff 0: bigger data fork)\n"
      "    -o noacl               the kernel does not check permissions with POSIX ACLs, and a\n"
      "                           directory's default ACL does not reach what is made in it (by\n"
      "                           default both work as on XFS, at one GETATTR more per create or\n"
      "                           unlink: see README)\n"
      "    -o stats_file=PATH     write the buffer-cache, vmap and FUSE counters to PATH at unmount\n"
      "    -o readdirplus=MODE    adaptive (default): directory reads carry no attributes until\n"
      "                           the kernel looks up names in that directory (`ls -l`), then\n"
      "                           all of them; always: every entry with attributes; auto: the\n"
      "                           kernel picks READDIR or READDIRPLUS (docs/performance.md)\n"
      "\n",
      prog, d.cache_bytes >> 20, vmap::policy_name(d.vmap_policy), d.vmap_batch);
}

}  // namespace xfsfuse::fuse
