// Log recovery (fs/log/recover.h) on synthetic logs: buffer items copied
// chunk by chunk (runs split over regions), cancel records, the LSN skip,
// inode buffers (only the unlinked pointer), inode chunk creation followed
// by an inode item (the host-endian core converted), intents left
// unfinished, and items that cannot be right.
#include <catch2/catch.hpp>
#include <cerrno>
#include <cstring>
#include <string>

#include "fs/format/dir.h"
#include "fs/format/inode.h"
#include "fs/format/log.h"
#include "fs/format/magic.h"
#include "fs/inode.h"
#include "fs/log/ends.h"
#include "fs/log/recover.h"
#include "tests/fs/log_test_util.h"

namespace xfsfuse::fs::test {
namespace {

constexpr uint32_t kLogBlocks = 1024;  // the log: sectors 0..1023; the filesystem's blocks follow
const bc::Uuid kUuid{9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6};
constexpr uint8_t kTrans = XD_LOG_CLIENT_TRANSACTION;
constexpr uint64_t kDaddr = 4096;  // a 4 KiB block beyond the log (fsblock 512)
constexpr uint64_t kCluster = 2048;  // the first inode cluster of the chunk at agbno 256
constexpr uint64_t kIno = 2049;      // the second inode of that cluster

Superblock test_sb() { return small_test_sb(4096, kUuid); }

std::vector<std::byte> host_words(std::initializer_list<uint32_t> words) {
  std::vector<std::byte> b(words.size() * 4);
  size_t i = 0;
  for (uint32_t w : words) std::memcpy(b.data() + 4 * i++, &w, 4);
  return b;
}
std::vector<std::byte> bytes(size_t n, uint8_t v) { return std::vector<std::byte>(n, std::byte{v}); }
template <typename T>
std::vector<std::byte> raw(const T& v, size_t n = sizeof(T)) {
  std::vector<std::byte> b(n);
  std::memcpy(b.data(), &v, n);
  return b;
}

// A buffer item's format region: flags, length, daddr and the chunks set.
std::vector<std::byte> buf_format(uint16_t regions, uint16_t flags, uint16_t len, uint64_t daddr,
                                  std::initializer_list<uint32_t> chunks) {
  xd_buf_log_format f{};
  f.blf_type = XD_LI_BUF;
  f.blf_size = regions;
  f.blf_flags = flags;
  f.blf_len = len;
  f.blf_blkno = static_cast<int64_t>(daddr);
  f.blf_map_size = (len * 512u / XD_BLF_CHUNK + 31) / 32;
  for (uint32_t c : chunks) f.blf_data_map[c / 32] |= 1u << (c % 32);
  return raw(f, XD_BUF_LOG_FORMAT_HEAD + 4 * f.blf_map_size);
}

// Writes committed transactions, one record each, after an unmount record;
// each transaction is a list of items, each item a list of regions.
struct Log {
  using Item = std::vector<std::vector<std::byte>>;
  MemDevice dev{(size_t{kLogBlocks} + 4096 * 8) * 512};
  LogBuilder b{dev, kLogBlocks, kUuid};
  Superblock sb = test_sb();
  uint32_t at = 0, tail = 0, tid = 1;
  xlog::RecoveryStats stats;
  std::string why;

