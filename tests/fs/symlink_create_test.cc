// Symlink creation (fs/ops/create.h make_symlink, fs/symlink_write.h):
// against the kernel, the same targets made on identical images by a loop
// mount (ln -s) and by make_symlink leave the same inodes (number, format,
// size, block count, extent map) and byte for byte the same inline fork or
// remote blocks (XSLM header and target; the CRC and LSN fields differ with
// when they were written), at 4 KiB and 1 KiB blocks; then the errors in the
// kernel's order, targets of every length read back, and remote blocks freed
// with the symlink.  xfs_repair -n and xfsfuse-fsck -n judge every image.
// The kernel comparisons need root and loop devices ("SKIP:" otherwise).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <cstring>
#include <sstream>

#include "fs/dir.h"
#include "buffer_cache/buf_ops.h"
#include "fs/format/geometry.h"
#include "fs/format/inode.h"
#include "fs/mount.h"
#include "fs/ops/create.h"
#include "fs/ops/inactivate.h"
#include "fs/ops/remove.h"
#include "fs/symlink_write.h"
#include "fs/symlink.h"
#include "tests/fs/dir_test_util.h"
#include "tests/fs/fs_test_util.h"
#include "tests/fs/ops_test_util.h"

namespace xfsfuse::fs::test {
namespace {


std::string target_of(size_t len, char c = 't') {
  std::string s(len, c);
  for (size_t i = 0; i < len; i += 7) s[i] = static_cast<char>('a' + (i / 7) % 26);  // not one repeated byte
  return s;
}

std::vector<std::byte> pread_image(const std::string& img, uint64_t off, size_t len) {
  std::vector<std::byte> b(len);
  const int fd = open(img.c_str(), O_RDONLY);
  REQUIRE(fd >= 0);
  REQUIRE(pread(fd, b.data(), len, static_cast<off_t>(off)) == static_cast<ssize_t>(len));
  close(fd);
  return b;
}

// What one symlink of img is: its inode's fields and extent map as xfs_db
// prints them, the inline target, and the hex of every remote block with the
// header's CRC and LSN zeroed.  Where the blocks lie is left out (the
// extent's startblock, the header's blkno, checked against it): the
// allocator takes the target block or the first free extent in (length,
// start) order, where the kernel's NEAR_BNO search takes the free block
// closest to the inode (fs/symlink_write.h).
std::string describe(const Geometry& g, const std::string& img, const std::string& name) {
  std::ostringstream out;
  const std::string db = "TZ=UTC xfs_db -r -c 'path /" + name + "' ";
  out << run(db + "-c 'p core.format core.size core.nblocks core.nextents core.forkoff' " + img);
  const std::string u3 = run(db + "-c 'p u3' " + img);
  // Extent lines: "0:[startoff,startblock,blockcount,flag]".
  std::istringstream lines(u3);
  std::string l;
  while (std::getline(lines, l)) {
    uint64_t off, fsb, cnt, flag;
    if (std::sscanf(l.c_str(), "%*u:[%lu,%lu,%lu,%lu]", &off, &fsb, &cnt, &flag) != 4) {
      out << l << "\n";
      continue;
    }
    out << "extent " << off << " +" << cnt << " flag " << flag << "\n";
    auto b = pread_image(img, daddr_to_bytes(fsblock_to_daddr(g, fsb)), fsblocks_to_bytes(g, cnt));
    CHECK(bc::load_be(b.data() + offsetof(xd_dsymlink_hdr, sl_blkno), 8) == fsblock_to_daddr(g, fsb));
    std::memset(b.data() + offsetof(xd_dsymlink_hdr, sl_crc), 0, 4);
    std::memset(b.data() + offsetof(xd_dsymlink_hdr, sl_blkno), 0, 8);
    std::memset(b.data() + offsetof(xd_dsymlink_hdr, sl_lsn), 0, 8);
    for (size_t i = 0; i < b.size(); i++) {
      if (i % 64 == 0) out << "\n" << i << ":";
      out << std::hex << std::to_integer<int>(b[i]) << std::dec << ' ';
    }
    out << "\n";
  }
  return out.str();
}

bool umount(const std::string& mnt) {
  for (int i = 0; i < 20; i++) {
    if (system(("umount " + mnt + " 2>/dev/null").c_str()) == 0) return true;
    usleep(100000);
  }
  return false;
}

// Makes symlinks of the given lengths in the root, in order, by the kernel
// on a copy of an image made with mkfs_extra and by make_symlink on another;
// each must look the same on both.
void compare_with_kernel(const std::string& mkfs_extra, const std::vector<size_t>& lengths) {
  if (geteuid() != 0) {
    WARN("SKIP: not root");
    return;
  }
  MkfsImage img(mkfs_extra);
  const std::string kimg = img.path + ".kernel", mnt = img.path + ".mnt";
  REQUIRE(system(("cp --sparse=always " + img.path + " " + kimg).c_str()) == 0);
  REQUIRE(mkdir(mnt.c_str(), 0755) == 0);
  struct Cleanup {
    std::string kimg, mnt;
    ~Cleanup() {
      umount(mnt);
      ::rmdir(mnt.c_str());
      ::unlink(kimg.c_str());
    }
  } cleanup{kimg, mnt};
  if (system(("mount -o loop " + kimg + " " + mnt + " 2>/dev/null").c_str()) != 0) {
    WARN("SKIP: mount -o loop failed (no loop devices or no XFS in this kernel?)");
    return;
  }
  for (size_t len : lengths)
    REQUIRE(symlink(target_of(len).c_str(), (mnt + "/s" + std::to_string(len)).c_str()) == 0);
  REQUIRE(umount(mnt));

  auto m = open_rw(img.path);
  const Geometry g = m->sb();
  InodeRef root = root_of(*m);
  for (size_t len : lengths) {
    InodeRef ip;
    REQUIRE(make_symlink(*m, root, "s" + std::to_string(len), target_of(len), kRoot, &ip) == 0);
    std::string got;
    REQUIRE(read_symlink(*m, *ip, &got) == 0);
    CHECK(got == target_of(len));
  }
  root.reset();
  unmount_and_repair_check(m, img.path);
  fsck_check(img.path);
  for (size_t len : lengths) {
    const std::string name = "s" + std::to_string(len);
    INFO(name);
    CHECK(num(img.xfs_db("-c 'path /" + name + "' -c 'p core.nlinkv2'")["core.nlinkv2"]) == 1);
    CHECK(describe(g, img.path, name) == describe(g, kimg, name));
  }
}

}  // namespace

TEST_CASE("symlink: the kernel's layout at 4 KiB blocks", "[symlink_create][kernel]") {
  if (!have_xfsprogs()) return;
  compare_with_kernel("", {1, 60, 300, 336, 337, 1023});
}

TEST_CASE("symlink: the kernel's layout at 1 KiB blocks (a 2-block target)", "[symlink_create][kernel]") {
  if (!have_xfsprogs()) return;
  compare_with_kernel("-b size=1024", {1, 60, 336, 337, 968, 969, 1023});
}

TEST_CASE("symlink: the kernel's errors, in its order", "[symlink_create]") {
  if (!have_xfsprogs()) return;
  MkfsImage img;
  auto m = open_rw(img.path);
  InodeRef root = root_of(*m), ip, d, f, closed, x;
  REQUIRE(make_node(*m, root, "d", kRoot, S_IFDIR | 0755, 0, &d) == 0);
  REQUIRE(make_node(*m, d, "f", kRoot, S_IFREG | 0644, 0, &f) == 0);
  REQUIRE(make_node(*m, root, "closed", kRoot, S_IFDIR | 0700, 0, &closed) == 0);
  REQUIRE(make_node(*m, root, "x", kRoot, S_IFDIR | 0711, 0, &x) == 0);
  const Cred user{1000, 1000, {}};
  const std::string too_long = target_of(kSymlinkTargetMax + 1);

  CHECK(make_symlink(*m, d, std::string(256, 'n'), "", kRoot, &ip) == ENOENT);  // the target first
  CHECK(make_symlink(*m, d, "s", std::string("a\0b", 3), kRoot, &ip) == EINVAL);
  CHECK(make_symlink(*m, d, std::string(256, 'n'), too_long, kRoot, &ip) == ENAMETOOLONG);
  CHECK(make_symlink(*m, f, "s", "t", kRoot, &ip) == ENOTDIR);
  CHECK(make_symlink(*m, closed, "s", too_long, user, &ip) == EACCES);
  CHECK(make_symlink(*m, d, "f", too_long, kRoot, &ip) == EEXIST);  // before the target's length
  REQUIRE(make_node(*m, x, "there", kRoot, S_IFREG | 0644, 0, &ip) == 0);
  CHECK(make_symlink(*m, x, "there", "t", user, &ip) == EEXIST);
  CHECK(make_symlink(*m, x, "new", "t", user, &ip) == EACCES);
  CHECK(make_symlink(*m, d, "s", too_long, kRoot, &ip) == ENAMETOOLONG);
  {
    std::unique_ptr<Transaction> tp;
    REQUIRE(Transaction::begin(*m, &tp) == 0);
    tp->join_inode(d);
    d->core.flags |= 0x400;  // XFS_DIFLAG_NOSYMLINKS
    tp->log_inode(d.get(), kDirtyCore);
    REQUIRE(tp->commit() == 0);
  }
  CHECK(make_symlink(*m, d, "s", "t", kRoot, &ip) == EPERM);
  CHECK(make_symlink(*m, d, "s", too_long, kRoot, &ip) == ENAMETOOLONG);  // the length before the flag
  InodeRef sub;
  REQUIRE(make_node(*m, d, "sub", kRoot, S_IFDIR | 0755, 0, &sub) == 0);  // inherits NOSYMLINKS
  CHECK(make_symlink(*m, sub, "s", "t", kRoot, &ip) == EPERM);
  uint64_t ino;
  CHECK(dir_lookup(*m, *d, "s", &ino) == ENOENT);
  InodeRef w;
  REQUIRE(make_node(*m, root, "w", kRoot, S_IFDIR | 0777, 0, &w) == 0);
  REQUIRE(make_symlink(*m, w, "ok", "t", user, &ip) == 0);
  CHECK(ip->core.mode == (S_IFLNK | 0777));
  CHECK(ip->core.uid == 1000);
  CHECK(ip->core.nlink == 1);
  CHECK(w->core.mtime == ip->core.ctime);
  unmount_and_repair_check(m, img.path);
  fsck_check(img.path);
}

TEST_CASE("symlink: targets of every length read back, and remote blocks are freed with them", "[symlink_create]") {
  if (!have_xfsprogs()) return;
  for (const char* mkfs : {"", "-b size=1024"}) {
    INFO("mkfs " << mkfs);
    MkfsImage img(mkfs);
    auto m = open_rw(img.path);
    InodeRef root = root_of(*m), d;
    REQUIRE(make_node(*m, root, "d", kRoot, S_IFDIR | 0755, 0, &d) == 0);
    StatFs s0;
    REQUIRE(m->statfs(&s0) == 0);
    std::vector<std::pair<size_t, InodeRef>> made;
    for (size_t len = 1; len <= kSymlinkTargetMax; len += (len < 340 ? 1 : 13)) {
      InodeRef ip;
      REQUIRE(make_symlink(*m, d, "l" + std::to_string(len), target_of(len, 'x'), kRoot, &ip) == 0);
      made.emplace_back(len, ip);
    }
    for (auto& [len, ip] : made) {
      INFO(len);
      std::string got;
      REQUIRE(read_symlink(*m, *ip, &got) == 0);
      CHECK(got == target_of(len, 'x'));
      CHECK(ip->core.size == len);
      const bool inline_target = len <= ip->core.literal_size;
      CHECK((ip->core.format == ForkFormat::kLocal) == inline_target);
      CHECK(ip->core.nblocks == (inline_target ? 0 : symlink_blocks(m->sb(), len)));
    }
    // Remove the remote half; their blocks come back once freed.
    StatFs s1;
    REQUIRE(m->statfs(&s1) == 0);
    uint64_t remote_blocks = 0;
    for (auto& [len, ip] : made)
      if (ip->core.format != ForkFormat::kLocal) {
        remote_blocks += ip->core.nblocks;
        REQUIRE(unlink(*m, d, "l" + std::to_string(len), kRoot) == 0);
        REQUIRE(inactivate(*m, ip) == 0);
      }
    StatFs s2;
    REQUIRE(m->statfs(&s2) == 0);
    CHECK(s2.bfree >= s1.bfree + remote_blocks);
    made.clear();
    d.reset();
    root.reset();
    unmount_and_repair_check(m, img.path);
    fsck_check(img.path);
  }
}

}  // namespace xfsfuse::fs::test
