// tools/fsck/inode_shared.cc — reflinked data blocks.  On a reflink
// filesystem a block of regular file data may belong to several files: the
// refcountbt holds one record per shared extent (start agbno, length,
// refcount >= 2; CoW staging records have the top bit of start set and are
// claimed by the AG phase).  Files' claims of shared blocks are counted here
// instead of claimed, and every shared extent is claimed once at the end,
// so the space map sees no overlap where the refcountbt says the sharing is
// legitimate, and a refcount the files do not bear out is reported.  Format:
// XFS Algorithms & Data Structures, "Reference Count B+tree".
#include <algorithm>
#include <cerrno>

#include "btree/sbtree.h"
#include "fs/ag.h"
#include "tools/fsck/inode_check.h"

namespace xfsfuse::fsck {

namespace {
constexpr uint32_t kCowFlag = 1u << 31;
}  // namespace

SharedBlocks::SharedBlocks(Context& cx) : cx_(cx), ags_(cx.sb.agcount) {
  const fs::Superblock& sb = cx.sb;
  if (!(sb.features_ro_compat & fs::kRoCompatReflink)) return;
  const bc::BufOps& ops = btree::sbtree_ops(btree::SbtreeKind::kRefcountbt);
  for (uint32_t agno = 0; agno < sb.agcount; agno++) {
    fs::AgfInfo agf;
    {
      const bc::DiskRange map{fs::ag_header_daddr(sb, agno, 1), uint32_t{sb.sectsize} >> 9};
      bc::BufHandle h;
      if (cx.m.cache().get({&map, 1}, nullptr, bc::kAnyOwner, bc::kGetShared, &h) != 0) continue;
      fs::decode_agf({h.data(), h.size()}, &agf);
    }
    const uint32_t length = fs::ag_length(sb, agno);
    std::vector<Rec>& recs = ags_[agno];
    btree::SbtreeWalk w;
    w.kind = btree::SbtreeKind::kRefcountbt;
    w.blocksize = sb.blocksize;
    w.ag_daddr = agb_daddr(sb, agno, 0);
    w.ag_length = length;
    w.root = agf.refcount_root;
    w.levels = agf.refcount_level;
    w.read = [&](uint32_t agbno, bc::BufHandle* h, std::string* why) {
      const bc::DiskRange map{agb_daddr(sb, agno, agbno), sb.blocksize >> 9};
      if (int err = cx.m.cache().get({&map, 1}, nullptr, bc::kAnyOwner, bc::kGetShared, h)) return err;
      return ops.verify_read(bc::VerifyInput{{h->data(), h->size()}, map.daddr, &sb.meta_uuid}, why) ? 0 : EUCLEAN;
    };
    // Bad records and tree faults are the AG phase's to report: skip them.
    w.record = [&](std::span<const std::byte> rec, uint64_t daddr) {
      const auto start = static_cast<uint32_t>(bc::load_be(rec.data(), 4));
      const auto len = static_cast<uint32_t>(bc::load_be(rec.data() + 4, 4));
      const auto refcount = static_cast<uint32_t>(bc::load_be(rec.data() + 8, 4));
      if ((start & kCowFlag) || refcount < 2 || len == 0 || uint64_t{start} + len > length) return;
      if (!recs.empty() && start < recs.back().start + recs.back().len) return;
      recs.push_back(Rec{start, len, refcount, daddr, 0});
    };
    w.fault = [](const btree::SbtreeFault&) {};
    btree::sbtree_walk(w);
  }
}

void SharedBlocks::claim_data(uint32_t agno, uint32_t agbno, uint32_t len, uint64_t ino) {
  if (agno >= ags_.size() || ags_[agno].empty()) return cx_.space.claim(agno, agbno, len, Owner::kData, ino);
  std::vector<Rec>& recs = ags_[agno];
  uint64_t at = agbno;
  const uint64_t end = uint64_t{agbno} + len;
  // The first record ending after `at` (records are sorted and disjoint).
  auto it = std::upper_bound(recs.begin(), recs.end(), at,
                             [](uint64_t v, const Rec& r) { return v < uint64_t{r.start} + r.len; });
  while (at < end) {
    if (it == recs.end() || it->start >= end) {
      cx_.space.claim(agno, static_cast<uint32_t>(at), static_cast<uint32_t>(end - at), Owner::kData, ino);
      return;
    }
    if (it->start > at) {
      cx_.space.claim(agno, static_cast<uint32_t>(at), static_cast<uint32_t>(it->start - at), Owner::kData, ino);
      at = it->start;
    }
    const uint64_t stop = std::min<uint64_t>(end, uint64_t{it->start} + it->len);
    it->mapped += stop - at;
    at = stop;
    ++it;
  }
}

void SharedBlocks::finish() {
  for (uint32_t agno = 0; agno < ags_.size(); agno++) {
    for (const Rec& r : ags_[agno]) {
      cx_.space.claim(agno, r.start, r.len, Owner::kData, 0);
      const uint64_t want = uint64_t{r.len} * r.refcount;
      if (r.mapped != want)
        cx_.rep.report("refcountbt", agno, kNoIno, r.daddr,
                       "shared extent agbno " + std::to_string(r.start) + " length " + std::to_string(r.len) +
                           " has refcount " + std::to_string(r.refcount) + ", but files map " +
                           std::to_string(r.mapped) + " block references to it (" + std::to_string(want) +
                           " expected)");
    }
  }
}

}  // namespace xfsfuse::fsck
