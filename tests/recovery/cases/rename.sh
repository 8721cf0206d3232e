# shellcheck shell=bash disable=SC2034  # a kernel-crash.sh case; it reads the case_* settings
# rename: renames across directories of every size (short form, block form at 200 names): plain
# moves, over existing files (the target's inode freed in the log), directories to new parents
# (".." and link counts), RENAME_EXCHANGE and RENAME_WHITEOUT (a 0:0 character device), before
# and after a sync.
case_size=128M

run_case() {
  local i
  op mkdir a b c a/sub b/sub2
  for ((i = 0; i < 200; i++)); do printf '%d\n' "$i" >"a/f$i"; done
  for ((i = 0; i < 10; i++)); do printf 'b%d\n' "$i" >"b/g$i"; done
  op rwtool pwrite a/sub/data 0 20000 --tag sub
  op mv a/f0 b/moved0
  durable
  for ((i = 1; i < 100; i += 3)); do op mv "a/f$i" "c/f$i"; done
  op mv a/f2 b/g1
  op mv b/g2 a/f5
  op mv a/sub b/sub2/sub
  op mv b/sub2 c/
  printf '%s\n' 'rename a/f8 b/g3 --exchange' 'rename c/f4 a/f4-whiteout --whiteout' | rwbatch
  op mv c/f7 c/f7-renamed-in-place-with-a-longer-name
  op mv b/moved0 a/f0-back
}
