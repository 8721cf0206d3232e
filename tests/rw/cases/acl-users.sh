# shellcheck shell=bash disable=SC2034  # a difftest.sh case; it reads the case_* settings
# acl-users: POSIX ACLs deciding what callers other than root may do (the kernel checks them
# through FUSE_POSIX_ACL, with the ACLs the driver hands back): a named user allowed to read, a
# named user whose write the mask takes away, a named group allowed to write, a named user denied
# what "other" allows, a directory a named user may write to and one whose default ACL a new
# file takes in place of uid 1000's umask; then a chmod by the owner narrowing the mask. uid 1000
# is in groups 1000 and 50; uid 2000 only in 2000. The xfsfuse peer mounts with allow_other.
# (Under -o noacl the kernel does not check ACLs: not this case.)
# needs: dirs
case_xfsfuse_opts=allow_other
case_tools=(setpriv)

# shellcheck source=tests/rw/cases/acl.lib
source "$here/cases/acl.lib"
u() { setpriv --reuid=1000 --regid=1000 --groups=50 "$@"; }
v() { setpriv --reuid=2000 --regid=2000 --clear-groups "$@"; }

run_case() {
  op rwtool pwrite f 0 100 --tag f
  op chmod 0640 f
  op acl f system.posix_acl_access 1:6,2:4:1000,4:4,16:4,32:0
  op u cat f
  op v cat f
  op u sh -c 'echo x >> f'
  op acl f system.posix_acl_access 1:6,2:6:1000,4:4,16:4,32:0   # the mask takes the write away
  op u sh -c 'echo x >> f'
  op acl f system.posix_acl_access 1:6,2:6:1000,4:4,16:6,32:0
  op u sh -c 'echo x >> f'
  op acl f system.posix_acl_access 1:6,4:0,8:6:50,16:6,32:4      # a named group
  op u sh -c 'echo y >> f'
  op v sh -c 'echo y >> f'
  op v cat f
  op acl f system.posix_acl_access 1:6,2:0:2000,4:4,16:4,32:4    # named, denied what other gets
  op v cat f
  op u cat f
  op showattrs f

  op mkdir d
  op chmod 0755 d
  op acl d system.posix_acl_access 1:7,2:7:1000,4:5,16:7,32:5
  op u touch d/byu
  op v touch d/byv
  op acl d system.posix_acl_default 1:7,2:6:2000,4:5,16:7,32:0
  op u sh -c 'umask 077; echo z > d/inherits'
  op showattrs d/byu d/inherits
  op getacl d/inherits system.posix_acl_access
  op v cat d/inherits
  op v sh -c 'echo w >> d/inherits'
  op u chmod 0600 d/inherits                                      # the mask follows the group bits
  op getacl d/inherits system.posix_acl_access
  op v cat d/inherits
}
