# shellcheck shell=bash disable=SC2034  # a difftest.sh case; it reads the case_* settings
# remove: unlink and rmdir — files with data (one of many extents), a file read through an open
# descriptor after its name went (freed at its last close), the errors of rm and rmdir (missing
# name, a directory to unlink, a file to rmdir, a directory not empty), a removed directory's
# parent link count, and names made again after the removal.

run_case() {
  local i
  op mkdir d d/sub d/sub2
  for i in 1 2 3 4 5 6 7 8; do op rwtool pwrite "d/f$i" 0 $((i * 20000)) --tag "f$i"; done
  for i in $(seq 0 2 80); do op rwtool pwrite d/frag $((i * 8192)) 4096 --tag "frag$i"; done
  op rwtool pwrite d/sub/x 0 5000 --tag x
  op stat -c '%n %h' d d/sub
  changes d rm d/f1 d/f3
  op rm d/nope
  op rm d/sub
  op rmdir d/f2
  op rmdir d/sub
  op bash -c 'exec 3<d/f4 && rm d/f4 && sha256sum <&3 && stat -L -c "%h %s" /dev/fd/3'
  op ls d
  changes d rm d/frag
  op rm d/sub/x
  changes d rmdir d/sub
  op stat -c '%n %h' d
  op rwtool pwrite d/f1 0 3000 --tag f1again
  op mkdir d/sub
  op rm -r d/sub2 d/f5 d/f6
  op ls d
}
