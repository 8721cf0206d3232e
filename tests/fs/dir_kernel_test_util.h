// tests/fs/dir_kernel_test_util.h — the kernel as the oracle for directory
// writes: the same links, unlinks and renames made by fs/dir_write on one
// copy of an image and by the kernel (a loop mount, ln, rm, mv) on another,
// and the two directories compared.  For dir_write_kernel_test.cc and
// dir_leaf_kernel_test.cc.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <fstream>
#include <random>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "fs/dir_internal.h"
#include "tests/fs/dir_write_test_util.h"

namespace xfsfuse::fs::test {

enum Kind { kAdd, kRemove, kReplace };
struct Op {
  Kind kind = kAdd;
  std::string dir, name;  // dir: a directory under the root
  int target = 0;         // index into the test's link targets (add, replace)
};

// Unmounts mnt; a mount another process happens to be looking into (a
// scan of /tmp) is busy for a moment, so a few tries.
inline bool umount(const std::string& mnt) {
  for (int i = 0; i < 20; i++) {
    if (system(("umount " + mnt + " 2>/dev/null").c_str()) == 0) return true;
    usleep(100000);
  }
  return false;
}

// A kernel loop mount point for one image.
struct KernelSide {
  std::string img, mnt;
  std::vector<std::string> targets;  // paths of the link targets under the mount
  explicit KernelSide(const std::string& base) : img(base + ".kernel"), mnt(base + ".mnt") {
    REQUIRE(system(("cp --sparse=always " + base + " " + img).c_str()) == 0);
    REQUIRE(mkdir(mnt.c_str(), 0755) == 0);
  }
  ~KernelSide() {
    umount(mnt);
    rmdir(mnt.c_str());
    if (!getenv("XFSFUSE_TEST_KEEP")) unlink(img.c_str());
  }
  bool mount() { return system(("mount -o loop " + img + " " + mnt + " 2>/dev/null").c_str()) == 0; }
  // Runs ops as ln / rm under a mount of the image.
  void run(const std::vector<Op>& ops) {
    REQUIRE(mount());
    const std::string script = img + ".sh";
    {
      std::ofstream s(script);
      s << "set -e\n";
      // Paths single-quoted (names may hold any byte but '/' and NUL).
      auto sq = [](const std::string& p) {
        std::string q = "'";
        for (char c : p) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
        return q + "'";
      };
      // A replace is a rename over the entry, from a link made in the root.
      for (const Op& op : ops) {
        const std::string entry = sq(mnt + "/" + op.dir + "/" + op.name), target = sq(mnt + "/" + targets[op.target]);
        if (op.kind == kAdd)
          s << "ln " << target << " " << entry << "\n";
        else if (op.kind == kRemove)
          s << "rm " << entry << "\n";
        else
          s << "ln " << target << " " << mnt << "/.tmp && mv -f -T " << mnt << "/.tmp " << entry << "\n";
      }
    }
    const int rc = system(("sh " + script).c_str());
    REQUIRE(umount(mnt));
    unlink(script.c_str());
    REQUIRE(rc == 0);
  }
};

// Whether this process can loop-mount images; *why if not.
inline bool can_loop_mount(const std::string& base, std::string* why) {
  if (geteuid() != 0) {
    *why = "not root";
    return false;
  }
  KernelSide k(base);
  if (!k.mount()) {
    *why = "mount -o loop failed (no loop devices or no XFS in this kernel?)";
    return false;
  }
  REQUIRE(umount(k.mnt));
  return true;
}

// Our side of a kernel comparison: a sparse copy of img (*ours_img = img +
// ".ours") opened rw, and in *targets the inode numbers of the kernel
// side's link targets there.
inline std::unique_ptr<Mount> open_ours(const std::string& img, const KernelSide& kernel, std::string* ours_img,
                                        std::vector<uint64_t>* targets) {
  *ours_img = img + ".ours";
  REQUIRE(system(("cp --sparse=always " + img + " " + *ours_img).c_str()) == 0);
  auto m = open_rw(*ours_img);
  targets->clear();
  for (const std::string& t : kernel.targets) {
    InodeRef ip;
    REQUIRE(resolve(*m, "/" + t, &ip) == 0);
    targets->push_back(ip->core.ino);
  }
  return m;
}

// Applies ops through fs/dir_write (targets: their inode numbers) and
// returns those done.  With skip_enospc an add that finds no room (where the
// kernel would split a node-form leaf) is left out, for the kernel too; with
// stay_leaf so is an add that would take the directory to node form (its
// transaction cancelled).
inline std::vector<Op> run_ours(Mount& m, const std::vector<Op>& ops, const std::vector<uint64_t>& targets,
                                DirModel* links, bool skip_enospc = false, bool stay_leaf = false) {
  std::vector<Op> done;
  for (const Op& op : ops) {
    INFO("op " << op.kind << " " << op.dir << "/" << op.name);
    InodeRef d;
    REQUIRE(resolve(m, "/" + op.dir, &d) == 0);
    const uint64_t ino = targets[op.target];
    const int rc = dir_op(m, d->core.ino, [&](Transaction& tp, CachedInode* dp) {
      if (op.kind == kAdd) {
        int err = dir_add(tp, dp, op.name, ino, kFtReg);
        dir::Form f;
        if (err == 0 && stay_leaf && (err = dir::dir_form(tp.mount(), *dp, &f)) == 0 && f == dir::Form::kNode)
          err = ENOSPC;
        return err;
      }
      if (op.kind == kRemove) return dir_remove(tp, dp, op.name);
      return dir_replace(tp, dp, op.name, ino, kFtReg);
    });
    if (skip_enospc && op.kind == kAdd && rc == ENOSPC) continue;
    REQUIRE(rc == 0);
    done.push_back(op);
    if (op.kind == kRemove)
      links->erase(op.dir + "/" + op.name);
    else
      (*links)[op.dir + "/" + op.name] = {ino, kFtReg};
  }
  return done;
}

inline std::string hexdump(std::span<const std::byte> b, size_t from, size_t n) {
  std::ostringstream s;
  for (size_t i = from; i < std::min(b.size(), from + n); i++) s << std::hex << std::to_integer<int>(b[i]) << ' ';
  return s.str();
}

// The directory blocks dp maps (their dablks, in order).
inline std::vector<uint64_t> dir_dablks(Mount& m, const CachedInode& dp) {
  const uint32_t per = 1u << m.sb().dirblklog;
  std::vector<uint64_t> v;
  for (const Extent& e : dp.df.extents)
    for (uint64_t f = e.startoff; f < e.startoff + e.blockcount; f++)
      if (f % per == 0) v.push_back(f);
  return v;
}

// Directory /dir of the kernel's image and of ours are the same: short form
// or not, di_size, fork format and di_nblocks (with as many extents), the
// fork offsets of the directory blocks, and the
// short-form fork or every directory block byte for byte (a block's header
// from bestfree on, a leaf's from count on, a free-index block's from
// firstdb on, and its magic: blkno, LSN
// and CRC differ with where and when the block was written).
inline void compare_dir(Mount& ours, const std::string& kernel_img, const std::string& dir) {
  auto km = open_mount(kernel_img);
  InodeRef k, u;
  REQUIRE(resolve(*km, "/" + dir, &k) == 0);
  REQUIRE(resolve(ours, "/" + dir, &u) == 0);
  REQUIRE((k->core.format == ForkFormat::kLocal) == (u->core.format == ForkFormat::kLocal));
  REQUIRE(k->core.size == u->core.size);
  // Extents or btree format and di_nblocks (which counts bmbt blocks) follow
  // the extent count, which follows where the allocator put each block:
  // compared when both forks have as many extents (else the mapped blocks
  // are, below).
  if (k->core.nextents == u->core.nextents) {
    REQUIRE(k->core.format == u->core.format);
    REQUIRE(k->core.nblocks == u->core.nblocks);
  }
  // Bytes [head, from) are not compared.
  auto differ = [&](const std::string& what, std::span<const std::byte> kb, std::span<const std::byte> ub,
                    size_t head, size_t from) {
    REQUIRE(kb.size() == ub.size());
    for (size_t i = 0; i < kb.size(); i++) {
      if ((i >= head && i < from) || kb[i] == ub[i]) continue;
      const size_t at = i & ~size_t{15};
      FAIL("/" << dir << " (" << what << ") differs at byte " << i << "\n kernel: " << hexdump(kb, at, 48)
               << "\n ours:   " << hexdump(ub, at, 48));
    }
  };
  if (k->core.format == ForkFormat::kLocal) {
    const auto n = static_cast<long>(k->core.size);
    std::vector<std::byte> kb(k->df.bytes.begin(), k->df.bytes.begin() + n);
    std::vector<std::byte> ub(u->df.bytes.begin(), u->df.bytes.begin() + n);
    differ("short form", kb, ub, 0, 0);
    return;
  }
  const std::vector<uint64_t> kblks = dir_dablks(*km, *k), ublks = dir_dablks(ours, *u);
  REQUIRE(kblks == ublks);
  const uint64_t leaf_dablk = (32ull << 30) / km->sb().blocksize, free_dablk = 2 * leaf_dablk;
  const bool block_form = kblks.size() == 1;
  for (uint64_t dablk : kblks) {
    if (dablk >= free_dablk) {
      const std::string what = "free-index block at fork block " + std::to_string(dablk);
      INFO(what);
      bc::BufHandle kh, uh;
      REQUIRE(km->read_dablk(*k, false, dablk, &dir3_free_ops(), &kh) == 0);
      REQUIRE(ours.read_dablk(*u, false, dablk, &dir3_free_ops(), &uh) == 0);
      differ(what, {kh.data(), kh.size()}, {uh.data(), uh.size()}, 4, 48);  // from firstdb on
      continue;
    }
    const bc::BufOps* ops = dablk >= leaf_dablk ? &dir3_leaf_ops() : block_form ? &dir3_block_ops() : &dir3_data_ops();
    const std::string what = std::string(dablk >= leaf_dablk ? "leaf" : block_form ? "block" : "data") +
                             " block at fork block " + std::to_string(dablk);
    INFO(what);
    bc::BufHandle kh, uh;
    REQUIRE(km->read_dablk(*k, false, dablk, ops, &kh) == 0);
    REQUIRE(ours.read_dablk(*u, false, dablk, ops, &uh) == 0);
    // Leaf: forw, back, magic and pad kept; data: the magic.
    const bool leaf = dablk >= leaf_dablk;
    differ(what, {kh.data(), kh.size()}, {uh.data(), uh.size()}, leaf ? 12 : 4, leaf ? 56 : 48);
  }
}

// The image's summary lines (db_inode_summary) without fork format and
// di_nblocks when keep is false.
inline std::string without_fork_counts(const std::string& summary, bool keep) {
  if (keep) return summary;
  std::istringstream in(summary);
  std::string out, line;
  while (std::getline(in, line))
    if (line.rfind("core.format", 0) != 0 && line.rfind("core.nblocks", 0) != 0)
      out += line + "\n";
  return out;
}

// xfsfuse-fsck -n finds img clean, when the build has made it.
inline void fsck_check(const std::string& img) {
  const std::string fsck = XFSFUSE_FSCK_BIN;
  if (access(fsck.c_str(), X_OK) != 0) {
    WARN("xfsfuse-fsck not built (" << fsck << "): only xfs_repair -n checked the image");
    return;
  }
  INFO(run(fsck + " -n " + img + " 2>&1"));
  CHECK(system((fsck + " -n " + img + " >/dev/null 2>&1").c_str()) == 0);
}

// What xfs_db prints of inode ino of img: core.format, size and nblocks, and
// the fork offsets its data fork maps, as merged ranges "offset+count" (how
// they split into extents depends on where the blocks went on disk).
inline std::string db_inode_summary(const std::string& img, uint64_t ino) {
  const std::string out = run("xfs_db -r -c 'inode " + std::to_string(ino) +
                              "' -c 'print core.format core.size core.nblocks' -c bmap " + img + " 2>&1");
  std::string summary;
  std::istringstream in(out);
  std::string line;
  uint64_t start = 0, end = 0;  // the range being merged
  const std::regex ext("data offset ([0-9]+) startblock .* count ([0-9]+) flag 0");
  auto flush = [&] {
    if (end > start) summary += "mapped " + std::to_string(start) + "+" + std::to_string(end - start) + "\n";
  };
  while (std::getline(in, line)) {
    std::smatch mt;
    if (!std::regex_match(line, mt, ext)) {
      summary += line + "\n";
      continue;
    }
    const uint64_t off = std::stoull(mt[1]), count = std::stoull(mt[2]);
    if (off != end) {
      flush();
      start = off;
    }
    end = off + count;
  }
  flush();
  return summary;
}

// A comparison's checkpoint: every target's link count set to 1 + the
// names pointing at it in links, our image written out and found clean
// (xfs_repair -n, xfsfuse-fsck -n), xfs_db's summary of inode ino the
// kernel image's (fork format and di_nblocks only with as many extents:
// they follow the allocator's placement), and m mounted again.
inline void checkpoint_vs_kernel(std::unique_ptr<Mount>& m, const std::string& ours_img, const std::string& kernel_img,
                                 uint64_t ino, const std::vector<uint64_t>& targets, const DirModel& links) {
  for (uint64_t t : targets) {
    uint32_t n = 1;
    for (const auto& [name, v] : links) n += v.first == t;
    set_nlink(*m, t, n);
  }
  unmount_and_repair_check(m, ours_img);
  fsck_check(ours_img);
  const std::string ours = db_inode_summary(ours_img, ino), theirs = db_inode_summary(kernel_img, ino);
  CHECK(ours.find("core.nblocks = ") != std::string::npos);
  auto extents = [&](const std::string& img) {
    return run("xfs_db -r -c 'inode " + std::to_string(ino) + "' -c 'print core.nextents' " + img + " 2>&1");
  };
  const bool same = extents(ours_img) == extents(kernel_img);
  CHECK(without_fork_counts(ours, same) == without_fork_counts(theirs, same));
  m = open_rw(ours_img);
}

inline std::string name_of(std::mt19937& rng, size_t minlen, size_t maxlen) {
  static const char chars[] = "abcdefghijklmnopqrstuvwxyz0123456789_";
  std::string s(minlen + rng() % (maxlen - minlen + 1), 'x');
  for (char& c : s) c = chars[rng() % (sizeof chars - 1)];
  return s;
}

inline std::string fixed(const std::string& prefix, size_t i, size_t len) {
  std::string n = std::to_string(i);
  return prefix + std::string(len - prefix.size() - n.size(), '0') + n;
}

}  // namespace xfsfuse::fs::test
