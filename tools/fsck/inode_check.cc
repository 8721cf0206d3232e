// tools/fsck/inode_check.cc — check_inodes(): every inode the inobt covers,
// read one inode cluster buffer at a time (the shape Mount::iget reads), its
// core judged field by field (each problem reported, not just the first),
// then its forks and size (inode_fork_check.cc).  Results go into
// cx.inodes: mode, nlink, in_use, bad.
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <vector>

#include "buffer_cache/crc32c.h"
#include "fs/ag.h"
#include "fs/corrupt.h"
#include "fs/format/endian.h"
#include "fs/format/inode.h"
#include "tools/fsck/inode_check.h"

namespace xfsfuse::fsck {

namespace {

constexpr uint16_t kFlagRealtime = 1u << 0, kFlagNewrtbm = 1u << 2, kFlagRtinherit = 1u << 8, kFlagProjinherit = 1u << 9,
                   kFlagNosymlinks = 1u << 10, kFlagExtsize = 1u << 11, kFlagExtszinherit = 1u << 12;
constexpr uint16_t kFlagsKnown = 0x7fff;  // di_flags bits 0..14
constexpr uint64_t kFlag2Dax = 1u << 0, kFlag2Reflink = 1u << 1, kFlag2Cowextsize = 1u << 2;
constexpr uint64_t kFlags2Known = 0x1f;  // DAX, REFLINK, COWEXTSIZE, BIGTIME, NREXT64
constexpr uint32_t kMaxExtlen = (1u << 21) - 1;  // the largest bmbt blockcount
constexpr size_t kMaxInodeSize = 2048;
constexpr uint64_t kProgressEvery = 4096;

std::string octal(uint32_t v) {
  char b[16];
  std::snprintf(b, sizeof b, "0%o", v);
  return b;
}

bool valid_file_type(uint16_t mode) {
  switch (mode & S_IFMT) {
    case S_IFREG: case S_IFDIR: case S_IFLNK: case S_IFCHR: case S_IFBLK: case S_IFIFO: case S_IFSOCK:
      return true;
    default:
      return false;
  }
}

// Whether the data fork format suits the file type (dev: DEV; dir: LOCAL,
// EXTENTS, BTREE; symlink: LOCAL, EXTENTS; regular: EXTENTS, BTREE).
bool format_suits(uint16_t mode, uint8_t format) {
  using F = fs::ForkFormat;
  const auto is = [&](F f) { return format == static_cast<uint8_t>(f); };
  switch (mode & S_IFMT) {
    case S_IFDIR: return is(F::kLocal) || is(F::kExtents) || is(F::kBtree);
    case S_IFLNK: return is(F::kLocal) || is(F::kExtents);
    case S_IFREG: return is(F::kExtents) || is(F::kBtree);
    default: return is(F::kDev);
  }
}

// A free inode (di_mode 0, free in the inobt) may hold any fork format, but
// no attr fork state without an attr fork offset.
void check_free_inode(InodeCheck& ic, const xd_dinode& d) {
  if (ic.n.forkoff != 0) {
    if (uint32_t{ic.n.forkoff} * 8 >= ic.n.literal_size)
      ic.fail("free inode: attr fork offset " + std::to_string(ic.n.forkoff) + " past the literal area");
    return;
  }
  if (ic.n.anextents != 0) ic.fail("free inode: " + std::to_string(ic.n.anextents) + " attr extents without an attr fork");
  if (d.di_aformat != 0 && d.di_aformat != static_cast<int8_t>(fs::ForkFormat::kExtents))
    ic.fail("free inode: attr fork format " + std::to_string(d.di_aformat) + " without an attr fork");
}

// di_flags / di_flags2: known bits only, each on a file type that may carry it.
void check_flags(InodeCheck& ic) {
  const fs::Inode& n = ic.n;
  const fs::Superblock& sb = ic.cx.sb;
  const bool dir = S_ISDIR(n.mode), reg = S_ISREG(n.mode);
  if (n.flags & ~kFlagsKnown) ic.problem("unknown di_flags bits " + fs::hex(n.flags & ~kFlagsKnown));
  if (n.flags & (kFlagRealtime | kFlagRtinherit)) ic.problem("realtime flag set but the filesystem has no realtime device");
  if ((n.flags & kFlagNewrtbm) && n.ino != sb.rbmino) ic.problem("realtime bitmap flag on an inode other than sb_rbmino");
  if (!dir && (n.flags & (kFlagRtinherit | kFlagExtszinherit | kFlagProjinherit | kFlagNosymlinks)))
    ic.problem("directory flags " + fs::hex(n.flags) + " on a non-directory");
  if (!reg && (n.flags & (kFlagRealtime | kFlagExtsize))) ic.problem("file flags " + fs::hex(n.flags) + " on a non-file");
  if (n.flags2 & ~kFlags2Known) ic.problem("unknown di_flags2 bits " + fs::hex(n.flags2 & ~kFlags2Known));
  if ((n.flags2 & kFlag2Dax) && !reg && !dir) ic.problem("DAX flag on a special file");
  if ((n.flags2 & kFlag2Reflink) && !(sb.features_ro_compat & fs::kRoCompatReflink))
    ic.fail("reflink flag set but the filesystem has no reflink feature");
  if ((n.flags2 & kFlag2Reflink) && !reg) ic.fail("reflink flag on a non-file");
  if ((n.flags2 & kFlag2Cowextsize) && !reg && !dir) ic.problem("CoW extent size flag on a special file");
  if ((n.flags2 & fs::kDiflag2Bigtime) && !(sb.features_incompat & fs::kIncompatBigtime))
    ic.fail("bigtime flag set but the filesystem has no bigtime feature");
  if ((n.flags2 & fs::kDiflag2Nrext64) && !(sb.features_incompat & fs::kIncompatNrext64))
    ic.fail("large extent counts flag set but the filesystem has no nrext64 feature");
}

// An extent size hint (di_extsize, or di_cowextsize with cow = true) is set
// exactly when its flag is, and fits an extent and half an AG.
void check_hint(InodeCheck& ic, bool cow, uint32_t value, bool flagged) {
  const char* name = cow ? "di_cowextsize" : "di_extsize";
  if (flagged && value == 0) ic.problem(std::string(name) + " flag set with a zero hint");
  if (!flagged && value != 0) ic.problem(std::string(name) + " " + std::to_string(value) + " without its flag");
  if (value > kMaxExtlen || value > ic.cx.sb.agblocks / 2)
    ic.problem(std::string(name) + " " + std::to_string(value) + " larger than an extent or half an AG");
}

// Timestamps without bigtime: nanoseconds below one second.
void check_nsec(InodeCheck& ic) {
  if (ic.n.flags2 & fs::kDiflag2Bigtime) return;
  const std::pair<const char*, const fs::Timestamp*> ts[] = {
      {"atime", &ic.n.atime}, {"mtime", &ic.n.mtime}, {"ctime", &ic.n.ctime}, {"crtime", &ic.n.crtime}};
  for (const auto& [name, t] : ts)
    if (t->nsec >= 1000000000u) ic.problem(std::string(name) + " nanoseconds " + std::to_string(t->nsec) + " >= 1e9");
}

// The AGI unlinked buckets of every AG: true where all 64 are empty.
std::vector<bool> unlinked_lists_empty(Context& cx) {
  std::vector<bool> empty(cx.sb.agcount, false);
  for (uint32_t agno = 0; agno < cx.sb.agcount; agno++) {
    const bc::DiskRange map{fs::ag_header_daddr(cx.sb, agno, 2), static_cast<uint32_t>(fs::ag_header_sector(cx.sb, 1))};
    bc::BufHandle h;
    if (cx.m.cache().get({&map, 1}, nullptr, bc::kAnyOwner, bc::kGetShared, &h) != 0) continue;
    fs::AgiInfo agi;
    fs::decode_agi({h.data(), h.size()}, &agi);
    bool all = true;
    for (uint32_t b : agi.unlinked) all = all && b == fs::kNullAgblock;
    empty[agno] = all;
  }
  return empty;
}

// The inodes of one 64-inode window of inode numbers the inobt covers.
struct Window {
  uint64_t first = 0;    // ino of bit 0
  uint64_t present = 0;  // inodes the inobt covers
  uint64_t free = 0;     // ... of which it marks free
};

class Scanner {
 public:
  explicit Scanner(Context& cx) : cx_(cx), sb_(cx.sb), unlinked_empty_(unlinked_lists_empty(cx)), shared_(cx) {}

