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

run_case() {
  # The owner (uid 1000) writes: both set-id bits go (group execute is set), and the capability.
  op rwtool pwrite a 0 100 --tag a
  op chown 1000:1000 a
  op chmod 6755 a
  op setcap cap_net_raw+ep a
  op showpriv a
  changes a as_user bash -c "$(declare -f poke); poke a"
  op showpriv a

  # Truncates by the owner: set-group-ID without group execute stays; with it, it goes, even for a
  # truncate to the size the file already has.
  op rwtool pwrite b 0 100 --tag b
  op chown 1000:1000 b
  op chmod 2745 b
  changes b as_user truncate -s 50 b
  op showpriv b
  op chmod 2755 b
  changes b as_user truncate -s 50 b
  op showpriv b
  op chmod 4755 b
  op setcap cap_net_raw+ep b
  changes b as_user truncate -s 4096 b
  op showpriv b

  # fallocate by the owner, growing the file and inside it.
  op rwtool pwrite c 0 100 --tag c
  op chown 1000:1000 c
  op chmod 6755 c
  op setcap cap_net_raw+ep c
  changes c as_user fallocate -l 1M c
  op showpriv c
  op chmod 6755 c
  op setcap cap_net_raw+ep c
  changes c as_user fallocate -o 4096 -l 4096 c
  op showpriv c

  # A stranger writing through o+w.
  op rwtool pwrite d 0 100 --tag d
  op chmod 6757 d
  op setcap cap_net_raw+ep d
  changes d as_user bash -c "$(declare -f poke); poke d"
  op showpriv d
  op as_user truncate -s 0 d                 # set-id bits are gone: nothing more to take
  op showpriv d
  # A stranger outside the file's group: set-group-ID goes even without group execute, by a write,
  # a truncate and an fallocate (the kernel forces the mode change: chmod's owner rule does not
  # apply to it).
  op rwtool pwrite s 0 100 --tag s
  op chmod 6747 s
  changes s as_user bash -c "$(declare -f poke); poke s"
  op showpriv s
  op chmod 2747 s
  changes s as_user truncate -s 50 s
  op showpriv s
  op chmod 2747 s
  changes s as_user fallocate -l 8192 s
  op showpriv s
  op chmod 4747 s
  changes s as_user fallocate -l 8192 s
  op showpriv s
  # A member of the file's group through a supplementary group keeps set-group-ID without group
  # execute, and loses it with group execute.
  op rwtool pwrite g 0 100 --tag g
  op chown 0:50 g
  op chmod 2747 g
  changes g setpriv --reuid=1000 --regid=1000 --groups=50 bash -c "$(declare -f poke); poke g"
  op showpriv g
  op chmod 2775 g
  changes g setpriv --reuid=1000 --regid=1000 --groups=50 truncate -s 10 g
  op showpriv g

  # Root keeps the set-id bits and loses the capability, by a write and by a truncate.
  op rwtool pwrite e 0 100 --tag e
  op chmod 6755 e
  op setcap cap_net_raw+ep e
  changes e poke e
  op showpriv e
  op setcap cap_net_raw+ep e
  changes e truncate -s 10 e
  op showpriv e
  # A chown by root takes the capability (and, on a file, both set-id bits).
  op setcap cap_net_raw+ep e
  changes e chown 1000:1000 e
  op showpriv e

  # Without set-id bits or a capability, a write by the owner changes nothing but the data.
  op rwtool pwrite f 0 100 --tag f
  op chown 1000:1000 f
  op chmod 0755 f
  changes f as_user bash -c "$(declare -f poke); poke f"
  op showpriv f
}
