#!/usr/bin/env bash
# kill-crash.sh - kill -9 of a read-write xfsfuse in the middle of a workload: the log it wrote
# must bring back every file it fsync'd, and the kernel's replay and its own must agree.
#
#   kill-crash.sh [--build DIR] [--xfsfuse BIN] [--fsck BIN] [--ctl BIN] [--work DIR] [--keep]
#                 [--ops N] [SEED... | FIRST-LAST]
#
#   --build DIR   the build directory holding fs/fuse/xfsfuse, tools/fsck/xfsfuse-fsck and
#                 tools/xfsfuse-ctl (default: build/ of this checkout); --xfsfuse, --fsck and
#                 --ctl name them one by one (xfsfuse-ctl is optional: the log's counters just
#                 before the kill, for the per-seed line)
#   --work DIR    where images and logs go (default $TMPDIR or /tmp)
#   --keep        keep the work directory (images, logs, listings) and print its path
#   --ops N       kill when the workload has done N operations (it waits there) instead of
#                 after the seed's delay: a kill point that does not depend on the machine's speed
#   SEED          a workload seed (a number); FIRST-LAST: every seed between; none: 1-3
#
# For every seed:
#   1. mkfs.xfs -n size=65536 on a 512 MiB file; xfsfuse mounts it read-write (it writes the log).
#   2. kill-workload.py runs in the mount (its header says what it does): a big directory filled
#      to leaf form first, then random creates, writes, renames, unlinks, mkdir/rmdir, hard links,
#      symlinks and fsyncs; each fsync'd file (and its directory fsync'd) goes into a journal
#      outside the mount, "PATH MD5 SIZE", and is never touched again.
#   3. After a delay drawn from the seed (0.3-3 s after the big directory is filled) the daemon
#      gets kill -9 and its dead mount is unmounted. The workload must have stopped on that (an
#      error before it fails the seed: its ops.log and status say which op). No operation
#      finishing for 30 s (KILL_CRASH_STALL) fails the seed as a hang, with the log's counters.
#   4. The crashed image O: xfs_logprint -t (read-only loop device) must decode it without a
#      complaint and call the log dirty. Sparse copies A and B; O is never written.
#   5. A: the kernel mounts it (replays the log): every journal line must be there (size, MD5);
#      snapshot (tests/rw/rwtool.py's strict view: type, mode, ids, size, nlink, symlink target,
#      content of every path); unmount; clean log; xfs_repair -n and xfsfuse-fsck -n exit 0.
#   6. B: xfsfuse mounts it read-write (replays the log itself): the journal again, the strict
#      view must equal A's; xfsfuse exits 0 after the unmount; clean log; xfs_repair -n and
#      xfsfuse-fsck -n exit 0. In sanitizer builds a report from any xfsfuse or xfsfuse-fsck
#      fails the seed (the killed daemon leaves none).
# Prints one line per seed: PASS/FAIL, the operations done before the kill (those of the big
# directory's filling included), the journal lines checked, the big directory's names and form
# (block, leaf, node) after the kernel's replay, the log as xfs_logprint saw it after the crash
# (tail, head, cycles) and as the daemon last reported it, the seconds it took; then the
# failures' details and "N passed, N failed". To look into a seed: --keep keeps its directory
# (ops.log lists every operation issued, the last one cut by the kill); `--ops N SEED` runs the
# same operations up to N and kills there (the log's contents still depend on the group commits'
# timing).
# Exit: 0 every seed passed, 1 some seed failed, 2 usage, 77 "SKIP: reason" (not root, no loop
# devices, no XFS in the kernel, no /dev/fuse).
set -uo pipefail
export LC_ALL=C TZ=UTC

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=../lib/harness.sh
source "$repo/tests/lib/harness.sh"
workload=$here/kill-workload.py

