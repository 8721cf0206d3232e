# shellcheck shell=bash disable=SC2034  # a difftest.sh case; it reads the case_* settings
# sparse: writes at offsets far apart in a 1 GiB filesystem (up to 900 MiB), unaligned ones, a write
# filling part of a hole later, and the holes read back as zeros.

# The kernel's speculative preallocation past EOF at the time of each extending write stays
# allocated once a later write moves EOF past it (the kernel trims it only past the final EOF);
# xfsfuse allocates exactly what is written. Contents and sizes are still compared strictly.
case_alloc=any

run_case() {
  op rwtool pwrite sp 0 10 --tag head
  op rwtool pwrite sp 1M 4096 --tag one-m
  op rwtool pwrite sp $((100 * 1048576 + 7)) 5000 --tag unaligned
  op rwtool pwrite sp 900M 1 --tag far
  op stat -c '%n %s' sp
  op rwtool readsum sp 10 4086           # the rest of block 0
  op rwtool readsum sp 4096 1044480      # the hole before 1 MiB
  op rwtool readsum sp $((100 * 1048576)) 7
  op rwtool readsum sp $((100 * 1048576 + 5007)) 100000
  op rwtool readsum sp $((900 * 1048576 - 4096)) 4097
  op rwtool pwrite sp 50M 8192 --tag fill-in
  op rwtool readsum sp $((50 * 1048576 - 4096)) 16384
  # A file that is all hole but its last byte, and one extended by a one-byte write past the end.
  op rwtool pwrite last $((300 * 1048576 - 1)) 1 --tag last
  op rwtool pwrite f4097 0 4097 --tag f
  op rwtool pwrite f4097 20000 1 --tag past-eof
  op rwtool readsum f4097 4097 15903
}
