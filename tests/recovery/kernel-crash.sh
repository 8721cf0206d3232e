#!/usr/bin/env bash
# kernel-crash.sh - replay of logs the kernel wrote: a dirty XFS log left by the kernel's forced
# shutdown, replayed by xfsfuse (into memory read-only, onto the image read-write) and by the kernel.
#
#   kernel-crash.sh [--peer kernel|xfsfuse] [--build DIR] [--xfsfuse BIN] [--fsck BIN]
#                   [--work DIR] [--keep] [--list] [CASE...]
#
#   --peer P      what replays images B and C: xfsfuse (default) or kernel (the harness's
#                 self-test: every case must pass kernel against kernel, every log must be dirty)
#   --build DIR   the build directory holding fs/fuse/xfsfuse and tools/fsck/xfsfuse-fsck
#                 (default: build/ of this checkout); --xfsfuse and --fsck name them one by one
#   --work DIR    where images and logs go (default $TMPDIR or /tmp)
#   --keep        keep the work directory (images, logs, snapshots) and print its path
#   --list        print the cases with what each proves and exit
#   CASE          a name under tests/recovery/cases/ (unlink-open) or a path to a case file;
#                 none: all
#
# A case is a bash file defining `run_case DIR`, run as root with DIR (the kernel's mount of a
# fresh image) as the current directory. What it leaves in the log is what the case tests; it
# need not be deterministic from run to run (each run compares replays of one dirty image).
# A case file starts with a comment block "# NAME: what it does and proves" (--list prints it),
# then its settings:
#   case_size=128M       image size (truncate(1) syntax); below 300M mkfs.xfs is told it runs under
#                        fstests (QA_CHECK_FS), the only way it makes small filesystems
#   case_dirblock=65536  directory block size (mkfs.xfs -n size=)
#   case_log=SIZE        log size (mkfs.xfs -l size=, e.g. 4000b); default: mkfs.xfs's choice
#   case_mkfs=(...)      more mkfs.xfs options
#   case_wrap=no         yes: the log must have wrapped (a record of cycle 2 or more) before the
#                        shutdown; no: it must not have; any: either
#   check_log IMG        a function run on the crashed image (dirty log) that must return 0: that
#                        the log holds what the case is about (image_logprint IMG ARGS... runs
#                        xfs_logprint on it; e.g. AGI unlinked buckets that are not empty)
#   check_image IMG      a function run on images A and C after their replays and unmounts
#                        (xfs_db -r); status 0 and the same output on both (e.g. a node-form
#                        directory)
# Inside run_case these helpers exist:
#   op CMD...            runs CMD, logs it with its status and output; a failing op fails the case
#   durable              sync(1) of the filesystem: what came before survives the crash as data
#                        and metadata, whatever is in the log
#   hold FILE...         a process holding each FILE open through the shutdown (unlink it and its
#                        inode sits on an AGI unlinked list in the dirty log)
#   hold_tmpfile DIR LENGTH  a process holding an O_TMPFILE in DIR with LENGTH pattern bytes, fsynced
#   rwtool ...           tests/rw/rwtool.py (pattern writes, renames, xattrs; see its header)
#   rwbatch <<EOF        rwtool.py commands, one a line, run as one op in one Python process
#
# For every case:
#   1. mkfs.xfs -q -n size=$case_dirblock [-l size=$case_log] [case_mkfs] on a file of case_size;
#      the kernel mounts it (loop), the case runs, then `xfs_io -x -c 'shutdown -f'` (the log is
#      forced, then the filesystem stops: no unmount record) and the unmount. xfs_logprint -t (on a
#      read-only loop device) must call the log DIRTY (a clean log proves nothing: FAIL), and
#      wrapped or not as case_wrap says; check_log. This image O is never written again.
#   2. Sparse copies A, B, C, D of O.
#   3. A: the kernel mounts it (replays the log, frees the unlinked inodes): snapshot (rwtool.py's
#      strict view: type, mode, ids, size, nlink, target, content, xattrs of every path),
#      unmount; the log must be clean; xfs_repair -n and xfsfuse-fsck -n exit 0; check_image.
#   4. B: `xfsfuse B MNT -f -o ro` (replay into memory): its strict view must equal A's; xfsfuse
#      exits 0 after the unmount; B's bytes must still equal O's. (Peer kernel: the kernel cannot
#      replay without writing, so it replays a scratch copy of B.)
#   5. C: `xfsfuse C MNT -f` (read-write: replays onto the image): strict view equal to A's; exit 0
#      after the unmount; C's log clean; xfs_repair -n and xfsfuse-fsck -n exit 0; the inodes in use
#      (AGI count - freecount) and the non-empty AGI unlinked buckets equal A's (the free blocks
#      are compared too, a difference is a note); check_image as on A; the kernel mounts C read-only (a
#      read-only loop device: a dirty log would make the mount fail) and shows A's strict view.
#   6. xfsfuse-fsck -n --replay D exits 0 and D still equals O; "skipped" when this xfsfuse-fsck
#      has no --replay.
# Prints PASS/FAIL per case with the log's state and the seconds it took, the diffs of any
# mismatch, then "N passed, N failed". Exit: 0 no case failed, 1 some case failed, 2 usage,
# 77 "SKIP: reason" (not root, no loop devices, no XFS in the kernel, no /dev/fuse for xfsfuse).
set -uo pipefail
export LC_ALL=C TZ=UTC

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=../lib/harness.sh
source "$repo/tests/lib/harness.sh"

