// tools/fsck/attr_check.cc — check_attr_fork() (inode_check.h): the inside
// of an attr fork whose mapping the fork check found sound, judged by the
// driver's own readers and verifiers through fs::attr_deep_check()
// (fs/attr_check.h lists what it checks).  Each finding is one Problem of
// structure "attr" naming the inode and the block's daddr (the inode's for
// short form); findings xfs_repair -n does not count are warnings.  The
// attr fork is not the inode: a finding here does not mark the inode bad
// (xfs_repair clears the attr fork and keeps the file).
#include <cstring>
#include <string>
#include <vector>

#include "fs/attr_check.h"
#include "tools/fsck/inode_check.h"

namespace xfsfuse::fsck {

void check_attr_fork(InodeCheck& ic) {
  std::vector<fs::AttrFault> faults;
  if (ic.n.aformat == static_cast<int8_t>(fs::ForkFormat::kLocal)) {
    const auto fork = ic.raw.subspan(fs::kInodeCoreSize + fs::fork_size(ic.n, false), fs::fork_size(ic.n, true));
    fs::attr_sf_check(fork, ic.daddr, &faults);
  } else {
    fs::InodeRef ip;
    if (int err = ic.cx.m.iget(ic.ino, &ip))
      return ic.problem(std::string("attr fork not checked: the inode cannot be read: ") + std::strerror(err));
    if (int err = fs::attr_deep_check(ic.cx.m, *ip, &faults))
      return ic.problem(std::string("attr fork not checked: ") + std::strerror(err));
  }
  for (fs::AttrFault& f : faults) {
    Problem p{"attr", ic.agno, ic.ino, f.daddr, std::move(f.why)};
    if (f.repair_silent)
      ic.cx.rep.warn(std::move(p));
    else
      ic.cx.rep.report(std::move(p));
  }
}

}  // namespace xfsfuse::fsck
