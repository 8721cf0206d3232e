# shellcheck shell=bash disable=SC2034  # a difftest.sh case; it reads the case_* settings
# frag-back: the 10,000-extent file of frag-bmbt (a bmbt with its root at level 2), then punched
# down to 20 extents and truncated to 5: the data fork must be back in extents format (it fits in
# the inode again: at most 21 records in a 512-byte inode with no attribute fork).

run_case() {
  op rwtool strided frag 8192 4096 10000 --reverse --tag frag
  op fallocate -p -o $((10 * 8192)) -l $((9980 * 8192)) frag
  op stat -c '%n %s' frag
  op rwtool readsum frag $((9 * 8192)) 16384
  op truncate -s $((5 * 8192 - 4096)) frag
  op stat -c '%n %s' frag
}

check_image() {
  local out
  out=$(xfs_db -r -c 'path /frag' -c 'print core.format core.nextents' "$1")
  printf '%s\n' "$out"
  [[ $out == *"core.format = 2 (extents)"* ]]
}
