#include "fs/alloc/ialloc.h"

#include <bit>
#include <cerrno>
#include <cstring>
#include <random>

#include "btree/cursor.h"
#include "fs/alloc/agi_tx.h"
#include "fs/alloc/alloc.h"
#include "fs/format/endian.h"
#include "fs/format/geometry.h"
#include "fs/format/inode.h"
#include "fs/format/magic.h"
#include "fs/format/records.h"
#include "fs/mount.h"

namespace xfsfuse::fs {

namespace {

using btree::BtreeCursor;
using btree::LookupMode;

// The cursor's host for an AG's inobt or finobt inside a transaction: blocks
// through the transaction (aliases), new blocks from the AG's free space
// (counted in agi_iblocks / agi_fblocks), roots in the AGI.
class InoHost : public btree::BtreeHost {
 public:
  InoHost(AgiTx* agi, btree::BtreeKind kind)
      : BtreeHost(&agi->trans().mount().cache(), kind, agi->trans().mount().sb().blocksize, agi->agno(),
                  agi->trans().mount().sb().meta_uuid),
        agi_(agi),
        fino_(kind == btree::BtreeKind::kFinobt) {}
  uint64_t daddr_of(uint64_t ptr) const override {
    return agbno_to_daddr(agi_->trans().mount().sb(), agi_->agno(), static_cast<uint32_t>(ptr));
  }
  int alloc_block(uint64_t near, uint64_t* ptr) override {
    uint32_t bno, len;
    // Next to the neighbouring block, as the kernel's NEAR_BNO search.
    AllocRequest r;
    r.agno = agi_->agno();
    r.target = static_cast<uint32_t>(near);
    r.near = true;
    if (int e = alloc_extent(agi_->trans(), r, &bno, &len)) return e;
    *ptr = bno;
    agi_->add(fino_ ? AgiField::kFblocks : AgiField::kIblocks, 1);
    return 0;
  }
  int free_block(uint64_t ptr) override {
    if (int e = free_extent(agi_->trans(), agi_->agno(), static_cast<uint32_t>(ptr), 1)) return e;
    agi_->add(fino_ ? AgiField::kFblocks : AgiField::kIblocks, -1);
    return 0;
  }
  int read_block(uint64_t ptr, bc::BufHandle* out) override {
    const bc::DiskRange map{daddr_of(ptr), blocksize() >> 9};
    bc::BufHandle* h;
    if (int e = agi_->trans().read_buf({&map, 1}, &btree::tree_buf_ops(kind()), owner(), &h)) return e;
    *out = cache()->alias(*h);
    return 0;
  }
  int new_block(uint64_t ptr, bc::BufHandle* out) override {
    const bc::DiskRange map{daddr_of(ptr), blocksize() >> 9};
    bc::BufHandle* h;
    if (int e = agi_->trans().get_new_buf({&map, 1}, &btree::tree_buf_ops(kind()), &h)) return e;
    *out = cache()->alias(*h);
    return 0;
  }
  void log(bc::BufHandle& h, size_t off, size_t len) override { agi_->trans().log_buf(&h, off, len); }
  void set_root(uint64_t ptr, unsigned levels) override {
    agi_->set(fino_ ? AgiField::kFreeRoot : AgiField::kRoot, static_cast<uint32_t>(ptr));
    agi_->set(fino_ ? AgiField::kFreeLevel : AgiField::kLevel, levels);
  }
  BtreeCursor cursor() {
    return BtreeCursor(this, agi_->get(fino_ ? AgiField::kFreeRoot : AgiField::kRoot),
                       agi_->get(fino_ ? AgiField::kFreeLevel : AgiField::kLevel));
  }

