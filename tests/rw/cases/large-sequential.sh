# shellcheck shell=bash disable=SC2034  # a difftest.sh case; it reads the case_* settings
# large-sequential: 64 MiB written with dd (buffered, then fsync), copied with O_DIRECT writes
# (dd oflag=direct) and read back with O_DIRECT, a 1 MiB O_DIRECT overwrite in the middle, and a
# 32 MiB file written by O_DIRECT pwrites from offset 0 (every write extends the file).

seq_write() { python3 "$RWTOOL" pattern 64M --tag seq | dd of=seq bs=1M iflag=fullblock conv=fsync status=none; }

run_case() {
  op seq_write
  op dd if=seq of=seq.direct bs=1M oflag=direct status=none
  op cmp seq seq.direct
  op dd if=seq.direct of=/dev/null bs=1M iflag=direct status=none
  changes seq.direct rwtool pwrite seq.direct 8M 1M --direct --tag overwrite
  op rwtool readsum seq.direct 8M 1M
  op rwtool pwrite extend 0 32M --direct --fsync --tag extend
  op stat -c '%n %s' seq seq.direct extend
}
