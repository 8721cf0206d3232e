# shellcheck shell=bash disable=SC2034  # a kernel-crash.sh case; it reads the case_* settings
# unlink-open: files unlinked while open (and O_TMPFILEs) at the crash sit on the AGI unlinked lists
# of the dirty log; the replay must free them (inodes in use as the kernel's), keep the others.
# Some unlinked before a sync (on the lists in the checkpoint already), most after it; 14 held
# files and 2 O_TMPFILEs in two directories (several AGs and unlinked buckets).
case_size=128M

run_case() {
  local i
  op mkdir d e
  for ((i = 0; i < 24; i++)); do echo "pwrite d/f$i 0 $((i * 5000 + 1)) --tag f$i"; done | rwbatch
  for ((i = 0; i < 8; i++)); do echo "pwrite e/g$i 0 300k --tag g$i"; done | rwbatch
  op hold d/f0 d/f1 d/f2 d/f3 e/g0 e/g1
  op rm d/f0 e/g0
  durable
  op rm d/f1 d/f2 e/g1 d/f4 d/f5
  for ((i = 8; i < 24; i += 2)); do op hold "d/f$i"; op rm "d/f$i"; done
  op hold_tmpfile d 70k
  op hold_tmpfile e 1
  op rwtool pwrite d/new 0 9000 --tag new --fsync
}

# The log holds AGI buffers with non-empty unlinked buckets (xfs_logprint -b -i prints the
# buckets of each logged AGI; 0xffffffff is an empty one).
check_log() {
  image_logprint "$1" -b -i | awk '/^bucket\[/ { for (i = 1; i <= NF; i++) if ($i ~ /^0x/ && $i != "0xffffffff") n++ }
    END { print n + 0, "unlinked bucket heads in logged AGIs"; exit !n }'
}
