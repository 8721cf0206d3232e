// Transactions: a committed inode change reaches the disk (xfs_db and a new
// mount see it, xfs_repair -n is clean), a cancelled one leaves buffers and
// inodes as they were, reservations fail with ENOSPC up front and go back
// when unused, and a commit that cannot encode an inode writes nothing.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cerrno>

#include "fs/mount.h"
#include "fs/trans/trans.h"
#include "tests/fs/dir_test_util.h"

namespace xfsfuse::fs::test {
namespace {

// The first regular file under the root of m.
InodeRef some_file(Mount& m) {
  InodeRef root;
  REQUIRE(m.iget(m.sb().rootino, &root) == 0);
  int err = 0;
  for (const Got& g : iterate(m, *root, 0, SIZE_MAX, &err)) {
    InodeRef ip;
    if (g.name != "." && g.name != ".." && m.iget(g.ino, &ip) == 0 && S_ISREG(ip->core.mode)) return ip;
  }
  FAIL("no regular file in the root directory");
  return nullptr;
}

std::string xdb_core(const std::string& img, uint64_t ino, const std::string& field) {
  return run("xfs_db -r -c 'inode " + std::to_string(ino) + "' -c 'print core." + field + "' " + img + " 2>&1");
}

bool repair_clean(const std::string& img) { return system(("xfs_repair -n " + img + " >/dev/null 2>&1").c_str()) == 0; }

}  // namespace

TEST_CASE("trans: a committed inode change is written back and read again", "[trans]") {
  const std::string& demo = image("demo");
  if (demo.empty()) return;
  ImageCopy img(demo);
  uint64_t ino;
  {
    auto m = open_rw(img.path);
    InodeRef ip = some_file(*m);
    ino = ip->core.ino;
    std::unique_ptr<Transaction> tp;
    REQUIRE(Transaction::begin(*m, &tp) == 0);
    tp->join_inode(ip);
    ip->core.mode = S_IFREG | 0604;
    ip->core.uid = 4242;
    ip->core.ctime = {1800000000, 5};
    tp->log_inode(ip.get(), kDirtyCore);
    CommittedTrans ct;
    REQUIRE(tp->commit(&ct) == 0);
    REQUIRE(ct.inodes.size() == 1);
    CHECK(ct.inodes[0].ino == ino);
    REQUIRE(ct.bufs.size() == 1);  // the inode's cluster buffer: exactly its bytes changed
    REQUIRE(ct.bufs[0].ranges.size() == 1);
    CHECK(ct.bufs[0].ranges[0].second - ct.bufs[0].ranges[0].first == m->sb().inodesize);
    CHECK(ip->dirty == 0);
    REQUIRE(m->unmount_clean() == 0);
  }
  CHECK(xdb_core(img.path, ino, "mode") == "core.mode = 0100604\n");
  CHECK(xdb_core(img.path, ino, "uid") == "core.uid = 4242\n");
  CHECK(repair_clean(img.path));
  auto m = open_mount(img.path);
  InodeRef ip;
  REQUIRE(m->iget(ino, &ip) == 0);
  CHECK(ip->core.mode == (S_IFREG | 0604));
  CHECK(ip->core.ctime == Timestamp{1800000000, 5});
}

TEST_CASE("trans: cancel puts joined buffers and inodes back and writes nothing", "[trans]") {
  const std::string& demo = image("demo");
  if (demo.empty()) return;
  ImageCopy img(demo);
  const std::string before = run("md5sum < " + img.path);
  {
    auto m = open_rw(img.path);
    InodeRef ip = some_file(*m);
    const Inode core = ip->core;
    const std::vector<std::byte> raw = ip->raw;
    std::unique_ptr<Transaction> tp;
    REQUIRE(Transaction::begin(*m, &tp) == 0);
    tp->join_inode(ip);
    ip->core.size = 1;
    ip->df.extents.clear();
    tp->log_inode(ip.get(), kDirtyCore | kDirtyData);
    const bc::DiskRange agf{ag_header_daddr(m->sb(), 0, 1), static_cast<uint32_t>(m->sb().sectsize >> 9)};
    bc::BufHandle* h;
    REQUIRE(tp->read_buf({&agf, 1}, &m->buf_ops().agf(), bc::kAnyOwner, &h) == 0);
    const std::vector<std::byte> agf_before(h->data(), h->data() + h->size());
    std::memset(h->data() + 8, 0xff, 8);
    tp->log_buf(h, 8, 8);
    bc::BufHandle* again;
    REQUIRE(tp->read_buf({&agf, 1}, &m->buf_ops().agf(), bc::kAnyOwner, &again) == 0);
    CHECK(again == h);  // joined once
    tp->cancel();
    CHECK(ip->core.size == core.size);
    CHECK(ip->raw == raw);
    CHECK(ip->df.extents.size() == core.nextents);
    CHECK(ip->dirty == 0);
    bc::BufHandle r;
    REQUIRE(m->cache().get({&agf, 1}, &m->buf_ops().agf(), bc::kAnyOwner, bc::kGetShared, &r) == 0);
    CHECK(std::equal(agf_before.begin(), agf_before.end(), r.data()));
    CHECK(!r.dirty());
    r.release();
    REQUIRE(m->unmount_clean() == 0);
  }
  // Nothing was logged, nothing written: the image is as it was.
  CHECK(run("md5sum < " + img.path) == before);
}

TEST_CASE("trans: reservations fail with ENOSPC before any change and unused ones go back", "[trans]") {
  const std::string& demo = image("demo");
  if (demo.empty()) return;
  ImageCopy img(demo);
  auto m = open_rw(img.path);
  const uint64_t free = m->sb().fdblocks;
  const uint64_t held_back = uint64_t{m->sb().agcount} * 8;
  std::unique_ptr<Transaction> tp;
  REQUIRE(Transaction::begin(*m, &tp) == 0);
  CHECK(tp->reserve_blocks(free - held_back + 1) == ENOSPC);
  CHECK(tp->reserved() == 0);
  REQUIRE(tp->reserve_blocks(free - held_back) == 0);
  std::unique_ptr<Transaction> t2;
  REQUIRE(Transaction::begin(*m, &t2) == 0);
  CHECK(t2->reserve_blocks(1) == ENOSPC);
  tp->use_blocks(10);
  REQUIRE(tp->commit() == 0);  // 10 used, the rest back
  CHECK(t2->reserve_blocks(free - held_back - 10) == 0);
  CHECK(t2->reserve_blocks(1) == ENOSPC);
  t2->cancel();
  REQUIRE(Transaction::begin(*m, &tp) == 0);
  CHECK(tp->reserve_blocks(free - held_back - 10) == 0);
}

TEST_CASE("trans: an inode that cannot be encoded fails the commit, writes nothing and shuts the mount down",
          "[trans]") {
  const std::string& demo = image("demo");
  if (demo.empty()) return;
  ImageCopy img(demo);
  auto m = open_rw(img.path);
  InodeRef ip = some_file(*m);
  std::unique_ptr<Transaction> tp;
  REQUIRE(Transaction::begin(*m, &tp) == 0);
  tp->join_inode(ip);
  ip->core.nextents += 1;  // the fork no longer matches the core
  ip->core.mode = S_IFREG | 0777;
  tp->log_inode(ip.get(), kDirtyCore);
  CHECK(tp->commit() == EUCLEAN);
  CHECK(m->shut_down_state());
  CHECK(ip->core.mode != (S_IFREG | 0777));  // cancelled: the in-core inode is as it was
  std::unique_ptr<Transaction> t2;
  CHECK(Transaction::begin(*m, &t2) == EIO);
  CHECK(m->unmount_clean() == 0);  // nothing more is written
  m.reset();
  // Nothing of the change reached the image or its log: it needs no repair
  // (with nolog, NEEDSREPAIR would be set).
  CHECK(repair_clean(img.path));
}

TEST_CASE("trans: a cancelled transaction leaves no made-up buffer in the cache", "[trans]") {
  const std::string& demo = image("demo");
  if (demo.empty()) return;
  ImageCopy img(demo);
  auto m = open_rw(img.path);
  // A block past the root chunk of AG 1: free on the demo image.
  const bc::DiskRange map{agbno_to_daddr(m->sb(), 1, 2000), static_cast<uint32_t>(m->sb().blocksize >> 9)};
  std::unique_ptr<Transaction> tp;
  REQUIRE(Transaction::begin(*m, &tp) == 0);
  bc::BufHandle* h;
  REQUIRE(tp->get_new_buf({&map, 1}, nullptr, &h) == 0);
  std::memset(h->data(), 0xab, h->size());
  tp->log_buf(h, 0, h->size());
  tp->cancel();
  bc::BufHandle again;
  CHECK(m->cache().get({&map, 1}, nullptr, bc::kAnyOwner, bc::kGetIncore, &again) == ENOENT);
}

TEST_CASE("trans: blocks freed in a transaction take a new buffer in it, a joined one of another shape is EBUSY",
          "[trans]") {
  const std::string& demo = image("demo");
  if (demo.empty()) return;
  ImageCopy img(demo);
  auto m = open_rw(img.path);
  const uint32_t sects = m->sb().blocksize >> 9;
  const bc::DiskRange two{agbno_to_daddr(m->sb(), 1, 2000), 2 * sects};
  const bc::DiskRange one{two.daddr, sects};
  std::unique_ptr<Transaction> tp;
  REQUIRE(Transaction::begin(*m, &tp) == 0);
  // File data freed here (no buffer of it anywhere) and taken for metadata.
  tp->invalidate_range(two);
  bc::BufHandle* h;
  CHECK(tp->get_new_buf({&one, 1}, nullptr, &h) == 0);
  // The rest of that range: a joined buffer covers none of it either.
  const bc::DiskRange second{two.daddr + sects, sects};
  CHECK(tp->get_new_buf({&second, 1}, nullptr, &h) == 0);
  // A joined two-block buffer freed, then one block of it wanted alone.
  const bc::DiskRange other{agbno_to_daddr(m->sb(), 1, 2010), 2 * sects};
  REQUIRE(tp->get_new_buf({&other, 1}, nullptr, &h) == 0);
  tp->stale_buf(h);
  tp->invalidate_range(other);
  const bc::DiskRange half{other.daddr, sects};
  CHECK(tp->get_new_buf({&half, 1}, nullptr, &h) == EBUSY);
  tp->cancel();
}

}  // namespace xfsfuse::fs::test
