# shellcheck shell=bash disable=SC2034  # a difftest.sh case; it reads the case_* settings
# acl-mode: POSIX access ACLs that the mode bits can say exactly (owner, group and other entries
# only), which `cp -a` sets on every copy: the kernel's XFS stores them as the mode (set-id and
# sticky bits kept, ctime only when the mode changes), and removing an ACL that is not there
# succeeds; reading one that is not there is ENODATA; a default ACL on a file is EACCES. Then
# `cp -a` of a small tree with set-id files and directories, which must come out the same. (The
# rules for callers other than root are tests/fs/acl_test.cc's: the xfsfuse peer is mounted without
# allow_other.)
# needs: dirs

# shellcheck source=tests/rw/cases/acl.lib
source "$here/cases/acl.lib"

run_case() {
  op rwtool pwrite f 0 100 --tag f
  op chmod 0600 f
  changes f acl f system.posix_acl_access 1:6,4:4,32:4
  op showattrs f
  changes f acl f system.posix_acl_access 1:6,4:4,32:4    # the same mode: no change at all
  op getacl f system.posix_acl_access
  op getacl f system.posix_acl_default
  changes f unacl f system.posix_acl_access               # none stored: 0, nothing changes
  op unacl f system.posix_acl_default                     # on a file: 0
  op acl f system.posix_acl_default 1:7,4:5,32:5          # on a file: EACCES

  op rwtool pwrite s 0 10 --tag s
  op chmod 7755 s
  changes s acl s system.posix_acl_access 1:7,4:0,32:0    # set-id and sticky bits stay
  op showattrs s

  op mkdir -p d/e
  op chmod 0700 d
  changes d acl d system.posix_acl_access 1:7,4:5,32:5
  op unacl d system.posix_acl_default                     # none stored on a directory: 0
  op showattrs d

  # cp -a of a small tree: files and directories of several modes, set-id ones included.
  op mkdir -p src/sub/deeper
  op rwtool pwrite src/a 0 1000 --tag a
  op rwtool pwrite src/sub/b 0 5000 --tag b
  op rwtool pwrite src/sub/deeper/c 0 1 --tag c
  op rwtool pwrite src/x 0 10 --tag x
  op chmod 0644 src/a
  op chmod 0600 src/sub/b
  op chmod 4755 src/x
  op chmod 2750 src/sub/deeper/c
  op chmod 0751 src/sub
  op chmod 2775 src/sub/deeper
  op touch -d '2001-02-03 04:05:06.5' src/a src/sub/b src/sub/deeper/c src/x src/sub/deeper src/sub src
  op cp -a src dst
  op showattrs dst dst/a dst/x dst/sub dst/sub/b dst/sub/deeper dst/sub/deeper/c
}
