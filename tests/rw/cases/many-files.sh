# shellcheck shell=bash disable=SC2034  # a difftest.sh case; it reads the case_* settings
# many-files: 3,000 files in one directory (more than one 64 KiB directory block holds: leaf
# format), every other one removed, some renamed, hard links, symlinks, a fifo, subdirectories
# made and removed: the namespace operations the directory issue brings.
# needs: dirs

make_files() { local i; for ((i = 0; i < 3000; i++)); do printf '%d\n' "$i" >"d/file-$(printf %05d "$i")"; done; }
remove_odd() { local i; for ((i = 1; i < 3000; i += 2)); do rm "d/file-$(printf %05d "$i")"; done; }
rename_some() { local i; for ((i = 0; i < 3000; i += 10)); do mv "d/file-$(printf %05d "$i")" "d/renamed-$i"; done; }

run_case() {
  changes . mkdir d
  op make_files
  op remove_odd
  op rename_some
  op ln d/file-00002 hardlink
  op ln -s d/file-00004 symlink
  op ln -s "$(printf 'x%.0s' {1..400})" long-symlink
  op mkfifo d/fifo
  op mkdir -p a/b/c
  op rmdir a/b/c
  op rmdir a                     # not empty yet: ENOTEMPTY
  op mv d/renamed-10 a/b/
  op mv symlink a/
  op bash -c 'ls d | wc -l'
  op stat -c '%n %h' d a a/b hardlink
}
