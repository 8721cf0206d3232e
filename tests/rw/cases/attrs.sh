# shellcheck shell=bash disable=SC2034  # a difftest.sh case; it reads the case_* settings
# attrs: chmod, chown (setuid and setgid cleared as the kernel clears them: setgid only with group
# execute; kept on directories), utimens through touch -d, -m, -a (including pre-1970 and bigtime
# dates) and to "now", with which times each change touches; extended attributes set, replaced and
# removed (short form growing into a leaf with remote values and back, the kernel's errors, user.*
# refused on a fifo), with check_image comparing the attr forks' layout.

showattrs() { stat -c '%n %a %u %g' "$@"; }

# Each file's attr fork: its format and extent count, and the short-form list or the leaf's header
# and entries (no daddrs, CRCs, LSNs), and di_forkoff.
check_image() {
  local f fmt
  for f in f g h x fifo; do
    echo "== $f"
    fmt=$(xfs_db -r -c "path /$f" -c 'print core.forkoff core.aformat core.naextents core.nblocks' "$1")
    printf '%s\n' "$fmt"
    if [[ $fmt == *"aformat = 1"* ]]; then
      xfs_db -r -c "path /$f" -c 'print a' "$1"
    elif [[ $fmt == *"naextents = "[1-9]* ]]; then
      xfs_db -r -c "path /$f" -c 'ablock 0' -c 'print hdr.count hdr.usedbytes hdr.firstused hdr.holes hdr.freemap entries' "$1"
    fi
  done
}

showtimes() { stat -c '%n atime %x mtime %y' "$@"; }

run_case() {
  op rwtool pwrite f 0 100 --tag f
  op rwtool pwrite g 0 100 --tag g
  changes f chmod 4755 f
  changes f chown 1000:1000 f
  op showattrs f
  op chmod 6775 f
  changes f chown 2000:3000 f
  op showattrs f
  op chmod 6755 f
  op chown 2000:3000 f                 # the same owner: the bits still go
  op showattrs f
  op chmod 2745 g
  op chown :3000 g                     # setgid without group execute stays
  op showattrs g
  op chmod 1640 g
  op chown 4000 g
  op showattrs g

  op chmod 2755 .
  op chown 5:6 .                       # a directory keeps setgid
  op showattrs .
  op chmod 0755 .
  op chown 0:0 .

  changes f touch -d '2001-02-03 04:05:06.123456789' f
  op showtimes f
  op touch -m -d '1999-12-31 23:59:59.5' f
  op touch -a -d '2010-01-01' f
  op showtimes f
  op touch -d '1901-12-14 00:00:00' f
  op showtimes f
  op touch -d '2400-01-01 00:00:00.000000001' f
  op showtimes f
  changes g touch g
  changes g chmod 0644 g
  changes g rwtool pwrite g 0 1 --tag g2

  # Extended attributes: short form, then a leaf with remote values, then back.
  op rwtool pwrite x 0 10 --tag x
  changes x rwtool setxattr x user.one 10 --tag a
  op rwtool setxattr x user.one 5 --create
  op rwtool setxattr x user.none 5 --replace
  op rwtool setxattr x trusted.t 100 --tag t
  op rwtool setxattr x security.s 40 --tag s
  for i in 0 1 2 3 4 5 6 7 8 9; do op rwtool setxattr x "user.c$i" 30 --tag "c$i"; done
  changes x rwtool setxattr x user.big 5000 --tag big
  op rwtool setxattr x user.max 64k --tag max
  op rwtool setxattr x user.huge 65537
  op rwtool setxattr x user.max 10 --replace --tag m2
  changes x rwtool removexattr x user.big
  op rwtool removexattr x user.big
  op rwtool setxattr x other.name 1
  op rwtool removexattr x user.c3
  op rwtool setxattr x user.n 50 --tag n
  op rwtool setxattr f user.f 300 --tag f
  op rwtool setxattr g user.g 4 --tag g
  op rwtool removexattr g user.g
  op rwtool setxattr . user.dir 20 --tag d
  op mkfifo fifo
  op rwtool setxattr fifo user.p 1
  op rwtool setxattr fifo trusted.p 4 --tag p
  for i in 0 1 2 4 5 6 7 8 9; do op rwtool removexattr x "user.c$i"; done
  op rwtool removexattr x user.max
  # The attr fork went with g's last attribute: a new one is sized by the first attribute's name
  # and value lengths modulo 256 (docs/format.md "Inodes"): 3,604 bytes count as 20, 3,652 as 68.
  op rwtool setxattr g user.long 3604 --tag l
  op rwtool pwrite h 0 10 --tag h
  op rwtool setxattr h user.h 1 --tag h
  op rwtool removexattr h user.h
  op rwtool setxattr h trusted.abcdefghijkl 3652 --tag l2
}
