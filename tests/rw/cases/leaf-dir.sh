# shellcheck shell=bash disable=SC2034  # a difftest.sh case; it reads the case_* settings
# leaf-dir: one directory grown through short and block form into leaf form (3,000 files, several
# 64 KiB data blocks and a LEAF1 block), every other file removed (stale leaf entries, holes), 1,500
# files of longer names added back into the holes and new data blocks, then everything removed
# (data blocks freed, back to block and short form) and the directory itself.

make_files() { local i; for ((i = 0; i < 3000; i++)); do printf '%d\n' "$i" >"d/file-$(printf %05d "$i")"; done; }
remove_odd() { local i; for ((i = 1; i < 3000; i += 2)); do rm "d/file-$(printf %05d "$i")"; done; }
add_long() { local i; for ((i = 0; i < 1500; i++)); do : >"d/a-longer-name-for-the-holes-$(printf %05d "$i")"; done; }
remove_all() { local f; for f in d/*; do rm "$f"; done; }

run_case() {
  op mkdir d
  op make_files
  op remove_odd
  op add_long
  op remove_all
  op rmdir d
}
