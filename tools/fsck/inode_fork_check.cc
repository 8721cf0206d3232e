// tools/fsck/inode_fork_check.cc — an in-use inode's forks and size:
// extents and bmbt records judged one by one and claimed in cx.space, bmbt
// blocks read through the buffer cache and verified with the driver's bmbt
// verifier (so each reason can be reported), then di_nextents, di_anextents
// and di_nblocks compared with what the forks hold.
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "btree/bmbt.h"
#include "fs/ag.h"
#include "fs/bmap.h"
#include "fs/corrupt.h"
#include "fs/format/attr.h"
#include "fs/format/endian.h"
#include "fs/mount.h"
#include "fs/symlink.h"
#include "tools/fsck/inode_check.h"

namespace xfsfuse::fsck {

namespace {

constexpr uint64_t kDirDataSpaceBytes = 32ull << 30;  // directory data blocks live below 32 GiB
constexpr uint64_t kSymlinkMaxLen = 1024;
constexpr uint64_t kSymlinkHdrSize = 56;  // xd_dsymlink_hdr before each remote block's target bytes

using fs::ForkFormat;

// Merges the contiguous extents of one fork into few SpaceMap claims; a
// regular file's data goes through SharedBlocks (it may be reflinked).
class Claims {
 public:
  Claims(SpaceMap& space, SharedBlocks* shared, Owner owner, uint64_t ino)
      : space_(space), shared_(shared), owner_(owner), ino_(ino) {}
  ~Claims() { flush(); }
  void add(uint32_t agno, uint32_t agbno, uint32_t len) {
    if (len_ != 0 && agno == agno_ && agbno == agbno_ + len_) {
      len_ += len;
      return;
    }
    flush();
    agno_ = agno;
    agbno_ = agbno;
    len_ = len;
  }
  void flush() {
    if (len_ != 0 && shared_ != nullptr)
      shared_->claim_data(agno_, agbno_, len_, ino_);
    else if (len_ != 0)
      space_.claim(agno_, agbno_, len_, owner_, ino_);
    len_ = 0;
  }

 private:
  SpaceMap& space_;
  SharedBlocks* const shared_;
  const Owner owner_;
  const uint64_t ino_;
  uint32_t agno_ = 0, agbno_ = 0, len_ = 0;
};

// What one fork holds.
struct ForkTotals {
  uint64_t extents = 0;      // records
  uint64_t blocks = 0;       // fsblocks they map
  uint64_t bmbt_blocks = 0;  // bmbt blocks below the root in the inode
  uint64_t end = 0;          // file offset (fsblocks) past the last extent
  bool ok = true;            // every record and block judged sound
};

class ForkChecker {
 public:
  ForkChecker(InodeCheck& ic, bool attr)
      : ic_(ic),
        sb_(ic.cx.sb),
        attr_(attr),
        claims_(ic.cx.space, !attr && S_ISREG(ic.n.mode) ? &ic.shared : nullptr, attr ? Owner::kAttr : Owner::kData,
                ic.ino) {}

  // Walks an extents- or btree-format fork.
  ForkTotals run(ForkFormat format) {
    if (format == ForkFormat::kExtents)
      extents();
    else
      bmbt();
    claims_.flush();
    return t_;
  }

 private:
  std::string fork() const { return attr_ ? "attr fork: " : "data fork: "; }
  void fail(const std::string& what) {
    t_.ok = false;
    ic_.fail(fork() + what);
  }

  // The last fsblock of a file of 2^63 - 1 bytes (a signed loff_t).
  uint64_t max_file_block() const { return ((uint64_t{1} << 63) - 1) >> sb_.blocklog; }

  // Judges one extent in file order and claims its blocks.  False: reported.
  bool take(const fs::Extent& e) {
    std::string why;
    const std::string at = "extent at file block " + std::to_string(e.startoff);
    if (fs::check_extent(sb_, e, &why) != 0)
      fail(why);
    else if (e.startoff + e.blockcount - 1 > max_file_block())
      fail(at + " ends past the largest file offset (2^63 - 1 bytes)");
    else if (e.unwritten && (attr_ || !S_ISREG(ic_.n.mode)))
      fail("unwritten " + at + " outside a regular file's data");
    else if (t_.extents > 0 && e.startoff < t_.end)
      fail(at + " overlaps or precedes the one before it");
    else if (S_ISLNK(ic_.n.mode) && !attr_ && e.startoff != t_.end)
      fail(at + " leaves a hole in a symlink");
    if (!t_.ok) return false;
    claims_.add(fs::fsblock_to_agno(sb_, e.startblock), fs::fsblock_to_agbno(sb_, e.startblock),
                static_cast<uint32_t>(e.blockcount));
    t_.extents++;
    t_.blocks += e.blockcount;
    t_.end = e.startoff + e.blockcount;
    return true;
  }

