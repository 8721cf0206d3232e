// tests/fuzz/seed_image.cc — the fuzz targets' seed images: made with
// mkfs.xfs -p (directories of every form, files, symlinks), then xattrs of
// every form and a bmbt-format file written through the fs library.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "buffer_cache/corruption_log.h"
#include "fs/dir.h"
#include "fs/ops/create.h"
#include "fs/ops/file_write.h"
#include "fs/ops/xattr.h"
#include "tests/fuzz/harness.h"

namespace xfsfuse::fuzz {
namespace {

[[noreturn]] void die(const std::string& why) {
  std::fprintf(stderr, "fuzz seed image: %s\n", why.c_str());
  std::abort();
}

void write_text(const std::string& path, const std::string& s) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (!f || std::fwrite(s.data(), 1, s.size(), f) != s.size() || std::fclose(f) != 0) die("cannot write " + path);
}

// A directory of n empty files named PREFIX%06d (protofile lines).
std::string proto_dir(const std::string& name, const std::string& prefix, int n) {
  std::string s = name + " d--755 0 0\n";
  char line[128];
  for (int i = 0; i < n; i++) {
    std::snprintf(line, sizeof line, "%s%06d ---644 0 0 /dev/null\n", prefix.c_str(), i);
    s += line;
  }
  return s + "$\n";
}

// The protofile: / holds sf/, block/, leaf/, node/ (directories of those
// forms for the image's directory block size), small (8 KiB of data), and
// the inline symlink short.  (mkfs.xfs 6.1 writes a remote symlink block
// without its v5 header: xfs_repair -n rejects it; the library makes /long.)
std::string protofile(bool dir64k, const std::string& data_file) {
  std::string s = "/dev/null\n0 0\nd--755 0 0\n";
  s += "sf d--755 0 0\na ---644 0 0 /dev/null\nbb ---644 0 0 /dev/null\nsub d--755 0 0\n$\n$\n";
  s += proto_dir("block", "block_entry_", 40);
  s += proto_dir("leaf", "leaf_entry_", dir64k ? 2500 : 200);
  s += proto_dir("node", "node_entry_name_", dir64k ? 9000 : 700);
  s += "small ---644 0 0 " + data_file + "\n";
  s += "short l--777 0 0 target-of-a-short-link\n";
  return s + "$\n";
}

// xattrs of every form, a file whose data fork is a bmbt (600 one-block
// extents) and the remote symlink long, through the write path.
void add_with_library(const std::string& path) {
  std::unique_ptr<fs::Mount> m;
  std::string err;
  fs::MountOptions o;
  o.writable = true;
  if (fs::Mount::open(path, o, &m, &err)) die(err);
  const fs::Cred root_cred{};
  fs::InodeRef root;
  if (m->iget(m->sb().rootino, &root)) die("root");
  struct Attrs { const char* file; int count; size_t value_len; };
  for (const Attrs& a : {Attrs{"xsf", 3, 8}, Attrs{"xleaf", 20, 64}, Attrs{"xnode", 200, 40}, Attrs{"xremote", 2, 6000}}) {
    fs::InodeRef ip;
    if (fs::make_node(*m, root, a.file, root_cred, S_IFREG | 0644, 0, &ip)) die(std::string("create ") + a.file);
    for (int i = 0; i < a.count; i++) {
      const std::string name = "user.attr_" + std::to_string(i);
      std::vector<std::byte> value(i == 0 ? a.value_len : 16, std::byte('a' + i % 26));
      if (fs::xattr_set(*m, ip, root_cred, name, value, 0)) die("xattr " + name + " on " + a.file);
    }
  }
  fs::InodeRef ip;
  if (fs::make_symlink(*m, root, "long", "/" + std::string(1000, 'L'), root_cred, &ip)) die("symlink long");
  if (fs::make_node(*m, root, "bmbt", root_cred, S_IFREG | 0644, 0, &ip)) die("create bmbt");
  std::vector<std::byte> blk(m->sb().blocksize, std::byte{'b'});
  for (uint64_t i = 0; i < 600; i++)
    if (fs::write_file(*m, ip, 2 * i * blk.size(), blk.data(), blk.size())) die("write bmbt");
  if (m->unmount_clean()) die("unmount");
}

}  // namespace

