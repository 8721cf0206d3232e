// fs/buf_ops.h: the inode cluster verifier on a real cluster (read through
// Mount::read_inode_cluster) and on copies with one inode field broken; the
// AG header ops reached through a Mount.
#include "fs/buf_ops.h"

#include <cstddef>
#include <cstring>
#include <functional>

#include "buffer_cache/crc32c.h"
#include "fs/format/endian.h"
#include "fs/format/inode.h"
#include "fs/mount.h"
#include "tests/fs/fs_test_util.h"

namespace xfsfuse::fs {
namespace {

using Bytes = std::vector<std::byte>;

// A copy of cluster with inode i edited as an xd_dinode; its CRC refreshed
// unless keep_crc, so only the edit is wrong.
Bytes edited(const Bytes& cluster, uint32_t inodesize, size_t i, const std::function<void(xd_dinode&)>& f,
             bool keep_crc = false) {
  Bytes b = cluster;
  const std::span<std::byte> raw(b.data() + i * inodesize, inodesize);
  xd_dinode d;
  std::memcpy(&d, raw.data(), sizeof d);
  f(d);
  std::memcpy(raw.data(), &d, sizeof d);
  if (!keep_crc) bc::xfs_cksum_update(raw, offsetof(xd_dinode, di_crc));
  return b;
}

TEST_CASE("buf_ops: inode clusters: reads are lenient, writes refuse any inode that is not a valid v3 inode",
          "[buf_ops]") {
  if (!test::have_xfsprogs()) {
    WARN("SKIP: mkfs.xfs/xfs_db not installed (Debian package xfsprogs)");
    return;
  }
  const test::MkfsImage img;
  std::unique_ptr<Mount> m;
  std::string err;
  REQUIRE(Mount::open(img.path, {}, &m, &err) == 0);
  const Superblock& sb = m->sb();
  const bc::BufOps& ops = m->buf_ops().inode_cluster();
  CHECK(std::string(ops.name()) == "inode cluster");

  // The root inode's cluster, as iget() reads it.
  const uint32_t agino = ino_to_agino(sb, sb.rootino);
  bc::BufHandle h;
  uint32_t first = 0;
  REQUIRE(m->read_inode_cluster(ino_to_agno(sb, sb.rootino), agino_to_agbno(sb, agino), &h, &first) == 0);
  const uint64_t daddr = h.daddr();
  const Bytes good(h.data(), h.data() + h.size());
  h.release();
  REQUIRE(good.size() == fsblocks_to_bytes(sb, m->cluster_blocks()));
  const size_t ninodes = good.size() / sb.inodesize;
  // A fresh chunk holds the root, a few metadata inodes and free ones (mode 0).
  size_t free_inodes = 0;
  for (size_t i = 0; i < ninodes; i++) {
    xd_dinode d;
    std::memcpy(&d, good.data() + i * sb.inodesize, sizeof d);
    free_inodes += be16(d.di_mode) == 0;
  }
  REQUIRE(free_inodes > 0);

  const bc::Uuid& uuid = sb.meta_uuid;
  std::string why;
  SECTION("a good cluster passes and is left as it was") {
    CHECK(ops.verify_read(bc::VerifyInput{good, daddr, &uuid}, &why));
    Bytes b = good;
    CHECK(ops.verify_write(b, daddr, &uuid, /*lsn=*/0x100000020, &why));
    CHECK(b == good);
  }
  SECTION("reads check only that the buffer holds whole inodes") {
    Bytes bad = edited(good, sb.inodesize, 3, [](xd_dinode& d) { d.di_magic = to_be16(0x4958); });
    CHECK(ops.verify_read(bc::VerifyInput{bad, daddr, &uuid}, &why));
    const Bytes partial(good.begin(), good.end() - 8);
    CHECK_FALSE(ops.verify_read(bc::VerifyInput{partial, daddr, &uuid}, &why));
    CHECK(why.find("whole number") != std::string::npos);
  }
  SECTION("each bad field of one inode refuses the write") {
    const size_t i = ninodes - 2;  // a free inode, or one in use: judged the same
    const uint64_t ino = agino_to_ino(sb, ino_to_agno(sb, sb.rootino),
                                      agbno_to_agino(sb, first, 0) + static_cast<uint32_t>(i));
    struct Case {
      const char* what;
      Bytes data;
      const char* reason;
    };
    const Case cases[] = {
        {"magic", edited(good, sb.inodesize, i, [](xd_dinode& d) { d.di_magic = to_be16(0x4958); }), "bad magic"},
        {"version", edited(good, sb.inodesize, i, [](xd_dinode& d) { d.di_version = 2; }), "version 2"},
        {"di_ino", edited(good, sb.inodesize, i, [](xd_dinode& d) { d.di_ino = to_be64(be64(d.di_ino) + 1); }),
         "is not its number"},
        {"uuid", edited(good, sb.inodesize, i, [](xd_dinode& d) { d.di_uuid.b[5] ^= 1; }), "uuid"},
        {"CRC", edited(good, sb.inodesize, i, [](xd_dinode& d) { d.di_gen = to_be32(be32(d.di_gen) + 1); }, true),
         "CRC mismatch"},
    };
    for (const Case& c : cases) {
      INFO(c.what);
      Bytes b = c.data;
      why.clear();
      CHECK_FALSE(ops.verify_write(b, daddr, &uuid, 0, &why));
      CHECK(why.find("inode " + std::to_string(ino) + ": ") == 0);
      CHECK(why.find(c.reason) != std::string::npos);
    }
  }
  SECTION("a cluster written at another place holds inodes of the wrong numbers") {
    Bytes b = good;
    CHECK_FALSE(ops.verify_write(b, daddr + fsblocks_to_sectors(sb, m->cluster_blocks()), &uuid, 0, &why));
    CHECK(why.find("is not its number") != std::string::npos);
  }
  SECTION("an in-use inode with mode 0 (freed) is still a valid inode") {
    Bytes b = edited(good, sb.inodesize, agino_to_index(sb, agino) + (agino_to_agbno(sb, agino) - first) * sb.inopblock,
                     [](xd_dinode& d) { d.di_mode = 0; });
    CHECK(ops.verify_write(b, daddr, &uuid, 0, &why));
  }
}

TEST_CASE("buf_ops: the AG header ops of a mount check the AG of the daddr", "[buf_ops]") {
  if (!test::have_xfsprogs()) {
    WARN("SKIP: mkfs.xfs/xfs_db not installed (Debian package xfsprogs)");
    return;
  }
  const test::MkfsImage img;
  std::unique_ptr<Mount> m;
  std::string err;
  REQUIRE(Mount::open(img.path, {}, &m, &err) == 0);
  const Superblock& sb = m->sb();
  const auto agf1 = img.read(daddr_to_bytes(ag_header_daddr(sb, 1, 1)), sb.sectsize);
  std::string why;
  CHECK(m->buf_ops().agf().verify_read(bc::VerifyInput{agf1, ag_header_daddr(sb, 1, 1), &sb.meta_uuid}, &why));
  CHECK_FALSE(m->buf_ops().agf().verify_read(bc::VerifyInput{agf1, ag_header_daddr(sb, 2, 1), &sb.meta_uuid}, &why));
  CHECK(why.find("seqno 1 in AG 2") != std::string::npos);
}

}  // namespace
}  // namespace xfsfuse::fs
