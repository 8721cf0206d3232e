# shellcheck shell=bash disable=SC2034  # a difftest.sh case; it reads the case_* settings
# dir-rotor: which inode a new directory gets. The kernel spreads directories over the AGs (its
# m_agirotor: the first directory made after a mount in AG 0, the next in AG 1, ..., wrapping),
# each AG giving its first free inode or, with none, a new chunk there; files and symlinks stay in
# their parent's AG, next to it. The inode numbers are compared, and check_image the chunks
# (icount, ifree) and each AG's inode counts.
# needs: dirs

check_image() {
  local ag
  xfs_db -r -c 'sb 0' -c 'print agcount icount ifree' "$1"
  for ag in 0 1 2 3; do xfs_db -r -c "agi $ag" -c 'print count freecount newino' "$1"; done
}

run_case() {
  op mkdir a b c d e f
  op mkdir a/x a/y b/z
  op touch a/f1 b/f2 f3
  op ln -s f3 l
  op mkdir a/x/deep
  op mkdir -p p/q/r/s/t/u/v/w
  op stat -c '%n %i' a b c d e f a/x a/y b/z a/f1 b/f2 f3 l a/x/deep p/q/r/s/t/u/v/w
  op rmdir e f
  op mkdir g h
  op stat -c '%n %i' g h
}