  /// After every inode: the shared (reflinked) extents claimed and judged.
  void finish() {
    h_.release();
    shared_.finish();
  }

  // Checks inode ino and records what it found in cx.inodes.
  void check(uint64_t ino, bool inobt_free) {
    fs::InodeLocation loc;
    if (!fs::locate_inode(sb_, ino, &loc)) {
      cx_.rep.report("inode", kNoAg, ino, kNoDaddr, "the inobt covers an inode number outside the filesystem");
      record(ino, 0, 0, !inobt_free, true);
      return;
    }
    if (!load(loc, ino)) {
      record(ino, 0, 0, !inobt_free, true);
      return;
    }
    check_loaded(ino, inobt_free, loc);
  }

 private:
  // Copies inode ino's bytes into raw_ from its cluster buffer (read once for
  // all its inodes).  Returns false, reported once per cluster, if unreadable.
  bool load(const fs::InodeLocation& loc, uint64_t ino) {
    const uint32_t first = loc.agbno & ~(cx_.m.cluster_blocks() - 1);
    if (!(held_ && agno_ == loc.agno && first_ == first)) {
      h_.release();
      held_ = true;
      agno_ = loc.agno;
      first_ = first;
      err_ = cx_.m.read_inode_cluster(loc.agno, loc.agbno, &h_, &first_);
      if (err_ != 0)
        cx_.rep.report("inode", loc.agno, ino, loc.daddr,
                       std::string("inode cluster unreadable: ") + std::strerror(err_));
    }
    if (err_ != 0) return false;
    const size_t at = fs::fsblocks_to_bytes(sb_, loc.agbno - first_) + loc.offset;
    if (at + sb_.inodesize > h_.size()) return false;
    std::memcpy(raw_.data(), h_.data() + at, sb_.inodesize);
    return true;
  }

