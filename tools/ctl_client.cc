#include "tools/ctl_client.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "fs/fuse/ctl_abi.h"

namespace xfsfuse::tools {

namespace {

#ifndef FUSE_SUPER_MAGIC
constexpr long FUSE_SUPER_MAGIC = 0x65735546;
#endif

// Runs one ioctl; on failure fills *err with "PATH: WHAT: strerror" and returns the errno.
int call(int fd, const std::string& path, unsigned long cmd, void* arg, const char* what, std::string* err) {
  if (::ioctl(fd, cmd, arg) == 0) return 0;
  const int e = errno;
  if (e == EPERM)
    *err = path + ": " + what + ": only root and the user who mounted may do this";
  else
    *err = path + ": " + what + ": " + std::strerror(e);
  return e;
}

}  // namespace

CtlFd& CtlFd::operator=(CtlFd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.fd_;
    path_ = std::move(o.path_);
    o.fd_ = -1;
  }
  return *this;
}

CtlFd::~CtlFd() {
  if (fd_ >= 0) ::close(fd_);
}

int CtlFd::open(const std::string& mountpoint, std::string* err) {
  // Any directory or regular file of the mount carries the ioctls; other
  // types would open something else (a fifo blocks, a device node is a device).
  struct stat st;
  if (::stat(mountpoint.c_str(), &st) == 0 && !S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) {
    *err = mountpoint + ": not a directory or regular file of an xfsfuse mount";
    return ENOTTY;
  }
  const int fd = ::open(mountpoint.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int e = errno;
    *err = mountpoint + ": " + std::strerror(e);
    return e;
  }
  CtlFd c;
  c.fd_ = fd;
  c.path_ = mountpoint;
  struct statfs sfs;
  if (fstatfs(fd, &sfs) != 0 || sfs.f_type != FUSE_SUPER_MAGIC) {
    *err = mountpoint + ": not an xfsfuse mount (not a FUSE filesystem)";
    return ENOTTY;
  }
  auto text = std::make_unique<xfsfuse_ctl_text>();
  if (::ioctl(fd, XFSFUSE_IOC_STATS, text.get()) != 0) {
    const int e = errno;
    *err = mountpoint + (e == ENOTTY || e == ENOSYS ? ": not an xfsfuse mount (the FUSE daemon does not answer its ioctls)"
                                                    : ": control ioctl: " + std::string(std::strerror(e)));
    return e == ENOSYS ? ENOTTY : e;
  }
  *this = std::move(c);
  return 0;
}

int CtlFd::stats(nlohmann::json* out, std::string* err) const {
  auto text = std::make_unique<xfsfuse_ctl_text>();
  if (int e = call(fd_, path_, XFSFUSE_IOC_STATS, text.get(), "stats", err)) return e;
  text->text[sizeof text->text - 1] = '\0';
  *out = nlohmann::json::parse(text->text, nullptr, /*allow_exceptions=*/false);
  if (out->is_discarded() || !out->is_object()) {
    *err = path_ + ": stats: the daemon's answer is not a JSON object";
    return EBADMSG;
  }
  return 0;
}

int CtlFd::drop_caches(uint64_t* buffers, uint64_t* inodes, uint64_t* pages_free, std::string* err) const {
  xfsfuse_ctl_drop d{};
  if (int e = call(fd_, path_, XFSFUSE_IOC_DROP_CACHES, &d, "drop-caches", err)) return e;
  if (buffers) *buffers = d.buffers;
  if (inodes) *inodes = d.inodes;
  if (pages_free) *pages_free = d.pages_free;
  return 0;
}

int CtlFd::purge(uint64_t* pages_freed, std::string* err) const {
  xfsfuse_ctl_purge p{};
  if (int e = call(fd_, path_, XFSFUSE_IOC_PURGE, &p, "purge", err)) return e;
  if (pages_freed) *pages_freed = p.pages_freed;
  return 0;
}

int CtlFd::set_vmap_batch(uint64_t n, uint64_t* old, std::string* err) const {
  xfsfuse_ctl_set s{};
  s.key = XFSFUSE_CTL_VMAP_BATCH;
  s.value = n;
  if (int e = call(fd_, path_, XFSFUSE_IOC_SET, &s, "set vmap_batch", err)) {
    if (e == EINVAL) *err = path_ + ": set vmap_batch=" + std::to_string(n) + ": want a number, 1..65536";
    return e;
  }
  if (old) *old = s.value;
  return 0;
}

uint64_t counter(const nlohmann::json& stats, const std::string& dotted) {
  const nlohmann::json* j = &stats;
  size_t start = 0;
  while (true) {
    const size_t dot = dotted.find('.', start);
    const std::string key = dotted.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!j->is_object() || !j->contains(key)) return 0;
    j = &(*j)[key];
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return j->is_number_unsigned() ? j->get<uint64_t>() : 0;
}

namespace {

void flatten(const nlohmann::json& j, const std::string& prefix, std::vector<std::pair<std::string, uint64_t>>* out) {
  for (const auto& [key, value] : j.items()) {
    const std::string name = prefix + "." + key;
    if (value.is_object())
      flatten(value, name, out);
    else if (value.is_number_unsigned())
      out->emplace_back(name, value.get<uint64_t>());
  }
}

}  // namespace

std::vector<std::pair<std::string, uint64_t>> counters(const nlohmann::json& stats) {
  std::vector<std::pair<std::string, uint64_t>> out;
  for (const char* section : {"fuse", "cache", "vmap", "pool", "inodes"})
    if (stats.contains(section)) flatten(stats[section], section, &out);
  return out;
}

}  // namespace xfsfuse::tools
