# shellcheck shell=bash disable=SC2034  # a difftest.sh case; it reads the case_* settings
# full-namespace: namespace changes on a full filesystem, as the kernel answers them. A 64 MiB
# filesystem (64 KiB directory blocks) with 200 small files is filled by 4 KiB writes; then
# creating fails (ENOSPC: a new inode and a directory's worth of blocks, 162 blocks, must be
# reserved, and fewer are left on either side), while rename and link into directories with
# room, and remove, succeed (the kernel goes on with no reservation when short of space); after
# the fill is cut back, creating works again. The filled file is cut to one size (how far a fill
# gets may legitimately differ: the kernel's delayed allocation fills to the last block).
# check_image compares the new inodes' forks (di_forkoff preset as the kernel's, docs/format.md
# "Inodes"). Not here: setxattr on the full filesystem, which the kernel retries after freeing
# its speculative preallocation beyond EOF, so its answer depends on how far its fill went.
# needs: dirs
case_size=64M
case_alloc=any

fill_dir() { local i; for ((i = 1; i <= 200; i++)); do echo hello >"d/f$i"; done; }

# The forks of inodes each side made: regular file, directory, symlink, hard-linked file.
check_image() {
  local p
  for p in /newfile2 /newdir2 /newdir2/sl /d/h3 /d/g1; do
    echo "== $p"
    xfs_db -r -c "path $p" -c 'print core.format core.aformat core.forkoff core.naextents' "$1"
  done
}

run_case() {
  op mkdir d
  op fill_dir
  op dd if=/dev/zero of=big bs=4k status=none
  op touch newfile
  op mkdir newdir
  op mv d/f1 d/g1
  op mv d/f2 top2
  op ln d/f3 d/h3
  op ln -s x d/sl
  op rm d/f4
  op rm d/f6
  op truncate -s 1M big
  op touch newfile2
  op mkdir newdir2
  op ln -s some-target newdir2/sl
  op mv d/f7 newdir2/f7
  op ls d
}
