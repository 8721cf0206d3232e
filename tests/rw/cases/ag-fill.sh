# shellcheck shell=bash disable=SC2034  # a difftest.sh case; it reads the case_* settings
# ag-fill: a 64 MiB filesystem of 4 allocation groups of 16 MiB: a 40 MiB file must span several
# AGs, 1 MiB files fill what is left, then the big file is emptied and two 20 MiB files take its
# space (allocations falling back from a full AG to the next).
case_size=64M
case_mkfs=(-d agcount=4)

run_case() {
  local i
  op rwtool pwrite big 0 40M --tag big
  for i in 1 2 3 4 5 6; do op rwtool pwrite "m$i" 0 1M --tag "m$i"; done
  op truncate -s 0 big
  op rwtool pwrite c1 0 20M --tag c1
  op rwtool pwrite c2 0 20M --tag c2
  op rwtool pwrite big 0 4M --tag big2
  op stat -c '%n %s' big c1 c2
}

# c1 and c2 each lie in more than one AG.
check_image() {
  local f
  for f in c1 c2; do
    xfs_db -r -c "path /$f" -c bmap "$1" |
      awk -v f="$f" '{ split($6, a, "[(/]"); ag[a[2]] = 1 } END { n = length(ag); print f " in several AGs: " (n > 1 ? "yes" : "no"); exit n < 2 }' || return 1
  done
}
