# shellcheck shell=bash disable=SC2034  # a difftest.sh case; it reads the case_* settings
# kill-priv-noacl: kill-priv.sh with the xfsfuse peer mounted -o noacl (no default_permissions, so
# the driver checks callers itself): the kernel's mode change for a write by someone who does not
# own the file comes without the kernel's checks and must still pass (fs/ops/setattr.h).
# shellcheck source=tests/rw/cases/kill-priv.sh
source "$here/cases/kill-priv.sh"
case_xfsfuse_opts=allow_other,noacl