namespace {

// Copies the allocated parts of file in to out (both sparse, same size).
void copy_data(int in, int out) {
  std::vector<char> buf(1 << 20);
  for (off_t off = 0;;) {
    off_t data_at = lseek(in, off, SEEK_DATA);
    if (data_at < 0) break;
    off_t hole = lseek(in, data_at, SEEK_HOLE);
    for (off_t p = data_at; p < hole;) {
      ssize_t n = pread(in, buf.data(), std::min<off_t>(buf.size(), hole - p), p);
      if (n <= 0 || pwrite(out, buf.data(), n, p) != n) die("copy");
      p += n;
    }
    off = hole;
  }
}

}  // namespace

void SeedImage::build(bool dir64k) {
  char dir[] = "/tmp/xfsfuse-fuzz-XXXXXX";
  if (!mkdtemp(dir)) die("mkdtemp");
  const std::string d = dir, img = d + "/seed.img", proto = d + "/proto", data = d + "/data";
  std::string text;
  while (text.size() < 8192) text += "fuzz seed file data, line " + std::to_string(text.size() / 40) + "\n";
  write_text(data, text);
  write_text(proto, protofile(dir64k, data));
  int tfd = ::open(img.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (tfd < 0 || ftruncate(tfd, 32 << 20) != 0) die("image file");
  ::close(tfd);
  // Below 300 MiB mkfs.xfs only makes a filesystem when told it runs under fstests.
  const std::string cmd = "QA_CHECK_FS=1 TEST_DIR=/tmp TEST_DEV=" + img +
                          " mkfs.xfs -q -f -b size=4096 -i size=512,sparse=1 -d agcount=2 -n size=" +
                          (dir64k ? "65536" : "4096") +
                          " -m crc=1,finobt=1,reflink=1,rmapbt=0,bigtime=1,inobtcount=1,uuid=" +
                          (dir64k ? "f0220000-0000-4000-8000-000000006400" : "f0220000-0000-4000-8000-000000000400") +
                          " -p " + proto + " " + img + " >/dev/null 2>&1";
  if (std::system(cmd.c_str()) != 0) die("mkfs.xfs failed: " + cmd);
  add_with_library(img);

  fd_ = memfd_create(dir64k ? "xfsfuse-fuzz-64k" : "xfsfuse-fuzz-4k", 0);
  int in = ::open(img.c_str(), O_RDONLY);
  if (fd_ < 0 || in < 0 || ftruncate(fd_, 32 << 20) != 0) die("memfd");
  copy_data(in, fd_);  // the image is sparse
  ::close(in);
  unlink(img.c_str());
  unlink(proto.c_str());
  unlink(data.c_str());
  rmdir(dir);
  path_ = "/proc/self/fd/" + std::to_string(fd_);
}

SeedImage& SeedImage::get(bool dir64k) {
  static std::unique_ptr<SeedImage> images[2];
  auto& p = images[dir64k ? 1 : 0];
  if (!p) {
    if (!std::getenv("XFSFUSE_FUZZ_VERBOSE")) bc::set_corruption_sink([](auto, auto, auto) {});
    p.reset(new SeedImage);
    p->build(dir64k);
    p->find_regions();
    if (std::getenv("XFSFUSE_FUZZ_VERBOSE"))
      for (const Region* r : p->all_regions())
        std::fprintf(stderr, "fuzz region: family %d: %s: daddr 0x%llx, %zu bytes\n", int(r->family), r->what.c_str(),
                     static_cast<unsigned long long>(r->daddr()), r->size);
  }
  return *p;
}

std::string SeedImage::copy(int* fd) const {
  *fd = memfd_create("xfsfuse-fuzz-copy", 0);
  if (*fd < 0 || ftruncate(*fd, 32 << 20) != 0) die("memfd");
  copy_data(fd_, *fd);
  return "/proc/self/fd/" + std::to_string(*fd);
}

std::unique_ptr<fs::Mount> SeedImage::mount(bool writable) const {
  std::unique_ptr<fs::Mount> m;
  std::string err;
  fs::MountOptions o;
  o.cache_bytes = 8u << 20;
  o.writable = writable;
  if (fs::Mount::open(path_, o, &m, &err)) return nullptr;
  return m;
}

}  // namespace xfsfuse::fuzz
