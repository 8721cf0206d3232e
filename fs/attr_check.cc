// fs/attr_check.h's checks of one structure at a time: a short-form fork,
// one leaf block.  The da btree walk and remote values are in
// fs/attr_check_tree.cc.
//
// Record sizes (usedbytes counts them, as the kernel's
// xfs_attr_leaf_entsize): a local record is valuelen (2), namelen (1), name,
// value; a remote one valueblk (4), valuelen (4), namelen (1), name, but it
// is counted as 11 bytes + the name (the format's C struct, padded to 12
// bytes, less one); each rounded up to 4 bytes.  The leaf header's freemap
// is three (base, size) regions of free bytes.  A remote value takes
// ceil(valuelen / (blocksize - 56)) fsblocks (fs/attr_remote.cc).
#include "fs/attr_check.h"

#include <cstring>
#include <set>
#include <utility>

#include "fs/attr_internal.h"
#include "fs/corrupt.h"
#include "fs/dir.h"
#include "fs/format/attr.h"
#include "fs/format/endian.h"

namespace xfsfuse::fs {

namespace {

constexpr size_t kLocalHead = 3, kRemoteCounted = 11, kRmtHdrSize = sizeof(xd_attr3_rmt_hdr);

size_t round4(size_t n) { return (n + 3) & ~size_t{3}; }

std::string quoted(std::string_view name) { return "\"" + std::string(name) + "\""; }

}  // namespace

void attr_sf_check(std::span<const std::byte> fork, uint64_t daddr, std::vector<AttrFault>* faults) {
  std::vector<attr::AttrRecord> recs;
  std::string err;
  if (attr::sf_decode(fork, &recs, &err) != 0) {
    faults->push_back(AttrFault{daddr, "short form: " + err, false});
    return;
  }
  std::set<std::pair<uint8_t, std::string_view>> seen;
  for (size_t i = 0; i < recs.size(); i++)
    if (!seen.emplace(recs[i].flags & attr::kNamespaceMask, recs[i].name).second)
      faults->push_back(AttrFault{daddr,
                                  "short form: entry " + std::to_string(i) + " repeats the name " +
                                      quoted(recs[i].name) + " in its namespace",
                                  true});
}

bool attr_leaf_block_check(std::span<const std::byte> b, uint64_t fork_blocks, std::vector<AttrFault>* faults) {
  std::string err;
  if (!attr::leaf_block_ok(b, &err)) {
    faults->push_back(AttrFault{0, err, false});
    return false;
  }
  const size_t before = faults->size();
  const auto fault = [&](std::string why, bool silent = false) { faults->push_back(AttrFault{0, std::move(why), silent}); };
  size_t used = 0;
  const uint64_t per_block = b.size() - kRmtHdrSize;
  attr::leaf_entries(b, [&](size_t i, uint32_t hashval, const attr::AttrRecord& r) {
    const std::string at = "entry " + std::to_string(i) + " " + quoted(r.name);
    if (const uint32_t h = da_hashname(r.name); h != hashval)
      fault(at + " has hashval " + hex(hashval) + " but its name hashes to " + hex(h));
    used += round4((r.remote ? kRemoteCounted : kLocalHead) + r.name.size() + (r.remote ? 0 : r.valuelen));
    if (!r.remote) return;
    const uint64_t nblocks = (uint64_t{r.valuelen} + per_block - 1) / per_block;
    if (r.valuelen == 0)
      fault(at + " has an empty remote value at attr block " + std::to_string(r.valueblk), true);
    else if (r.valuelen > attr::kValueMax || r.valueblk == 0 || r.valueblk + nblocks > fork_blocks)
      fault(at + " has a remote value of " + std::to_string(r.valuelen) + " bytes at attr block " +
            std::to_string(r.valueblk) + ", not 1..65536 bytes inside the fork's " + std::to_string(fork_blocks) +
            " blocks");
  });
  xd_attr3_leaf_hdr h;
  std::memcpy(&h, b.data(), sizeof h);
  if (be16(h.usedbytes) != used)
    fault("usedbytes " + std::to_string(be16(h.usedbytes)) + " but the entries' records take " + std::to_string(used) +
          " bytes");
  for (size_t i = 0; i < 3; i++) {
    const size_t base = be16(h.freemap[i].base), size = be16(h.freemap[i].size);
    if (base % 4 != 0 || size % 4 != 0 || base + size > b.size())
      fault("freemap[" + std::to_string(i) + "] (base " + std::to_string(base) + ", size " + std::to_string(size) +
            ") is not an aligned region inside the block");
  }
  return faults->size() == before;
}

}  // namespace xfsfuse::fs
