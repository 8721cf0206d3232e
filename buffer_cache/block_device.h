// buffer_cache/block_device.h — the disk under the buffer cache.
//
// A small interface (LevelDB's Env idea) so the cache runs on an image file, a
// block device, or a test double that counts or fails I/O.  Offsets and
// lengths are bytes.  Thread safety: implementations must allow concurrent
// calls (pread/pwrite semantics: no shared file position).
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <memory>
#include <string>

namespace xfsfuse::bc {

class BlockDevice {
 public:
  virtual ~BlockDevice() = default;
  /// Reads exactly the iovecs' total length at byte offset off.  Returns 0,
  /// EIO for a short read (past the end of the device), or the errno of the
  /// failed call.
  virtual int preadv(const iovec* iov, int iovcnt, uint64_t off) = 0;
  /// Writes exactly the iovecs' total length at off.  Returns 0, EROFS when
  /// opened read-only, EIO on a short write, or the errno.
  virtual int pwritev(const iovec* iov, int iovcnt, uint64_t off) = 0;
  /// Makes written data durable (fdatasync).  Returns 0 or an errno.
  virtual int sync() = 0;
  virtual uint64_t size_bytes() const = 0;
  virtual bool writable() const = 0;
};

/// A regular file (an image) or a block device node, used with pread/pwrite.
class FileDevice : public BlockDevice {
 public:
  /// Opens path read-only or read-write.  Returns 0 or the errno of open/fstat
  /// (ENOTBLK for something neither a regular file nor a block device).
  static int open(const std::string& path, bool writable, std::unique_ptr<BlockDevice>* out);
  ~FileDevice() override;
  int preadv(const iovec* iov, int iovcnt, uint64_t off) override;
  int pwritev(const iovec* iov, int iovcnt, uint64_t off) override;
  int sync() override;
  uint64_t size_bytes() const override { return size_; }
  bool writable() const override { return writable_; }

 private:
  FileDevice(int fd, uint64_t size, bool writable) : fd_(fd), size_(size), writable_(writable) {}
  const int fd_;
  const uint64_t size_;
  const bool writable_;
};

/// A byte range [offset, offset + length) of another device, seen as a whole
/// device: a filesystem inside a partitioned disk image (mount -o offset=,
/// sizelimit=).  I/O reaching past the range fails with EIO, as at the end of
/// a device.
class WindowDevice : public BlockDevice {
 public:
  /// REQUIRES: offset + length <= inner->size_bytes().
  WindowDevice(std::unique_ptr<BlockDevice> inner, uint64_t offset, uint64_t length)
      : inner_(std::move(inner)), offset_(offset), length_(length) {}
  int preadv(const iovec* iov, int iovcnt, uint64_t off) override;
  int pwritev(const iovec* iov, int iovcnt, uint64_t off) override;
  int sync() override { return inner_->sync(); }
  uint64_t size_bytes() const override { return length_; }
  bool writable() const override { return inner_->writable(); }

 private:
  bool inside(const iovec* iov, int iovcnt, uint64_t off) const;
  const std::unique_ptr<BlockDevice> inner_;
  const uint64_t offset_, length_;
};

}  // namespace xfsfuse::bc
