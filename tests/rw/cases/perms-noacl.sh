# shellcheck shell=bash disable=SC2034  # a difftest.sh case; it reads the case_* settings
# perms-noacl: perms.sh with the xfsfuse peer mounted -o noacl,default_permissions, as README
# advises for allow_other mounts without ACLs: the kernel checks the mode bits, the driver repeats
# its own checks of mode, owner and groups (fs/ops/cred.h), and the two must agree.
# needs: dirs
# shellcheck source=tests/rw/cases/perms.sh
source "$here/cases/perms.sh"
case_xfsfuse_opts=allow_other,noacl,default_permissions
