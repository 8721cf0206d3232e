# shellcheck shell=bash disable=SC2034  # a difftest.sh case; it reads the case_* settings
# rename: rename(2) and renameat2(2) — names moved within and across directories, over files
# (one still open: read after its last name went), over empty directories, directories moved
# between parents (their ".." and the parents' link counts), the times each changes, the flags
# NOREPLACE, EXCHANGE (files, a directory with a file, two directories) and WHITEOUT (the
# character device 0:0 left behind), a block-form directory's names moved out and back, and the
# errors: missing names, a directory over a file and the reverse, a directory that is not empty
# (XFS: EEXIST), into its own subtree, over an ancestor, "." and "..".

# parent_is DIR PARENT: whether DIR's ".." is PARENT (inode numbers differ between the mounts).
parent_is() {
  [[ $(stat -c %i "$1/..") == $(stat -c %i "$2") ]] && echo "$1/.. is $2" || echo "$1/.. is not $2"
}

# moved_times OLD NEW: renames OLD to NEW and says which of the inode's times changed.
moved_times() {
  local b a
  b=$(stat -c '%y|%z' "$1") || return 1
  sleep 0.02
  rwtool rename "$1" "$2" || return 1
  a=$(stat -c '%y|%z' "$2")
  [[ ${b%|*} == "${a%|*}" ]] && echo "mtime kept" || echo "mtime changed"
  [[ ${b#*|} == "${a#*|}" ]] && echo "ctime kept" || echo "ctime changed"
}

run_case() {
  local i
  op mkdir d e d/sub d/sub/deep e/empty e/full
  op rwtool pwrite d/a 0 10000 --tag a
  op rwtool pwrite d/b 0 5000 --tag b
  op rwtool pwrite e/c 0 7000 --tag c
  op rwtool pwrite e/full/x 0 100 --tag x
  op stat -c '%n %h' d e d/sub
  changes d rwtool rename d/a d/a2
  changes e rwtool rename d/a2 e/a3
  op moved_times e/a3 d/a4
  op moved_times d/sub e/sub
  op stat -c '%n %h' d e e/sub e/sub/deep
  op parent_is e/sub e
  op parent_is e/sub/deep e/sub
  # Over a file, one that is open, an empty directory, a full one.
  changes e rwtool rename d/b e/c
  op rwtool pwrite d/b2 0 3000 --tag b2
  op bash -c 'exec 3<e/c && python3 "$RWTOOL" rename d/b2 e/c && sha256sum <&3 && stat -L -c "%h %s" /dev/fd/3'
  op rwtool rename e/sub/deep e/empty
  op stat -c '%n %h' e e/sub
  op rwtool rename e/empty e/full
  op rwtool rename e/full e/empty
  op ls -a e e/empty
  # The flags.
  op rwtool rename --noreplace d/a4 e/c
  op rwtool rename --noreplace d/a4 d/a5
  op rwtool rename --exchange d/a5 e/nope
  changes d rwtool rename --exchange d/a5 e/c
  op rwtool readsum d/a5 0 3000
  op rwtool readsum e/c 0 10000
  op rwtool rename --exchange e/sub d/a5
  op stat -c '%n %h %F' d e d/a5 e/sub
  op parent_is d/a5 d
  op mkdir d/other d/other/inner
  op rwtool rename --exchange d/a5 e/empty
  op parent_is d/a5 d
  op parent_is e/empty e
  op stat -c '%n %h' d e
  changes e rwtool rename --whiteout e/c e/c-moved
  op stat -c '%n %F %a %t:%T %h %u %g' e/c e/c-moved
  op rwtool pwrite d/b-target 0 100 --tag t
  op rwtool rename --whiteout e/c-moved d/b-target
  op rwtool rename --whiteout --exchange e/c d/nope
  op ls -l --time-style=+ e d
  # A block-form directory: names out and back in.  (o ends with 13 names, short form on both
  # mounts: the kernel's directories here carry an empty LSM attr fork, so their short form holds
  # only 192 bytes against xfsfuse's 336 — docs/format.md "Directories".)
  op mkdir e/many o
  for i in $(seq 1 80); do op rwtool pwrite "e/many/entry-with-a-longer-name-$i" 0 100 --tag "m$i"; done
  for i in $(seq 1 3 80); do op rwtool rename "e/many/entry-with-a-longer-name-$i" "o/out-$i"; done
  for i in $(seq 1 6 80); do op rwtool rename "o/out-$i" "e/many/back-$i"; done
  op rwtool rename d/other e/many/other
  op stat -c '%n %h %s' d e e/many o
  op parent_is e/many/other e/many
  # Errors.
  op rwtool rename d/nope d/x
  op rwtool rename e/many d/a5
  op rwtool rename e/many/back-1 e/many/other
  op rwtool rename e/many/other d/b-target
  op rwtool rename e/many e/many/other/inner/x
  op rwtool rename e/many/other/inner e/many
  op rwtool rename e/many/other/inner/. d/x
  op rwtool rename d/b-target e/..
  op ls d e e/many o
}
