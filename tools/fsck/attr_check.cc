// tools/fsck/attr_check.cc — check_attr_fork() (inode_check.h): the inside
// of an attr fork whose mapping the fork check found sound, judged by the
// driver's own readers and verifiers through fs::attr_deep_check()
// (fs/attr_check.h lists what it checks).  Each finding is one Problem of
// structure "attr" naming the inode and the block's daddr (the inode's for
// short form); findings xfs_repair -n does not count are warnings.  The
// attr fork is not the inode: a finding here does not mark the inode bad
// (xfs_repair clears the attr fork and keeps the file).  The values of
// stored POSIX ACLs are judged too (fs/ops/acl.h acl_stored_fault), as
// xfs_repair judges them.
#include <cstring>
#include <shared_mutex>
#include <string>
#include <vector>

#include "fs/attr.h"
#include "fs/attr_check.h"
#include "fs/ops/acl.h"
#include "tools/fsck/inode_check.h"

namespace xfsfuse::fsck {

namespace {

// The values of the attributes XFS keeps POSIX ACLs in, judged as
// xfs_repair judges them (fs::acl_stored_fault); faults at the inode's
// daddr (the value's blocks are the fork's, already checked).
void check_acls(InodeCheck& ic, const fs::InodeRef& ip, std::vector<fs::AttrFault>* faults) {
  std::shared_lock<std::shared_mutex> l(ip->lock);
  for (std::string_view name : fs::kAclStoredNames) {
    std::vector<std::byte> value;
    if (fs::attr_get(ic.cx.m, *ip, name, &value) != 0) continue;  // none (or unreadable: reported above)
    bool silent = false;
    std::string why = fs::acl_stored_fault(value, &silent);
    if (!why.empty()) faults->push_back({ic.daddr, std::string(name) + ": " + why, silent});
  }
}

}  // namespace

void check_attr_fork(InodeCheck& ic) {
  std::vector<fs::AttrFault> faults;
  fs::InodeRef ip;  // loaded when there is more than an empty short-form list to read
  if (ic.n.aformat == static_cast<int8_t>(fs::ForkFormat::kLocal)) {
    const auto fork = ic.raw.subspan(fs::kInodeCoreSize + fs::fork_size(ic.n, false), fs::fork_size(ic.n, true));
    fs::attr_sf_check(fork, ic.daddr, &faults);
    // The empty list every new file gets (docs/format.md "Inodes") holds no ACL.
    if (faults.empty() && fork.size() > 2 && fork[2] != std::byte{0}) ic.cx.m.iget(ic.ino, &ip);
  } else {
    if (int err = ic.cx.m.iget(ic.ino, &ip))
      return ic.problem(std::string("attr fork not checked: the inode cannot be read: ") + std::strerror(err));
    if (int err = fs::attr_deep_check(ic.cx.m, *ip, &faults))
      return ic.problem(std::string("attr fork not checked: ") + std::strerror(err));
  }
  // POSIX ACLs, once the fork's structure is sound enough to read them.
  if (faults.empty() && ip) check_acls(ic, ip, &faults);
  for (fs::AttrFault& f : faults) {
    Problem p{"attr", ic.agno, ic.ino, f.daddr, std::move(f.why)};
    if (f.repair_silent)
      ic.cx.rep.warn(std::move(p));
    else
      ic.cx.rep.report(std::move(p));
  }
}

}  // namespace xfsfuse::fsck
