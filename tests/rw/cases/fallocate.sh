# shellcheck shell=bash disable=SC2034  # a difftest.sh case; it reads the case_* settings
# fallocate: default mode (unwritten extents inside and past EOF, KEEP_SIZE past EOF), writes into
# part of the preallocation (aligned and not), and a preallocation larger than the filesystem.

run_case() {
  changes . fallocate -l 1M fa
  op stat -c '%n %s' fa
  op rwtool readsum fa 0 1M
  op rwtool pwrite fa 256K 4096 --tag mid
  op rwtool pwrite fa 600000 100 --tag odd
  op rwtool readsum fa 598000 8000
  op fallocate -n -o 1M -l 1M fa
  op stat -c '%n %s' fa
  op rwtool pwrite fa $((1048576 + 10)) 10 --tag past
  op stat -c '%n %s' fa
  op rwtool readsum fa 1M 8192

  op rwtool pwrite fb 0 8192 --tag fb
  changes fb fallocate -o 100 -l 10 fb      # inside written data: nothing to do
  changes fb fallocate -o 8000 -l 10000 fb  # extends the size
  op stat -c '%n %s' fb
  op rwtool readsum fb 8000 10000

  op fallocate -l 2G toobig
  op stat -c '%n %s' toobig
}
