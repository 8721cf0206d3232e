// Deep checks of leaf- and node-form directories (fs/dir_check.h): the data
// blocks' entries and best free lengths, di_size, leaf entries against data
// entries, LEAF1 bests and the free-index blocks.  The leaf space's da btree
// is walked in dir_check_leaf.cc.
//
// A free-index block (XDF3, node form only, from the 64 GiB offset of the
// data fork): xd_dir3_free_hdr (v5 header, firstdb, nvalid, nused, pad),
// then be16 bests[nvalid] for data blocks firstdb, firstdb + 1, ...; block i
// of the free space starts at firstdb = i * (dirblksize - 64) / 2.
#include "fs/dir_check.h"

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <functional>

#include "fs/corrupt.h"
#include "fs/dir_check_internal.h"
#include "fs/format/dir.h"
#include "fs/format/endian.h"

namespace xfsfuse::fs {

namespace dir {

void DeepCheck::fault(uint64_t daddr, std::string why, bool repair_silent) {
  if (faults->size() >= kMaxDirFaults) {
    dropped++;
    return;
  }
  faults->push_back(DirFault{daddr, std::move(why), repair_silent});
}

uint64_t DeepCheck::block_daddr(uint64_t dablk) const {
  for (const Extent& e : ip.df.extents)
    if (dablk >= e.startoff && dablk - e.startoff < e.blockcount) return fs::fsblock_to_daddr(m.sb(), e.startblock + (dablk - e.startoff));
  return ip.daddr;
}

namespace {

static_assert(sizeof(xd_dir3_free_hdr) == 64);

// Directory blocks (their first dablk) that ip maps in [lo, hi) fsblocks,
// ascending; a block that is only partly mapped is listed too (its read
// then fails with ENOENT).
std::vector<uint64_t> mapped_blocks(const DeepCheck& c, uint64_t lo, uint64_t hi) {
  std::vector<uint64_t> v;
  for (const Extent& e : c.ip.df.extents) {
    const uint64_t a = std::max(e.startoff, lo), b = std::min(e.startoff + e.blockcount, hi);
    for (uint64_t blk = a / c.g.blkfsbs; a < b && blk * c.g.blkfsbs < b; blk++)
      if (v.empty() || v.back() != blk * c.g.blkfsbs) v.push_back(blk * c.g.blkfsbs);
  }
  return v;
}

std::string read_error(int err) {
  return err == ENOENT ? "is partly a hole" : err == EUCLEAN ? "fails its checks" : "cannot be read (errno " + std::to_string(err) + ")";
}

// Calls fn(entry, address, hashval) for each entry of data block db;
// false if the block is not a data block (see entries_end()).
bool data_entries(std::span<const std::byte> blk, uint64_t db, uint32_t blksize,
                  const std::function<void(const DataEntry& e, uint32_t addr, uint32_t hash)>& fn) {
  const size_t end = entries_end(blk, kDir3DataMagic);
  bool stopped = false;
  return end != 0 && walk_entries(blk, end, 0,
                                  [&](const DataEntry& e) {
                                    fn(e, static_cast<uint32_t>((db * blksize + e.off) >> 3), da_hashname(e.name));
                                    return true;
                                  },
                                  &stopped);
}

// Reads every data block: c->best, c->data_daddr, c->data_digest; lists
// each entry to c->list (if set).
void read_data_blocks(DeepCheck* c) {
  for (uint64_t dablk : mapped_blocks(*c, 0, c->g.leaf_dablk)) {
    const uint64_t db = dablk / c->g.blkfsbs;
    c->best.resize(db + 1, DeepCheck::kHole);
    c->data_daddr.resize(db + 1, 0);
    bc::BufHandle h;
    if (int err = c->m.read_dablk(c->ip, false, dablk, &dir3_data_ops(), &h)) {
      c->best[db] = DeepCheck::kUnread;
      c->fault(c->block_daddr(dablk), "data block " + std::to_string(db) + " " + read_error(err));
      continue;
    }
    std::span<const std::byte> blk(h.data(), h.size());
    c->data_daddr[db] = h.daddr();
    auto add = [&](const DataEntry& e, uint32_t addr, uint32_t hash) {
      c->data_digest.add(addr, hash);
      if (*c->list) (*c->list)(DirEntry{e.name, e.ino, e.ftype, addr + entsize(e.name.size()) / 8});
    };
    if (!data_entries(blk, db, c->g.blksize, add)) {
      c->best[db] = DeepCheck::kUnread;
      c->fault(h.daddr(), "data block " + std::to_string(db) + " is not a dir3 data block");
      continue;
    }
    xd_dir3_data_hdr hdr;
    std::memcpy(&hdr, blk.data(), sizeof hdr);
    c->best[db] = be16(hdr.best_free[0].length);
  }
}

// bests[i] describes data block firstdb + i; daddr and what name the block.
// Returns how many are not kNullBest.
size_t check_bests(DeepCheck* c, uint64_t daddr, const char* what, uint64_t firstdb, const std::vector<uint16_t>& bests) {
  size_t used = 0;
  for (size_t i = 0; i < bests.size(); i++) {
    const uint64_t db = firstdb + i;
    const int32_t want = db < c->best.size() ? c->best[db] : DeepCheck::kHole;
    used += bests[i] != kNullBest;
    if (want == DeepCheck::kUnread) continue;
    const int32_t got = bests[i] == kNullBest ? DeepCheck::kHole : bests[i];
    if (got != want)
      c->fault(daddr, std::string(what) + " best for data block " + std::to_string(db) + " is " +
                          (got == DeepCheck::kHole ? "0xffff (a hole)" : std::to_string(got)) + ", the block's is " +
                          (want == DeepCheck::kHole ? "none (a hole)" : "bestfree[0] " + std::to_string(want)));
  }
  return used;
}

void check_leaf1_bests(DeepCheck* c) {
  if (!c->have_leaf1) return;
  if (c->leaf1_bests.size() != c->best.size())
    c->fault(c->leaf1_daddr, "LEAF1 bestcount " + std::to_string(c->leaf1_bests.size()) + " but " +
                                 std::to_string(c->best.size()) + " data blocks");
  check_bests(c, c->leaf1_daddr, "LEAF1", 0, c->leaf1_bests);
}

// Node form: every free-index block, and every data block covered once.
void check_free_blocks(DeepCheck* c) {
  const uint64_t per_block = (c->g.blksize - sizeof(xd_dir3_free_hdr)) / 2;
  std::vector<bool> covered(c->best.size());
  for (uint64_t dablk : mapped_blocks(*c, c->g.free_dablk, UINT64_MAX)) {
    const uint64_t index = (dablk - c->g.free_dablk) / c->g.blkfsbs;
    const std::string name = "free block " + std::to_string(index);
    bc::BufHandle h;
    if (int err = c->m.read_dablk(c->ip, false, dablk, &dir3_free_ops(), &h)) {
      c->fault(c->block_daddr(dablk), name + " " + read_error(err));
      std::fill(covered.begin(), covered.end(), true);  // no verdict on coverage
      continue;
    }
    xd_dir3_free_hdr hdr;
    std::memcpy(&hdr, h.data(), sizeof hdr);
    const uint64_t firstdb = be32(hdr.firstdb), nvalid = be32(hdr.nvalid), nused = be32(hdr.nused);
    if (firstdb != index * per_block)
      c->fault(h.daddr(), name + " firstdb " + std::to_string(firstdb) + ", expected " +
                              std::to_string(index * per_block));
    if (nvalid > per_block || nused > nvalid) {
      c->fault(h.daddr(), name + " nvalid " + std::to_string(nvalid) + " nused " + std::to_string(nused) +
                              " (at most " + std::to_string(per_block) + " bests, nused <= nvalid)");
      continue;
    }
    std::vector<uint16_t> bests(nvalid);
    for (size_t i = 0; i < nvalid; i++)
      bests[i] = static_cast<uint16_t>(bc::load_be(h.data() + sizeof hdr + 2 * i, 2));
    const size_t used = check_bests(c, h.daddr(), name.c_str(), firstdb, bests);
    if (used != nused)
      c->fault(h.daddr(), name + " nused " + std::to_string(nused) + " but " + std::to_string(used) + " bests in use");
    for (uint64_t db = firstdb; db < firstdb + nvalid && db < covered.size(); db++) covered[db] = true;
  }
  for (size_t db = 0; db < covered.size(); db++)
    if (!covered[db] && c->best[db] != DeepCheck::kHole)
      c->fault(c->data_daddr[db], "data block " + std::to_string(db) + " has no free-index best");
}

// Every live leaf entry names a data entry with its hash; every data entry
// is named exactly once.  REQUIRES: every data and leaf block was read.
void match_entries(DeepCheck* c, uint16_t leaf_magic) {
  if (c->data_digest == c->leaf_digest) return;
  std::vector<HashAddr> data, leaf;
  for (size_t db = 0; db < c->best.size(); db++) {
    bc::BufHandle h;
    if (c->best[db] < 0 || c->m.read_dablk(c->ip, false, db * c->g.blkfsbs, &dir3_data_ops(), &h)) continue;
    data_entries({h.data(), h.size()}, db, c->g.blksize,
                 [&](const DataEntry&, uint32_t addr, uint32_t hash) { data.push_back(HashAddr{addr, hash, h.daddr()}); });
  }
  collect_leaf_entries(c, leaf_magic, &leaf);
  auto by_addr = [](const HashAddr& a, const HashAddr& b) { return a.addr < b.addr; };
  std::sort(leaf.begin(), leaf.end(), by_addr);  // data is in address order already
  auto d = data.begin();
  const HashAddr* prev = nullptr;
  for (const HashAddr& l : leaf) {
    for (; d != data.end() && d->addr < l.addr; ++d)
      if (!prev || prev->addr != d->addr)
        c->fault(d->daddr, "entry at address " + hex(d->addr) + " has no leaf entry");
    if (prev && prev->addr == l.addr)
      c->fault(l.daddr, "two leaf entries name address " + hex(l.addr));
    else if (d == data.end() || d->addr != l.addr)
      c->fault(l.daddr, "leaf entry " + hex(l.hash) + " names address " + hex(l.addr) + ", where no entry starts");
    else if (d->hash != l.hash)
      c->fault(l.daddr, "leaf entry for address " + hex(l.addr) + " has hashval " + hex(l.hash) +
                            ", the name's hash is " + hex(d->hash));
    prev = &l;
  }
  for (; d != data.end(); ++d)
    if (!prev || prev->addr != d->addr)
      c->fault(d->daddr, "entry at address " + hex(d->addr) + " has no leaf entry");
}

}  // namespace

}  // namespace dir

int dir_check_walk(Mount& m, const CachedInode& ip, const std::function<void(const DirEntry&)>& fn,
                   std::vector<DirFault>* faults) {
  dir::Form form;
  if (int err = dir::dir_form(m, ip, &form, false)) return err;
  auto all = [&](const DirEntry& e) { return fn(e), true; };
  if (form == dir::Form::kShort) return fn ? dir::sf_iterate(m, ip, 0, all) : 0;
  if (form == dir::Form::kBlock) {
    if (ip.core.size != m.sb().dirblksize)
      faults->push_back(DirFault{ip.daddr, "block form but di_size " + std::to_string(ip.core.size), true});
    return fn ? dir::data_iterate(m, ip, true, 0, all) : 0;
  }
  dir::DeepCheck c(m, ip, faults);
  c.list = &fn;
  dir::read_data_blocks(&c);
  const uint64_t want_size = uint64_t{c.best.size()} * c.g.blksize;
  if (ip.core.size != want_size)
    faults->push_back(DirFault{ip.daddr, "di_size " + std::to_string(ip.core.size) +
                                             " but the data blocks end at byte " + std::to_string(want_size), true});
  dir::check_leaf_space(&c, form == dir::Form::kLeaf ? kDir3Leaf1Magic : kDir3LeafnMagic);
  if (c.leaf_complete && std::none_of(c.best.begin(), c.best.end(), [](int32_t b) { return b == dir::DeepCheck::kUnread; }))
    dir::match_entries(&c, form == dir::Form::kLeaf ? kDir3Leaf1Magic : kDir3LeafnMagic);
  if (form == dir::Form::kLeaf)
    dir::check_leaf1_bests(&c);
  else
    dir::check_free_blocks(&c);
  if (c.dropped) faults->push_back(DirFault{ip.daddr, std::to_string(c.dropped) + " more findings not shown"});
  return 0;
}

int dir_deep_check(Mount& m, const CachedInode& ip, std::vector<DirFault>* faults) {
  return dir_check_walk(m, ip, {}, faults);
}

}  // namespace xfsfuse::fs