  void extents() {
    thread_local std::vector<fs::Extent> ext;
    std::string why;
    if (fs::decode_extent_fork(sb_, ic_.n, ic_.raw, attr_, &ext, &why) != 0) return fail(why);
    for (const fs::Extent& e : ext)
      if (!take(e)) return;
  }

  void bmbt() {
    const uint32_t split = fs::fork_size(ic_.n, false);
    const auto root = ic_.raw.subspan(fs::kInodeCoreSize + (attr_ ? split : 0), fs::fork_size(ic_.n, attr_));
    btree::BmbtFault fault;
    uint64_t parent_daddr = 0;  // the block whose pointer is being followed (0: the root in the inode)
    const auto read = [&](uint64_t fsblock, bc::BufHandle* h) { return read_block(fsblock, h, &parent_daddr, &fault); };
    const auto emit = [&](const xd_bmbt_rec& r) { return take(fs::decode_bmbt_rec(r)) ? 0 : ECANCELED; };
    const int err = btree::bmbt_walk(root, sb_.blocksize, read, emit, &fault);
    if (err == ECANCELED) return;
    if (err == EUCLEAN && fault.daddr != 0) {
      t_.ok = false;
      ic_.bad = true;
      ic_.cx.rep.report("bmbt", fs::daddr_to_agno(sb_, fault.daddr), ic_.ino, fault.daddr, fork() + fault.why);
      return;
    }
    if (err != 0) return fail("bmbt root: " + (fault.why.empty() ? std::string(std::strerror(err)) : fault.why));
    const uint64_t want = attr_ ? ic_.n.anextents : ic_.n.nextents;
    if (t_.extents != want)
      fail("bmbt holds " + std::to_string(t_.extents) + " extents, " + (attr_ ? "di_anextents" : "di_nextents") +
           " says " + std::to_string(want));
  }

  // Reads and verifies the bmbt block at fsblock, then claims it.
  int read_block(uint64_t fsblock, bc::BufHandle* h, uint64_t* parent_daddr, btree::BmbtFault* fault) {
    const uint32_t agno = fs::fsblock_to_agno(sb_, fsblock), agbno = fs::fsblock_to_agbno(sb_, fsblock);
    if (agno >= sb_.agcount || agbno >= fs::ag_length(sb_, agno)) {
      fault->daddr = *parent_daddr;
      fault->why = "pointer to fsblock " + std::to_string(fsblock) + " outside the filesystem";
      return EUCLEAN;
    }
    const bc::DiskRange map{fs::agbno_to_daddr(sb_, agno, agbno), static_cast<uint32_t>(fs::fsblocks_to_sectors(sb_, 1))};
    fault->daddr = map.daddr;
    if (int err = ic_.cx.m.cache().get({&map, 1}, nullptr, bc::kAnyOwner, bc::kGetShared, h)) {
      fault->why = std::string("bmbt block unreadable: ") + std::strerror(err);
      return EUCLEAN;
    }
    const bc::BufOps& ops = fs::bmbt_ops();
    const std::span<const std::byte> data(h->data(), h->size());
    if (!ops.verify_read(bc::VerifyInput{data, map.daddr, &sb_.meta_uuid}, &fault->why)) return EUCLEAN;
    if (!ops.owner_ok(data, ic_.ino)) {
      fault->why = "bmbt block owner is not this inode";
      return EUCLEAN;
    }
    ic_.cx.space.claim(agno, agbno, 1, Owner::kBmbt, ic_.ino);
    t_.bmbt_blocks++;
    *parent_daddr = map.daddr;
    return 0;
  }

