# shellcheck shell=bash disable=SC2034  # a difftest.sh case; it reads the case_* settings
# enospc: a 64 MiB filesystem filled by buffered writes, by O_DIRECT writes, by dd and by a
# fallocate larger than the free space: each fails with ENOSPC; the files are then cut to sizes
# both sides reach (how far a fill got may legitimately differ) and writes succeed again.
case_size=64M

run_case() {
  op rwtool pwrite fill 0 1G --tag fill
  op truncate -s 16M fill
  op rwtool pwrite small 0 1M --tag small
  op dd if=/dev/zero of=zeros bs=1M status=none
  op truncate -s 1M zeros
  op rwtool pwrite dfill 0 1G --direct --tag dfill
  op truncate -s 4M dfill
  op fallocate -l 1G fa
  op stat -c '%n %s' fa
  op rwtool pwrite fill 16M 1G --tag fill2
  op truncate -s 20M fill
  op rwtool pwrite small 1M 4M --tag small2
  op stat -c '%n %s' fill small zeros dfill
}
