// The log writer end to end: real changes made through the driver's Mount
// (files, a directory grown to leaf or node form with 64 KiB blocks, a
// symlink, unlinks that free a directory data block) are captured at commit
// (Mount::set_commit_observer), formatted (fs/log/format.h) and written
// (fs/log/writer.h) into the log of a copy of the image taken before the
// changes.  That copy must then become the image the driver wrote home:
//  - replayed by our own recovery (a read-write Mount): the same tree, inode
//    numbers and sizes included, and xfs_repair -n clean;
//  - read by xfs_logprint -t: every transaction decoded, nothing "bad";
//  - replayed by the kernel (mount -o loop): the same tree as the kernel
//    shows for the home image; xfs_repair -n clean after its unmount.
// Needs mkfs.xfs (skips silently without, as every image test); the kernel
// part needs root, loop devices, xfs_logprint ("SKIP:" otherwise).
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <mutex>
#include <regex>
#include <sstream>

#include "buffer_cache/block_device.h"
#include "fs/dir.h"
#include "fs/format/log.h"
#include "fs/log/ends.h"
#include "fs/log/format.h"
#include "fs/log/reader.h"
#include "fs/log/record.h"
#include "fs/log/writer.h"
#include "fs/mount.h"
#include "fs/ops/create.h"
#include "fs/ops/file_write.h"
#include "fs/ops/remove.h"
#include "fs/superblock.h"
#include "tests/fs/dir_test_util.h"
#include "tests/fs/fs_test_util.h"
#include "tests/fs/log_kernel_test_util.h"

namespace xfsfuse::fs::test {
namespace {

const Cred kRoot{0, 0, {}};

// Forwards to a device but makes sync a no-op: the test writes thousands of
// records into an image copy whose durability does not matter.
class NoSyncDevice : public bc::BlockDevice {
 public:
  explicit NoSyncDevice(bc::BlockDevice& d) : d_(d) {}
  int preadv(const iovec* iov, int n, uint64_t off) override { return d_.preadv(iov, n, off); }
  int pwritev(const iovec* iov, int n, uint64_t off) override { return d_.pwritev(iov, n, off); }
  int sync() override { return 0; }
  uint64_t size_bytes() const override { return d_.size_bytes(); }
  bool writable() const override { return d_.writable(); }