  InodeCheck& ic_;
  const fs::Superblock& sb_;
  const bool attr_;
  Claims claims_;
  ForkTotals t_;
};

// The data fork by its format (already known to suit the file type).
ForkTotals data_fork(InodeCheck& ic) {
  ForkTotals t;
  if (ic.n.format == ForkFormat::kDev || ic.n.format == ForkFormat::kLocal) {
    if (ic.n.nextents != 0) {
      t.ok = false;
      ic.fail("data fork: " + std::to_string(ic.n.nextents) + " extents in a fork of format " +
              std::to_string(static_cast<int>(ic.n.format)));
    }
    return t;
  }
  return ForkChecker(ic, false).run(ic.n.format);
}

ForkTotals attr_fork(InodeCheck& ic) {
  ForkTotals t;
  const auto format = static_cast<ForkFormat>(ic.n.aformat);
  if (ic.n.forkoff == 0) {
    if (format != ForkFormat::kExtents) ic.problem("attr fork format " + std::to_string(ic.n.aformat) + " without an attr fork");
    if (ic.n.anextents != 0) ic.fail(std::to_string(ic.n.anextents) + " attr extents without an attr fork");
    t.ok = ic.n.anextents == 0;
    return t;
  }
  if (format == ForkFormat::kExtents || format == ForkFormat::kBtree) return ForkChecker(ic, true).run(format);
  const uint32_t asize = fs::fork_size(ic.n, true);
  xd_attr_sf_hdr hdr{};
  if (format == ForkFormat::kLocal && asize >= sizeof hdr)
    std::memcpy(&hdr, ic.raw.data() + fs::kInodeCoreSize + fs::fork_size(ic.n, false), sizeof hdr);
  const uint32_t totsize = fs::be16(hdr.totsize);
  if (format != ForkFormat::kLocal) {
    ic.fail("attr fork format " + std::to_string(ic.n.aformat) + " unknown");
  } else if (ic.n.anextents != 0) {
    ic.fail("attr fork: " + std::to_string(ic.n.anextents) + " extents in a local fork");
  } else if (totsize < sizeof hdr || totsize > asize) {
    ic.fail("attr fork: short-form totsize " + std::to_string(totsize) + " outside " + std::to_string(sizeof hdr) +
            ".." + std::to_string(asize) + " bytes");
  } else {
    return t;
  }
  t.ok = false;
  return t;
}

// A local symlink target: no NUL.  A component may be longer than a name
// (symlink(2) takes any target; the kernel's XFS stores a 336-byte one
// inline and xfs_repair -n accepts it).
void check_local_target(InodeCheck& ic) {
  const auto target = ic.raw.subspan(fs::kInodeCoreSize, ic.n.size);
  for (std::byte b : target)
    if (b == std::byte{0}) return ic.fail("NUL byte inside the symlink target");
}

// A remote symlink target, read by the driver (block headers, offsets,
// bytes, no NUL); its reason is in the driver's log line.
void check_remote_target(InodeCheck& ic) {
  fs::InodeRef ip;
  std::string target;
  int err = ic.cx.m.iget(ic.ino, &ip);
  if (err == 0) err = fs::read_symlink(ic.cx.m, *ip, &target);
  if (err != 0) ic.fail(std::string("remote symlink target unreadable: ") + std::strerror(err));
}

}  // namespace

void check_size(InodeCheck& ic) {
  const fs::Inode& n = ic.n;
  const uint32_t dsize = fs::fork_size(n, false);
  const bool local = n.format == ForkFormat::kLocal;
  const std::string size = "di_size " + std::to_string(n.size);
  if (S_ISDIR(n.mode)) {
    if (n.size == 0) return ic.fail("directory with di_size 0");
    if (!local && n.size <= dsize)
      return ic.fail(size + " fits the " + std::to_string(dsize) + "-byte data fork, but the directory is not local");
    if (local && n.size > dsize) return ic.fail("local directory " + size + " exceeds its " + std::to_string(dsize) + "-byte fork");
    if (n.size > kDirDataSpaceBytes) return ic.fail("directory " + size + " beyond the 32 GiB data space");
  } else if (S_ISLNK(n.mode)) {
    if (n.size == 0 || n.size > kSymlinkMaxLen) return ic.fail("symlink " + size + " outside 1..1024");
    if (local && n.size > dsize) return ic.fail("local symlink " + size + " exceeds its " + std::to_string(dsize) + "-byte fork");
    if (local) check_local_target(ic);
  } else if (!S_ISREG(n.mode) && n.size != 0) {
    ic.fail("special file with " + size);
  }
}

void check_forks(InodeCheck& ic) {
  const fs::Inode& n = ic.n;
  const ForkTotals data = data_fork(ic);
  const ForkTotals attr = attr_fork(ic);
  if (S_ISLNK(n.mode) && n.format == ForkFormat::kExtents && data.ok && n.size <= kSymlinkMaxLen) {
    const uint64_t per_block = ic.cx.sb.blocksize - kSymlinkHdrSize;
    const uint64_t need = (n.size + per_block - 1) / per_block, most = (kSymlinkMaxLen + per_block - 1) / per_block;
    if (data.blocks < need || data.blocks > most)
      ic.fail("remote symlink of " + std::to_string(n.size) + " bytes maps " + std::to_string(data.blocks) +
              " blocks (" + std::to_string(need) + " needed)");
    else
      check_remote_target(ic);
  }
  if (attr.ok && n.forkoff != 0 && (n.aformat == static_cast<int8_t>(ForkFormat::kLocal) || attr.extents != 0))
    check_attr_fork(ic);
  if (!data.ok || !attr.ok) return;
  const uint64_t total = data.blocks + data.bmbt_blocks + attr.blocks + attr.bmbt_blocks;
  if (n.nblocks != total)
    ic.problem("di_nblocks " + std::to_string(n.nblocks) + " but its forks hold " + std::to_string(total) + " blocks");
  else if (n.nblocks < n.nextents + n.anextents)
    ic.problem("di_nblocks " + std::to_string(n.nblocks) + " below its extent count");
}

}  // namespace xfsfuse::fsck
