// Short-form attrs: the whole attr fork of the inode holds an xd_attr_sf_hdr
// (totsize counts the header too) and `count` packed entries of namelen,
// valuelen, flags (namespace bits only), name, value.
#include <cerrno>
#include <cstring>

#include "fs/attr_internal.h"
#include "fs/corrupt.h"
#include "fs/format/attr.h"
#include "fs/format/endian.h"

namespace xfsfuse::fs::attr {

namespace {

constexpr size_t kEntryHead = 3;  // namelen, valuelen, flags

}  // namespace

int sf_decode(std::span<const std::byte> fork, std::vector<AttrRecord>* out, std::string* why) {
  xd_attr_sf_hdr h;
  if (fork.size() < sizeof h) return corrupt(why, "attr fork of " + std::to_string(fork.size()) + " bytes");
  std::memcpy(&h, fork.data(), sizeof h);
  const size_t totsize = be16(h.totsize);
  if (totsize < sizeof h || totsize > fork.size())
    return corrupt(why, "totsize " + std::to_string(totsize) + " outside the " + std::to_string(fork.size()) +
                            "-byte fork");
  size_t off = sizeof h;
  for (unsigned i = 0; i < h.count; i++) {
    const std::string at = "entry " + std::to_string(i) + " at offset " + std::to_string(off);
    if (off + kEntryHead > totsize) return corrupt(why, at + " runs past totsize " + std::to_string(totsize));
    const auto* p = reinterpret_cast<const uint8_t*>(fork.data() + off);
    const uint8_t namelen = p[0], valuelen = p[1], flags = p[2];
    if (namelen == 0) return corrupt(why, at + " has an empty name");
    if (flags & ~kNamespaceMask || (flags & kNamespaceMask) == kNamespaceMask)
      return corrupt(why, at + " has flags " + hex(flags));
    const size_t end = off + kEntryHead + namelen + valuelen;
    if (end > totsize) return corrupt(why, at + " runs past totsize " + std::to_string(totsize));
    AttrRecord r;
    r.flags = flags;
    r.name = {reinterpret_cast<const char*>(p + kEntryHead), namelen};
    r.value = fork.subspan(off + kEntryHead + namelen, valuelen);
    r.valuelen = valuelen;
    out->push_back(r);
    off = end;
  }
  if (off != totsize)
    return corrupt(why, std::to_string(h.count) + " entries end at " + std::to_string(off) + ", totsize is " +
                            std::to_string(totsize));
  return 0;
}

int sf_walk(Mount& m, const CachedInode& ip, const RecordFn& fn) {
  std::vector<AttrRecord> recs;
  std::string why;
  if (sf_decode(ip.fork_bytes(true), &recs, &why) != 0)
    return m.report_corruption("attr short form", ip.daddr, "inode " + std::to_string(ip.core.ino) + ": " + why);
  for (const AttrRecord& r : recs)
    if (!fn(r)) break;
  return 0;
}

}  // namespace xfsfuse::fs::attr