 private:
  bc::BlockDevice& d_;
};

std::string name(const char* prefix, int i) {
  char s[32];
  std::snprintf(s, sizeof s, "%s%05d", prefix, i);
  return s;
}

// Every path under the root with its inode number, mode, link count and
// size, sorted: what two images must agree on.
void walk(Mount& m, const CachedInode& dir, const std::string& path, std::vector<std::string>* out) {
  int err = 0;
  for (const Got& g : iterate(m, dir, 0, SIZE_MAX, &err)) {
    if (g.name == "." || g.name == "..") continue;
    InodeRef ip;
    REQUIRE(m.iget(g.ino, &ip) == 0);
    std::ostringstream line;
    line << path << "/" << g.name << " " << g.ino << " " << std::oct << ip->core.mode << std::dec << " "
         << ip->core.nlink << " " << ip->core.size;
    out->push_back(line.str());
    if (S_ISDIR(ip->core.mode)) walk(m, *ip, path + "/" + g.name, out);
  }
  REQUIRE(err == 0);
}

std::vector<std::string> tree(const std::string& img) {
  auto m = open_mount(img);
  InodeRef root;
  REQUIRE(m->iget(m->sb().rootino, &root) == 0);
  std::vector<std::string> v;
  walk(*m, *root, "", &v);
  std::sort(v.begin(), v.end());
  return v;
}

struct LogStats {
  uint32_t transactions = 0, records = 0, cancels = 0, stale_bufs = 0, multi_map = 0, leaf1 = 0, leafn = 0;
  uint32_t icreates = 0, cluster_items = 0;  // inode-create items; buffer items of inode clusters (never)
  uint64_t bytes = 0;
};

// Formats and writes trans into the log of img (clean, as mkfs left it),
// one write per transaction, the tail staying at the first record.
LogStats write_log(const std::string& img, const std::vector<CommittedTrans>& trans) {
  std::unique_ptr<bc::BlockDevice> file;
  REQUIRE(bc::FileDevice::open(img, true, &file) == 0);
  NoSyncDevice dev(*file);
  std::vector<std::byte> sector(512);
  iovec iov{sector.data(), sector.size()};
  REQUIRE(dev.preadv(&iov, 1, 0) == 0);
  Superblock sb;
  std::string why;
  REQUIRE(decode_superblock(sector, &sb, &why) == 0);
  xlog::LogPlace at;
  REQUIRE(xlog::LogReader::internal(dev, sb, &at.log_start, &at.log_blocks, &why) == 0);
  at.uuid = sb.uuid;
  xlog::LogEnds e;
  REQUIRE(xlog::find_log_ends(xlog::LogReader(dev, at.log_start, at.log_blocks), sb.uuid, &e, &why) == 0);
  REQUIRE(e.clean);
  at.head_block = e.head_block;
  at.head_cycle = e.head_cycle;
  at.prev_block = xlog::lsn_block(e.last_lsn);
  LogStats ls;
  uint64_t tail = 0;
  uint32_t tid = 0x10000;
  for (const CommittedTrans& ct : trans) {
    std::vector<xlog::LogOp> ops;
    xlog::FormatStats fs;
    int rc = xlog::format_trans(ct, sb, ++tid, xlog::make_lsn(at.head_cycle, at.head_block), &ops, &fs, &why);
    INFO(why);
    REQUIRE(rc == 0);
    at.tail_lsn = tail;
    xlog::Written w;
    rc = xlog::write_ops(dev, at, ops, &w, &why);
    INFO(why);
    REQUIRE(rc == 0);
    if (tail == 0) tail = w.first_lsn;
    at.prev_block = xlog::lsn_block(w.last_lsn);
    at.head_block = w.head_block;
    at.head_cycle = w.head_cycle;
    ls.transactions++;
    ls.records += w.records;
    ls.bytes += uint64_t{w.blocks} * 512;
    ls.cancels += fs.cancel_items;
    ls.icreates += fs.icreate_items;
    for (size_t i = 0; i < ops.size(); i++) {  // a buffer item's format region, typed inode cluster, no inode-buffer flag
      const auto& p = ops[i].payload;
      if (p.size() < 4 || p[0] != std::byte{XD_LI_BUF & 0xff} || p[1] != std::byte{XD_LI_BUF >> 8}) continue;
      xd_buf_log_format f{};
      std::memcpy(&f, p.data(), std::min(sizeof f, p.size()));
      if (p.size() != XD_BUF_LOG_FORMAT_HEAD + 4 * size_t{f.blf_map_size}) continue;  // data that only looks like one
      ls.cluster_items += (f.blf_flags >> XD_BLF_TYPE_SHIFT) == XD_BLFT_DINO && !(f.blf_flags & XD_BLF_INODE_BUF);
    }
    for (const auto& b : ct.bufs) {
      ls.stale_bufs += b.stale;
      ls.multi_map += b.maps.size() > 1;
      ls.leaf1 += b.blft == XD_BLFT_DIR_LEAF1;
      ls.leafn += b.blft == XD_BLFT_DIR_LEAFN;
    }
  }
  REQUIRE(file->sync() == 0);
  return ls;
}

// What xfs_db says of the free space, the AG headers' counters and (on a
// fragmented image) the extents of /filler: metadata that no file listing
// shows.
std::string metadata(const std::string& img, bool fragmented) {
  std::string cmds = "-c 'freesp -s'";
  for (int ag = 0; ag < 2; ag++)
    cmds += " -c 'agf " + std::to_string(ag) + "' -c 'p freeblks longest btreeblks' -c 'agi " + std::to_string(ag) +
            "' -c 'p count freecount'";
  if (fragmented) cmds += " -c 'path /filler' -c 'bmap'";
  return run("xfs_db -r " + cmds + " " + img + " 2>&1");
}

bool have_kernel_tools() {
  return geteuid() == 0 && system("command -v xfs_logprint >/dev/null && command -v xfs_repair >/dev/null") == 0;
}

std::string kernel_tree(const std::string& img, const std::string& mnt) {
  if (system(("mount -o loop " + img + " " + mnt + " 2>/dev/null").c_str()) != 0) return "";
  if (system(("mountpoint -q " + mnt).c_str()) != 0) return "";
  const std::string t = run("cd " + mnt + " && find . -printf '%p %i %m %n %s %y\\n' | sort");
  for (int i = 0; i < 20 && system(("umount " + mnt + " 2>/dev/null").c_str()) != 0; i++) usleep(100000);
  return t;
}

// Fills the free space of img with one preallocated file, then punches
// 4-block holes every 8 blocks: free space in pieces of 4 blocks, so every
// 64 KiB directory block allocated later is 4 extents (and inode chunks
// come as sparse 4-block pieces).
void fragment(const std::string& img) {
  auto m = open_rw(img);
  InodeRef root, f;
  REQUIRE(m->iget(m->sb().rootino, &root) == 0);
  REQUIRE(make_node(*m, root, "filler", kRoot, S_IFREG | 0644, 0, &f) == 0);
  constexpr uint64_t kStep = 1 << 20, kBlock = 4096;
  uint64_t size = 0;
  for (uint64_t step : {kStep, kStep / 16, kBlock})
    while (fallocate_file(*m, f, 0, size, step) == 0) size += step;
  REQUIRE(size > 16 * kStep);
  for (uint64_t off = 0; off < size; off += 8 * kBlock)
    REQUIRE(fallocate_file(*m, f, kFallocPunchHole | kFallocKeepSize, off, 4 * kBlock) == 0);
  // What the first file could not take (the space held back then) goes to
  // a second one, in 16-block pieces: the allocator takes whole extents
  // for those while there are any.
  REQUIRE(make_node(*m, root, "filler2", kRoot, S_IFREG | 0644, 0, &f) == 0);
  for (uint64_t off = 0; off < 64 * 16 * kBlock; off += 16 * kBlock)
    REQUIRE(fallocate_file(*m, f, 0, off, 16 * kBlock) == 0);
  REQUIRE(m->unmount_clean() == 0);
}

// Removes the image copies and the mount point a round trip makes, however
// it ends.
struct Leftovers {
  std::vector<std::string> files;
  std::string dir;
  ~Leftovers() {
    for (const std::string& f : files) ::unlink(f.c_str());
    if (!dir.empty()) ::rmdir(dir.c_str());
  }
};

// The round trip with `files` files in one directory (on free space in
// 4-block pieces when fragmented).  kernel_replay: whether the kernel is
// asked to replay the log (see the fragmented case).
void round_trip(int files, const std::string& mkfs_extra, long long bytes, bool fragmented, bool kernel_replay) {
  MkfsImage home(mkfs_extra, bytes);
  if (fragmented) fragment(home.path);
  const std::string pre = home.path + ".pre", ours = home.path + ".ours";
  Leftovers left{{pre, ours}, ""};
  REQUIRE(system(("cp --sparse=always " + home.path + " " + pre).c_str()) == 0);

  std::vector<CommittedTrans> trans;
  {
    auto m = open_rw(home.path);
    std::mutex mu;
    m->set_commit_observer([&](CommittedTrans&& ct) {
      std::lock_guard<std::mutex> l(mu);
      trans.push_back(std::move(ct));
    });
    InodeRef root, d, sub, f;
    REQUIRE(m->iget(m->sb().rootino, &root) == 0);
    REQUIRE(make_node(*m, root, "big", kRoot, S_IFDIR | 0755, 0, &d) == 0);
    REQUIRE(make_node(*m, root, "sub", kRoot, S_IFDIR | 0700, 0, &sub) == 0);
    REQUIRE(make_symlink(*m, sub, "link", "../big/f00001", kRoot, &f) == 0);
    REQUIRE(make_node(*m, sub, "fifo", kRoot, S_IFIFO | 0644, 0, &f) == 0);
    for (int i = 0; i < files; i++) REQUIRE(make_node(*m, d, name("f", i), kRoot, S_IFREG | 0644, 0, &f) == 0);
    // All but the first names: the data blocks after the first (about 2700
    // names of 24 bytes a 64 KiB block) empty and are unmapped — freed
    // buffers — and the directory shrinks back towards block form.
    for (int i = 1000; i < files; i++) REQUIRE(fs::unlink(*m, d, name("f", i), kRoot) == 0);
    REQUIRE(fs::unlink(*m, root, "sub", kRoot) == EISDIR);
    REQUIRE(fs::unlink(*m, sub, "fifo", kRoot) == 0);
    if (fragmented) {  // a file in btree form loses pieces: bmbt block changes
      REQUIRE(resolve(*m, "/filler", &f) == 0);
      for (uint64_t off = 1 << 20; off < 3 << 20; off += 64 << 10)
        REQUIRE(fallocate_file(*m, f, kFallocPunchHole | kFallocKeepSize, off + 16384, 8192) == 0);
    }
    m->set_commit_observer({});
    REQUIRE(m->unmount_clean() == 0);
  }
  INFO(run("xfs_repair -n " + home.path + " 2>&1 | tail -5"));
  REQUIRE(system(("xfs_repair -n " + home.path + " >/dev/null 2>&1").c_str()) == 0);

  const LogStats ls = write_log(pre, trans);
  WARN(std::to_string(ls.transactions) + " transactions, " + std::to_string(ls.records) + " records, " +
       std::to_string(ls.bytes) + " log bytes, " + std::to_string(ls.cancels) + " cancel items, " +
       std::to_string(ls.multi_map) + " discontiguous buffers, " + std::to_string(ls.leaf1) + " leaf1 and " +
       std::to_string(ls.leafn) + " leafn buffers");
  CHECK(ls.transactions == trans.size());
  CHECK(ls.leaf1 > 0);                   // the directory went through leaf form...
  if (files > 8200) CHECK(ls.leafn > 0);  // ...and node form
  CHECK(ls.stale_bufs > 0);
  CHECK(ls.icreates > 0);  // new inode chunks: inode-create items...
  CHECK(ls.cluster_items == 0);  // ...and no inode cluster logged as a buffer
  CHECK(ls.cancels >= ls.stale_bufs);
  if (fragmented) CHECK(ls.multi_map > 0);

  // Our recovery.
  REQUIRE(system(("cp --sparse=always " + pre + " " + ours).c_str()) == 0);
  {
    auto m = open_rw(ours);
    CHECK(m->recovered());
    INFO(m->recovery_note());
    WARN(m->recovery_note());
    REQUIRE(m->unmount_clean() == 0);
  }
  CHECK(tree(ours) == tree(home.path));
  CHECK(metadata(ours, fragmented) == metadata(home.path, fragmented));
  {
    INFO(run("xfs_repair -n " + ours + " 2>&1 | tail -20"));
    CHECK(system(("xfs_repair -n " + ours + " >/dev/null 2>&1").c_str()) == 0);
  }

  // The kernel.
  if (!have_kernel_tools()) {
    WARN("SKIP: kernel part: not root, or no xfs_logprint / xfs_repair");
    return;
  }
  const std::string lp = run("L=$(losetup -f --show " + pre + ") && { xfs_logprint -t $L 2>&1; losetup -d $L; }");
  size_t decoded = 0;
  for (size_t at = lp.find("TRANS:"); at != std::string::npos; at = lp.find("TRANS:", at + 1)) decoded++;
  CHECK(decoded == ls.transactions);
  // A complaint, not a hex address holding "bad".
  static const std::regex complaint("[^0-9a-zA-Z](bad|Invalid)");
  std::smatch found;
  if (std::regex_search(lp, found, complaint)) {
    const size_t at = static_cast<size_t>(found.position(0));
    INFO(lp.substr(at - std::min<size_t>(at, 1500), 2000));
    CHECK(false);
  }
  if (!kernel_replay) return;
  const std::string mnt = home.path + ".mnt";
  REQUIRE(mkdir(mnt.c_str(), 0755) == 0);
  left.dir = mnt;
  const std::string want = kernel_tree(home.path, mnt);
  if (want.empty()) {
    WARN("SKIP: kernel part: mount -o loop failed (no loop devices or no XFS in this kernel?)");
    return;
  }
  const std::string got = kernel_tree(pre, mnt);
  CHECK(want.find("./big/f00999 ") != std::string::npos);
  CHECK(want.find("./big/f01000 ") == std::string::npos);
  CHECK(got == want);
  CHECK(metadata(pre, fragmented) == metadata(home.path, fragmented));
  {
    INFO(run("xfs_repair -n " + pre + " 2>&1 | tail -20"));
    CHECK(system(("xfs_repair -n " + pre + " >/dev/null 2>&1").c_str()) == 0);
  }
}

}  // namespace

TEST_CASE("log write: driver transactions written to the log rebuild the image in our recovery and the kernel's",
          "[log][kernel]") {
  if (!have_xfsprogs()) return;
  round_trip(5700, "-l size=64m", 320ll << 20, false, true);
}

// Every 64 KiB directory block in 4 extents: one buffer item per segment.
// Our recovery and xfs_logprint are checked; the kernel is not asked to
// replay: Linux 6.18 runs the block-form directory verifier on the first
// segment alone and fails the mount (EUCLEAN) — on a log it wrote itself
// just the same (checked by hand: a kernel-made directory in 5 extents,
// forced shutdown, mount: "Metadata corruption detected at
// __xfs_dir3_data_check", "log mount failed").
TEST_CASE("log write: a directory in discontiguous 64 KiB blocks replays in our recovery", "[log][kernel]") {
  if (!have_xfsprogs()) return;
  round_trip(3000, "-d agcount=2 -l size=48m", 160ll << 20, true, false);
}

TEST_CASE("log write: a node-form directory's transactions replay alike", "[log][kernel][.][long]") {
  if (!have_xfsprogs()) return;
  round_trip(8400, "-l size=512m -d agcount=2", 2ll << 30, false, true);
}

}  // namespace xfsfuse::fs::test