  Log() {
    at = b.record(0, 1, xlog::make_lsn(1, 0), LogBuilder::unmount(), 1);
    tail = at;
  }
  // Returns the transaction's LSN.
  uint64_t commit(const std::vector<Item>& items) { return commit_all({items}); }
  // Several transactions in one record (a group commit); returns its LSN.
  uint64_t commit_all(const std::vector<std::vector<Item>>& transactions) {
    std::vector<std::byte> data;
    uint32_t ops = 0;
    for (const auto& items : transactions) {
      append(items, &data, &ops);
      tid++;
    }
    const uint64_t lsn = xlog::make_lsn(1, at);
    at += b.record(at, 1, xlog::make_lsn(1, tail), data, ops);
    return lsn;
  }
  void append(const std::vector<Item>& items, std::vector<std::byte>* out, uint32_t* nops) {
    std::vector<std::byte>& data = *out;
    auto add = [&](uint8_t flags, const std::vector<std::byte>& payload) {
      const auto op = LogBuilder::op_with(tid, kTrans, flags, payload);
      data.insert(data.end(), op.begin(), op.end());
    };
    uint32_t regions = 0;
    for (const Item& it : items) regions += static_cast<uint32_t>(it.size());
    add(XD_LOG_OP_START, {});
    add(0, host_words({kLogTransMagic, 40, tid, regions}));
    uint32_t ops = 3;
    for (const Item& it : items)
      for (const auto& r : it) {
        add(0, r);
        ops++;
      }
    add(XD_LOG_OP_COMMIT, {});
    *nops += ops;
  }
  int replay() {
    xlog::LogEnds e;
    const xlog::LogReader r(dev, 0, kLogBlocks);
    if (int err = xlog::find_log_ends(r, kUuid, &e, &why)) return err;
    return xlog::replay_log(dev, sb, r, e, &stats, &why);
  }
  std::byte* disk(uint64_t daddr) { return dev.at(daddr * 512); }
};

}  // namespace

TEST_CASE("log recover: buffer chunks land where the map says and runs go on in the next region", "[log]") {
  Log log;
  std::memset(log.disk(kDaddr), 0xee, 4096);
  // Chunks 0..3 as two regions of 256 bytes (one run split), chunk 10 alone.
  log.commit({{buf_format(4, 0, 8, kDaddr, {0, 1, 2, 3, 10}), bytes(256, 1), bytes(256, 2), bytes(128, 3)}});
  const int rc = log.replay();
  INFO(log.why);
  REQUIRE(rc == 0);
  CHECK(log.stats.transactions == 1);
  CHECK(log.stats.buffers == 1);
  CHECK(log.stats.buffers_untyped == 1);
  const std::byte* d = log.disk(kDaddr);
  CHECK(d[0] == std::byte{1});
  CHECK(d[255] == std::byte{1});
  CHECK(d[256] == std::byte{2});
  CHECK(d[511] == std::byte{2});
  CHECK(d[512] == std::byte{0xee});  // chunks 4..9 were not logged
  CHECK(d[1279] == std::byte{0xee});
  CHECK(d[1280] == std::byte{3});
  CHECK(d[1408] == std::byte{0xee});
}

TEST_CASE("log recover: a cancel record keeps earlier copies out until its last reference is dropped", "[log]") {
  Log log;
  std::memset(log.disk(kDaddr), 0xee, 4096);
  log.commit({{buf_format(2, 0, 8, kDaddr, {0}), bytes(128, 1)}});
  log.commit({{buf_format(1, XD_BLF_CANCEL, 8, kDaddr, {})}});
  SECTION("copies before the cancel are skipped") {
    REQUIRE(log.replay() == 0);
    CHECK(log.disk(kDaddr)[0] == std::byte{0xee});
    CHECK(log.stats.buffers_cancelled == 1);
    CHECK(log.stats.cancels == 1);
  }
  SECTION("a copy after the cancel replays") {
    log.commit({{buf_format(2, 0, 8, kDaddr, {1}), bytes(128, 7)}});
    REQUIRE(log.replay() == 0);
    CHECK(log.disk(kDaddr)[0] == std::byte{0xee});
    CHECK(log.disk(kDaddr)[128] == std::byte{7});
  }
  SECTION("a cancel of another length does not apply") {
    log.commit({{buf_format(1, XD_BLF_CANCEL, 16, kDaddr, {})}});
    log.commit({{buf_format(2, 0, 8, kDaddr, {2}), bytes(128, 8)}});
    REQUIRE(log.replay() == 0);
    CHECK(log.disk(kDaddr)[256] == std::byte{8});
  }
}

TEST_CASE("log recover: a buffer whose on-disk LSN is as new as the transaction is left alone", "[log]") {
  Log log;
  // A directory data block header of this filesystem with an LSN.
  auto put_header = [&](uint64_t lsn) {
    std::memset(log.disk(kDaddr), 0, 4096);
    store_be(log.disk(kDaddr), 4, kDir3DataMagic);
    store_be(log.disk(kDaddr) + offsetof(xd_dir3_blk_hdr, lsn), 8, lsn);
    std::memcpy(log.disk(kDaddr) + offsetof(xd_dir3_blk_hdr, uuid), kUuid.data(), 16);
  };
  // An untyped item (no verifier) changing chunk 1 only.
  const uint64_t lsn = xlog::make_lsn(1, log.at);
  log.commit({{buf_format(2, 0, 8, kDaddr, {1}), bytes(128, 5)}});
  SECTION("equal LSN: skipped") {
    put_header(lsn);
    REQUIRE(log.replay() == 0);
    CHECK(log.stats.buffers_newer == 1);
    CHECK(log.disk(kDaddr)[128] == std::byte{0});
  }
  SECTION("older LSN: replayed") {
    put_header(lsn - 1);
    REQUIRE(log.replay() == 0);
    CHECK(log.disk(kDaddr)[128] == std::byte{5});
  }
  SECTION("LSN 0 means unknown: replayed") {
    put_header(0);
    REQUIRE(log.replay() == 0);
    CHECK(log.disk(kDaddr)[128] == std::byte{5});
  }
  SECTION("another filesystem's block: replayed whatever its LSN") {
    put_header(~uint64_t{0} >> 1);
    log.disk(kDaddr)[offsetof(xd_dir3_blk_hdr, uuid)] ^= std::byte{1};
    REQUIRE(log.replay() == 0);
    CHECK(log.disk(kDaddr)[128] == std::byte{5});
  }
}

TEST_CASE("log recover: transactions sharing a record all replay over the buffer they change", "[log]") {
  // A record holds several transactions (the running log's group commit,
  // or two kernel checkpoints): they share its LSN, and the first one's
  // replay, which stamps that LSN into the buffer, must not make the
  // buffer look up to date to the second.
  Log log;
  // A remote symlink block: typed, verified, and it carries an LSN.
  std::vector<std::byte> hdr(128);
  store_be(hdr.data() + offsetof(xd_dsymlink_hdr, sl_magic), 4, kSymlinkMagic);
  store_be(hdr.data() + offsetof(xd_dsymlink_hdr, sl_bytes), 4, 300);
  std::memcpy(hdr.data() + offsetof(xd_dsymlink_hdr, sl_uuid), kUuid.data(), 16);
  store_be(hdr.data() + offsetof(xd_dsymlink_hdr, sl_owner), 8, kIno);
  store_be(hdr.data() + offsetof(xd_dsymlink_hdr, sl_blkno), 8, kDaddr);
  std::memset(hdr.data() + sizeof(xd_dsymlink_hdr), 'a', 128 - sizeof(xd_dsymlink_hdr));
  const uint16_t type = XD_BLFT_SYMLINK << XD_BLF_TYPE_SHIFT;
  const uint64_t lsn = log.commit_all({{{buf_format(2, type, 8, kDaddr, {0}), hdr}},
                                       {{buf_format(2, type, 8, kDaddr, {1}), bytes(128, 'b')}},
                                       {{buf_format(2, type, 8, kDaddr, {2}), bytes(128, 'c')}}});
  INFO(log.why);
  REQUIRE(log.replay() == 0);
  CHECK(log.stats.buffers_newer == 0);
  CHECK(log.disk(kDaddr)[100] == std::byte{'a'});
  CHECK(log.disk(kDaddr)[128] == std::byte{'b'});
  CHECK(log.disk(kDaddr)[256] == std::byte{'c'});
  CHECK(bc::load_be(log.disk(kDaddr) + offsetof(xd_dsymlink_hdr, sl_lsn), 8) == lsn);
}

TEST_CASE("log recover: a new chunk then an inode item make a valid inode with the logged core", "[log]") {
  Log log;
  // Inode chunk at agbno 256 (8 blocks, 64 inodes; past the log's sectors);
  // the inode at offset 512 of the first cluster (daddr 2048, 32 sectors) is
  // ino 2049.
  xd_icreate_log ic{};
  ic.icl_type = XD_LI_ICREATE;
  ic.icl_size = 1;
  ic.icl_ag = to_be32(0);
  ic.icl_agbno = to_be32(256);
  ic.icl_count = to_be32(64);
  ic.icl_isize = to_be32(512);
  ic.icl_length = to_be32(8);
  ic.icl_gen = to_be32(77);
  std::memset(log.disk(kCluster), 0xcc, 8 * 4096);
  // The logged core, host-endian: a 5-byte regular file with one extent.
  std::vector<std::byte> core(XD_LOG_DINODE_SIZE);
  auto put = [&](size_t off, auto v) { std::memcpy(core.data() + off, &v, sizeof v); };
  put(offsetof(xd_dinode, di_magic), uint16_t{kInodeMagic});
  put(offsetof(xd_dinode, di_mode), uint16_t{0100644});
  put(offsetof(xd_dinode, di_version), uint8_t{3});
  put(offsetof(xd_dinode, di_format), uint8_t{2});
  put(offsetof(xd_dinode, di_uid), uint32_t{1000});
  put(offsetof(xd_dinode, di_nlink), uint32_t{1});
  put(offsetof(xd_dinode, di_size), uint64_t{5});
  put(offsetof(xd_dinode, di_nblocks), uint64_t{1});
  put(offsetof(xd_dinode, di_nextents), uint32_t{1});
  put(offsetof(xd_dinode, di_forkoff), uint8_t{24});
  put(offsetof(xd_dinode, di_aformat), uint8_t{2});
  put(offsetof(xd_dinode, di_gen), uint32_t{77});
  put(offsetof(xd_dinode, di_next_unlinked), uint32_t{0});  // never replayed from the core
  put(offsetof(xd_dinode, di_flags2), uint64_t{kDiflag2Bigtime});
  const uint64_t mtime = (uint64_t{1700000000} + (uint64_t{1} << 31)) * 1000000000ull + 42;
  put(offsetof(xd_dinode, di_mtime), mtime);
  put(offsetof(xd_dinode, di_ino), uint64_t{kIno});
  std::memcpy(core.data() + offsetof(xd_dinode, di_uuid), kUuid.data(), 16);
  // One extent record: file block 0 at fsblock 100, 1 block.
  std::vector<std::byte> ext(16);
  store_be(ext.data(), 8, 0);
  store_be(ext.data() + 8, 8, (uint64_t{100} << 21) | 1);
  xd_inode_log_format f{};
  f.ilf_type = XD_LI_INODE;
  f.ilf_size = 3;
  f.ilf_fields = XD_ILOG_CORE | XD_ILOG_DEXT;
  f.ilf_dsize = 16;
  f.ilf_ino = kIno;
  f.ilf_blkno = kCluster;
  f.ilf_len = 32;
  f.ilf_boffset = 512;
  const uint64_t lsn = log.commit({{raw(ic)}, {raw(f), core, ext}});
  const int rc = log.replay();
  INFO(log.why);
  REQUIRE(rc == 0);
  CHECK(log.stats.icreates == 1);
  CHECK(log.stats.inodes == 1);
  Inode n;
  std::string why;
  REQUIRE(decode_inode(log.sb, kIno, {log.disk(kCluster) + 512, 512}, &n, &why) == 0);
  CHECK(n.mode == 0100644);
  CHECK(n.size == 5);
  CHECK(n.uid == 1000);
  CHECK(n.nlink == 1);
  CHECK(n.gen == 77);
  CHECK(n.next_unlinked == 0xffffffffu);  // from the chunk's creation, not the core
  CHECK(n.mtime.sec == 1700000000);
  CHECK(n.mtime.nsec == 42);
  CHECK(bc::load_be(log.disk(kCluster) + 512 + offsetof(xd_dinode, di_lsn), 8) == lsn);
  CHECK(bc::load_be(log.disk(kCluster) + 512 + 176 + 8, 8) == ((uint64_t{100} << 21) | 1));
  // Every other inode of the chunk is a free inode of generation 77.
  Inode other;
  CHECK(decode_inode(log.sb, kIno - 1 + 63, {log.disk(kCluster) + 63 * 512, 512}, &other, &why) == ENOENT);

  SECTION("an inode buffer item then sets only its unlinked pointer") {
    std::vector<std::byte> chunk = bytes(128, 0);
    store_be(chunk.data() + (512 + 96) % 128, 4, 9);  // ino 2049's di_next_unlinked is in chunk 4
    log.commit({{buf_format(2, XD_BLF_INODE_BUF | (XD_BLFT_DINO << XD_BLF_TYPE_SHIFT), 32, kCluster, {(512 + 96) / 128}),
                 chunk}});
    REQUIRE(log.replay() == 0);
    CHECK(log.stats.inode_buffers == 1);
    REQUIRE(decode_inode(log.sb, kIno, {log.disk(kCluster) + 512, 512}, &n, &why) == 0);
    CHECK(n.next_unlinked == 9);
    CHECK(n.size == 5);  // the zeroes around it in the chunk are not replayed
  }
  SECTION("an inode on disk newer than a later item is left alone") {
    // A second log holding only a later change of the inode (size 6), over
    // the cluster as replayed, its di_lsn then set past that change.
    std::vector<std::byte> cluster(log.disk(kCluster), log.disk(kCluster) + 32 * 512);
    Log later;
    std::memcpy(later.disk(kCluster), cluster.data(), cluster.size());
    std::vector<std::byte> core6 = core;
    const uint64_t six = 6;
    std::memcpy(core6.data() + offsetof(xd_dinode, di_size), &six, 8);
    const uint64_t lsn2 = later.commit({{raw(f), core6, ext}});
    SECTION("newer: skipped") {
      store_be(later.disk(kCluster) + 512 + offsetof(xd_dinode, di_lsn), 8, lsn2 + 1);
      inode_update_crc({later.disk(kCluster) + 512, 512});
      REQUIRE(later.replay() == 0);
      CHECK(later.stats.inodes_newer == 1);
      REQUIRE(decode_inode(later.sb, kIno, {later.disk(kCluster) + 512, 512}, &n, &why) == 0);
      CHECK(n.size == 5);
    }
    SECTION("equal: replayed") {
      store_be(later.disk(kCluster) + 512 + offsetof(xd_dinode, di_lsn), 8, lsn2);
      inode_update_crc({later.disk(kCluster) + 512, 512});
      REQUIRE(later.replay() == 0);
      CHECK(later.stats.inodes == 1);
      REQUIRE(decode_inode(later.sb, kIno, {later.disk(kCluster) + 512, 512}, &n, &why) == 0);
      CHECK(n.size == 6);
    }
  }
}

TEST_CASE("log recover: extent-free intents without their done item are handed to the caller", "[log]") {
  Log log;
  auto intent = [](uint16_t type, uint64_t id, std::vector<std::pair<uint64_t, uint32_t>> ex) {
    std::vector<std::byte> b(16 + 16 * ex.size());
    xd_efi_log_format h{type, 1, static_cast<uint32_t>(ex.size()), id};
    std::memcpy(b.data(), &h, 16);
    for (size_t i = 0; i < ex.size(); i++) {
      std::memcpy(b.data() + 16 + 16 * i, &ex[i].first, 8);
      std::memcpy(b.data() + 24 + 16 * i, &ex[i].second, 4);
    }
    return b;
  };
  log.commit({{intent(XD_LI_EFI, 1, {{100, 4}})}, {intent(XD_LI_EFI, 2, {{200, 8}, {300, 1}})}});
  log.commit({{intent(XD_LI_EFD, 1, {{100, 4}})}});
  SECTION("the one without a done item is left") {
    REQUIRE(log.replay() == 0);
    REQUIRE(log.stats.unfinished_efis.size() == 2);
    CHECK(log.stats.unfinished_efis[0].fsblock == 200);
    CHECK(log.stats.unfinished_efis[0].len == 8);
    CHECK(log.stats.unfinished_efis[1].fsblock == 300);
  }
  SECTION("an unfinished refcount intent cannot be finished here") {
    log.commit({{intent(0x1242, 3, {{5, 1}})}});
    CHECK(log.replay() == EOPNOTSUPP);
    CHECK(log.why.find("reflink") != std::string::npos);
  }
}

TEST_CASE("log recover: items that cannot be right fail with EUCLEAN", "[log]") {
  Log log;
  SECTION("a map with more runs than regions") {
    log.commit({{buf_format(2, 0, 8, kDaddr, {0, 2}), bytes(128, 1)}});
  }
  SECTION("a region that is not whole chunks") {
    log.commit({{buf_format(2, 0, 8, kDaddr, {0}), bytes(100, 1)}});
  }
  SECTION("a buffer outside the filesystem") {
    log.commit({{buf_format(2, 0, 8, 4096 * 8 + 4, {0}), bytes(128, 1)}});
  }
  // A core-only inode item for ino kIno in a cluster of len sectors.
  auto core_only = [](int32_t len) {
    xd_inode_log_format f{};
    f.ilf_type = XD_LI_INODE;
    f.ilf_size = 2;
    f.ilf_fields = XD_ILOG_CORE;
    f.ilf_ino = kIno;
    f.ilf_blkno = kCluster;
    f.ilf_len = len;
    return Log::Item{raw(f), bytes(XD_LOG_DINODE_SIZE, 0)};
  };
  SECTION("an inode item for a block that holds no inode") { log.commit({core_only(32)}); }
  SECTION("an inode item for a buffer larger than an inode chunk") { log.commit({core_only(1 << 30)}); }
  SECTION("an item of an unknown type") {
    log.commit({{host_words({0x4321 | (1u << 16)})}});
  }
  const int rc = log.replay();
  INFO(log.why);
  CHECK(rc == EUCLEAN);
  CHECK(!log.why.empty());
}

}  // namespace xfsfuse::fs::test
