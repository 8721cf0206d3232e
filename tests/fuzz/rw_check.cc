// tests/fuzz/rw_check.cc — the image target's read-write half: changes on a
// copy of a clean image, then fsck over what the driver wrote.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "fs/dir.h"
#include "fs/ops/create.h"
#include "fs/ops/remove.h"
#include "fs/ops/rename.h"
#include "fs/ops/xattr.h"
#include "tests/fuzz/harness.h"

namespace xfsfuse::fuzz {
namespace {

fs::InodeRef child(fs::Mount& m, const fs::InodeRef& dir, const char* name) {
  fs::InodeRef ip;
  uint64_t ino = 0;
  if (!dir || fs::dir_lookup(m, *dir, name, &ino) || m.iget(ino, &ip)) return nullptr;
  return ip;
}

// The changes; each may fail (the image may be damaged where fsck does not look).
void changes(fs::Mount& m) {
  const fs::Cred c{};
  fs::InodeRef root, ip;
  if (m.iget(m.sb().rootino, &root)) return;
  fs::make_node(m, root, "fz_file", c, S_IFREG | 0644, 0, &ip);
  fs::make_node(m, root, "fz_dir", c, S_IFDIR | 0755, 0, &ip);
  fs::make_symlink(m, root, "fz_link", "fz_file", c, &ip);
  for (const char* d : {"sf", "block", "leaf", "node"}) {
    fs::InodeRef dir = child(m, root, d);
    if (!dir) continue;
    fs::make_node(m, dir, "fz_new_entry_with_a_longer_name", c, S_IFREG | 0644, 0, &ip);
    fs::unlink(m, dir, "fz_new_entry_with_a_longer_name", c);
  }
  fs::rename(m, child(m, root, "node"), "node_entry_name_000007", root, "fz_moved", c, 0);
  fs::unlink(m, child(m, root, "leaf"), "leaf_entry_000003", c);
  const std::vector<std::byte> small(40, std::byte{'v'}), big(5000, std::byte{'w'});
  for (const char* f : {"xsf", "xleaf", "xnode", "xremote", "small"}) {
    fs::InodeRef file = child(m, root, f);
    if (!file) continue;
    fs::xattr_set(m, file, c, "user.fz_small", small, 0);
    fs::xattr_set(m, file, c, "user.fz_big", big, 0);
    fs::xattr_remove(m, file, c, "user.attr_1");
  }
}

}  // namespace

void rw_check(const SeedImage& img) {
  int fd = -1;
  const std::string path = img.copy(&fd);
  std::unique_ptr<fs::Mount> m;
  std::string err;
  fs::MountOptions o;
  o.cache_bytes = 8u << 20;
  o.writable = true;
  if (fs::Mount::open(path, o, &m, &err) == 0) {
    changes(*m);
    const bool judged = m->unmount_clean() == 0 && !m->shut_down_state();
    m.reset();
    o.writable = false;
    if (judged && fs::Mount::open(path, o, &m, &err) == 0 && run_fsck(*m, true) != 0) {
      std::printf("fuzz_image: fsck finds problems after the read-write changes on a clean image:\n");
      run_fsck(*m, true, true);
      std::abort();
    }
  }
  m.reset();
  ::close(fd);
}

}  // namespace xfsfuse::fuzz
