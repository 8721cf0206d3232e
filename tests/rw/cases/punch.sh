# shellcheck shell=bash disable=SC2034  # a difftest.sh case; it reads the case_* settings
# punch: fallocate -p (punch hole, keeping the size) of aligned blocks, of partial blocks (zeroed in
# place), past EOF, of a whole file, and inside an unwritten extent.

run_case() {
  op rwtool pwrite p 0 1M --tag p
  changes p fallocate -p -o 8192 -l 8192 p
  op fallocate -p -o 100000 -l 5000 p
  op fallocate -p -o 0 -l 1 p
  op fallocate -p -o 900K -l 1M p
  op stat -c '%n %s' p
  op rwtool readsum p 0 4096
  op rwtool readsum p 4096 16384
  op rwtool readsum p 98304 12288
  op rwtool readsum p 920000 128576

  op rwtool pwrite q 0 1M --tag q
  op fallocate -p -o 0 -l 1M q
  op stat -c '%n %s' q

  op fallocate -l 64K u
  op fallocate -p -o 4K -l 8K u
  op rwtool pwrite u 20000 10 --tag u
  op fallocate -p -o 16K -l 8K u
  op rwtool readsum u 0 64K
}
