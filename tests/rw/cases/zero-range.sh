# shellcheck shell=bash disable=SC2034  # a difftest.sh case; it reads the case_* settings
# zero-range: fallocate -z of partial blocks, whole blocks, a range extending the file, a KEEP_SIZE
# range past EOF, and over a hole.

run_case() {
  op rwtool pwrite z 0 256K --tag z
  changes z fallocate -z -o 5000 -l 10000 z
  op fallocate -z -o 64K -l 64K z
  op fallocate -z -o 200K -l 100K z
  op stat -c '%n %s' z
  op fallocate -z -n -o 400K -l 64K z
  op stat -c '%n %s' z
  op rwtool readsum z 4096 12288
  op rwtool readsum z 60K 72K
  op rwtool readsum z 196K 120K

  op truncate -s 1M h
  op fallocate -z -o 4096 -l 100 h
  op rwtool pwrite h 8192 10 --tag h
  op fallocate -z -o 8195 -l 2 h
  op rwtool readsum h 8192 10
}
