// tests/fuzz/regions.cc — where each family's metadata lies in a seed image
// (found by reading the image with the fs library), and writing a region
// into the image and back.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "btree/bmbt.h"
#include "buffer_cache/crc32c.h"
#include "fs/ag.h"
#include "fs/buf_ops.h"
#include "fs/dir.h"
#include "fs/format/geometry.h"
#include "fs/format/magic.h"
#include "fs/inode.h"
#include "tests/fuzz/harness.h"

namespace xfsfuse::fuzz {
namespace {

uint32_t be32_at(const std::vector<std::byte>& b, size_t off) { return static_cast<uint32_t>(bc::load_be(&b[off], 4)); }
uint16_t be16_at(const std::vector<std::byte>& b, size_t off) { return static_cast<uint16_t>(bc::load_be(&b[off], 2)); }

void store_be(std::byte* p, uint64_t v, unsigned n) {
  for (unsigned i = 0; i < n; i++) p[i] = std::byte(v >> (8 * (n - 1 - i)));
}

}  // namespace

void SeedImage::add(Region r) {
  r.size = 0;
  for (auto& [off, len] : r.pieces) r.size += len;
  r.orig.resize(r.size);
  size_t at = 0;
  for (auto& [off, len] : r.pieces) {
    if (pread(fd_, &r.orig[at], len, static_cast<off_t>(off)) != static_cast<ssize_t>(len)) std::abort();
    at += len;
  }
  regions_[static_cast<size_t>(r.family)].push_back(std::move(r));
}

void SeedImage::add_region(Family f, std::string what, std::vector<std::pair<uint64_t, uint32_t>> pieces,
                           const bc::BufOps* ops, uint64_t owner, int64_t inode_byte, uint64_t walk_ino) {
  Region r;
  r.family = f;
  r.what = std::move(what);
  r.pieces = std::move(pieces);
  r.ops = ops;
  r.owner = owner;
  r.inode_byte = inode_byte;
  r.walk_ino = walk_ino;
  add(std::move(r));
}

void SeedImage::find_regions() {
  auto m = mount();
  if (!m) {
    std::fprintf(stderr, "fuzz seed image: does not mount\n");
    std::abort();
  }
  sb_ = std::make_unique<fs::Superblock>(m->sb());
  ops_ = std::make_unique<fs::BufOpsSet>(*sb_);
  const fs::Superblock& sb = *sb_;
  const uint32_t sect = sb.sectsize;

  // Superblocks and AG headers of both AGs, and the AG btree roots.
  for (uint32_t agno = 0; agno < sb.agcount; agno++) {
    auto sector = [&](uint32_t n) { return fs::daddr_to_bytes(fs::ag_header_daddr(sb, agno, n)); };
    add_region(Family::kSb, "superblock of AG " + std::to_string(agno), {{sector(0), sect}}, &fs::superblock_ops(), agno);
    add_region(Family::kAg, "AGF " + std::to_string(agno), {{sector(1), sect}}, &ops_->agf(), agno);
    add_region(Family::kAg, "AGI " + std::to_string(agno), {{sector(2), sect}}, &ops_->agi(), agno);
    add_region(Family::kAg, "AGFL " + std::to_string(agno), {{sector(3), sect}}, &ops_->agfl(), agno);
    fs::AgfInfo agf;
    fs::AgiInfo agi;
    fs::decode_agf(regions_[size_t(Family::kAg)][agno * 3].orig, &agf);
    fs::decode_agi(regions_[size_t(Family::kAg)][agno * 3 + 1].orig, &agi);
    auto root = [&](btree::SbtreeKind k, uint32_t agbno) {
      add_region(Family::kAgBtree, std::string(btree::sbtree_name(k)) + " root of AG " + std::to_string(agno),
           {{fs::daddr_to_bytes(fs::agbno_to_daddr(sb, agno, agbno)), sb.blocksize}}, &btree::sbtree_ops(k), agno);
    };
    root(btree::SbtreeKind::kBnobt, agf.roots[0]);
    root(btree::SbtreeKind::kCntbt, agf.roots[1]);
    root(btree::SbtreeKind::kInobt, agi.root);
    root(btree::SbtreeKind::kFinobt, agi.free_root);
  }

  fs::InodeRef rootip;
  if (m->iget(sb.rootino, &rootip)) std::abort();
  auto ino_of = [&](const std::string& name) {
    uint64_t ino = 0;
    if (fs::dir_lookup(*m, *rootip, name, &ino)) std::abort();
    return ino;
  };
  // Every inode the walks start from, and the fork regions of each.
  for (const char* name : {"", "sf", "block", "leaf", "node", "small", "short", "long", "xsf", "xleaf", "xnode",
                           "xremote", "bmbt"}) {
    const std::string n = name;
    const uint64_t ino = n.empty() ? sb.rootino : ino_of(n);
    fs::InodeRef ip;
    if (m->iget(ino, &ip)) std::abort();
    bc::DiskRange map;
    size_t off = 0;
    if (m->inode_buf_map(ino, &map, &off)) std::abort();
    const uint64_t ibyte = fs::daddr_to_bytes(map.daddr) + off;
    const std::string what = "/" + n;
    add_region(Family::kInode, "inode " + what, {{ibyte, sb.inodesize}}, nullptr, 0, -1, ino);
    const uint64_t lit = ibyte + 176, dsize = fs::fork_size(ip->core, false), asize = fs::fork_size(ip->core, true);
    if (ip->core.format == fs::ForkFormat::kLocal) {
      Family f = S_ISDIR(ip->core.mode) ? Family::kDir : Family::kSymlink;
      add_region(f, "local data fork of " + what, {{lit, static_cast<uint32_t>(dsize)}}, nullptr, 0, int64_t(ibyte), ino);
    }
    if (ip->has_attr_fork() && ip->core.aformat == int8_t(fs::ForkFormat::kLocal))
      add_region(Family::kAttr, "local attr fork of " + what, {{lit + ip->core.forkoff * 8u, uint32_t(asize)}}, nullptr, 0,
           int64_t(ibyte), ino);
    // Fork blocks: every directory block, attr block and remote block.
    for (bool attr : {false, true}) {
      const uint32_t step = attr || !S_ISDIR(ip->core.mode) ? 1 : 1u << sb.dirblklog;
      for (const fs::Extent& e : ip->fork(attr).extents) {
        if (!attr && S_ISREG(ip->core.mode)) break;  // file data is not metadata
        for (uint64_t fsb = e.startoff; fsb < e.startoff + e.blockcount; fsb += step) {
          std::vector<bc::DiskRange> maps;
          if (m->map_blocks(*ip, attr, fsb, step, &maps)) std::abort();
          Region r;
          r.family = Family::kDir;
          r.what = what + (attr ? " attr" : " dir") + " block " + std::to_string(fsb);
          for (auto& d : maps) r.pieces.push_back({fs::daddr_to_bytes(d.daddr), d.len << 9});
          r.owner = ino;
          r.walk_ino = ino;
          std::vector<std::byte> head(16);
          if (pread(fd_, head.data(), head.size(), off_t(r.pieces[0].first)) != 16) std::abort();
          const uint32_t magic32 = be32_at(head, 0);
          const uint16_t da_magic = be16_at(head, 8);
          if (S_ISLNK(ip->core.mode)) {
            r.family = Family::kSymlink, r.ops = &fs::symlink_ops();
          } else if (da_magic == fs::kDa3NodeMagic) {
            r.family = Family::kDaNode, r.ops = attr ? &fs::attr3_leaf_ops() : &fs::dir3_leaf_ops();
          } else if (attr) {
            r.family = Family::kAttr;
            r.ops = magic32 == fs::kAttr3RemoteMagic ? &fs::attr3_remote_ops() : &fs::attr3_leaf_ops();
          } else if (magic32 == fs::kDir3BlockMagic) {
            r.ops = &fs::dir3_block_ops();
          } else if (magic32 == fs::kDir3DataMagic) {
            r.ops = &fs::dir3_data_ops();
          } else if (magic32 == fs::kDir3FreeMagic) {
            r.ops = &fs::dir3_free_ops();
          } else {
            r.ops = &fs::dir3_leaf_ops();
          }
          add(std::move(r));
        }
      }
    }
    // bmbt blocks: the ones a walk of the bmbt reads.
    if (ip->core.format == fs::ForkFormat::kBtree) {
      auto read = [&](uint64_t fsblock, bc::BufHandle* h) {
        add_region(Family::kBmbt, what + " bmbt block " + std::to_string(fsblock),
             {{fs::daddr_to_bytes(fs::fsblock_to_daddr(sb, fsblock)), sb.blocksize}}, &fs::bmbt_ops(), ino, -1, ino);
        const bc::DiskRange blk{fs::fsblock_to_daddr(sb, fsblock), sb.blocksize >> 9};
        return m->cache().get({&blk, 1}, &fs::bmbt_ops(), ino, bc::kGetShared, h);
      };
      btree::BmbtFault fault;
      if (btree::bmbt_walk(ip->fork_bytes(false), sb.blocksize, read, [](const auto&) { return 0; }, &fault))
        std::abort();
    }
  }
}

std::vector<const Region*> SeedImage::all_regions() const {
  std::vector<const Region*> out;
  for (const auto& v : regions_)
    for (const Region& r : v) out.push_back(&r);
  return out;
}

void SeedImage::pwrite_region(const Region& r, std::span<const std::byte> bytes) {
  size_t at = 0;
  for (auto& [off, len] : r.pieces) {
    if (::pwrite(fd_, &bytes[at], len, static_cast<off_t>(off)) != static_cast<ssize_t>(len)) std::abort();
    at += len;
  }
}

void SeedImage::write(const Region& r, std::vector<std::byte> b, bool fix) {
  if (fix && r.ops) {
    if (auto* h = dynamic_cast<const bc::HeaderBufOps*>(r.ops)) {
      const bc::HeaderLayout& l = h->layout();
      if (l.uuid_off >= 0) std::memcpy(&b[l.uuid_off], sb_->meta_uuid.data(), 16);
      if (l.blkno_off >= 0) store_be(&b[l.blkno_off], r.daddr(), 8);
      if (l.owner_off >= 0) store_be(&b[l.owner_off], r.owner, l.owner_size);
      if (l.crc_off >= 0) {
        const size_t n = l.crc_len ? std::min(l.crc_len, b.size()) : b.size();
        bc::xfs_cksum_update(std::span(b).first(n), l.crc_off);
      }
    }
  }
  pwrite_region(r, b);
  dirty_.push_back(&r);
  if (fix && r.inode_byte >= 0) {
    // The region lies in an inode: refresh that inode's CRC.
    std::vector<std::byte> ino(sb_->inodesize);
    if (pread(fd_, ino.data(), ino.size(), r.inode_byte) != static_cast<ssize_t>(ino.size())) std::abort();
    fs::inode_update_crc(ino);
    if (::pwrite(fd_, ino.data(), ino.size(), r.inode_byte) != static_cast<ssize_t>(ino.size())) std::abort();
  } else if (fix && r.family == Family::kInode) {
    std::vector<std::byte> ino = b;
    fs::inode_update_crc(ino);
    pwrite_region(r, ino);
  }
}

std::vector<std::byte> SeedImage::read(const Region& r) const {
  std::vector<std::byte> b(r.size);
  size_t at = 0;
  for (auto& [off, len] : r.pieces) {
    if (pread(fd_, &b[at], len, static_cast<off_t>(off)) != static_cast<ssize_t>(len)) std::abort();
    at += len;
  }
  return b;
}

void SeedImage::restore() {
  // Backwards: a region written twice gets its first original back last.
  for (auto it = dirty_.rbegin(); it != dirty_.rend(); ++it) {
    pwrite_region(**it, (*it)->orig);
    if ((*it)->inode_byte >= 0) {
      // The enclosing inode's CRC changed too: its own region (family kInode) holds the original.
      for (const Region& r : regions_[size_t(Family::kInode)])
        if (int64_t(r.pieces[0].first) == (*it)->inode_byte) pwrite_region(r, r.orig);
    }
  }
  dirty_.clear();
}

}  // namespace xfsfuse::fuzz
