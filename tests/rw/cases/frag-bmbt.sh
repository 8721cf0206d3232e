# shellcheck shell=bash disable=SC2034  # a difftest.sh case; it reads the case_* settings
# frag-bmbt: a file of 10,000 extents (every other 4 KiB block, written from the last to the first
# so no speculative preallocation fills the holes): the data fork becomes a bmbt whose root, in the
# inode, is at level 2 or more (more extents than 20 leaves can hold at any fill: the root in a
# 512-byte inode holds 20 pointers, a 4 KiB v5 leaf 251 records). Then a few blocks of it are
# rewritten, punched and filled in, which splits and merges records inside the btree.

# The bmbt's leaf count may differ by a block or so: which records move to a sibling before a
# split (lshift/rshift) differs in detail from the kernel's when records arrive in reverse order.
case_alloc=1%

run_case() {
  op rwtool strided frag 8192 4096 10000 --reverse --tag frag
  op stat -c '%n %s' frag
  op rwtool pwrite frag $((5000 * 8192 + 4096)) 4096 --tag join    # fills a hole between two
  op fallocate -p -o $((6000 * 8192)) -l 2048 frag                 # zeroes half a block
  op fallocate -p -o $((7000 * 8192)) -l 4096 frag                 # removes one extent
  op rwtool readsum frag $((5000 * 8192)) 16384
  op rwtool readsum frag $((7000 * 8192)) 8192
}

# The kernel's image and the peer's both hold that btree (the extent count is left out: whether
# the block filling a hole merges with its neighbours depends on where the allocator put it).
check_image() {
  local out
  out=$(xfs_db -r -c 'path /frag' -c 'print core.format u3.bmbt.level' "$1" |
    awk '$1 == "u3.bmbt.level" { print "bmbt root level >= 2:", ($3 >= 2 ? "yes" : "no, " $3); next } { print }')
  printf '%s\n' "$out"
  [[ $out == *"level >= 2: yes"* ]]
}
