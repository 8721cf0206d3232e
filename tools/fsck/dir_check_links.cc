// check_links (context.h): each in-use inode's di_nlink against the links
// the directory phase counted: a directory's own "." and its entry in its
// parent (the root's ".." stands for that) plus one ".." per subdirectory,
// so 2 + subdirs; any other inode, the entries naming it (links_seen, which
// for a disconnected inode includes the lost+found entry repair would make,
// as xfs_repair -n counts it).  Inodes the inode phase found bad are left
// to it.  xfs_repair -n says "would have reset inode I nlinks from N to M".
#include <sys/stat.h>

#include <string>
#include <utility>
#include <vector>

#include "tools/fsck/context.h"
#include "tools/fsck/dir_check_internal.h"

namespace xfsfuse::fsck {

void check_links(Context& cx) {
  struct Mismatch {
    uint64_t ino;
    uint32_t nlink;
    uint64_t want;
  };
  std::vector<Mismatch> bad;
  cx.inodes.for_each([&](uint64_t ino, const InodeRec& r) {
    if (r.inobt_free || !r.in_use || r.bad) return;
    const uint64_t want = S_ISDIR(r.mode) ? 2 + uint64_t{r.subdirs} : r.links_seen;
    if (r.nlink != want) bad.push_back(Mismatch{ino, r.nlink, want});
  });
  for (const Mismatch& b : bad)
    cx.rep.report("inode", ino_agno(cx.sb, b.ino), b.ino, inode_daddr(cx.sb, b.ino),
                  "nlink " + std::to_string(b.nlink) + " but " + std::to_string(b.want) +
                      (b.want == 1 ? " link found" : " links found"));
}

}  // namespace xfsfuse::fsck