  void record(uint64_t ino, uint16_t mode, uint32_t nlink, bool in_use, bool bad) {
    cx_.inodes.update(ino, [&](InodeRec& r) {
      r.mode = mode;
      r.nlink = nlink;
      r.in_use = in_use;
      r.bad = bad;
    });
  }

  void check_loaded(uint64_t ino, bool inobt_free, const fs::InodeLocation& loc) {
    const std::span<const std::byte> raw(raw_.data(), sb_.inodesize);
    xd_dinode d;
    std::memcpy(&d, raw.data(), sizeof d);
    fs::Inode n;
    fs::decode_inode_core(sb_, ino, raw, &n);
    InodeCheck ic{cx_, ino, loc.agno, loc.daddr, n, raw, shared_};
    if (!bc::xfs_cksum_ok(raw, offsetof(xd_dinode, di_crc))) ic.fail("CRC mismatch");
    // An inode that is not what it claims: nothing else in it can be trusted.
    const auto give_up = [&](std::string what) {
      ic.fail(std::move(what));
      record(ino, 0, 0, !inobt_free, true);
    };
    if (fs::be16(d.di_magic) != fs::kInodeMagic) return give_up("bad magic " + fs::hex(fs::be16(d.di_magic)));
    if (d.di_version != 3) return give_up("inode version " + std::to_string(d.di_version) + " (3 expected)");
    if (n.next_unlinked != fs::kNullAgblock && !agino_valid(loc.agno, n.next_unlinked))
      ic.problem("di_next_unlinked " + fs::hex(n.next_unlinked) + " is not an inode of this AG");
    if (fs::be64(d.di_ino) != ino) return give_up("di_ino " + std::to_string(fs::be64(d.di_ino)) + " is not its number");
    if (std::memcmp(d.di_uuid.b, sb_.meta_uuid.data(), 16) != 0)
      return give_up("uuid does not match the filesystem's metadata uuid");
    if (static_cast<int64_t>(n.size) < 0) return give_up("negative di_size " + std::to_string(static_cast<int64_t>(n.size)));
    if (n.mode == 0) {
      if (inobt_free)
        check_free_inode(ic, d);
      else
        ic.fail("the inobt marks it in use but its di_mode is 0");
      return record(ino, 0, n.nlink, false, ic.bad);
    }
    if (inobt_free) ic.problem("the inobt marks it free but its di_mode is " + octal(n.mode));
    if (!valid_file_type(n.mode)) return give_up("di_mode " + octal(n.mode) + " is no file type");
    if (!format_suits(n.mode, d.di_format)) {
      ic.fail("data fork format " + std::to_string(d.di_format) + " does not suit di_mode " + octal(n.mode));
      return record(ino, n.mode, n.nlink, true, true);
    }
    check_core(ic, d);
    if (!check_forkoff(ic)) return record(ino, n.mode, n.nlink, true, true);
    check_size(ic);
    // A bmbt walk, and a remote symlink's or attr fork's read (through
    // iget: this very cluster), read other buffers: hold no cluster buffer meanwhile.
    const bool remote_symlink = S_ISLNK(n.mode) && n.format == fs::ForkFormat::kExtents;
    const bool attr_blocks = n.forkoff != 0 && n.aformat == static_cast<int8_t>(fs::ForkFormat::kExtents) && n.anextents != 0;
    if (remote_symlink || attr_blocks || n.format == fs::ForkFormat::kBtree ||
        n.aformat == static_cast<int8_t>(fs::ForkFormat::kBtree)) {
      h_.release();
      held_ = false;
    }
    check_forks(ic);
    if (n.nlink == 0 && unlinked_empty_[loc.agno])
      ic.problem("in use with di_nlink 0, but every AGI unlinked list of its AG is empty");
    record(ino, n.mode, n.nlink, true, ic.bad);
  }

