#include "buffer_cache/block_device.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

namespace xfsfuse::bc {

namespace {

size_t total_len(const iovec* iov, int n) {
  size_t t = 0;
  for (int i = 0; i < n; i++) t += iov[i].iov_len;
  return t;
}

// Runs preadv/pwritev until all bytes moved, advancing through the iovecs.
template <typename Op>
int full_io(Op op, const iovec* iov, int iovcnt, uint64_t off) {
  std::vector<iovec> v(iov, iov + iovcnt);
  size_t left = total_len(iov, iovcnt), first = 0;
  while (left > 0) {
    ssize_t n = op(v.data() + first, static_cast<int>(v.size() - first), static_cast<off_t>(off));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0) return EIO;  // end of device
    left -= static_cast<size_t>(n);
    off += static_cast<uint64_t>(n);
    for (size_t k = static_cast<size_t>(n); k > 0;) {
      if (k >= v[first].iov_len) {
        k -= v[first].iov_len;
        first++;
      } else {
        v[first].iov_base = static_cast<char*>(v[first].iov_base) + k;
        v[first].iov_len -= k;
        k = 0;
      }
    }
  }
  return 0;
}

}  // namespace

int FileDevice::open(const std::string& path, bool writable, std::unique_ptr<BlockDevice>* out) {
  int fd = ::open(path.c_str(), (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) return errno;
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    return e;
  }
  uint64_t size = 0;
  if (S_ISREG(st.st_mode)) {
    size = static_cast<uint64_t>(st.st_size);
  } else if (S_ISBLK(st.st_mode)) {
    if (ioctl(fd, BLKGETSIZE64, &size) != 0) {
      int e = errno;
      close(fd);
      return e;
    }
  } else {
    close(fd);
    return ENOTBLK;
  }
  out->reset(new FileDevice(fd, size, writable));
  return 0;
}

FileDevice::~FileDevice() { close(fd_); }

int FileDevice::preadv(const iovec* iov, int iovcnt, uint64_t off) {
  return full_io([this](const iovec* v, int n, off_t o) { return ::preadv(fd_, v, n, o); }, iov, iovcnt, off);
}

int FileDevice::pwritev(const iovec* iov, int iovcnt, uint64_t off) {
  if (!writable_) return EROFS;
  return full_io([this](const iovec* v, int n, off_t o) { return ::pwritev(fd_, v, n, o); }, iov, iovcnt, off);
}

int FileDevice::sync() { return fdatasync(fd_) == 0 ? 0 : errno; }

bool WindowDevice::inside(const iovec* iov, int iovcnt, uint64_t off) const {
  const uint64_t len = total_len(iov, iovcnt);
  return off <= length_ && len <= length_ - off;
}

int WindowDevice::preadv(const iovec* iov, int iovcnt, uint64_t off) {
  return inside(iov, iovcnt, off) ? inner_->preadv(iov, iovcnt, offset_ + off) : EIO;
}

int WindowDevice::pwritev(const iovec* iov, int iovcnt, uint64_t off) {
  return inside(iov, iovcnt, off) ? inner_->pwritev(iov, iovcnt, offset_ + off) : EIO;
}

}  // namespace xfsfuse::bc
