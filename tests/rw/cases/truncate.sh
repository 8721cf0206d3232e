# shellcheck shell=bash disable=SC2034  # a difftest.sh case; it reads the case_* settings
# truncate: down and up to odd sizes (the partial last block must read back zeroed past the old
# end), to 0 and 1, up from empty, the same size again (Linux still updates mtime and ctime), and
# writes after.

run_case() {
  op rwtool pwrite t1 0 $((3 * 4096 + 100)) --tag t1
  changes t1 truncate -s 5000 t1
  changes t1 truncate -s 5000 t1
  changes t1 truncate -s 20000 t1
  op rwtool readsum t1 4990 200
  op rwtool readsum t1 5000 15000

  op rwtool pwrite t2 0 65536 --tag t2
  op truncate -s 12345 t2
  op truncate -s 70000 t2
  op rwtool readsum t2 12300 100
  op rwtool pwrite t2 60000 100 --tag t2b
  op truncate -s 1 t2
  op truncate -s 4097 t2
  op rwtool readsum t2 0 4097

  op truncate -s 0 t3
  op truncate -s 1M t3
  op rwtool pwrite t3 4095 2 --tag t3
  op truncate -s 4096 t3
  op truncate -s 0 t3
  op truncate -s 3 t3
  op stat -c '%n %s' t1 t2 t3
}
