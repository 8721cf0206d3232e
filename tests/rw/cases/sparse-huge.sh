# shellcheck shell=bash disable=SC2034  # a difftest.sh case; it reads the case_* settings
# sparse-huge: writes at offsets of 1 TiB, 4 TiB + 123, 2^50 and 2^62 (bmbt offsets far beyond the
# filesystem size, the file size near XFS's limit). Reading such a file whole through a driver
# without lseek(SEEK_DATA) would take days, hence the need.
# needs: lseek

# The kernel's speculative preallocation past EOF at the time of each extending write stays
# allocated once a later write moves EOF past it (the kernel trims it only past the final EOF);
# xfsfuse allocates exactly what is written. Contents and sizes are still compared strictly.
case_alloc=any

run_case() {
  op rwtool pwrite huge 0 4096 --tag head
  op rwtool pwrite huge 1T 8192 --tag one-t
  op rwtool pwrite huge $((4 * 1099511627776 + 123)) 5000 --tag four-t
  op rwtool pwrite huge $((1 << 50)) 4096 --tag p50
  op rwtool pwrite huge $((1 << 62)) 100 --tag p62
  op stat -c '%n %s' huge
  op rwtool readsum huge $((1099511627776 - 4096)) 16384
  op rwtool readsum huge $((4 * 1099511627776)) 8192
  op rwtool readsum huge $(((1 << 62) - 4096)) 4196
  op truncate -s $((1 << 50)) huge
  op rwtool readsum huge $(((1 << 50) - 4096)) 8192
}
