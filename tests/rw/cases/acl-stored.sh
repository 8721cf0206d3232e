# shellcheck shell=bash disable=SC2034  # a difftest.sh case; it reads the case_* settings
# acl-stored: POSIX ACLs the mode cannot say, which the kernel's XFS stores (trusted.SGI_ACL_FILE,
# trusted.SGI_ACL_DEFAULT in XFS's own form): named users and groups with a mask set the mode's
# group bits from the mask and are stored; the same ACL again is stored again (ctime); a trivial
# ACL drops the stored one; default ACLs on directories; a 300-entry ACL (a value in its own
# block); invalid ones (EINVAL), one entry more than XFS holds (E2BIG). The snapshots compare the
# listed names and the values read back; check_image the stored bytes, the modes and the attr
# forks. Then what is created in a directory with a default ACL (the ACL, not the umask), and
# chmod of a file with a stored ACL. Left out, as attr- and write-layer differences rather than
# ACL ones: di_changecount (the ACL operations count as the kernel's, checked by hand on Linux
# 6.18, but a new inode's count and a value going to leaf or remote blocks do not: the kernel
# counts each transaction of its chain), and a long value set after the attr fork went (the
# kernel's new fork offset differs there).
# needs: dirs

# shellcheck source=tests/rw/cases/acl.lib
source "$here/cases/acl.lib"

run_case() {
  op rwtool pwrite f 0 100 --tag f
  op chmod 0644 f
  changes f acl f system.posix_acl_access 1:6,2:4:1000,4:4,8:2:50,16:6,32:0
  op showattrs f
  op getacl f system.posix_acl_access
  changes f acl f system.posix_acl_access 1:6,2:4:1000,4:4,8:2:50,16:6,32:0   # the same: stored again
  changes f acl f system.posix_acl_access 1:6,2:4:1000,4:4,8:2:50,16:4,32:0   # the mask: the mode too
  op showattrs f
  changes f acl f system.posix_acl_access 1:6,4:4,32:4                        # trivial: the stored ACL goes
  op showattrs f
  op getacl f system.posix_acl_access

  op rwtool pwrite g 0 10 --tag g
  op chmod 2770 g
  op acl g system.posix_acl_access many:300                                  # 3,604 bytes stored
  op getacl g system.posix_acl_access
  op acl g system.posix_acl_access many:5458                                 # 5,462 entries: E2BIG
  op acl g system.posix_acl_access 1:7,2:5:7,4:7,32:1                        # no mask: EINVAL
  op acl g system.posix_acl_access 4:7,1:7,32:1                              # out of order: EINVAL
  op acl g system.posix_acl_access 1:7,2:5:7,4:7,16:5,32:1                   # replaces the long one
  op showattrs g
  changes g unacl g system.posix_acl_access                                  # removed: the mode stays
  op showattrs g

  op mkdir d
  changes d acl d system.posix_acl_default 1:7,4:5,32:5                      # trivial, stored all the same
  changes d acl d system.posix_acl_default 1:7,2:5:1002,4:5,16:5,32:1
  op acl d system.posix_acl_access 1:7,2:7:1001,4:5,16:7,32:5
  op showattrs d
  op getacl d system.posix_acl_default
  op acl f system.posix_acl_default 1:7,4:5,32:5                             # on a file: EACCES
  # What is made inside d takes d's default ACL and not the umask: files, directories (which
  # also get the default ACL), fifos; symlinks nothing. Then a trivial default ACL (the mode alone
  # says the result: nothing stored), and none (the umask again).
  op bash -c 'umask 077 && python3 "$RWTOOL" pwrite d/f 0 10 --tag df && mkdir d/sub && mkfifo d/fifo && ln -s f d/sym && mkdir -m 0700 d/priv'
  op showattrs d/f d/sub d/fifo d/priv
  op getacl d/f system.posix_acl_access
  op getacl d/sub system.posix_acl_access
  op getacl d/sub system.posix_acl_default
  op getacl d/sym system.posix_acl_access
  op bash -c 'umask 022 && mkdir d/sub/deeper && python3 "$RWTOOL" pwrite d/sub/deeper/x 0 5 --tag x'
  op showattrs d/sub/deeper d/sub/deeper/x
  op acl d/sub system.posix_acl_default 1:7,4:5,32:5
  op bash -c 'umask 077 && python3 "$RWTOOL" pwrite d/sub/t 0 5 --tag t && mkdir d/sub/u'
  op showattrs d/sub/t d/sub/u
  op getacl d/sub/t system.posix_acl_access
  op bash -c 'umask 027 && python3 "$RWTOOL" pwrite plain 0 5 --tag p && mkdir plaindir'
  op showattrs plain plaindir
  # chmod of a file with a stored ACL: the kernel rewrites the ACL's owner, mask and other
  # entries (posix_acl_chmod); the named entries stay.
  op chmod 0604 d/f
  op showattrs d/f
  op getacl d/f system.posix_acl_access
  op mkdir e
  op acl e system.posix_acl_default 1:7,4:5,32:5
  changes e unacl e system.posix_acl_default
  changes e unacl e system.posix_acl_default                                 # none left: nothing changes
}

check_image() {
  local p
  for p in f g d e d/f d/sub d/fifo d/sub/deeper/x d/sub/u; do
    echo "== $p"
    xfs_db -r -c "path /$p" -c 'print core.mode core.forkoff core.aformat core.naextents' "$1"
    xfs_db -r -c "path /$p" -c 'print a' "$1" 2>/dev/null | grep -E 'name|value' || true
  done
}