usage() { sed -n '2,16p' "$0" >&2; exit 2; }
harness_options "$0" "$@"
if ((list)); then
  for c in "${cases[@]}"; do
    printf '%-14s ' "$(basename "$c" .sh)"
    sed -n '2,/^[^#]/{/^#/p}' "$c" | sed '1s/^# [^:]*: //; s/^# *//' | paste -sd' ' | fold -s -w 85 |
      sed 's/ *$//; 2,$s/^/               /'
  done
  exit 0
fi

harness_need_root_loop_xfs
[[ $peer == kernel || -c /dev/fuse ]] || skip "no /dev/fuse"
harness_need_tools mkfs.xfs xfs_repair xfs_db xfs_io xfs_logprint losetup truncate python3 findmnt cmp
for b in "$fsck" $([[ $peer == xfsfuse ]] && echo "$xfsfuse"); do
  [[ -x $b ]] || { echo "FAIL: $b is not built"; exit 1; }
done
has_replay=0
"$fsck" --help 2>&1 | grep -q -- '--replay' && has_replay=1

harness_work "$workdir" xfsfuse-kernel-crash "$keep"
# Sanitizer builds: reports of every xfsfuse and xfsfuse-fsck process land in $work/sanitizer.*.
sanitizer_logs

# --- what a case may call (run in a subshell inside the mount) -------------------------------

# op and note: tests/lib/harness.sh.
rwtool() { python3 "$rwtool_py" "$@"; }
rwbatch() {
  local f
  f=$(mktemp "$CASE_TMP/batch.XXXXXX")
  cat >"$f"
  sed 's/^/  < /' "$f" >>"$CASE_LOG"
  op rwtool batch "$f"
}
durable() { op sync -f .; }
# The holder's fd is opened here, before the fork, so the file can be unlinked right after.
hold() {
  local f fd
  for f; do
    exec {fd}<"$f" || { printf 'hold %q ' "$f" >>"$CASE_TMP/failed"; continue; }
    (cd / && exec sleep 3600) &
    echo $! | tee -a "$work/holders" >>"$CASE_TMP/holders"
    exec {fd}<&-
  done
}
hold_tmpfile() {
  local ready=$CASE_TMP/ready.$RANDOM i
  python3 - "$1" "$2" "$ready" "$rwtool_py" <<'EOF' &
import importlib.util, os, sys, time
spec = importlib.util.spec_from_file_location("rwtool", sys.argv[4])
rw = importlib.util.module_from_spec(spec)
spec.loader.exec_module(rw)
fd = os.open(sys.argv[1], os.O_TMPFILE | os.O_RDWR, 0o600)
n = rw.size_arg(sys.argv[2])
os.pwrite(fd, rw.pattern("tmp", 0, n), 0)
os.fsync(fd)
os.chdir("/")
open(sys.argv[3], "w").close()
time.sleep(3600)
EOF
  echo $! | tee -a "$work/holders" >>"$CASE_TMP/holders"
  for ((i = 0; i < 100; i++)); do [[ -e $ready ]] && { note "O_TMPFILE of $2 bytes held in $1"; return 0; }; sleep 0.1; done
  printf 'hold_tmpfile %q ' "$1" >>"$CASE_TMP/failed"
  return 1
}

