// The file data path (fs/ops/file_write.h, fs/ops/create.h) against a byte
// model: random writes, truncates, punches, zero-ranges and preallocations
// on files made by make_node(), each read back through Mount::read_data
// after every step and again after a remount; then xfs_repair -n must pass.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <random>
#include <thread>

#include "fs/dir.h"
#include "fs/mount.h"
#include "fs/ops/create.h"
#include "fs/ops/file_write.h"
#include "tests/fs/dir_test_util.h"
#include "tests/fs/fs_test_util.h"

namespace xfsfuse::fs::test {
namespace {

const Cred kRoot{0, 0, {}};

// The file's contents through the driver's read path.
std::vector<std::byte> contents(Mount& m, const CachedInode& ip) {
  std::vector<std::byte> out(ip.core.size);
  size_t got = 0;
  REQUIRE(m.read_data(ip, 0, out.size(), out.data(), &got) == 0);
  REQUIRE(got == out.size());
  return out;
}

// One random change to the file and to the model.
void random_op(Mount& m, const InodeRef& ip, std::vector<std::byte>& model, std::mt19937_64& rng, uint64_t span) {
  const uint64_t off = rng() % span, len = 1 + rng() % (rng() % 4 == 0 ? 300000 : 9000);
  switch (rng() % 6) {
    case 0:
    case 1:
    case 2: {
      std::vector<std::byte> data(len);
      for (auto& b : data) b = std::byte(rng() & 0xff);
      REQUIRE(write_file(m, ip, off, data.data(), len) == 0);
      if (model.size() < off + len) model.resize(off + len);
      std::copy(data.begin(), data.end(), model.begin() + static_cast<ptrdiff_t>(off));
      break;
    }
    case 3:
      REQUIRE(truncate_file(m, ip, off) == 0);
      model.resize(off);
      break;
    case 4: {
      const int mode = rng() % 2 ? kFallocPunchHole | kFallocKeepSize : kFallocZeroRange;
      REQUIRE(fallocate_file(m, ip, mode, off, len) == 0);
      if (mode == kFallocZeroRange && model.size() < off + len) model.resize(off + len);
      for (uint64_t i = off; i < std::min<uint64_t>(off + len, model.size()); i++) model[i] = std::byte{0};
      break;
    }
    default: {
      const bool keep = rng() % 2;
      REQUIRE(fallocate_file(m, ip, keep ? kFallocKeepSize : 0, off, len) == 0);
      if (!keep && model.size() < off + len) model.resize(off + len);
      break;
    }
  }
}

}  // namespace

TEST_CASE("file_write: writes, truncates, punches and preallocation match a byte model", "[file_write]") {
  if (!have_xfsprogs()) return;
  MkfsImage img;
  std::vector<std::vector<std::byte>> models(3);
  std::vector<uint64_t> inos;
  {
    auto m = open_rw(img.path);
    InodeRef root;
    REQUIRE(m->iget(m->sb().rootino, &root) == 0);
    std::mt19937_64 rng(20261204);
    std::vector<InodeRef> files;
    for (int i = 0; i < 3; i++) {
      InodeRef ip;
      REQUIRE(make_node(*m, root, "file" + std::to_string(i), kRoot, S_IFREG | 0644, 0, &ip) == 0);
      files.push_back(ip);
      inos.push_back(ip->core.ino);
    }
    for (int step = 0; step < 600; step++) {
      const size_t f = rng() % files.size();
      random_op(*m, files[f], models[f], rng, f == 2 ? (64u << 20) : (2u << 20));
      if (step % 50 == 0 || step == 599) {
        INFO("step " << step << " file " << f);
        REQUIRE(files[f]->core.size == models[f].size());
        REQUIRE(contents(*m, *files[f]) == models[f]);
      }
    }
    files.clear();
    root.reset();
    unmount_and_repair_check(m, img.path);
  }
  // What the next mount reads from the image.
  std::unique_ptr<Mount> m;
  std::string err;
  REQUIRE(Mount::open(img.path, MountOptions{}, &m, &err) == 0);
  for (size_t f = 0; f < inos.size(); f++) {
    InodeRef ip;
    REQUIRE(m->iget(inos[f], &ip) == 0);
    CHECK(contents(*m, *ip) == models[f]);
  }
}

TEST_CASE("file_write: errors", "[file_write]") {
  if (!have_xfsprogs()) return;
  MkfsImage img("", 64ll << 20);
  auto m = open_rw(img.path);
  InodeRef root, f, d;
  REQUIRE(m->iget(m->sb().rootino, &root) == 0);
  REQUIRE(make_node(*m, root, "f", kRoot, S_IFREG | 0644, 0, &f) == 0);
  REQUIRE(make_node(*m, root, "d", kRoot, S_IFDIR | 0755, 0, &d) == 0);
  CHECK(make_node(*m, root, "f", kRoot, S_IFREG | 0644, 0, &f) == EEXIST);
  CHECK(make_node(*m, root, std::string(256, 'n'), kRoot, S_IFREG | 0644, 0, &f) == ENAMETOOLONG);
  CHECK(make_node(*m, f, "x", kRoot, S_IFREG | 0644, 0, &f) == ENOTDIR);
  CHECK(make_node(*m, root, "x", Cred{1000, 1000, {}}, S_IFREG | 0644, 0, &f) == EACCES);
  const std::byte b{1};
  CHECK(write_file(*m, d, 0, &b, 1) == EISDIR);
  CHECK(write_file(*m, f, kMaxFileSize, &b, 1) == EFBIG);
  CHECK(truncate_file(*m, f, kMaxFileSize + 1) == EFBIG);
  CHECK(fallocate_file(*m, f, kFallocPunchHole, 0, 4096) == EOPNOTSUPP);
  CHECK(fallocate_file(*m, f, 0x8, 0, 4096) == EOPNOTSUPP);  // COLLAPSE_RANGE
  // A 64 MiB filesystem cannot hold 100 MiB: ENOSPC, and the file keeps
  // what it had.
  std::vector<std::byte> big(1 << 20, std::byte{7});
  int e = 0;
  uint64_t off = 0;
  for (; off < (100u << 20) && e == 0; off += big.size()) e = write_file(*m, f, off, big.data(), big.size());
  CHECK(e == ENOSPC);
  CHECK(f->core.size == off - big.size());
  REQUIRE(truncate_file(*m, f, 0) == 0);
  CHECK(f->core.nblocks == 0);
  root.reset();
  f.reset();
  d.reset();
  unmount_and_repair_check(m, img.path);
}

TEST_CASE("file_write: a write leaves the mode alone (privileges are the caller's to take away)", "[file_write]") {
  if (!have_xfsprogs()) return;
  MkfsImage img;
  auto m = open_rw(img.path);
  InodeRef root, f;
  REQUIRE(m->iget(m->sb().rootino, &root) == 0);
  REQUIRE(make_node(*m, root, "f", kRoot, S_IFREG | 06755, 0, &f) == 0);
  const std::byte b{1};
  REQUIRE(write_file(*m, f, 0, &b, 1) == 0);
  REQUIRE(truncate_file(*m, f, 4096) == 0);
  REQUIRE(fallocate_file(*m, f, 0, 0, 8192) == 0);
  CHECK(f->core.mode == (S_IFREG | 06755));
  root.reset();
  f.reset();
  unmount_and_repair_check(m, img.path);
}

TEST_CASE("file_write: writers in many files and AGs at once, and creates in one directory", "[file_write][threads]") {
  if (!have_xfsprogs()) return;
  MkfsImage img("-d agcount=4");
  constexpr int kThreads = 4;
  std::vector<std::vector<std::byte>> models(kThreads);
  std::vector<uint64_t> inos(kThreads);
  std::vector<int> errors(kThreads, 0);
  {
    auto m = open_rw(img.path);
    InodeRef root;
    REQUIRE(m->iget(m->sb().rootino, &root) == 0);
    std::vector<std::thread> workers;
    for (int t = 0; t < kThreads; t++) {
      workers.emplace_back([&, t] {
        // Each worker makes its own directory (its own AG, as the kernel
        // spreads directories) and a file in it, then files in the root.
        InodeRef dir, f;
        int e = make_node(*m, root, "dir" + std::to_string(t), kRoot, S_IFDIR | 0755, 0, &dir);
        if (e == 0) e = make_node(*m, dir, "data", kRoot, S_IFREG | 0644, 0, &f);
        if (e == 0) inos[t] = f->core.ino;
        std::mt19937_64 rng(1000 + t);
        for (int i = 0; e == 0 && i < 150; i++) {
          if (i % 10 == 0) {
            InodeRef g;
            e = make_node(*m, root, "t" + std::to_string(t) + "-" + std::to_string(i), kRoot, S_IFREG | 0600, 0, &g);
            continue;
          }
          const uint64_t off = rng() % (8u << 20), len = 1 + rng() % 70000;
          std::vector<std::byte> data(len, std::byte(rng() & 0xff));
          e = write_file(*m, f, off, data.data(), len);
          if (e == 0 && models[t].size() < off + len) models[t].resize(off + len);
          if (e == 0) std::copy(data.begin(), data.end(), models[t].begin() + static_cast<ptrdiff_t>(off));
          if (e == 0 && i % 37 == 0) {
            const uint64_t size = rng() % (8u << 20);
            e = truncate_file(*m, f, size);
            if (e == 0) models[t].resize(size);
          }
        }
        errors[t] = e;
      });
    }
    for (auto& w : workers) w.join();
    for (int t = 0; t < kThreads; t++) {
      INFO("worker " << t);
      REQUIRE(errors[t] == 0);
      InodeRef f;
      REQUIRE(m->iget(inos[t], &f) == 0);
      CHECK(contents(*m, *f) == models[t]);
    }
    root.reset();
    unmount_and_repair_check(m, img.path);
  }
  std::unique_ptr<Mount> m;
  std::string err;
  REQUIRE(Mount::open(img.path, MountOptions{}, &m, &err) == 0);
  for (int t = 0; t < kThreads; t++) {
    InodeRef f;
    REQUIRE(m->iget(inos[t], &f) == 0);
    CHECK(contents(*m, *f) == models[t]);
  }
}

}  // namespace xfsfuse::fs::test
