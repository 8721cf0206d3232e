# shellcheck shell=bash disable=SC2034  # a difftest.sh case; it reads the case_* settings
# dir-placement-64k: as dir-placement, with 64 KiB directory blocks (16 fsblocks each, so the
# length-first rule of the near search decides): 20,000 names make d a node-form directory of
# many 64 KiB blocks; e grows alongside it.
# needs: dirs

case_dirblock=65536
case_mkfs=(-p "$here/cases/dir-placement.proto")

make_files() {
  local i
  for ((i = 0; i < 20000; i++)); do
    : >"d/a-somewhat-longer-file-name-$i"
    ((i % 4 == 0)) && : >"e/other-$i"
  done
  return 0
}

check_image() {
  local d
  for d in d e; do
    echo "== $d"
    xfs_db -r -c "path /$d" -c 'print core.format core.size core.nextents core.nblocks' -c bmap "$1"
  done
}

run_case() {
  op make_files
  op bash -c 'ls d | wc -l; ls e | wc -l'
}
