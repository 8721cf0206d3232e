#include "fs/alloc/iunlink.h"

#include <cerrno>
#include <cstddef>
#include <string>

#include "fs/ag.h"
#include "fs/alloc/agi_tx.h"
#include "fs/format/endian.h"
#include "fs/format/geometry.h"
#include "fs/format/inode.h"
#include "fs/mount.h"

namespace xfsfuse::fs {

namespace {

constexpr unsigned kBuckets = 64;
constexpr size_t kNextOff = offsetof(xd_dinode, di_next_unlinked);

// One inode's bytes in its cluster buffer, joined to the transaction.
struct Slot {
  bc::BufHandle* h = nullptr;
  size_t at = 0;
};

int slot_of(Transaction& tp, uint64_t ino, Slot* out) {
  Mount& m = tp.mount();
  bc::DiskRange map;
  if (int e = m.inode_buf_map(ino, &map, &out->at)) return e;
  return tp.read_buf({&map, 1}, &m.buf_ops().inode_cluster(), bc::kAnyOwner, &out->h);
}

uint32_t next_at(const bc::BufHandle& h, size_t at) {
  return static_cast<uint32_t>(bc::load_be(h.data() + at + kNextOff, 4));
}

// The di_next_unlinked of inode ino as it is now, without joining its
// cluster buffer: read from the buffer if this transaction holds it, else
// read shared and let go at once (the caller holds the AGI, so the field
// cannot change meanwhile).
int peek_next(Transaction& tp, uint64_t ino, uint32_t* out) {
  Mount& m = tp.mount();
  bc::DiskRange map;
  size_t at = 0;
  if (int e = m.inode_buf_map(ino, &map, &at)) return e;
  bc::BufHandle shared;
  const bc::BufHandle* h = tp.joined_buf(map.daddr);
  if (h == nullptr) {
    if (int e = m.cache().get({&map, 1}, &m.buf_ops().inode_cluster(), bc::kAnyOwner, bc::kGetShared, &shared))
      return e;
    h = &shared;
  }
  *out = next_at(*h, at);
  return 0;
}

void set_next(Transaction& tp, const Slot& s, uint32_t agino) {
  const uint32_t isize = tp.mount().sb().inodesize;
  store_be(s.h->data() + s.at + kNextOff, 4, agino);
  inode_update_crc({s.h->data() + s.at, isize});
  tp.log_buf(s.h, s.at, isize);
}

int corrupt(AgiTx& agi, unsigned bucket, const std::string& why) {
  return agi.trans().mount().report_corruption(
      "AGI unlinked list", agi.daddr(),
      "AG " + std::to_string(agi.agno()) + " bucket " + std::to_string(bucket) + ": " + why);
}

}  // namespace

int iunlink(Transaction& tp, CachedInode* ip) {
  const Superblock& sb = tp.mount().sb();
  const uint64_t ino = ip->core.ino;
  const uint32_t agino = ino_to_agino(sb, ino);
  const unsigned bucket = agino % kBuckets;
  AgiTx agi;
  if (int e = AgiTx::get(tp, ino_to_agno(sb, ino), &agi)) return e;
  const uint32_t head = agi.unlinked(bucket);
  if (head == agino) return corrupt(agi, bucket, "inode " + std::to_string(ino) + " is on the list already");
  if (int e = tp.hold_inode_clusters({&ino, 1})) return e;
  Slot s;
  if (int e = slot_of(tp, ino, &s)) return e;
  set_next(tp, s, head);
  ip->core.next_unlinked = head;
  agi.set_unlinked(bucket, agino);
  return 0;
}

int iunlink_remove(Transaction& tp, CachedInode* ip) {
  const Superblock& sb = tp.mount().sb();
  const uint64_t ino = ip->core.ino;
  const uint32_t agno = ino_to_agno(sb, ino), agino = ino_to_agino(sb, ino);
  const unsigned bucket = agino % kBuckets;
  AgiTx agi;
  if (int e = AgiTx::get(tp, agno, &agi)) return e;
  // Find the predecessor first, holding no cluster buffer: the walk only
  // looks (peek_next), and the AGI held keeps the chain as it is.  Then the
  // clusters of the joined inodes, the victim and the predecessor are taken
  // together, ascending (docs/locking.md).  A walk that held each cluster it
  // passed, in chain order, deadlocked against commits taking theirs in
  // inode order once many inodes were freed back to back.
  uint32_t cur = agi.unlinked(bucket);
  const bool has_prev = cur != agino;
  uint64_t prev_ino = 0;
  if (has_prev) {
    // Walk to the predecessor; a chain longer than the AG's inodes loops.
    const uint64_t limit = uint64_t{sb.agblocks} << sb.inopblog;
    for (uint64_t steps = 0;; steps++) {
      if (cur == kNullAgblock || cur % kBuckets != bucket || steps > limit)
        return corrupt(agi, bucket, "inode " + std::to_string(ino) + " is not on the list (stopped at agino " +
                                        std::to_string(cur) + ")");
      uint32_t after = 0;
      if (int e = peek_next(tp, agino_to_ino(sb, agno, cur), &after)) return e;
      if (after == agino) break;
      cur = after;
    }
    prev_ino = agino_to_ino(sb, agno, cur);
  }
  const uint64_t extra[2] = {ino, prev_ino};
  if (int e = tp.hold_inode_clusters({extra, has_prev ? 2u : 1u})) return e;
  // The victim's own next, from its cluster now held (the walk did not
  // need it); a corrupt one cancels the change before anything is written.
  Slot self;
  if (int e = slot_of(tp, ino, &self)) return e;
  const uint32_t next = next_at(*self.h, self.at);
  if (next != kNullAgblock && next % kBuckets != bucket)
    return corrupt(agi, bucket, "inode " + std::to_string(ino) + " points to agino " + std::to_string(next));
  if (has_prev) {
    Slot prev;
    if (int e = slot_of(tp, prev_ino, &prev)) return e;
    set_next(tp, prev, next);
  } else {
    agi.set_unlinked(bucket, next);
  }
  set_next(tp, self, kNullAgblock);
  ip->core.next_unlinked = kNullAgblock;
  return 0;
}

int iunlink_heads(Mount& m, uint32_t agno, std::array<uint32_t, 64>* heads) {
  if (agno >= m.sb().agcount) return EINVAL;
  const bc::DiskRange map{ag_header_daddr(m.sb(), agno, 2), static_cast<uint32_t>(m.sb().sectsize >> 9)};
  bc::BufHandle h;
  if (int e = m.cache().get({&map, 1}, &m.buf_ops().agi(), bc::kAnyOwner, bc::kGetShared, &h)) return e;
  AgiInfo a;
  decode_agi({h.data(), h.size()}, &a);
  *heads = a.unlinked;
  return 0;
}

}  // namespace xfsfuse::fs
