// Mount: opening images, the clean-log check, statfs against the kernel's
// statfs, in-core inodes (bmbt forks of one and two levels, compared with
// xfs_db bmap), file data against the demo manifest's SHA-1s, corruption.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <functional>
#include <sstream>

#include "fs/format/ag.h"
#include "fs/format/btree.h"
#include "fs/format/endian.h"
#include "fs/dir.h"
#include "fs/mount.h"
#include "tests/buffer_cache/bc_test_util.h"
#include "tests/fs/fs_test_util.h"
#include "tests/fs/log_kernel_test_util.h"

namespace xfsfuse::fs::test {
namespace {

// The demo image (images/make-image demo), built once per test process in a
// temporary directory that goes away when the process exits.
struct DemoImage {
  std::string dir, img;
  DemoImage() {
    char d[] = "/tmp/xfsfuse-mount-XXXXXX";
    REQUIRE(mkdtemp(d));
    dir = d;
    img = dir + "/demo.img";
    REQUIRE(system((std::string(XFSFUSE_SOURCE_DIR) + "/images/make-image demo " + img + " >/dev/null").c_str()) == 0);
  }
  ~DemoImage() { system(("rm -rf " + dir).c_str()); }
};

const std::string& demo_image() {
  static DemoImage demo;
  return demo.img;
}

bool can_loop_mount() {
  return geteuid() == 0 && access("/dev/loop-control", F_OK) == 0 &&
         system("grep -qw xfs /proc/filesystems || modprobe xfs 2>/dev/null") == 0;
}

// A kernel loop mount of an image under a temporary directory.
struct KernelMount {
  std::string dir;
  bool ok = false;
  KernelMount(const std::string& img, const std::string& opts) {
    char d[] = "/tmp/xfsfuse-kmnt-XXXXXX";
    REQUIRE(mkdtemp(d));
    dir = d;
    ok = system(("mount -o loop," + opts + " " + img + " " + dir).c_str()) == 0;
  }
  ~KernelMount() {
    if (ok) system(("umount " + dir).c_str());
    rmdir(dir.c_str());
  }
};

uint64_t ino_of(const std::string& img, const std::string& path) {
  std::string out = run("xfs_db -r -c 'path " + path + "' -c stack " + img + " 2>&1");
  auto at = out.find("inode ");
  REQUIRE(at != std::string::npos);
  return std::stoull(out.substr(at + 6));
}

std::unique_ptr<Mount> open_ok(const std::string& img, MountOptions opts = {}) {
  std::unique_ptr<Mount> m;
  std::string err;
  INFO(err);
  REQUIRE(Mount::open(img, opts, &m, &err) == 0);
  return m;
}

// xfs_db's "bmap" lines as extents.
std::vector<Extent> xfs_db_bmap(const std::string& img, uint64_t ino) {
  std::istringstream in(run("xfs_db -r -c 'inode " + std::to_string(ino) + "' -c bmap " + img));
  std::vector<Extent> out;
  std::string line;
  while (std::getline(in, line)) {
    Extent e;
    unsigned long long off, blk, cnt;
    int flag;
    char agstr[64];
    if (sscanf(line.c_str(), "data offset %llu startblock %llu %63s count %llu flag %d", &off, &blk, agstr, &cnt,
               &flag) != 5)
      continue;
    e.startoff = off;
    e.startblock = blk;
    e.blockcount = cnt;
    e.unwritten = flag != 0;
    out.push_back(e);
  }
  return out;
}

}  // namespace

TEST_CASE("mount: the demo image opens and its btree-format directory maps like xfs_db bmap", "[mount]") {
  if (!have_xfsprogs()) {
    WARN("SKIP: mkfs.xfs/xfs_db not installed (Debian package xfsprogs)");
    return;
  }
  const std::string& img = demo_image();
  auto m = open_ok(img);
  CHECK(m->warnings().empty());
  InodeRef root;
  REQUIRE(m->iget(m->sb().rootino, &root) == 0);
  CHECK(S_ISDIR(root->core.mode));

  const uint64_t node = ino_of(img, "/node");
  InodeRef ip;
  REQUIRE(m->iget(node, &ip) == 0);
  CHECK(ip->core.format == ForkFormat::kBtree);
  const auto want = xfs_db_bmap(img, node);
  REQUIRE(want.size() == 52);
  CHECK(ip->df.extents == want);

  SECTION("map_blocks gives one range per extent a directory block crosses") {
    std::vector<bc::DiskRange> maps;
    REQUIRE(m->map_blocks(*ip, false, 0, 16, &maps) == 0);
    uint64_t sectors = 0;
    for (auto& r : maps) sectors += r.len;
    CHECK(sectors == 16 * 8);
    CHECK(maps.front().daddr == fsblock_to_daddr(m->sb(), want.front().startblock));
    CHECK(m->map_blocks(*ip, false, uint64_t{1} << 40, 16, &maps) == ENOENT);
  }
  CHECK(m->iget(uint64_t{1} << 60, &ip) == EINVAL);
}

TEST_CASE("mount: a free inode is ENOENT", "[mount]") {
  if (!have_xfsprogs()) {
    WARN("SKIP: mkfs.xfs/xfs_db not installed (Debian package xfsprogs)");
    return;
  }
  MkfsImage img;
  auto m = open_ok(img.path);
  InodeRef ip;
  // mkfs allocates the root chunk's first three inodes (root, rbmino, rsumino).
  CHECK(m->iget(m->sb().rootino + 10, &ip) == ENOENT);
}

TEST_CASE("mount: file data matches the demo manifest's SHA-1s", "[mount]") {
  if (!have_xfsprogs()) {
    WARN("SKIP: mkfs.xfs/xfs_db not installed (Debian package xfsprogs)");
    return;
  }
  const std::string& img = demo_image();
  auto m = open_ok(img);
  std::ifstream manifest(img + ".manifest");
  std::string line;
  int files = 0;
  while (std::getline(manifest, line)) {
    std::vector<std::string> f;
    std::istringstream ls(line);
    for (std::string col; std::getline(ls, col, '\t');) f.push_back(col);
    if (f.size() < 9 || f[1] != "reg" || (f[0].rfind("/files/", 0) != 0 && f[0] != "/README")) continue;
    INFO(f[0]);
    InodeRef ip;
    REQUIRE(m->iget(ino_of(img, f[0]), &ip) == 0);
    REQUIRE(ip->core.size == std::stoull(f[5]));
    // Read in odd-sized pieces so reads start and stop inside blocks.
    std::vector<std::byte> data(ip->core.size + 100);
    size_t pos = 0, got = 0;
    do {
      REQUIRE(m->read_data(*ip, pos, 12345, data.data() + pos, &got) == 0);
      pos += got;
    } while (got > 0);
    REQUIRE(pos == ip->core.size);
    const std::string tmp = img + ".data";
    std::ofstream(tmp, std::ios::binary).write(reinterpret_cast<const char*>(data.data()), pos);
    CHECK(run("sha1sum < " + tmp).substr(0, 40) == f[8]);
    files++;
  }
  CHECK(files >= 20);
}

TEST_CASE("mount: statfs equals the kernel's on the demo image", "[mount]") {
  if (!have_xfsprogs() || !can_loop_mount()) {
    WARN("SKIP: needs root, loop devices and XFS in the kernel");
    return;
  }
  const std::string& img = demo_image();
  auto m = open_ok(img);
  StatFs s;
  REQUIRE(m->statfs(&s) == 0);
  KernelMount k(img, "ro");
  REQUIRE(k.ok);
  std::ostringstream ours;
  ours << s.bsize << " " << s.blocks << " " << s.bfree << " " << s.bavail << " " << s.files << " " << s.ffree << " "
       << s.namemax << "\n";
  CHECK(run("stat -f -c '%S %b %f %a %c %d %l' " + k.dir) == ours.str());
}

// An image the kernel wrote: a file of 12,000 one-block extents (every other
// block written: a bmbt of two levels under the inode root), made on a fresh
// mkfs image through a read-write loop mount.
struct FragmentedImage {
  MkfsImage img;
  uint64_t ino = 0;
  std::string sha1;
  static constexpr int kExtents = 12000;
  FragmentedImage() {
    KernelMount k(img.path, "rw");
    REQUIRE(k.ok);
    // One command per line on xfs_io's stdin (too long for one argv string).
    const std::string cmds = img.path + ".cmds";
    {
      std::ofstream c(cmds);
      for (int i = 0; i < kExtents; i++) c << "pwrite -q -S " << i % 251 << " " << 2 * i * 4096 << " 4096\n";
      c << "falloc " << 2 * kExtents * 4096 + 8192 << " 65536\ntruncate " << 2 * kExtents * 4096 + 200000 << "\n";
    }
    const std::string cmd = "xfs_io -f " + k.dir + "/frag < " + cmds + " && rm " + cmds;
    REQUIRE(system(cmd.c_str()) == 0);
    struct stat st;
    REQUIRE(stat((k.dir + "/frag").c_str(), &st) == 0);
    ino = st.st_ino;
    sha1 = run("sha1sum < " + k.dir + "/frag").substr(0, 40);
  }
};

TEST_CASE("mount: a two-level bmbt file maps like xfs_db bmap and reads like the kernel", "[mount]") {
  if (!have_xfsprogs() || !can_loop_mount()) {
    WARN("SKIP: needs root, loop devices and XFS in the kernel to write a fragmented file");
    return;
  }
  FragmentedImage f;
  REQUIRE(run("xfs_db -r -c 'inode " + std::to_string(f.ino) + "' -c 'p u3.bmbt.level' " + f.img.path) ==
          "u3.bmbt.level = 2\n");
  auto m = open_ok(f.img.path);
  InodeRef ip;
  REQUIRE(m->iget(f.ino, &ip) == 0);
  const auto want = xfs_db_bmap(f.img.path, f.ino);
  // Delayed allocation may fill the holes with unwritten extents: at least one per write.
  REQUIRE(want.size() > FragmentedImage::kExtents);
  CHECK(ip->df.extents == want);
  std::vector<std::byte> data(ip->core.size);
  size_t got = 0;
  REQUIRE(m->read_data(*ip, 0, data.size(), data.data(), &got) == 0);
  REQUIRE(got == data.size());
  const std::string tmp = f.img.path + ".data";
  std::ofstream(tmp, std::ios::binary).write(reinterpret_cast<const char*>(data.data()), got);
  CHECK(run("sha1sum < " + tmp).substr(0, 40) == f.sha1);
  unlink(tmp.c_str());

  SECTION("a corrupt bmbt leaf fails that inode with EUCLEAN and leaves the rest readable") {
    // Flip a byte inside the first leaf's records (past its 72-byte header).
    const std::string db = run("xfs_db -r -c 'inode " + std::to_string(f.ino) + "' -c 'addr u3.bmbt.ptrs[1]' -c 'addr ptrs[1]' -c stack " + f.img.path);
    const auto at = db.find("byte offset ");
    REQUIRE(at != std::string::npos);
    const uint64_t off = std::stoull(db.substr(at + 12));
    int fd = open(f.img.path.c_str(), O_RDWR);
    char c;
    REQUIRE(pread(fd, &c, 1, off + 100) == 1);
    c ^= 0x10;
    REQUIRE(pwrite(fd, &c, 1, off + 100) == 1);
    close(fd);
    auto m2 = open_ok(f.img.path);
    CHECK(m2->iget(f.ino, &ip) == EUCLEAN);
    CHECK(m2->iget(f.ino, &ip) == EUCLEAN);  // remembered, not re-read
    CHECK(m2->cache().stats().verifier_failures == 1);
    CHECK(m2->iget(m2->sb().rootino, &ip) == 0);
  }
}

TEST_CASE("mount: a dirty log is replayed in memory by a read-only mount and kept as is with norecovery", "[mount]") {
  if (!have_xfsprogs() || !can_loop_mount()) {
    WARN("SKIP: needs root, loop devices and XFS in the kernel to leave a dirty log");
    return;
  }
  MkfsImage img;
  {
    KernelMount k(img.path, "rw");
    REQUIRE(k.ok);
    REQUIRE(system(("mkdir " + k.dir + "/d && touch " + k.dir + "/d/f{1,2,3} && xfs_io -x -c 'shutdown -f' " + k.dir).c_str()) == 0);
  }
  REQUIRE(run("xfs_logprint -t " + img.path + " 2>&1").find("UNMOUNT") == std::string::npos);
  const std::string sum = run("md5sum < " + img.path);
  std::unique_ptr<Mount> m = open_ok(img.path);
  CHECK(m->recovered());
  CHECK(!m->log_dirty());
  CHECK(m->recovery_note().find("in memory only") != std::string::npos);
  InodeRef root;
  REQUIRE(m->iget(m->sb().rootino, &root) == 0);
  uint64_t dino = 0;
  CHECK(dir_lookup(*m, *root, "d", &dino) == 0);  // made after the last write-back: only in the log
  StatFs replayed;
  REQUIRE(m->statfs(&replayed) == 0);
  m.reset();
  CHECK(run("md5sum < " + img.path) == sum);  // the image is not written

  MountOptions o;
  o.norecovery = true;
  m = open_ok(img.path, o);
  CHECK(m->warnings().empty());
  REQUIRE(m->log_dirty());
  CHECK(!m->recovered());
  CHECK(m->log_warning().find("norecovery") != std::string::npos);
  StatFs s;
  REQUIRE(m->statfs(&s) == 0);
  m.reset();
  {
    KernelMount k(img.path, "ro,norecovery");
    REQUIRE(k.ok);
    CHECK(run("stat -f -c '%b %f %c %d' " + k.dir) == std::to_string(s.blocks) + " " + std::to_string(s.bfree) + " " +
                                                            std::to_string(s.files) + " " + std::to_string(s.ffree) + "\n");
  }
  CHECK(run("md5sum < " + img.path) == sum);
  // The kernel's own replay (it needs a writable device; a read-write mount's
  // statfs holds back the reserve pool, so compare a read-only mount after).
  { KernelMount replay(img.path, "rw"); REQUIRE(replay.ok); }
  KernelMount k(img.path, "ro");
  REQUIRE(k.ok);
  CHECK(run("stat -f -c '%b %f %c %d' " + k.dir) == std::to_string(replayed.blocks) + " " +
                                                        std::to_string(replayed.bfree) + " " + std::to_string(replayed.files) +
                                                        " " + std::to_string(replayed.ffree) + "\n");
}

namespace {

// A fresh image (mkfs options extra) with a directory the kernel made and
// then crashed on (shutdown -f): it is only in the dirty log.
void kernel_crashed_image(const MkfsImage& img) {
  KernelMount k(img.path, "rw");
  REQUIRE(k.ok);
  REQUIRE(system(("mkdir " + k.dir + "/d && touch " + k.dir + "/d/f{1,2,3} && xfs_io -x -c 'shutdown -f' " + k.dir).c_str()) == 0);
}

}  // namespace

TEST_CASE("mount: a read-write open the write path must refuse writes nothing even over a dirty log", "[mount]") {
  if (!have_xfsprogs() || !can_loop_mount()) {
    WARN("SKIP: needs root, loop devices and XFS in the kernel to leave a dirty log");
    return;
  }
  MkfsImage img("-m rmapbt=1");
  kernel_crashed_image(img);
  const std::string sum = run("md5sum < " + img.path);
  MountOptions o;
  o.writable = true;
  std::unique_ptr<Mount> m;
  std::string err;
  CHECK(Mount::open(img.path, o, &m, &err) == EROFS);
  CHECK(err.find("rmapbt") != std::string::npos);
  CHECK(run("md5sum < " + img.path) == sum);  // refused before the replay: the log is still dirty
  m = open_ok(img.path);                      // read-only: replayed in memory
  CHECK(m->recovered());
}

TEST_CASE("mount: a read-write recovery clears the log_incompat features as the kernel does once the log is clean", "[mount]") {
  if (!have_xfsprogs() || !can_loop_mount()) {
    WARN("SKIP: needs root, loop devices and XFS in the kernel to leave a dirty log");
    return;
  }
  MkfsImage img;
  kernel_crashed_image(img);
  // As if the kernel had been using logged xattrs (bit 0) when it crashed.
  // The log holds a superblock buffer: its replay is skipped only if the
  // superblock's LSN is the head's (cycle 1 on a fresh log); the kernel
  // replays such an image and clears the bit too.
  LogPrint lp;
  REQUIRE(logprint(img.path, &lp));
  REQUIRE(lp.state == "DIRTY");
  const std::string lsn = std::to_string((uint64_t{1} << 32) | lp.head);
  REQUIRE(system(("xfs_db -x -c 'sb 0' -c 'write features_log_incompat 1' -c 'write lsn " + lsn + "' " + img.path +
                  " >/dev/null 2>&1")
                     .c_str()) == 0);
  REQUIRE(run("xfs_db -r -c 'sb 0' -c 'print features_log_incompat' " + img.path) == "features_log_incompat = 0x1\n");
  std::unique_ptr<Mount> m = open_ok(img.path);
  REQUIRE(m->recovered());
  REQUIRE(m->sb().features_log_incompat == 1);  // the log did not replay the superblock over it
  m.reset();
  MountOptions o;
  o.writable = true;
  m = open_ok(img.path, o);
  CHECK(m->recovered());
  CHECK(m->sb().features_log_incompat == 0);
  InodeRef root;
  REQUIRE(m->iget(m->sb().rootino, &root) == 0);
  uint64_t dino = 0;
  CHECK(dir_lookup(*m, *root, "d", &dino) == 0);
  m.reset();
  CHECK(run("xfs_db -r -c 'sb 0' -c 'print features_log_incompat' " + img.path) == "features_log_incompat = 0\n");
  CHECK(run("xfs_repair -n " + img.path + " >/dev/null 2>&1; echo $?") == "0\n");
  o.writable = true;
  m = open_ok(img.path, o);  // no longer refused
  CHECK(!m->recovered());
}

TEST_CASE("mount: a corrupt inode fails with EUCLEAN and one log line, other inodes still read", "[mount]") {
  if (!have_xfsprogs()) {
    WARN("SKIP: mkfs.xfs/xfs_db not installed (Debian package xfsprogs)");
    return;
  }
  const std::string copy = demo_image() + ".corrupt";
  REQUIRE(system(("cp --sparse=always " + demo_image() + " " + copy).c_str()) == 0);
  const uint64_t readme = ino_of(copy, "/README");
  const std::string db = run("xfs_db -r -c 'inode " + std::to_string(readme) + "' -c stack " + copy);
  const uint64_t off = std::stoull(db.substr(db.find("byte offset ") + 12));
  int fd = open(copy.c_str(), O_RDWR);
  char c = 0x7f;
  REQUIRE(pwrite(fd, &c, 1, off + 40) == 1);  // inside di_size: the CRC no longer matches
  close(fd);
  auto m = open_ok(copy);
  InodeRef ip;
  CHECK(m->iget(readme, &ip) == EUCLEAN);
  CHECK(m->iget(ino_of(copy, "/files"), &ip) == 0);
  unlink(copy.c_str());
}

TEST_CASE("mount: AGF and AGI verifiers refuse a wrong seqno, length or counter, and statfs fails with EUCLEAN", "[mount]") {
  if (!have_xfsprogs()) {
    WARN("SKIP: mkfs.xfs/xfs_db not installed (Debian package xfsprogs)");
    return;
  }
  struct Case {
    const char* what;
    uint32_t sector;  // 1: AGF, 2: AGI
    std::function<std::vector<std::byte>(std::vector<std::byte>)> edit;
    const char* log;
  };
  const Case cases[] = {
      {"AGF seqno", 1,
       [](auto b) { return edit_with_crc<xd_agf>(b, offsetof(xd_agf, agf_crc), [](xd_agf& a) { a.agf_seqno = to_be32(7); }); },
       "AGF at daddr"},
      {"AGF freeblks", 1,
       [](auto b) {
         return edit_with_crc<xd_agf>(b, offsetof(xd_agf, agf_crc), [](xd_agf& a) { a.agf_freeblks = to_be32(1u << 30); });
       },
       "free space counters"},
      {"AGI length", 2,
       [](auto b) { return edit_with_crc<xd_agi>(b, offsetof(xd_agi, agi_crc), [](xd_agi& a) { a.agi_length = to_be32(5); }); },
       "AGI at daddr"},
      {"AGI CRC", 2,
       [](auto b) {
         b[100] ^= std::byte{1};
         return b;
       },
       "CRC mismatch"},
  };
  for (const Case& c : cases) {
    SECTION(c.what) {
      MkfsImage img;
      std::unique_ptr<Mount> m = open_ok(img.path);
      const uint64_t ag1 = fsblock_to_daddr(m->sb(), uint64_t{1} << m->sb().agblklog);
      m.reset();
      const uint64_t off = (ag1 + c.sector) * 512;
      const auto edited = c.edit(img.read(off, 512));
      int fd = open(img.path.c_str(), O_RDWR);
      REQUIRE(pwrite(fd, edited.data(), edited.size(), static_cast<off_t>(off)) == 512);
      close(fd);
      m = open_ok(img.path);
      bc::test::StderrCapture cap;
      StatFs s;
      CHECK(m->statfs(&s) == EUCLEAN);
      const std::string err = cap.text();
      INFO(err);
      CHECK(bc::test::count_lines(err, "xfsfuse: metadata corruption:") == 1);
      CHECK(err.find(c.log) != std::string::npos);
      InodeRef root;
      CHECK(m->iget(m->sb().rootino, &root) == 0);
    }
  }
}

}  // namespace xfsfuse::fs::test
