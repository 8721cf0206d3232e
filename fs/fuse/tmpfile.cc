#include "fs/fuse/tmpfile.h"

#include <linux/fuse.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

namespace xfsfuse::fuse {

namespace {

// Opcodes (include/uapi/linux/fuse.h; FUSE_TMPFILE since protocol 7.37).
constexpr uint32_t kOpCreate = 35, kOpTmpfile = 51;

ssize_t read_hook(int fd, void* buf, size_t len, void*) {
  const ssize_t n = ::read(fd, buf, len);
  if (n > 0) tmpfile_as_create(buf, static_cast<size_t>(n));
  return n;
}

ssize_t writev_hook(int fd, struct iovec* iov, int count, void*) { return ::writev(fd, iov, count); }

}  // namespace

void tmpfile_as_create(void* buf, size_t len) {
  if (len < sizeof(fuse_in_header)) return;
  auto* in = static_cast<fuse_in_header*>(buf);
  if (in->opcode != kOpTmpfile) return;
  constexpr size_t kName = sizeof(fuse_in_header) + sizeof(fuse_create_in);
  const size_t end = in->len < len ? in->len : len;
  if (end < kName + sizeof kTmpfileName ||
      std::memcmp(static_cast<const char*>(buf) + kName, kTmpfileName, sizeof kTmpfileName) != 0)
    return;  // not the layout this shim knows: libfuse answers ENOSYS
  in->opcode = kOpCreate;
}

int install_dev_hooks(fuse_session* se) {
  fuse_custom_io io{};
  io.read = read_hook;
  io.writev = writev_hook;
  const int e = fuse_session_custom_io(se, &io, fuse_session_fd(se));
  return e == 0 ? 0 : (e < 0 ? -e : e);
}

}  // namespace xfsfuse::fuse
