// tests/fuzz/walk.cc — reading what a fuzz input changed back through the fs
// library's entry points, and the block targets' common driver.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <set>

#include "btree/da_btree.h"
#include "fs/ag.h"
#include "fs/attr.h"
#include "fs/attr_check.h"
#include "fs/attr_internal.h"
#include "fs/bmap.h"
#include "fs/dir.h"
#include "fs/dir_check.h"
#include "fs/inode.h"
#include "fs/symlink.h"
#include "tests/fuzz/harness.h"
#include "tools/fsck/context.h"

namespace xfsfuse::fuzz {
namespace {

constexpr size_t kMaxLookups = 48;
constexpr uint64_t kMaxRead = 8u << 20;  // bytes of file data read per file

void walk_dir(fs::Mount& m, const fs::CachedInode& ip) {
  std::vector<std::string> names;
  size_t seen = 0;
  fs::dir_iterate(m, ip, 0, [&](const fs::DirEntry& e) {
    if (names.size() < kMaxLookups / 2 || seen % 256 == 0) names.emplace_back(e.name);
    return ++seen < (1u << 20);
  });
  if (names.size() > kMaxLookups) names.resize(kMaxLookups);
  names.push_back("no-such-name-in-this-directory");
  for (const std::string& n : names) {
    uint64_t ino = 0;
    uint8_t ftype = 0;
    fs::dir_lookup(m, ip, n, &ino, &ftype);
  }
  std::vector<fs::DirFault> faults;
  fs::dir_deep_check(m, ip, &faults);
}

void walk_attrs(fs::Mount& m, const fs::CachedInode& ip) {
  std::vector<std::string> names;
  fs::attr_list(m, ip, [&](std::string_view n) {
    if (names.size() < kMaxLookups) names.emplace_back(n);
  });
  names.push_back("user.no-such-attr");
  for (const std::string& n : names) {
    std::vector<std::byte> value;
    fs::attr_get(m, ip, n, &value);
  }
  std::vector<fs::AttrFault> faults;
  fs::attr_deep_check(m, ip, &faults);
}

}  // namespace

void walk_inode(fs::Mount& m, uint64_t ino) {
  fs::InodeRef ip;
  if (m.iget(ino, &ip)) return;
  std::shared_lock lk(ip->lock);
  if (S_ISDIR(ip->core.mode)) {
    walk_dir(m, *ip);
  } else if (S_ISLNK(ip->core.mode)) {
    std::string target;
    fs::read_symlink(m, *ip, &target);
  } else if (S_ISREG(ip->core.mode)) {
    std::vector<std::byte> buf(64 << 10);
    for (uint64_t off = 0; off < std::min<uint64_t>(ip->core.size, kMaxRead); off += buf.size()) {
      size_t got = 0;
      if (m.read_data(*ip, off, buf.size(), buf.data(), &got) || got == 0) break;
    }
  }
  if (ip->has_attr_fork()) walk_attrs(m, *ip);
}

void walk_tree(fs::Mount& m, size_t max_children) {
  fs::StatFs st;
  m.statfs(&st);
  std::set<uint64_t> seen{m.sb().rootino};
  std::deque<uint64_t> queue{m.sb().rootino};
  while (!queue.empty()) {
    const uint64_t ino = queue.front();
    queue.pop_front();
    walk_inode(m, ino);
    fs::InodeRef ip;
    if (m.iget(ino, &ip) || !S_ISDIR(ip->core.mode)) continue;
    std::shared_lock lk(ip->lock);
    size_t n = 0;
    fs::dir_iterate(m, *ip, 0, [&](const fs::DirEntry& e) {
      if (e.name != "." && e.name != ".." && seen.insert(e.ino).second) queue.push_back(e.ino);
      return ++n < max_children;
    });
  }
}

size_t run_fsck(fs::Mount& m, bool all, bool print) {
  fsck::Reporter rep(print, stdout);
  auto space = fsck::make_memory_space_map(m.sb(), &rep);
  auto inodes = fsck::make_memory_inode_table();
  fsck::Context cx{m, m.sb(), rep, *space, *inodes, std::vector<fsck::AgTotals>(m.sb().agcount), {}, {}};
  fsck::check_superblocks(cx);
  fsck::check_ags(cx);
  if (all) {
    fsck::check_inodes(cx);
    fsck::check_directories(cx);
    fsck::check_links(cx);
    fsck::check_counters(cx);
    space->check_coverage();
  }
  return rep.count();
}

bool parse_block_input(Family f, const uint8_t* data, size_t size, BlockInput* out) {
  if (size < 2) return false;
  out->img = &SeedImage::get(data[0] & 1);
  out->fix = !(data[0] & 2);
  const auto& rs = out->img->regions(f);
  if (rs.empty()) return false;
  out->region = &rs[data[1] % rs.size()];
  out->bytes = out->region->orig;
  std::copy_n(reinterpret_cast<const std::byte*>(data + 2), std::min(size - 2, out->bytes.size()), out->bytes.begin());
  return true;
}

namespace {

// The format-only decoders and the verifier, on the bytes alone.
void decode_alone(const SeedImage& img, const Region& r, std::span<const std::byte> b) {
  std::string why;
  if (r.ops) r.ops->verify_read({b, r.daddr(), &img.sb().meta_uuid}, &why);
  switch (r.family) {
    case Family::kSb: {
      fs::Superblock sb;
      if (fs::decode_superblock(b, &sb, &why) == 0) fs::judge_features(sb, &why);
      break;
    }
    case Family::kAg: {
      fs::AgfInfo agf;
      fs::AgiInfo agi;
      if (r.what.starts_with("AGF ")) fs::decode_agf(b, &agf);
      if (r.what.starts_with("AGI ")) fs::decode_agi(b, &agi);
      break;
    }
    case Family::kInode: {
      fs::Inode n;
      if (fs::decode_inode(img.sb(), r.walk_ino, b, &n, &why) == 0) {
        std::vector<fs::Extent> ext;
        if (n.format == fs::ForkFormat::kExtents) fs::decode_extent_fork(img.sb(), n, b, false, &ext, &why);
        if (n.forkoff && n.aformat == int8_t(fs::ForkFormat::kExtents))
          fs::decode_extent_fork(img.sb(), n, b, true, &ext, &why);
      }
      break;
    }
    case Family::kDaNode:
      btree::da_node_check(b, &why);
      break;
    case Family::kAttr: {
      std::vector<fs::AttrFault> faults;
      if (r.ops == &fs::attr3_leaf_ops()) {
        fs::attr::leaf_block_ok(b, &why);
        fs::attr_leaf_block_check(b, 64, &faults);  // 64: more fork blocks than any seed attr fork has
      } else if (!r.ops) {
        std::vector<fs::attr::AttrRecord> recs;
        fs::attr::sf_decode(b, &recs, &why);
        fs::attr_sf_check(b, r.daddr(), &faults);
      }
      break;
    }
    default:
      break;
  }
}

}  // namespace

void dump_seeds(Family f) {
  const char* dir = std::getenv("XFSFUSE_FUZZ_DUMP_SEEDS");
  static bool done = false;
  if (!dir || done) return;
  done = true;
  for (uint8_t g : {0, 1}) {
    const auto& rs = SeedImage::get(g).regions(f);
    for (size_t i = 0; i < rs.size() && i < 256; i++) {
      char name[64];
      std::snprintf(name, sizeof name, "/%s-%03zu", g ? "dir64k" : "dir4k", i);
      FILE* out = std::fopen((std::string(dir) + name).c_str(), "wb");
      if (!out) std::abort();
      const uint8_t head[2] = {g, static_cast<uint8_t>(i)};
      std::fwrite(head, 1, 2, out);
      std::fwrite(rs[i].orig.data(), 1, rs[i].size, out);
      std::fclose(out);
    }
  }
}

int run_block_target(Family f, const uint8_t* data, size_t size) {
  dump_seeds(f);
  BlockInput in;
  if (!parse_block_input(f, data, size, &in)) return 0;
  SeedImage& img = *in.img;
  img.write(*in.region, in.bytes, in.fix);
  decode_alone(img, *in.region, img.read(*in.region));
  if (auto m = img.mount()) {
    if (in.region->walk_ino) {
      walk_inode(*m, in.region->walk_ino);
    } else {
      fs::StatFs st;
      m->statfs(&st);
      run_fsck(*m, false);
      walk_inode(*m, m->sb().rootino);
    }
  }
  img.restore();
  return 0;
}

}  // namespace xfsfuse::fuzz
