# shellcheck shell=bash disable=SC2034  # a difftest.sh case; it reads the case_* settings
# small-writes: files of 1, 4095, 4096 and 4097 bytes, appends across block boundaries, overwrites
# inside and across a block boundary, and writes that extend a file from inside its last block.

run_case() {
  local n
  for n in 1 4095 4096 4097; do
    changes . rwtool pwrite "f$n" 0 "$n" --tag "f$n"
    op stat -c '%n %s' "f$n"
  done
  changes f4097 rwtool pwrite f4097 4090 10 --tag over   # across the 4096 boundary
  op rwtool pwrite f4095 4000 200 --tag grow              # extends a partial last block
  op rwtool pwrite f1 0 1 --tag one                       # rewrite in place
  for n in 1 100 3995 1 4096 7 8191; do
    changes appended rwtool append appended "$n" --tag "a$n"
  done
  op stat -c '%n %s' appended
  op rwtool readsum appended 4090 20
  op rwtool readsum f4097 4080 17
  op rwtool readsum f4095 4090 110
}