 private:
  AgiTx* const agi_;
  const bool fino_;
};

bool sparse(const Superblock& sb) { return sb.features_incompat & kIncompatSpinodes; }

int corrupt(AgiTx& agi, const std::string& why) {
  Mount& m = agi.trans().mount();
  return m.report_corruption("inode btrees", ag_header_daddr(m.sb(), agi.agno(), 2),
                             "AG " + std::to_string(agi.agno()) + ": " + why);
}

InobtRec rec_at(const Superblock& sb, const BtreeCursor& c) { return decode_inobt_rec(c.record().data(), sparse(sb)); }

// Replaces (finobt: inserts, updates or deletes) the record of chunk r.startino.
int put_rec(AgiTx& agi, BtreeCursor& c, const InobtRec& r, bool in_finobt) {
  const Superblock& sb = agi.trans().mount().sb();
  std::byte rec[kInobtRecSize];
  encode_inobt_rec(r, sparse(sb), rec);
  bool found = false;
  if (int e = c.lookup(btree::inobt_key(r.startino), LookupMode::kEq, &found)) return e;
  if (!in_finobt) {
    if (!found) return corrupt(agi, "inobt lacks chunk " + std::to_string(r.startino));
    return c.update(rec);
  }
  if (r.freecount == 0) return found ? c.remove(&found) : 0;
  return found ? c.update(rec) : c.insert(rec);
}

// Writes the chunk's inode clusters as free inodes of one random
// generation, as the kernel's xfs_ialloc_inode_init does, and logs them as
// one inode-create item (the clusters are ordered buffers: recovery makes
// them again from the item).
int init_chunk(AgiTx& agi, uint32_t agbno, uint32_t blocks) {
  Transaction& tp = agi.trans();
  Mount& m = tp.mount();
  const Superblock& sb = m.sb();
  static thread_local std::mt19937 rng{std::random_device{}()};
  const uint32_t gen = static_cast<uint32_t>(rng());
  for (uint32_t b = 0; b < blocks; b += m.cluster_blocks()) {
    const bc::DiskRange map{agbno_to_daddr(sb, agi.agno(), agbno + b),
                            static_cast<uint32_t>(fsblocks_to_sectors(sb, m.cluster_blocks()))};
    bc::BufHandle* h;
    if (int e = tp.get_new_buf({&map, 1}, &m.buf_ops().inode_cluster(), &h)) return e;
    for (size_t off = 0; off < h->size(); off += sb.inodesize) {
      xd_dinode d{};
      d.di_magic = to_be16(kInodeMagic);
      d.di_version = 3;
      d.di_gen = to_be32(gen);
      d.di_next_unlinked = to_be32(kNullAgblock);
      const uint32_t agino = agbno_to_agino(sb, agbno + b + static_cast<uint32_t>(off >> sb.blocklog),
                                            static_cast<uint32_t>((off & (sb.blocksize - 1)) >> sb.inodelog));
      d.di_ino = to_be64(agino_to_ino(sb, agi.agno(), agino));
      std::memcpy(d.di_uuid.b, sb.meta_uuid.data(), 16);
      std::memcpy(h->data() + off, &d, sizeof d);
      inode_update_crc({h->data() + off, sb.inodesize});
    }
    tp.order_buf(h);
  }
  tp.log_icreate(agi.agno(), agbno, blocks << sb.inopblog, blocks, gen);
  return 0;
}

uint32_t chunk_blocks(const Superblock& sb) {
  return static_cast<uint32_t>(std::max<uint64_t>(1, kInodesPerChunk >> sb.inopblog));
}

// Bits of the chunk's free mask for its inodes [first, first + n).
uint64_t inode_bits(uint32_t first, uint32_t n) {
  return (n >= 64 ? ~uint64_t{0} : (uint64_t{1} << n) - 1) << first;
}

// Holemask bits for the chunk's inodes [first, first + n) (whole hole bits).
uint16_t hole_bits_of(uint32_t first, uint32_t n) {
  uint16_t mask = 0;
  for (uint32_t i = first / kInodesPerHoleBit; i < (first + n) / kInodesPerHoleBit; i++) mask |= uint16_t(1u << i);
  return mask;
}

// Records n new free inodes at agino first of chunk startino: a new record
// with the rest of the chunk as holes, or merged into the chunk's record
// from an earlier sparse piece (the kernel's xfs_inobt_insert_sprec); the
// finobt gets the merged record.
int record_piece(AgiTx& agi, uint32_t startino, uint32_t first, uint32_t n) {
  const Superblock& sb = agi.trans().mount().sb();
  const uint16_t piece_holes = hole_bits_of(first - startino, n);
  InobtRec r;
  r.startino = startino;
  r.holemask = static_cast<uint16_t>(~piece_holes);
  r.count = r.freecount = n;
  r.free = ~uint64_t{0};
  InoHost ih(&agi, btree::BtreeKind::kInobt);
  {
    BtreeCursor ic = ih.cursor();
    bool found = false;
    if (int e = ic.lookup(btree::inobt_key(startino), LookupMode::kEq, &found)) return e;
    if (found) {
      InobtRec old = rec_at(sb, ic);
      if ((old.holemask & piece_holes) != piece_holes || old.count + n > kInodesPerChunk)
        return corrupt(agi, "a new sparse piece of chunk " + std::to_string(startino) + " is not in its holes");
      old.holemask &= static_cast<uint16_t>(~piece_holes);
      old.count += n;
      old.freecount += n;
      old.free |= inode_bits(first - startino, n);
      r = old;
    }
    std::byte raw[kInobtRecSize];
    encode_inobt_rec(r, true, raw);
    if (int e = found ? ic.update(raw) : ic.insert(raw)) return e;
  }
  InoHost fh(&agi, btree::BtreeKind::kFinobt);
  BtreeCursor fc = fh.cursor();
  return put_rec(agi, fc, r, true);
}

// Gives the AG a sparse piece of a chunk when no whole chunk fits:
// sb_spino_align blocks aligned to sb_spino_align whose chunk (aligned to
// sb_inoalignmt) lies inside the AG and does not start at agbno 0, the
// aligned run closest to the inobt root, as the kernel's sparse allocation
// asks (docs/format.md "Inodes").
int new_piece(AgiTx& agi, bool trylock) {
  Transaction& tp = agi.trans();
  Mount& m = tp.mount();
  const Superblock& sb = m.sb();
  const uint32_t chunk = chunk_blocks(sb), piece = sb.spino_align;
  const uint32_t align = std::max<uint32_t>(1, sb.inoalignmt);
  if (!sparse(sb) || piece == 0 || piece >= chunk || align % piece || piece % m.cluster_blocks() || chunk % align)
    return ENOSPC;
  const uint32_t ag_end = ag_length(sb, agi.agno()) / align * align;
  if (ag_end < 2 * align) return ENOSPC;
  AllocRequest r;
  r.agno = agi.agno();
  r.target = agi.get(AgiField::kRoot);  // near the inobt root, as the kernel places pieces
  r.near = true;
  r.minlen = r.maxlen = r.alignment = piece;
  r.min_agbno = align;
  r.max_agbno = ag_end - 1;
  r.trylock = trylock;
  uint32_t agbno, len;
  if (int e = alloc_extent(tp, r, &agbno, &len)) return e;
  if (int e = init_chunk(agi, agbno, piece)) return e;
  const uint32_t first = agbno_to_agino(sb, agbno), n = piece << sb.inopblog;
  const uint32_t startino = chunk_start_agino(first);
  if (int e = record_piece(agi, startino, first, n)) return e;
  agi.add(AgiField::kCount, n);
  agi.add(AgiField::kFreecount, n);
  agi.set(AgiField::kNewino, startino);
  return 0;
}

// Gives the AG a new chunk of free inodes, or a sparse piece of one when no
// whole chunk fits.  ENOSPC when neither is free; EAGAIN (trylock) when
// another transaction holds the AGF.
int new_chunk(AgiTx& agi, bool trylock) {
  Transaction& tp = agi.trans();
  const Superblock& sb = tp.mount().sb();
  const uint32_t blocks = chunk_blocks(sb);
  const uint32_t newino = agi.get(AgiField::kNewino);
  AllocRequest r;
  r.agno = agi.agno();
  r.target = newino == kNullAgblock ? 0 : agino_to_agbno(sb, newino) + blocks;
  r.minlen = r.maxlen = blocks;
  r.alignment = std::max<uint32_t>(1, sb.inoalignmt);
  r.trylock = trylock;
  uint32_t agbno, len;
  if (int e = alloc_extent(tp, r, &agbno, &len)) return e == ENOSPC ? new_piece(agi, trylock) : e;
  if (int e = init_chunk(agi, agbno, blocks)) return e;
  InobtRec rec;
  rec.startino = agbno_to_agino(sb, agbno);
  rec.count = rec.freecount = kInodesPerChunk;
  rec.free = ~uint64_t{0};
  std::byte raw[kInobtRecSize];
  encode_inobt_rec(rec, sparse(sb), raw);
  for (auto kind : {btree::BtreeKind::kInobt, btree::BtreeKind::kFinobt}) {
    InoHost host(&agi, kind);
    BtreeCursor c = host.cursor();
    if (int e = c.insert(raw)) return e == EEXIST ? corrupt(agi, "a new chunk's record exists already") : e;
  }
  agi.add(AgiField::kCount, kInodesPerChunk);
  agi.add(AgiField::kFreecount, kInodesPerChunk);
  agi.set(AgiField::kNewino, rec.startino);
  return 0;
}

// Frees the blocks of chunk r: each run of allocated (non-hole) inodes.
int free_chunk_blocks(AgiTx& agi, const InobtRec& r) {
  Transaction& tp = agi.trans();
  const Superblock& sb = tp.mount().sb();
  const uint32_t per_block = 1u << sb.inopblog;
  for (uint32_t bit = 0; bit < 16;) {
    if (r.holemask >> bit & 1) {
      bit++;
      continue;
    }
    uint32_t end = bit;
    while (end < 16 && !(r.holemask >> end & 1)) end++;
    const uint32_t first = bit * kInodesPerHoleBit, n = (end - bit) * kInodesPerHoleBit;
    if (first % per_block || n % per_block)
      return corrupt(agi, "chunk " + std::to_string(r.startino) + " has holes inside a block");
    const uint32_t agbno = agino_to_agbno(sb, r.startino + first);
    if (int e = free_extent(tp, agi.agno(), agbno, n / per_block)) return e;
    bit = end;
  }
  return 0;
}

// Takes a free inode of AG agi (which has some) at or after agino near.
int take_free(AgiTx& agi, uint32_t near, uint32_t* agino) {
  const Superblock& sb = agi.trans().mount().sb();
  InoHost fh(&agi, btree::BtreeKind::kFinobt);
  InobtRec r;
  {
    BtreeCursor fc = fh.cursor();
    bool found = false;
    if (int e = fc.lookup(btree::inobt_key(chunk_start_agino(near)), LookupMode::kGe, &found)) return e;
    if (!found)
      if (int e = fc.lookup(btree::inobt_key(0), LookupMode::kGe, &found)) return e;
    if (!found) return corrupt(agi, "agi_freecount is not 0 but the finobt is empty");
    r = rec_at(sb, fc);
  }
  const uint64_t avail = r.free & ~inobt_hole_bits(r.holemask);
  if (avail == 0 || r.freecount == 0)
    return corrupt(agi, "finobt record of chunk " + std::to_string(r.startino) + " has no free inode");
  const unsigned i = static_cast<unsigned>(std::countr_zero(avail));
  r.free &= ~(uint64_t{1} << i);
  r.freecount--;
  InoHost ih(&agi, btree::BtreeKind::kInobt);
  {
    BtreeCursor ic = ih.cursor();
    bool found = false;
    if (int e = ic.lookup(btree::inobt_key(r.startino), LookupMode::kEq, &found)) return e;
    if (!found || rec_at(sb, ic).free != (r.free | uint64_t{1} << i))
      return corrupt(agi, "inobt and finobt disagree on chunk " + std::to_string(r.startino));
  }
  {
    BtreeCursor ic = ih.cursor();
    if (int e = put_rec(agi, ic, r, false)) return e;
  }
  BtreeCursor fc = fh.cursor();
  if (int e = put_rec(agi, fc, r, true)) return e;
  agi.add(AgiField::kFreecount, -1);
  *agino = r.startino + i;
  return 0;
}

}  // namespace

uint32_t ialloc_reservation(const Superblock& sb) {
  return chunk_blocks(sb) + std::max<uint32_t>(1, sb.inoalignmt) + 2 * 8;  // the chunk and splits of both inode trees
}

uint32_t ifree_reservation(const Superblock&) { return 2 * 8; }  // a split at every level of a tall finobt

int ialloc(Transaction& tp, uint64_t parent_ino, uint64_t* ino) {
  const Superblock& sb = tp.mount().sb();
  if (!ino_in_fs(sb, parent_ino)) return EINVAL;
  const uint32_t first = ino_to_agno(sb, parent_ino);
  // The parent's AG first, waiting for its AGI; the others in turn, skipped
  // when another transaction holds their AGI or AGF (they may come before
  // this one in agno order: waiting could deadlock, as the kernel's trylock
  // avoids).  An AG skipped is left as it was; one without space for a chunk
  // may have had its AGFL topped up, a consistent change committed with the rest.
  for (uint32_t i = 0; i < sb.agcount; i++) {
    const uint32_t agno = (first + i) % sb.agcount;
    AgiTx agi;
    const int got = AgiTx::get(tp, agno, &agi, /*trylock=*/i > 0);
    if (got == EAGAIN) continue;
    if (got) return got;
    if (agi.get(AgiField::kFreecount) == 0) {
      const int e = new_chunk(agi, /*trylock=*/i > 0);
      if (e == ENOSPC || e == EAGAIN) continue;
      if (e) return e;
    }
    uint32_t agino;
    if (int e = take_free(agi, agno == first ? ino_to_agino(sb, parent_ino) : 0, &agino)) return e;
    *ino = agino_to_ino(sb, agno, agino);
    return 0;
  }
  return ENOSPC;
}

int ifree(Transaction& tp, uint64_t ino) {
  const Superblock& sb = tp.mount().sb();
  if (!ino_in_fs(sb, ino)) return EINVAL;
  AgiTx agi;
  if (int e = AgiTx::get(tp, ino_to_agno(sb, ino), &agi)) return e;
  const uint32_t agino = ino_to_agino(sb, ino);
  InoHost ih(&agi, btree::BtreeKind::kInobt);
  InobtRec r;
  {
    BtreeCursor ic = ih.cursor();
    bool found = false;
    if (int e = ic.lookup(btree::inobt_key(agino), LookupMode::kLe, &found)) return e;
    if (found) r = rec_at(sb, ic);
    if (!found || agino >= r.startino + kInodesPerChunk)
      return corrupt(agi, "freeing inode " + std::to_string(ino) + ", which no chunk holds");
  }
  const uint64_t bit = uint64_t{1} << (agino - r.startino);
  if ((r.free | inobt_hole_bits(r.holemask)) & bit)
    return corrupt(agi, "freeing inode " + std::to_string(ino) + ", which is free already");
  r.free |= bit;
  r.freecount++;
  agi.add(AgiField::kFreecount, 1);
  const bool root_chunk = ino_to_agno(sb, sb.rootino) == agi.agno() &&
                          chunk_start_agino(ino_to_agino(sb, sb.rootino)) == r.startino;
  InoHost fh(&agi, btree::BtreeKind::kFinobt);
  // A chunk smaller than a block (more than 64 inodes a block) stays, as
  // the kernel keeps it: its block holds other chunks.
  const bool whole_blocks = (uint32_t{1} << sb.inopblog) <= kInodesPerChunk;
  if (r.freecount == r.count && !root_chunk && whole_blocks) {
    // Every allocated inode of the chunk is free: the chunk goes, its holes
    // skipped, as the kernel frees it (no ikeep).
    for (auto* host : {&ih, &fh}) {
      BtreeCursor c = host->cursor();
      bool found = false;
      if (int e = c.lookup(btree::inobt_key(r.startino), LookupMode::kEq, &found)) return e;
      if (!found) return corrupt(agi, "chunk " + std::to_string(r.startino) + " missing from a tree");
      if (int e = c.remove(&found)) return e;
    }
    agi.add(AgiField::kCount, -int64_t{r.count});
    agi.add(AgiField::kFreecount, -int64_t{r.count});
    return free_chunk_blocks(agi, r);
  }
  {
    BtreeCursor ic = ih.cursor();
    if (int e = put_rec(agi, ic, r, false)) return e;
  }
  BtreeCursor fc = fh.cursor();
  return put_rec(agi, fc, r, true);
}

}  // namespace xfsfuse::fs
