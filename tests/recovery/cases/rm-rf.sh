# shellcheck shell=bash disable=SC2034  # a kernel-crash.sh case; it reads the case_* settings
# rm-rf: a tree of 1,500 files in 30 directories and fragmented files (extent lists in bmbt
# blocks) synced, then removed with rm -rf but for one subtree: the frees of inodes, inode chunks,
# extents and directory blocks are all in the log.
case_size=192M
case_log=4000b

run_case() {
  local i j
  op mkdir t keep
  for ((i = 0; i < 30; i++)); do
    mkdir "t/d$i"
    for ((j = 0; j < 50; j++)); do printf '%d %d\n' "$i" "$j" >"t/d$i/f$j"; done
  done
  printf '%s\n' 'strided t/frag1 8k 4k 600 --tag a' 'strided t/d3/frag2 12k 4k 400 --tag b' \
    'pwrite t/d4/big 0 8m --tag big' 'pwrite keep/k 0 50000 --tag k' | rwbatch
  op mv t/d5 keep/
  durable
  op rm -rf t
  op mkdir t
  op rwtool pwrite t/after 0 1000 --tag after
}