usage() { sed -n '2,16p' "$0" >&2; exit 2; }
harness_takes_args=1
harness_options "$0" "$@"
if ((list)) || [[ $peer != xfsfuse ]]; then usage; fi
seeds=() kill_ops=''
set -- "${args[@]}"
while (($#)); do
  a=$1
  shift
  if [[ $a == --ops ]]; then
    kill_ops=${1:-}
    [[ $kill_ops =~ ^[0-9]+$ ]] || usage
    shift
  elif [[ $a =~ ^([0-9]+)-([0-9]+)$ ]]; then
    mapfile -t -O "${#seeds[@]}" seeds < <(seq "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}")
  elif [[ $a =~ ^[0-9]+$ ]]; then seeds+=("$a")
  else usage
  fi
done
((${#seeds[@]})) || seeds=(1 2 3)

harness_need_root_loop_xfs
[[ -c /dev/fuse ]] || skip "no /dev/fuse"
harness_need_tools mkfs.xfs xfs_repair xfs_db xfs_logprint losetup truncate python3 findmnt fusermount3 mountpoint cmp
for b in "$xfsfuse" "$fsck"; do
  [[ -x $b ]] || { echo "FAIL: $b is not built"; exit 1; }
done
[[ -x $ctl ]] || ctl=''

harness_work "$workdir" xfsfuse-kill-crash "$keep"
sanitizer_logs

# journal_check MNT WHO: every journal line must be in MNT.
journal_check() {
  local rc=0
  python3 "$workload" check "$1" "$sdir/journal" >"$sdir/$2.journal" 2>&1 || rc=$?
  ((rc == 0)) || { cfail "fsync'd files wrong or missing after the $2 replay"; head -20 "$sdir/$2.journal" | sed 's/^/      /'; }
}

# progress PID FILE: waits until FILE exists while the workload PID runs and its ops.log grows;
# 0 when FILE came, else a failure is counted (the workload exited, or made no progress for
# $stall seconds: xfsfuse hangs; its log counters go to the output).
progress() {
  local size=-1 now still=0
  while [[ ! -e $2 ]]; do
    kill -0 "$1" 2>/dev/null || { [[ -e $2 ]] && return 0; cfail "the workload exited before $(basename "$2")"; return 1; }
    now=$(stat -c %s "$sdir/ops.log" 2>/dev/null || echo 0)
    if ((now != size)); then size=$now still=0; else still=$((still + 1)); fi
    if ((still >= stall * 10)); then
      cfail "no operation finished for $stall s: xfsfuse hangs (last operation: $(tail -1 "$sdir/ops.log"))"
      [[ -n $ctl ]] && timeout 10 "$ctl" "$sdir/mnt" log 2>&1 | paste -sd' ' | fold -s -w 100 | sed 's/^/      /'
      return 1
    fi
    sleep 0.1
  done
}
stall=${KILL_CRASH_STALL:-30}

# big_form IMG: the form of /big (block, leaf or node) from where its blocks are: the leaf section
# of a directory starts at byte 32 GiB, the free-index section (node form) at 64 GiB (fs block
# 8388608 and 16777216 of 4 KiB).
big_form() {
  xfs_db -r -c 'path /big' -c bmap "$1" 2>/dev/null |
    awk '$3 >= 16777216 { n = 1 } $3 >= 8388608 { l = 1 } END { print n ? "node" : l ? "leaf" : "block" }'
}

# ctl_lsn KEY: a LSN from the daemon's last log counters ("-" without them).
ctl_lsn() { awk -v k="$1" '$1 == k { print $2; f = 1 } END { if (!f) print "-" }' "$sdir/ctl-log" 2>/dev/null || echo -; }

run_seed() {
  local seed=$1 o mnt wpid delay i rc state checked status waitfor big='big: no kernel view'
  sdir=$work/seed-$seed
  mkdir -p "$sdir"
  t0=$SECONDS
  fails=0
  o=$sdir/o.img mnt=$sdir/mnt

  # 1. A fresh image, mounted read-write.
  truncate -s 512M "$o"
  if ! mkfs.xfs -q -f -n size=65536 "$o" >"$sdir/mkfs.log" 2>&1; then
    echo "seed $seed: FAIL: mkfs.xfs failed"; sed 's/^/      /' "$sdir/mkfs.log" | head; return 1
  fi
  if ! fuse_mount "$xfsfuse" "$o" "$mnt" "$sdir/daemon.log" || ! mountpoint -q "$mnt"; then
    echo "seed $seed: FAIL: xfsfuse did not mount the fresh image"; head -20 "$sdir/daemon.log" | sed 's/^/      /'
    return 1
  fi

  # 2-3. The workload, then the kill.
  python3 "$workload" run "$mnt" "$seed" "$sdir" ${kill_ops:+--max-ops "$kill_ops"} >"$sdir/workload.out" 2>&1 &
  wpid=$!
  echo "$wpid" >>"$work/holders"
  # Without --ops: ready (the big directory is filled), then the seed's delay; with it: status.
  waitfor=$sdir/ready
  [[ -n $kill_ops ]] && waitfor=$sdir/status
  if progress "$wpid" "$waitfor" && [[ -z $kill_ops ]]; then
    delay=$(python3 "$workload" delay "$seed")
    sleep "$((delay / 1000)).$(printf '%03d' $((delay % 1000)))"
  fi
  [[ -n $ctl ]] && timeout 10 "$ctl" "$mnt" log >"$sdir/ctl-log" 2>&1
  : >"$sdir/killed"
  fuse_kill "$mnt" || cfail "xfsfuse had exited before the kill (stderr: daemon.log)"
  for ((i = 0; i < 300; i++)); do kill -0 "$wpid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$wpid" 2>/dev/null; then
    kill -9 "$wpid"
    cfail "the workload did not stop within 30 s of the kill"
  fi
  rc=0
  wait "$wpid" || rc=$?
  : >"$work/holders" # reaped: the exit trap must not kill its pid, which may be reused
  status=$(cat "$sdir/status" 2>/dev/null)
  ((rc == 0)) || cfail "the workload failed before the kill (exit $rc): ${status:-no status}"
  if [[ -s $sdir/workload.out ]]; then
    cfail "the workload wrote to stderr:"; tail -5 "$sdir/workload.out" | sed 's/^/      /'
  fi
  findmnt -rn -M "$mnt" >/dev/null && { cfail "the dead mount did not unmount"; report_seed "$seed"; return 1; }

  # 4. The crashed log as xfs_logprint reads it.
  rc=0
  image_logprint "$o" -t >"$sdir/logprint" || rc=$?
  if ((rc > 128)); then cfail "xfs_logprint -t died of SIG$(kill -l $((rc - 128))) on the crashed log (after $(grep -c '^TRANS:' "$sdir/logprint") transactions)"
  elif ((rc)); then cfail "xfs_logprint -t of the crashed image exited $rc: $(tail -1 "$sdir/logprint")"
  fi
  if logprint_complaints <"$sdir/logprint" >"$sdir/logprint.bad"; then
    cfail "xfs_logprint -t complains about the crashed log:"; head -5 "$sdir/logprint.bad" | sed 's/^/      /'
  fi
  state=$(logprint_state <"$sdir/logprint")
  [[ $state == "dirty "* ]] || cfail "the log is not dirty after the kill: $state"
  for t in a b; do cp --sparse=always "$o" "$sdir/$t.img"; done

  # 5. A: the kernel's replay.
  if kernel_mount "$sdir/a.img" "$sdir/mnt-a"; then
    journal_check "$sdir/mnt-a" kernel
    snapshot "$sdir/mnt-a" "$sdir/a"
    umount "$sdir/mnt-a" || cfail "unmounting image A failed"
    log_must_be clean "$sdir/a.img" "image A after the kernel's replay"
    image_checks "$sdir/a.img" A "$sdir" "$fsck"
    big="big $(grep -c '^/big/' "$sdir/a.strict") names, $(big_form "$sdir/a.img") form"
  else
    cfail "the kernel did not mount (replay) image A"; dmesg | tail -8 | sed 's/^/      /'
  fi

  # 6. B: xfsfuse's replay, read-write.
  if fuse_mount "$xfsfuse" "$sdir/b.img" "$sdir/mnt-b" "$sdir/daemon-b.log" && mountpoint -q "$sdir/mnt-b"; then
    journal_check "$sdir/mnt-b" xfsfuse
    snapshot "$sdir/mnt-b" "$sdir/b"
    if fuse_umount "$sdir/mnt-b"; then
      [[ -f $sdir/a.strict ]] && same "image B replayed by xfsfuse vs image A replayed by the kernel (strict view)" \
        "$sdir/a.strict" "$sdir/b.strict"
      log_must_be clean "$sdir/b.img" "image B after xfsfuse's replay and unmount"
      image_checks "$sdir/b.img" B "$sdir" "$fsck"
    else
      cfail "unmounting image B failed"
    fi
  else
    cfail "xfsfuse did not mount (replay) image B read-write"; head -20 "$sdir/daemon-b.log" | sed 's/^/      /'
  fi
  sanitizer_reports

  checked=$(sed -n 's/^\([0-9]*\) entries checked.*/\1/p' "$sdir/kernel.journal" "$sdir/xfsfuse.journal" 2>/dev/null | head -1)
  printf 'seed %s: %s %s ops (%s filling big), %s journal entries checked, %s; log after the kill: %s (daemon before it: tail %s head %s), %d s\n' \
    "$seed" "$( ((fails)) && echo FAIL || echo PASS)" "$(awk '{print $2}' <<<"$status")" "$(awk '{print $4}' <<<"$status")" "${checked:-no}" \
    "$big" "$state" "$(ctl_lsn tail_lsn)" "$(ctl_lsn head_lsn)" "$((SECONDS - t0))"
  report_seed "$seed"
}

# report_seed SEED: after a failure, what was left to look at.
report_seed() {
  ((fails)) || return 0
  echo "  workload: $(cat "$sdir/status" 2>/dev/null || echo 'no status'); last operations:"
  tail -3 "$sdir/ops.log" 2>/dev/null | sed 's/^/      /'
  for t in daemon daemon-b; do
    [[ -s $sdir/$t.log ]] && { echo "  stderr of xfsfuse ($t.log):"; head -20 "$sdir/$t.log" | sed 's/^/      /'; }
  done
  return 1
}

passed=0 failed=0
for s in "${seeds[@]}"; do
  rc=0
  run_seed "$s" || rc=$?
  if ((rc == 0)); then passed=$((passed + 1)); else failed=$((failed + 1)); fi
  ((keep)) || ((rc != 0)) || rm -rf "${work:?}/seed-$s"
done
echo "$passed passed, $failed failed"
((failed == 0))