  // Flags, hints, timestamps and the obsolete v1 link count.
  void check_core(InodeCheck& ic, const xd_dinode& d) {
    check_flags(ic);
    const bool ext_flag = ic.n.flags & (S_ISDIR(ic.n.mode) ? kFlagExtszinherit : kFlagExtsize);
    check_hint(ic, false, ic.n.extsize, ext_flag);
    check_hint(ic, true, fs::be32(d.di_cowextsize), ic.n.flags2 & kFlag2Cowextsize);
    check_nsec(ic);
    if (fs::be16(d.di_onlink) != 0) ic.problem("obsolete di_onlink " + std::to_string(fs::be16(d.di_onlink)) + " set");
  }

  // Whether agino can name an inode of AG agno: in an aligned block after
  // the AG headers' block, before the last whole chunk alignment of the AG.
  bool agino_valid(uint32_t agno, uint32_t agino) const {
    const uint32_t align = std::max<uint32_t>(1, sb_.inoalignmt);
    const uint32_t headers_end = fs::ag_header_blocks(sb_);  // past the AGFL's block
    const uint64_t first = (headers_end + align - 1) / align * align;
    const uint64_t end = fs::ag_length(sb_, agno) / align * align;
    const uint64_t agbno = fs::agino_to_agbno(sb_, agino);
    return agbno >= first && agbno < end;
  }

  // di_forkoff: 8 bytes for a device's data fork; inside the literal area.
  bool check_forkoff(InodeCheck& ic) {
    const uint8_t off = ic.n.forkoff;
    if (off == 0) return true;
    if (ic.n.format == fs::ForkFormat::kDev ? off != 1 : uint32_t{off} * 8 >= ic.n.literal_size) {
      ic.fail("attr fork offset " + std::to_string(off) + " invalid (8-byte units, literal area " +
              std::to_string(ic.n.literal_size) + " bytes)");
      return false;
    }
    return true;
  }

  Context& cx_;
  const fs::Superblock& sb_;
  const std::vector<bool> unlinked_empty_;
  SharedBlocks shared_;
  bc::BufHandle h_;
  bool held_ = false;
  uint32_t agno_ = 0, first_ = 0;
  int err_ = 0;
  std::array<std::byte, kMaxInodeSize> raw_{};
};

}  // namespace

void check_inodes(Context& cx) {
  std::vector<Window> windows;
  cx.inodes.for_each([&](uint64_t ino, const InodeRec& r) {
    const uint64_t first = ino & ~uint64_t{63};
    if (windows.empty() || windows.back().first != first) windows.push_back(Window{first});
    const uint64_t bit = uint64_t{1} << (ino & 63);
    windows.back().present |= bit;
    if (r.inobt_free) windows.back().free |= bit;
  });
  const uint64_t total = cx.inodes.size();
  Scanner scan(cx);
  uint64_t done = 0;
  for (const Window& w : windows) {
    for (unsigned i = 0; i < 64; i++) {
      const uint64_t bit = uint64_t{1} << i;
      if (!(w.present & bit)) continue;
      scan.check(w.first + i, w.free & bit);
      if (++done % kProgressEvery == 0 && cx.progress) cx.progress("inodes", static_cast<double>(done) / total);
    }
  }
  scan.finish();
}

}  // namespace xfsfuse::fsck
