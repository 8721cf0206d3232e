# shellcheck shell=bash disable=SC2034  # a kernel-crash.sh case; it reads the case_* settings
# write-append: data writes and size changes around a sync: files written and synced, then
# appended, overwritten, extended with fsync (sizes and new extents in the log), truncated down and
# up, preallocated and punched; some writes after the last fsync are lost with the page cache.
case_size=128M

run_case() {
  local i
  op mkdir w
  {
    for ((i = 0; i < 10; i++)); do echo "pwrite w/f$i 0 $((i * 70000 + 1000)) --tag a$i"; done
    echo "strided w/frag 8k 4k 200 --tag s"
  } | rwbatch
  durable
  {
    for ((i = 0; i < 10; i += 2)); do echo "append w/f$i 100000 --tag b$i"; done
    echo "pwrite w/f1 3000 5000 --tag over --fsync"
    echo "pwrite w/f3 2m 64k --tag far --fsync"
    echo "pwrite w/frag 4k 4k --tag fill --fsync"
  } | rwbatch
  op truncate -s 1000 w/f5
  op truncate -s 5m w/f7
  op fallocate -l 1m w/prealloc
  op fallocate -p -o 8k -l 64k w/f9
  printf '%s\n' 'pwrite w/direct 0 256k --tag d --direct' 'append w/f0 5000 --tag late' | rwbatch
  op sync -f w/f0
  op rwtool pwrite w/unsynced 0 100k --tag lost
}
