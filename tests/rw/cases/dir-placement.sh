# shellcheck shell=bash disable=SC2034  # a difftest.sh case; it reads the case_* settings
# dir-placement: where directory blocks go, block for block as the kernel puts them (the bmap
# target next to the hole's neighbours and the kernel's NEAR_BNO search, docs/format.md "Placement
# (where new blocks go)" and "Which free extent a near allocation takes"). Directories d and e
# come from mkfs.xfs -p (kernel-made directories get di_forkoff 24 on some kernels, ours 0, so a
# directory made in the case would turn into a bmbt at another extent count); 4 KiB directory
# blocks make d node form with many leaves, e grows alongside it so their blocks interleave.
# Only creations: freed blocks stay busy in the kernel until its log commits, which xfsfuse
# does not model, so reuse after removals is not comparable block for block.
# needs: dirs

case_dirblock=4096
case_mkfs=(-p "$here/cases/dir-placement.proto")

# shellcheck source=tests/rw/cases/dir-placement.lib
source "$here/cases/dir-placement.lib"

run_case() {
  op make_files 3000 3 file
  op bash -c 'ls d | wc -l; ls e | wc -l'
}
