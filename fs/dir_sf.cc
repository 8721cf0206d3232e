// Short-form directories, inside the inode's data fork (di_format local):
// xd_dir2_sf_hdr (u8 count, u8 i8count, parent inumber of 4 bytes, or 8 when
// i8count is non-zero), then `count` entries of u8 namelen, be16 offset,
// name, u8 ftype, inumber (4 or 8 bytes).  ftype sits before the inumber
// (docs/format.md "Short-form directories").  An entry's offset is where it would sit in a data
// block, so it serves as the cookie unit here too; "." and ".." have none
// stored and take the data-block places 64 and 80.  The whole fork is
// checked before anything is returned from it.
#include <cerrno>
#include <vector>

#include "fs/dir_internal.h"

namespace xfsfuse::fs::dir {

int sf_decode(Mount& m, const CachedInode& ip, uint64_t* parent, std::vector<SfEntry>* out) {
  const std::span<const std::byte> fork = ip.fork_bytes(false);
  const uint64_t daddr = ip.daddr;
  auto bad = [&](const std::string& why) {
    return m.report_corruption("dir sf", daddr, "directory " + std::to_string(ip.core.ino) + ": " + why);
  };
  auto u8 = [&](size_t off) { return std::to_integer<uint8_t>(fork[off]); };
  const uint64_t size = ip.core.size;
  if (size > fork.size() || size < 2)
    return bad("di_size " + std::to_string(size) + " does not fit the " + std::to_string(fork.size()) + "-byte fork");
  const size_t count = u8(0), i8count = u8(1), inosize = i8count ? 8 : 4;
  if (size < 2 + inosize) return bad("di_size " + std::to_string(size) + " is shorter than the header");
  *parent = bc::load_be(fork.data() + 2, inosize);
  if (int err = check_ino(m, "dir sf", daddr, *parent, "..")) return err;
  size_t big = *parent > kMaxShortIno, pos = 2 + inosize;
  uint64_t next_off = kFirstOffset;  // the smallest offset the next entry may have
  out->clear();
  for (size_t i = 0; i < count; i++) {
    auto bad_entry = [&](const std::string& what) { return bad("entry " + std::to_string(i) + " " + what); };
    if (size - pos < 3) return bad_entry("runs past di_size");
    const size_t namelen = u8(pos);
    if (namelen == 0) return bad_entry("has an empty name");
    if (3 + namelen + 1 + inosize > size - pos) return bad_entry("runs past di_size");
    SfEntry e;
    e.off = static_cast<uint32_t>(bc::load_be(fork.data() + pos + 1, 2));
    e.name = {reinterpret_cast<const char*>(fork.data() + pos + 3), namelen};
    e.ftype = u8(pos + 3 + namelen);
    e.ino = bc::load_be(fork.data() + pos + 4 + namelen, inosize);
    if (e.name.find_first_of(std::string_view("/\0", 2)) != std::string_view::npos)
      return bad_entry("name contains '/' or NUL");
    if (e.ftype >= kFtMax) return bad_entry("has ftype " + std::to_string(e.ftype));
    if (e.off < next_off) return bad_entry("offset " + std::to_string(e.off) + " is below " + std::to_string(next_off));
    if (int err = check_ino(m, "dir sf", daddr, e.ino, e.name)) return err;
    next_off = e.off + entsize(namelen);
    big += e.ino > kMaxShortIno;
    pos += 3 + namelen + 1 + inosize;
    out->push_back(e);
  }
  if (pos != size) return bad("entries end at byte " + std::to_string(pos) + ", di_size is " + std::to_string(size));
  if (next_off > m.sb().dirblksize) return bad("entries would not fit one directory block");
  if (big != i8count)
    return bad("i8count " + std::to_string(i8count) + " but " + std::to_string(big) + " 8-byte inumbers");
  return 0;
}

int sf_iterate(Mount& m, const CachedInode& ip, uint64_t cookie, const EntryFn& fn) {
  uint64_t parent;
  std::vector<SfEntry> ents;
  if (int err = sf_decode(m, ip, &parent, &ents)) return err;
  // An entry at data offset off is due if off >= cookie * 8 (offsets are 8-aligned).
  if (kDotOffset / 8 >= cookie && !fn(DirEntry{".", ip.core.ino, kFtDir, kDotdotOffset / 8})) return 0;
  if (kDotdotOffset / 8 >= cookie && !fn(DirEntry{"..", parent, kFtDir, kFirstOffset / 8})) return 0;
  for (const SfEntry& e : ents)
    if (e.off / 8 >= cookie && !fn(DirEntry{e.name, e.ino, e.ftype, (e.off + entsize(e.name.size())) / 8})) return 0;
  return 0;
}

int sf_lookup(Mount& m, const CachedInode& ip, std::string_view name, uint64_t* ino, uint8_t* ftype) {
  uint64_t parent;
  std::vector<SfEntry> ents;
  if (int err = sf_decode(m, ip, &parent, &ents)) return err;
  if (name == "." || name == "..") ents.assign(1, SfEntry{0, name, name == "." ? ip.core.ino : parent, kFtDir});
  for (const SfEntry& e : ents) {
    if (e.name != name) continue;
    *ino = e.ino;
    if (ftype) *ftype = e.ftype;
    return 0;
  }
  return ENOENT;
}

}  // namespace xfsfuse::fs::dir