# run_case_in CASEFILE MNT: runs the case in MNT; its log in $cdir/ops.log.
run_case_in() {
  mkdir -p "$cdir/tmp"
  (
    export CASE_LOG=$cdir/ops.log CASE_TMP=$cdir/tmp RWTOOL=$rwtool_py
    cd "$2" || exit 1
    # shellcheck source=/dev/null
    source "$1"
    run_case "$2"
    printf 'run_case -> %d\n' "$?" >>"$CASE_LOG"
  ) </dev/null >>"$cdir/case-output" 2>&1
}

# --- replays ---------------------------------------------------------------------------------

# replay_mount WHO MODE IMG MNT: WHO (kernel or xfsfuse) mounts IMG at MNT, replaying its log:
# MODE ro (xfsfuse: into memory) or rw (onto the image).
# xfsfuse's stderr goes to $cdir/daemon-MODE.log.
replay_mount() {
  if [[ $1 == kernel ]]; then kernel_mount "$3" "$4"; return; fi
  if [[ $2 == ro ]]; then fuse_mount "$xfsfuse" "$3" "$4" "$cdir/daemon-ro.log" -o ro
  else fuse_mount "$xfsfuse" "$3" "$4" "$cdir/daemon-rw.log"
  fi
}
replay_umount() { if [[ $1 == kernel ]]; then umount "$2"; else fuse_umount "$2"; fi; }

# image_counts IMG: what an image's AG headers count, summed over the AGs: inodes in use and
# non-empty unlinked buckets (AGI), free blocks (AGF freeblks + flcount).
image_counts() {
  local ags args=() i
  ags=$(xfs_db -r -c 'sb 0' -c 'p agcount' "$1" | awk '{print $3}')
  for ((i = 0; i < ags; i++)); do args+=(-c "agi $i" -c 'p count freecount unlinked' -c "agf $i" -c 'p freeblks flcount'); done
  xfs_db -r "${args[@]}" "$1" | awk '
    $1 == "count" { used += $3 } $1 == "freecount" { used -= $3 }
    $1 == "freeblks" || $1 == "flcount" { free += $3 }
    $1 == "unlinked" { for (i = 3; i <= NF; i++) if ($i !~ /^[0-9]+:null$/ && $i != "") nonempty++ }
    END { printf "inodes in use %d, non-empty unlinked buckets %d\nfree blocks %d\n", used, nonempty, free }'
}

# case_check_image a|c: the case's check_image on that image, if it has one.
case_check_image() {
  local rc=0
  [[ $has_checks == *I* ]] || return 0
  # shellcheck source=/dev/null
  (source "$file"; check_image "$cdir/$1.img") >"$cdir/$1.check" 2>&1 || rc=$?
  ((rc == 0)) || { cfail "check_image on image ${1^^} exited $rc"; sed 's/^/      /' "$cdir/$1.check" | head -10; }
}

# --- one case --------------------------------------------------------------------------------

