# shellcheck shell=bash disable=SC2034  # a difftest.sh case; it reads the case_* settings
# tmpfile: open(O_TMPFILE) (through FUSE_TMPFILE, fs/fuse/tmpfile.h): an unnamed file with no link
# written and then named by linkat(AT_SYMLINK_FOLLOW) of /proc/self/fd (link count 0, then 1), one
# opened with O_EXCL that may never be named (ENOENT), unnamed ones dropped at close (their blocks
# and inodes freed: the AGIs' unlinked lists empty, the superblock's counters the kernel's), one
# named into another directory, the errors (a regular file: ENOTDIR; a directory uid 1000 may
# not write: EACCES). check_image compares the AGIs' unlinked buckets, the inode counters and the
# free blocks.
# needs: dirs
case_xfsfuse_opts=allow_other
case_tools=(setpriv /usr/bin/python3)

check_image() {
  xfs_db -r -c 'agi 0' -c 'print unlinked' -c 'agi 1' -c 'print unlinked' -c 'sb 0' \
    -c 'print icount ifree fdblocks' "$1"
}

run_case() {
  op rwtool tmpfile . 100 --tag a --mode 640 --stat --link a
  op rwtool tmpfile . 100 --tag b --excl --stat --link b
  op rwtool tmpfile . 1m --tag c --stat
  # One directory only: the kernel spreads new directories over the AGs (its rotor), xfsfuse keeps
  # them in their parent's, so a second one would put the inodes below in another AG.
  op mkdir d
  op rwtool tmpfile d 8192 --tag d --mode 4755 --stat --link moved
  for i in 1 2 3 4 5 6 7 8; do op rwtool tmpfile d 20000 --tag "x$i"; done
  op rwtool tmpfile a 10
  op rwtool tmpfile nothere 10
  op chmod 0755 d
  op setpriv --reuid=1000 --regid=1000 --clear-groups /usr/bin/python3 "$RWTOOL" tmpfile d 10
  op chmod 0777 d
  op setpriv --reuid=1000 --regid=1000 --clear-groups /usr/bin/python3 "$RWTOOL" tmpfile d 10 --stat --link d/byuser
  op stat -c '%n %a %u %g %s %h' a moved d/byuser
  op rwtool readsum a 0 100
  op rwtool readsum moved 0 8192
}
