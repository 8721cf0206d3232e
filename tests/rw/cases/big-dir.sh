# shellcheck shell=bash disable=SC2034  # a difftest.sh case; it reads the case_* settings
# big-dir: 4 KiB directory blocks, so a directory of thousands of names is node form with a da
# btree of many leaves: 8,000 files made (leaf splits, the root split), 5,000 removed in a
# scattered order (leaves joined), 1,000 moved to a second directory (which grows past one leaf
# too), long names added; check_image compares where each directory's blocks sit in its fork (data,
# leaf and free-index space) and its size, which the kernel's split and join choices decide.
# needs: dirs

case_dirblock=4096

pad=nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn
# name_of I: file I's name (lengths 11 to 50) in $name, without a subshell per file.
name_of() { printf -v name 'file-%05d-%s' "$1" "${pad:0:$(($1 % 40))}"; }
make_files() { local i name; for ((i = 0; i < 8000; i++)); do name_of "$i"; : >"d/$name"; done; }
remove_scattered() {
  local i name
  for ((i = 0; i < 5000; i++)); do name_of $((i * 7919 % 8000)); rm "d/$name"; done
}
move_some() {
  local i name moved=0
  for ((i = 0; i < 8000 && moved < 1000; i++)); do
    name_of "$i"
    [[ -e d/$name ]] || continue
    mv "d/$name" "e/$name"
    moved=$((moved + 1))
  done
}
add_long() { local i; for ((i = 0; i < 300; i++)); do : >"e/$(printf 'L%.0s' {1..200})-$i"; done; }

# Each directory: format and size, and the fork ranges it maps ("offset+count", merged: where the
# blocks sit on disk differs).
check_image() {
  local d
  for d in d e; do
    echo "== $d"
    xfs_db -r -c "path /$d" -c 'print core.format core.size' "$1"
    # "data offset O startblock B (A/B) count N flag F"
    xfs_db -r -c "path /$d" -c bmap "$1" | awk 'BEGIN { start = 0; end = -1 }
      { off = $3 + 0; n = $8 + 0 }
      off != end { if (end > start) print "mapped " start "+" end - start; start = off }
      { end = off + n }
      END { if (end > start) print "mapped " start "+" end - start }'
  done
}

run_case() {
  op mkdir d e
  op make_files
  op remove_scattered
  op move_some
  op add_long
  op bash -c 'ls d | wc -l; ls e | wc -l'
  op stat -c '%n %s %h' d e
}
