# shellcheck shell=bash disable=SC2034  # a kernel-crash.sh case; it reads the case_* settings
# create-4k: the 4 KiB directory-block case: a directory grown past leaf form to a node tree
# (2,500 names: several leaf blocks under a da node), half its names removed after a sync and
# 800 longer ones added, so leaf splits, stale entries and freed data blocks are in the log.
case_size=96M
case_dirblock=4096

run_case() {
  local i
  op mkdir d small
  for ((i = 0; i < 2500; i++)); do printf '%d\n' "$i" >"d/n-$(printf %05d "$i")"; done
  for ((i = 0; i < 40; i++)); do : >"small/s$i"; done
  durable
  for ((i = 0; i < 2500; i += 2)); do rm "d/n-$(printf %05d "$i")"; done
  for ((i = 0; i < 800; i++)); do printf 'x%d\n' "$i" >"d/a-much-longer-name-than-before-$(printf %05d "$i")"; done
  for ((i = 0; i < 40; i += 3)); do rm "small/s$i"; done
  op ls -f d
}

# The directory is in node form after the replay: it has a free-index block (the free space
# section starts at byte 64 GiB of a directory: block 16777216 of 4 KiB) and more than one leaf.
check_image() {
  xfs_db -r -c 'path /d' -c bmap "$1" | awk '{ print } $3 >= 16777216 { node = 1 } END { exit !node }'
}
