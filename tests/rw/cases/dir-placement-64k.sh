# shellcheck shell=bash disable=SC2034  # a difftest.sh case; it reads the case_* settings
# dir-placement-64k: as dir-placement, with 64 KiB directory blocks (16 fsblocks each, so the
# length-first rule of the near search decides): 20,000 names make d a node-form directory of
# many 64 KiB blocks; e grows alongside it.
# needs: dirs

case_dirblock=65536
case_mkfs=(-p "$here/cases/dir-placement.proto")

# shellcheck source=tests/rw/cases/dir-placement.lib
source "$here/cases/dir-placement.lib"

run_case() {
  op make_files 20000 4 a-somewhat-longer-file-name
  op bash -c 'ls d | wc -l; ls e | wc -l'
}