run_one() {
  local file=$1 name size dirblock logsize wrap has_checks mkfs_opts mkfs_env=() o mw state t0 s rc pid i
  name=$(basename "$file" .sh)
  cdir=$work/$name
  mkdir -p "$cdir"
  t0=$SECONDS
  # The case's settings, read in a subshell: "size<TAB>dirblock<TAB>log<TAB>wrap<TAB>mkfs opts...".
  IFS=$'\t' read -r size dirblock logsize wrap has_checks mkfs_opts < <(
    case_size=128M case_dirblock=65536 case_log='' case_wrap=no case_mkfs=()
    # shellcheck source=/dev/null
    source "$file"
    printf '%s\t%s\t%s\t%s\tchecks:%s%s\t%s\n' "$case_size" "$case_dirblock" "${case_log:--}" "$case_wrap" \
      "$(declare -F check_log >/dev/null && echo L)" "$(declare -F check_image >/dev/null && echo I)" "${case_mkfs[*]}")
  [[ $wrap == yes || $wrap == no || $wrap == any ]] || { echo "FAIL $name: bad case_wrap=$wrap"; return 1; }
  [[ $logsize == - ]] && logsize=''
  fails=0
  echo "--- $name (peer $peer; image $size, directory blocks $dirblock${logsize:+, log $logsize}${mkfs_opts:+, mkfs $mkfs_opts})"
  o=$cdir/o.img mw=$cdir/mnt-w
  (($(numfmt --from=iec "$size") < 300 * 1048576)) && mkfs_env=(QA_CHECK_FS=1 TEST_DIR="$cdir" TEST_DEV="$o")
  truncate -s "$size" "$o"
  # shellcheck disable=SC2086
  if ! env "${mkfs_env[@]}" mkfs.xfs -q -f -n size="$dirblock" ${logsize:+-l size=$logsize} $mkfs_opts "$o" >"$cdir/mkfs.log" 2>&1; then
    cfail "mkfs.xfs failed"; sed 's/^/      /' "$cdir/mkfs.log" | head; echo "FAIL $name"; return 1
  fi

  # 1. The workload on the kernel, then the crash.
  kernel_mount "$o" "$mw" || { echo "FAIL $name: the kernel did not mount the fresh image"; return 1; }
  run_case_in "$file" "$mw"
  [[ -s $cdir/tmp/failed ]] && cfail "workload operations failed: $(cat "$cdir/tmp/failed") (log: ops.log)"
  grep -q '^run_case -> 0$' "$cdir/ops.log" 2>/dev/null || cfail "run_case did not return 0"
  if ! xfs_io -x -c 'shutdown -f' "$mw" >"$cdir/shutdown.log" 2>&1; then
    cfail "xfs_io shutdown -f failed"; sed 's/^/      /' "$cdir/shutdown.log" | head -5
  fi
  if [[ -s $cdir/tmp/holders ]]; then
    while read -r pid; do kill "$pid" 2>/dev/null; done <"$cdir/tmp/holders"
    while read -r pid; do
      for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    done <"$cdir/tmp/holders"
    : >"$work/holders" # gone: the exit trap must not kill their pids, which may be reused
  fi
  for ((i = 0; i < 20; i++)); do umount "$mw" 2>/dev/null && break; sleep 0.2; done
  findmnt -rn -M "$mw" >/dev/null && { cfail "the crashed mount did not unmount"; echo "FAIL $name"; return 1; }
  state=$(image_log_state "$o")
  echo "  log after the shutdown: $state"
  [[ $state == "dirty "* ]] || cfail "the log is not dirty after the shutdown: this case proves nothing"
  if [[ $state =~ cycles\ [0-9]+\.\.([0-9]+) ]]; then
    if [[ $wrap == yes ]] && ((BASH_REMATCH[1] < 2)); then cfail "case_wrap=yes but the log did not wrap"; fi
    if [[ $wrap == no ]] && ((BASH_REMATCH[1] > 1)); then cfail "case_wrap=no but the log wrapped (a bigger case_log)"; fi
  fi
  if [[ $has_checks == *L* ]]; then
    rc=0
    # shellcheck source=/dev/null
    (source "$file"; check_log "$o") >"$cdir/o.check" 2>&1 || rc=$?
    ((rc == 0)) || { cfail "check_log on the crashed image exited $rc: the log lacks what the case is about"; sed 's/^/      /' "$cdir/o.check" | head -10; }
  fi
  if ((fails)); then
    [[ -s $cdir/case-output ]] && { echo "  output of the case:"; head -10 "$cdir/case-output" | sed 's/^/      /'; }
    echo "FAIL $name"; return 1
  fi

  # 2. The copies.
  for t in a b c d; do cp --sparse=always "$o" "$cdir/$t.img"; done

  # 3. A: the kernel's replay, the reference.
  if kernel_mount "$cdir/a.img" "$cdir/mnt-a"; then
    snapshot "$cdir/mnt-a" "$cdir/a"
    umount "$cdir/mnt-a" || cfail "unmounting image A failed"
    log_must_be clean "$cdir/a.img" "image A after the kernel's replay"
    image_checks "$cdir/a.img" A "$cdir" "$fsck"
    image_counts "$cdir/a.img" >"$cdir/a.counts"
    case_check_image a
  else
    cfail "the kernel did not mount (replay) image A"; dmesg | tail -5 | sed 's/^/      /'
    echo "FAIL $name"; return 1
  fi

  # 4. B: replay into memory; the image is not written.
  if [[ $peer == kernel ]]; then
    cp --sparse=always "$cdir/b.img" "$cdir/b-scratch.img"
    s=$cdir/b-scratch.img
  else
    s=$cdir/b.img
  fi
  if replay_mount "$peer" ro "$s" "$cdir/mnt-b"; then
    snapshot "$cdir/mnt-b" "$cdir/b"
    replay_umount "$peer" "$cdir/mnt-b" || cfail "unmounting image B failed"
    same "image B replayed read-only by $peer vs image A replayed by the kernel (strict view)" "$cdir/a.strict" "$cdir/b.strict"
  else
    cfail "$peer did not mount image B read-only"
  fi
  cmp -s "$o" "$cdir/b.img" || cfail "image B changed under the read-only mount"

  # 5. C: replay onto the image, then every check of a clean image.
  if replay_mount "$peer" rw "$cdir/c.img" "$cdir/mnt-c"; then
    snapshot "$cdir/mnt-c" "$cdir/c"
    if replay_umount "$peer" "$cdir/mnt-c"; then
      same "image C replayed read-write by $peer vs image A (strict view)" "$cdir/a.strict" "$cdir/c.strict"
      log_must_be clean "$cdir/c.img" "image C after $peer's replay and unmount"
      image_checks "$cdir/c.img" C "$cdir" "$fsck"
      image_counts "$cdir/c.img" >"$cdir/c.counts"
      case_check_image c
      [[ -f $cdir/a.check ]] && [[ -f $cdir/c.check ]] && same "check_image output" "$cdir/a.check" "$cdir/c.check"
      head -1 "$cdir/a.counts" >"$cdir/a.inodes"
      head -1 "$cdir/c.counts" >"$cdir/c.inodes"
      same "image C vs image A: inodes in use, non-empty unlinked buckets" "$cdir/a.inodes" "$cdir/c.inodes"
      cmp -s "$cdir/a.counts" "$cdir/c.counts" ||
        echo "  note: free blocks (AGF freeblks + flcount) differ: A $(sed -n '2s/free blocks //p' "$cdir/a.counts"), C $(sed -n '2s/free blocks //p' "$cdir/c.counts")"
      if kernel_mount "$cdir/c.img" "$cdir/mnt-c-ro" ro; then
        snapshot "$cdir/mnt-c-ro" "$cdir/c-kernel"
        umount "$cdir/mnt-c-ro" || cfail "unmounting image C (kernel, read-only) failed"
        same "image C through the kernel after $peer's replay vs image A (strict view)" "$cdir/a.strict" "$cdir/c-kernel.strict"
      else
        cfail "the kernel did not mount image C read-only (a dirty log makes it refuse)"; dmesg | tail -3 | sed 's/^/      /'
      fi
    else
      cfail "unmounting image C failed"
    fi
  else
    cfail "$peer did not mount image C read-write"
  fi

  # 6. xfsfuse-fsck's own replay into memory.
  if ((has_replay)); then
    rc=0
    "$fsck" -n --replay "$cdir/d.img" >"$cdir/d.fsck" 2>&1 || rc=$?
    ((rc == 0)) || { cfail "xfsfuse-fsck -n --replay on the dirty image exited $rc"; head -20 "$cdir/d.fsck" | sed 's/^/      /'; }
    cmp -s "$o" "$cdir/d.img" || cfail "xfsfuse-fsck -n --replay changed the image"
  else
    echo "  skipped: xfsfuse-fsck -n --replay (this xfsfuse-fsck has no --replay)"
  fi

  sanitizer_reports
  if ((fails)); then
    [[ -s $cdir/case-output ]] && { echo "  output of the case:"; head -10 "$cdir/case-output" | sed 's/^/      /'; }
    for t in ro rw; do
      [[ -s $cdir/daemon-$t.log ]] && { echo "  stderr of xfsfuse -o $t:"; head -20 "$cdir/daemon-$t.log" | sed 's/^/      /'; }
    done
    echo "FAIL $name ($((SECONDS - t0)) s)"
    return 1
  fi
  echo "PASS $name ($((SECONDS - t0)) s)"
}

passed=0 failed=0
for c in "${cases[@]}"; do
  rc=0
  run_one "$c" || rc=$?
  if ((rc == 0)); then passed=$((passed + 1)); else failed=$((failed + 1)); fi
  ((keep)) || ((rc != 0)) || rm -rf "${work:?}/$(basename "$c" .sh)"
done
echo "$passed passed, $failed failed"
((failed == 0))
