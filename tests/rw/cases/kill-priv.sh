# shellcheck shell=bash disable=SC2034  # a difftest.sh case; it reads the case_* settings
# kill-priv: what a write, a truncate or an fallocate takes from a file, as the kernel's
# file_remove_privs() does: from a caller without CAP_FSETID (uid 1000 here, as the owner and as a
# stranger writing through o+w) set-user-ID, and set-group-ID when group execute is set or when
# the caller is outside the file's group (primary or supplementary); nothing of the mode from
# root; a file capability (security.capability, made by setcap) from every caller, root
# included. A chown by root takes the capability too. Through FUSE the kernel does most of this
# work itself (a GETXATTR, a SETATTR of the mode and a REMOVEXATTR, sent as the writer) unless the
# daemon negotiates FUSE_HANDLE_KILLPRIV, but its FUSE layer leaves set-group-ID without group
# execute alone, which the driver then takes (fs/ops/file_write.h).
# The xfsfuse peer mounts with allow_other, so that uid 1000 may use it.
case_xfsfuse_opts=allow_other
case_tools=(setpriv setcap getcap)

# as_user CMD...: CMD as uid 1000, gid 1000, no supplementary groups, no capabilities.
as_user() { setpriv --reuid=1000 --regid=1000 --clear-groups "$@"; }
# as_member CMD...: CMD as uid 1000, gid 1000, also in group 50.
as_member() { setpriv --reuid=1000 --regid=1000 --groups=50 "$@"; }
# poke FILE: writes 10 zero bytes at offset 10 of FILE (no O_TRUNC).
poke() { dd if=/dev/zero of="$1" bs=10 count=1 seek=1 conv=notrunc status=none; }
# showpriv FILE...: name, mode, owner, size and the file capability getcap reads (or "none").
showpriv() {
  local f cap
  for f; do
    cap=$(getcap "$f" 2>&1 | sed 's/^[^ ]* //')
    printf '%s %s\n' "$(stat -c '%n %a %u %g %s' "$f")" "${cap:-none}"
  done
}
# step FILE MODE CAP CMD...: FILE gets MODE and, with CAP "cap", the capability cap_net_raw+ep
# (shown); then CMD runs (with the times it changes logged) and what FILE keeps is shown.
step() {
  local f=$1 mode=$2 cap=$3
  shift 3
  op chmod "$mode" "$f"
  [[ $cap != cap ]] || op setcap cap_net_raw+ep "$f"
  op showpriv "$f"
  changes "$f" "$@"
  op showpriv "$f"
}
# made FILE OWNER: a new 100-byte FILE owned by OWNER (uid:gid).
made() { op rwtool pwrite "$1" 0 100 --tag "$1"; op chown "$2" "$1"; }
poke_as_user="$(declare -f poke); poke"

run_case() {
  # The owner (uid 1000) writes: both set-id bits go (group execute is set), and the capability.
  made a 1000:1000
  step a 6755 cap as_user bash -c "$poke_as_user a"

  # Truncates by the owner: set-group-ID without group execute stays (the owner is in the group);
  # with it, it goes, even for a truncate to the size the file already has.
  made b 1000:1000
  step b 2745 - as_user truncate -s 50 b
  step b 2755 - as_user truncate -s 50 b
  step b 4755 cap as_user truncate -s 4096 b

  # fallocate by the owner, growing the file and inside it.
  made c 1000:1000
  step c 6755 cap as_user fallocate -l 1M c
  step c 6755 cap as_user fallocate -o 4096 -l 4096 c

  # A stranger writing through o+w; then nothing more to take.
  made d 0:0
  step d 6757 cap as_user bash -c "$poke_as_user d"
  step d 0757 - as_user truncate -s 0 d
  # A stranger outside the file's group: set-group-ID goes even without group execute, by a write,
  # a truncate and an fallocate (the kernel forces the mode change: chmod's owner rule does not
  # apply to it).
  made s 0:0
  step s 6747 - as_user bash -c "$poke_as_user s"
  step s 2747 - as_user truncate -s 50 s
  step s 2747 - as_user fallocate -l 8192 s
  step s 4747 - as_user fallocate -l 8192 s
  # A member of the file's group through a supplementary group keeps set-group-ID without group
  # execute, and loses it with group execute.
  made g 0:50
  step g 2747 - as_member bash -c "$poke_as_user g"
  step g 2775 - as_member truncate -s 10 g

  # Root keeps the set-id bits and loses the capability, by a write and by a truncate; a chown by
  # root takes the capability (and, on a file, both set-id bits).
  made e 0:0
  step e 6755 cap poke e
  step e 6755 cap truncate -s 10 e
  step e 6755 cap chown 1000:1000 e

  # Without set-id bits or a capability, a write by the owner changes nothing but the data.
  made f 1000:1000
  step f 0755 - as_user bash -c "$poke_as_user f"
}
