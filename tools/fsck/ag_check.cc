// check_ags: per AG, the AG headers (AGF, AGI, AGFL), the claims of the
// header blocks and AGFL blocks, then the free-space btrees
// (ag_check_free.cc) and the inode btrees (ag_check_inodes.cc).
//
// A header whose magic is right is used even if its CRC or a field is wrong
// (that is reported), so one bad field does not hide the trees; one with a
// bad magic, or that cannot be read, is reported and its trees skipped.
// Format: XFS Algorithms & Data Structures, "AG Free Space Management",
// "AG Free List", "AG Inode Management".
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <vector>

#include "fs/format/btree.h"
#include "tools/fsck/ag_check_internal.h"

namespace xfsfuse::fsck {

int read_checked(Context& cx, uint64_t daddr, uint32_t sectors, const bc::BufOps& ops, bc::BufHandle* h,
                 std::string* why) {
  const bc::DiskRange map{daddr, sectors};
  if (int err = cx.m.cache().get({&map, 1}, nullptr, bc::kAnyOwner, bc::kGetShared, h)) {
    *why = std::string("cannot read: ") + std::strerror(err);
    return err;
  }
  const bc::VerifyInput in{{h->data(), h->size()}, daddr, &cx.sb.meta_uuid};
  return ops.verify_read(in, why) ? 0 : EUCLEAN;
}

btree::SbtreeStats walk_tree(const AgScan& s, btree::SbtreeKind kind, uint32_t root, uint32_t levels, Owner owner,
                             const btree::SbtreeRecordFn& record) {
  const char* name = btree::sbtree_name(kind);
  const bc::BufOps& ops = btree::sbtree_ops(kind);
  const uint32_t sectors = static_cast<uint32_t>(fs::fsblocks_to_sectors(s.cx.sb, 1));
  btree::SbtreeWalk w;
  w.kind = kind;
  w.blocksize = s.cx.sb.blocksize;
  w.ag_daddr = s.daddr(0);
  w.ag_length = s.length;
  w.root = root;
  w.levels = levels;
  w.record = record;
  w.block = [&](uint32_t agbno, unsigned) { s.cx.space.claim(s.agno, agbno, 1, owner, 0); };
  // Links between blocks (sibling pointers, a child's keys against its
  // parent's) are warnings, not problems: xfs_repair -n does not check them
  // in AG btrees (its repair rebuilds these trees whole), and on a leftsib
  // or a node key written with xfs_db it calls the filesystem clean.  A bad
  // link that matters also shows up as a block reached twice or not at all
  // (space), or as records out of order.
  w.fault = [&](const btree::SbtreeFault& f) {
    if (f.link)
      s.cx.rep.warn(Problem{name, s.agno, kNoIno, f.daddr, f.why});
    else
      s.report(name, f.daddr, f.why);
  };
  w.read = [&](uint32_t agbno, bc::BufHandle* h, std::string* why) {
    const uint64_t daddr = s.daddr(agbno);
    const int err = read_checked(s.cx, daddr, sectors, ops, h, why);
    if (err == EUCLEAN && *h && bc::load_be(h->data(), 4) == btree::sbtree_magic(kind)) {
      s.report(name, daddr, *why);  // this tree's block, damaged: walk it anyway
    } else if (err) {
      return err;
    }
    if (!ops.owner_ok({h->data(), h->size()}, s.agno))
      s.report(name, daddr, "owner " + std::to_string(bc::load_be(h->data() + offsetof(xd_btree_sblock, bb_owner), 4)) + " is not AG " + std::to_string(s.agno));
    return 0;
  };
  return btree::sbtree_walk(w);
}

namespace {

// Reads AG header sector n (1 AGF, 2 AGI, 3 AGFL) and reports what its
// verifier says.  Returns whether the sector holds this structure (magic).
bool read_header(const AgScan& s, uint32_t n, const char* structure, const bc::BufOps& ops, uint32_t magic,
                 bc::BufHandle* h) {
  const uint64_t daddr = fs::ag_header_daddr(s.cx.sb, s.agno, n);
  std::string why;
  const int err = read_checked(s.cx, daddr, static_cast<uint32_t>(fs::ag_header_sector(s.cx.sb, 1)), ops, h, &why);
  if (err == 0) return true;
  s.report(structure, daddr, why);
  return err == EUCLEAN && *h && bc::load_be(h->data(), 4) == magic;
}

// The AGFL's active slots flfirst..fllast (wrapping): count against
// agf_flcount, each block inside the AG and claimed.  Returns the blocks claimed.
uint64_t check_agfl(const AgScan& s, const fs::BufOpsSet& ops, const fs::AgfInfo& agf) {
  const uint64_t daddr = fs::ag_header_daddr(s.cx.sb, s.agno, 3);
  bc::BufHandle h;
  if (!read_header(s, 3, "agfl", ops.agfl(), fs::kAgflMagic, &h)) return 0;
  const uint32_t slots = static_cast<uint32_t>((h.size() - fs::kAgflHeaderSize) / 4);
  if (agf.flfirst >= slots || agf.fllast >= slots) {
    s.report("agf", fs::ag_header_daddr(s.cx.sb, s.agno, 1),
             "agf_flfirst " + std::to_string(agf.flfirst) + " or agf_fllast " + std::to_string(agf.fllast) +
                 " outside the AGFL's " + std::to_string(slots) + " slots");
    return 0;
  }
  if (agf.flcount == 0) return 0;
  const uint32_t active = (agf.fllast + slots - agf.flfirst) % slots + 1;
  if (active != agf.flcount) {
    s.report("agf", fs::ag_header_daddr(s.cx.sb, s.agno, 1),
             "agf_flcount " + std::to_string(agf.flcount) + " but slots " + std::to_string(agf.flfirst) + ".." +
                 std::to_string(agf.fllast) + " hold " + std::to_string(active) + " blocks");
    if (agf.flcount > slots) return 0;
  }
  uint64_t claimed = 0;
  for (uint32_t i = 0, slot = agf.flfirst; i < active; i++, slot = (slot + 1) % slots) {
    const uint32_t agbno = static_cast<uint32_t>(bc::load_be(h.data() + fs::kAgflHeaderSize + 4 * slot, 4));
    if (agbno == 0 || agbno >= s.length) {
      s.report("agfl", daddr, "slot " + std::to_string(slot) + " holds agbno " + std::to_string(agbno) + ", outside the AG");
      continue;
    }
    s.cx.space.claim(s.agno, agbno, 1, Owner::kAgfl, 0);
    claimed++;
  }
  return claimed;
}

// After a log replay (--replay): follows bucket's chain through
// di_next_unlinked from agino, noting every inode on it in
// Context::unlinked.  Each must be an in-use inode of the AG with no links,
// in its bucket (agino mod 64), met once.
void walk_unlinked(const AgScan& s, uint32_t bucket, uint32_t agino, uint64_t daddr) {
  const uint64_t ninodes = fs::fsblocks_to_inodes(s.cx.sb, s.length);
  const std::string where = "agi_unlinked[" + std::to_string(bucket) + "] chain: ";
  while (agino != fs::kNullAgblock) {
    if (agino >= ninodes || agino % 64 != bucket) {
      s.report("agi", daddr, where + "agino " + std::to_string(agino) + " is not an inode of the AG in this bucket");
      return;
    }
    const uint64_t ino = fs::agino_to_ino(s.cx.sb, s.agno, agino);
    fs::InodeRef ip;
    if (int e = s.cx.m.iget(ino, &ip)) {
      s.report("agi", daddr, where + "inode " + std::to_string(ino) + " is not an in-use inode (" + std::strerror(e) + ")");
      return;
    }
    if (ip->core.nlink != 0)
      s.report("agi", daddr, where + "inode " + std::to_string(ino) + " has " + std::to_string(ip->core.nlink) + " links");
    if (!s.cx.unlinked.insert(ino).second) {
      s.report("agi", daddr, where + "inode " + std::to_string(ino) + " is met twice (a cycle)");
      return;
    }
    agino = ip->core.next_unlinked;
  }
}

// Agino fields of the AGI that must be NULLAGINO or inside the AG.
void check_agi_fields(const AgScan& s, const fs::AgiInfo& agi, uint64_t daddr) {
  const uint64_t ninodes = fs::fsblocks_to_inodes(s.cx.sb, s.length);
  auto agino = [&](const std::string& name, uint32_t v) {
    if (v != fs::kNullAgblock && v >= ninodes)
      s.report("agi", daddr, name + " " + std::to_string(v) + " is not an inode of the AG");
  };
  agino("agi_newino", agi.newino);
  agino("agi_dirino", agi.dirino);
  for (size_t i = 0; i < agi.unlinked.size(); i++) {
    // After a replay the lists hold the files open but unlinked at the
    // crash, which the mount that recovers frees.
    if (agi.unlinked[i] != fs::kNullAgblock && s.cx.m.recovered())
      walk_unlinked(s, static_cast<uint32_t>(i), agi.unlinked[i], daddr);
    else if (agi.unlinked[i] != fs::kNullAgblock)
      s.report("agi", daddr,
               "agi_unlinked[" + std::to_string(i) + "] holds agino " + std::to_string(agi.unlinked[i]) +
                   ": an unlinked inode list on a clean filesystem");
  }
}

void check_ag(Context& cx, const fs::BufOpsSet& ops, uint32_t agno, AgTotals* t) {
  const fs::Superblock& sb = cx.sb;
  const AgScan s{cx, agno, fs::ag_length(sb, agno)};
  // Sectors 0..3 (sb, AGF, AGI, AGFL) fill the first blocks of every AG.
  cx.space.claim(agno, 0, fs::ag_header_blocks(sb), Owner::kAgHeaders, 0);

  bool agf_ok = false, agi_ok = false;
  fs::AgfInfo agf;
  bc::BufHandle h;
  if (read_header(s, 1, "agf", ops.agf(), fs::kAgfMagic, &h)) {
    fs::decode_agf({h.data(), h.size()}, &agf);
    agf_ok = true;
  }
  h.release();
  fs::AgiInfo agi;
  if (read_header(s, 2, "agi", ops.agi(), fs::kAgiMagic, &h)) {
    fs::decode_agi({h.data(), h.size()}, &agi);
    agi_ok = true;
  }
  h.release();
  if (agf_ok) {
    t->agfl_blocks = check_agfl(s, ops, agf);
    check_free_space(s, agf, fs::ag_header_daddr(sb, agno, 1), t);
  }
  if (agi_ok) {
    check_agi_fields(s, agi, fs::ag_header_daddr(sb, agno, 2));
    check_inode_btrees(s, agi, fs::ag_header_daddr(sb, agno, 2), t);
  }
  t->ok = agf_ok && agi_ok;
}

}  // namespace

void check_ags(Context& cx) {
  const fs::BufOpsSet& ops = cx.m.buf_ops();
  if (cx.ags.size() < cx.sb.agcount) cx.ags.resize(cx.sb.agcount);
  for (uint32_t agno = 0; agno < cx.sb.agcount; agno++) {
    check_ag(cx, ops, agno, &cx.ags[agno]);
    if (cx.progress) cx.progress("ags", double(agno + 1) / cx.sb.agcount);
  }
}

}  // namespace xfsfuse::fsck
