#!/usr/bin/env bash
# difftest.sh - differential test of a read-write XFS driver against the kernel's XFS.
#
#   difftest.sh [--peer kernel|xfsfuse] [--build DIR] [--xfsfuse BIN] [--fsck BIN]
#               [--without TAG[,TAG...]] [--work DIR] [--keep] [--list] [--io-uring] [CASE...]
#
#   --peer P      what mounts image B: xfsfuse (default; `xfsfuse IMG MNT -f -o rw`) or kernel
#                 (the harness's self-test: kernel against kernel must always pass)
#   --build DIR   the build directory holding fs/fuse/xfsfuse and tools/fsck/xfsfuse-fsck
#                 (default: build/ of this checkout); --xfsfuse and --fsck name them one by one
#   --without T   skip the cases whose "# needs:" line names T (e.g. --without dirs,lseek while
#                 the driver lacks them); they are reported as SKIP and do not fail the run
#   --work DIR    where images and logs go (default $TMPDIR or /tmp; the same disk for both mounts)
#   --keep        keep the work directory (images, logs, snapshots) and print its path
#   --list        print the cases with their needs and exit
#   --io-uring    xfsfuse serves through FUSE over io_uring (-o io_uring; the fuse module's
#                 enable_uring is set to Y for the run): each case also fails unless the rings
#                 served its requests; SKIP when the kernel has no FUSE over io_uring
#   CASE          a name under tests/rw/cases/ (small-writes) or a path to a case file; none: all
#
# A case is a bash file defining `run_case DIR`, run as root with DIR (the mount) as the current
# directory; it must be deterministic and should use relative paths (they appear in error texts).
# Optional settings at the top of a case file:
#   # needs: TAG...      driver features the case needs beyond plain file I/O (dirs, lseek)
#   case_size=1G         image size (truncate(1) syntax, K/M/G); below 300M mkfs.xfs is told it
#                        runs under fstests (QA_CHECK_FS), the only way it makes tiny filesystems
#   case_mkfs=(...)      extra mkfs.xfs options (e.g. -d agcount=4)
#   case_dirblock=65536  directory block size (mkfs.xfs -n size=)
#   case_tools=(T...)    commands the case runs beyond the harness's own; the case is SKIP (with
#                        their names) when one is not installed
#   case_xfsfuse_opts=O  more -o options for the xfsfuse peer after rw (e.g. allow_other, for a case
#                        that runs commands as another user); the kernel peer ignores them
#   case_alloc=exact     how st_blocks and the SEEK_DATA map may differ: exact, N% (blocks within
#                        N percent per path, maps reported only) or any (reported only)
#   check_image IMG      a function run on each unmounted image after the repair checks (xfs_db -r);
#                        its output must be the same for both images and its status 0
# Inside run_case these helpers exist:
#   op CMD...            runs CMD and logs it, its exit status, stdout ("| ") and stderr ("! ")
#   changes PATH CMD...  op CMD, then logs whether PATH's mtime and ctime changed (just op CMD
#                        when PATH does not exist before)
#   note TEXT            a line in the log
#   rwtool ...           tests/rw/rwtool.py (pattern writes, readsum, see its header); its path
#                        is in $RWTOOL for pipelines and bash -c
#
# For every case:
#   1. mkfs.xfs -q -n size=$case_dirblock -m uuid=$uuid [case_mkfs] on a file of case_size; copied (sparse)
#      to a second, identical image.
#   2. Image A: the kernel (mount -o loop). Image B: the peer (for the kernel: -o nouuid, as A has
#      the same UUID). The case runs in A, then in B.
#   3. Each tree, still mounted (after syncfs): the strict view and the allocation view of
#      rwtool.py snapshot (type, mode, ids, size, nlink, rdev, target, content SHA-256, xattrs;
#      st_blocks and the data map). The logs and strict views must be equal; allocation
#      differences are only reported here (the kernel's st_blocks counts post-EOF speculative
#      preallocation, which it keeps for files written through more than one open).
#   4. Both unmounted (xfsfuse must exit 0); `xfs_repair -n` and `xfsfuse-fsck -n` exit 0 on both;
#      check_image.
#   5. Both images mounted read-only by the kernel, one after the other: B's strict view must equal
#      what the peer showed; the allocation views of A and B (preallocation trimmed by then) must
#      agree within case_alloc.
# Prints PASS/FAIL/SKIP per case with the diffs of any mismatch, then "N passed, N failed, N skipped".
# Exit: 0 no case failed, 1 some case failed, 2 usage, 77 "SKIP: reason" (not root, no loop devices,
# no XFS in the kernel, or no /dev/fuse for the xfsfuse peer) or every case skipped.
set -uo pipefail
export LC_ALL=C TZ=UTC

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=../lib/harness.sh
source "$repo/tests/lib/harness.sh"
uuid=5ca1ab1e-0000-4000-8000-00000000d1ff

usage() { sed -n '2,18p' "$0" >&2; exit 2; }
harness_takes_without=1
harness_options "$0" "$@"
case_needs() { sed -n 's/^# needs:[[:space:]]*//p' "$1" | tr ',' ' ' | tr -s ' \t' '\n' | sed '/^$/d'; }
if ((list)); then
  for c in "${cases[@]}"; do printf '%-16s needs: %s\n' "$(basename "$c" .sh)" "$(case_needs "$c" | paste -sd' ')"; done
  exit 0
fi

harness_need_root_loop_xfs
[[ $peer == kernel || -c /dev/fuse ]] || skip "no /dev/fuse"
[[ $peer == xfsfuse ]] || ((!io_uring)) || usage
harness_need_tools mkfs.xfs xfs_repair xfs_db fallocate truncate python3 findmnt cmp
for b in "$fsck" $([[ $peer == xfsfuse ]] && echo "$xfsfuse"); do
  [[ -x $b ]] || { echo "FAIL: $b is not built"; exit 1; }
done

harness_work "$workdir" xfsfuse-difftest "$keep"
harness_io_uring

# --- mounts ----------------------------------------------------------------------------------

# peer_mount IMG MNT [OPTS]: the peer's read-write mount (OPTS: more -o options for xfsfuse);
# xfsfuse runs in the foreground as a job of this script, its stderr in $cdir/daemon.log; returns 1
# if it exits instead of mounting.
peer_mount() {
  # Image A, a copy with the same UUID, is mounted: the kernel needs nouuid to mount B beside it.
  if [[ $peer == kernel ]]; then kernel_mount "$1" "$2" nouuid; return; fi
  fuse_mount "$xfsfuse" "$1" "$2" "$cdir/daemon.log" \
    -o "rw${3:+,$3}${xfsfuse_uring_opts:+$xfsfuse_uring_opts$cdir/stats}"
}
# peer_umount MNT: unmounts; for xfsfuse also waits for the daemon, which must exit 0.
peer_umount() { if [[ $peer == kernel ]]; then umount "$1"; else fuse_umount "$1"; fi; }

# --- what a case may call (run in a subshell inside the mount) -------------------------------

rwtool() { python3 "$rwtool_py" "$@"; }
# changes PATH CMD...: the times are read before (which makes the kernel's next change of a
# multigrain timestamp fine-grained) and, after a pause longer than a clock tick for kernels with
# coarse timestamps, CMD runs.
changes() {
  local p=$1 before after rc=0
  shift
  before=$(stat -c '%y %z' "$p" 2>/dev/null) || { op "$@"; return; }
  sleep 0.02
  op "$@" || rc=$?
  after=$(stat -c '%y %z' "$p" 2>&1)
  # shellcheck disable=SC2086
  set -- $before $after
  printf '  times of %s: mtime %s, ctime %s\n' "$p" \
    "$([[ "$1 $2 $3" == "${7:-} ${8:-} ${9:-}" ]] && echo unchanged || echo changed)" \
    "$([[ "$4 $5 $6" == "${10:-} ${11:-} ${12:-}" ]] && echo unchanged || echo changed)" >>"$CASE_LOG"
  return "$rc"
}

# run_case_in CASEFILE MNT LOG: runs the case in MNT; its log in LOG.
run_case_in() {
  local tmp
  tmp=$(mktemp -d "$cdir/tmp.XXXXXX")
  (
    export CASE_LOG=$3 CASE_TMP=$tmp RWTOOL=$here/rwtool.py
    cd "$2" || exit 1
    # shellcheck source=/dev/null
    source "$1"
    run_case "$2"
    printf 'run_case -> %d\n' "$?" >>"$CASE_LOG"
  ) </dev/null >>"$cdir/case-output" 2>&1
  rm -rf "$tmp"
}

# --- checks ----------------------------------------------------------------------------------

# alloc_compare WHAT A B TOLERANCE STRICT: per-path st_blocks and data maps; differences beyond
# TOLERANCE fail (only when STRICT is 1), the others are printed as notes.
alloc_compare() {
  local out
  out=$(awk -F '\t' -v tol="$4" '
    NR == FNR { blk[$1] = $2; map[$1] = $3; next }
    blk[$1] != $2 || map[$1] != $3 {
      a = blk[$1]; b = $2; d = a > b ? a - b : b - a; m = a > b ? a : b
      ok = tol == "any" || (tol ~ /%$/ && d * 100 <= (tol + 0) * m)
      line = $1 ": blocks " a " vs " b
      if (map[$1] != $3) line = line ", data map " map[$1] " vs " $3
      print (ok ? "ok " : "bad ") line
    }' "$2" "$3")
  [[ -z $out ]] && return
  if [[ $5 == 1 ]] && grep -q '^bad ' <<<"$out"; then
    cfail "$1: allocation differs beyond case_alloc=$4"
  else
    echo "  note: $1: allocation differs (case_alloc=$4 allows it)"
  fi
  sed 's/^ok /      /; s/^bad /      /' <<<"$out" | head -20
}

# --- one case --------------------------------------------------------------------------------

run_one() {
  local file=$1 name needs t ia ib ma mb size dirblock mkfs_env=() alloc has_check xopts rc
  name=$(basename "$file" .sh)
  cdir=$work/$name
  mkdir -p "$cdir"
  needs=$(case_needs "$file")
  for t in ${without//,/ }; do
    if grep -qx "$t" <<<"$needs"; then echo "SKIP $name (needs: $t)"; return 2; fi
  done
  # The case's settings, read in a subshell:
  # "size<TAB>dirblock<TAB>alloc<TAB>has check_image<TAB>xfsfuse opts<TAB>missing tools<TAB>mkfs
  # opts..." (an empty setting as "-": read would merge two tabs).
  IFS=$'\t' read -r size dirblock alloc has_check xopts missing mkfs_opts < <(
    case_size=1G case_dirblock=65536 case_alloc=exact case_mkfs=() case_xfsfuse_opts= case_tools=()
    # shellcheck source=/dev/null
    source "$file"
    m=
    for t in "${case_tools[@]}"; do command -v "$t" >/dev/null || m+="${m:+ }$t"; done
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$case_size" "$case_dirblock" "$case_alloc" \
      "$(declare -F check_image >/dev/null && echo 1 || echo 0)" "${case_xfsfuse_opts:--}" \
      "${m:--}" "${case_mkfs[*]}")
  [[ $xopts == - ]] && xopts=''
  [[ $missing == - ]] || { echo "SKIP $name (not installed: $missing)"; return 2; }
  [[ $alloc == exact || $alloc == any || $alloc =~ ^[0-9]+%$ ]] || { echo "FAIL $name: bad case_alloc=$alloc"; return 1; }
  fails=0
  echo "--- $name (peer $peer; image $size, directory blocks $dirblock${mkfs_opts:+, mkfs $mkfs_opts})"
  ia=$cdir/a.img ib=$cdir/b.img ma=$cdir/mnt-a mb=$cdir/mnt-b
  (($(numfmt --from=iec "$size") < 300 * 1048576)) && mkfs_env=(QA_CHECK_FS=1 TEST_DIR="$cdir" TEST_DEV="$ia")
  truncate -s "$size" "$ia"
  # shellcheck disable=SC2086
  if ! env "${mkfs_env[@]}" mkfs.xfs -q -f -n size="$dirblock" -m uuid=$uuid $mkfs_opts "$ia" >"$cdir/mkfs.log" 2>&1; then
    cfail "mkfs.xfs failed"; sed 's/^/      /' "$cdir/mkfs.log" | head; echo "FAIL $name"; return 1
  fi
  cp --sparse=always "$ia" "$ib"

  kernel_mount "$ia" "$ma" || { echo "FAIL $name: the kernel did not mount image A"; return 1; }
  if ! peer_mount "$ib" "$mb" "$xopts"; then
    cfail "the peer ($peer) did not mount image B"
    [[ -s $cdir/daemon.log ]] && sed 's/^/      /' "$cdir/daemon.log" | head -10
    umount "$ma"
    echo "FAIL $name"
    return 1
  fi
  run_case_in "$file" "$ma" "$cdir/a.log"
  run_case_in "$file" "$mb" "$cdir/b.log"
  same "the operations' results (log)" "$cdir/a.log" "$cdir/b.log"
  snapshot "$ma" "$cdir/a"
  snapshot "$mb" "$cdir/b"
  same "the trees (strict view)" "$cdir/a.strict" "$cdir/b.strict"
  alloc_compare "allocation while mounted, kernel vs $peer" "$cdir/a.alloc" "$cdir/b.alloc" "$alloc" 0

  umount "$ma" || cfail "unmounting image A failed"
  peer_umount "$mb" || cfail "unmounting the peer failed"
  if ((io_uring)) && ! uring_used "$cdir/stats"; then
    cfail "xfsfuse -o io_uring served no request through the rings ($(grep -m1 io_uring "$cdir/daemon.log"))"
  fi
  image_checks "$ia" A "$cdir" "$fsck"
  image_checks "$ib" B "$cdir" "$fsck"
  if ((has_check)); then
    for t in a b; do
      rc=0
      # shellcheck source=/dev/null
      (source "$file"; check_image "$cdir/$t.img") >"$cdir/$t.check" 2>&1 || rc=$?
      ((rc == 0)) || { cfail "check_image on image ${t^^} exited $rc"; sed 's/^/      /' "$cdir/$t.check" | head -10; }
    done
    same "check_image output" "$cdir/a.check" "$cdir/b.check"
  fi

  # Both images through the kernel, read-only: B must show what the peer showed; the allocation
  # (post-EOF preallocation trimmed at the unmount) must agree within case_alloc.
  for t in a b; do
    kernel_mount "$cdir/$t.img" "$cdir/mnt-$t-ro" ro || { cfail "the kernel did not mount image ${t^^} read-only"; continue; }
    snapshot "$cdir/mnt-$t-ro" "$cdir/$t-kernel"
    umount "$cdir/mnt-$t-ro" || cfail "unmounting image ${t^^} (read-only) failed"
  done
  if [[ -f $cdir/b-kernel.strict && -f $cdir/a-kernel.alloc ]]; then
    same "image B through the kernel vs through $peer (strict view)" "$cdir/b.strict" "$cdir/b-kernel.strict"
    alloc_compare "allocation after the unmount, image A vs image B" "$cdir/a-kernel.alloc" "$cdir/b-kernel.alloc" "$alloc" 1
  fi
  if ((fails)); then
    [[ -s $cdir/case-output ]] && { echo "  output of the case:"; head -10 "$cdir/case-output" | sed 's/^/      /'; }
    [[ -s $cdir/daemon.log ]] && { echo "  xfsfuse's stderr:"; head -20 "$cdir/daemon.log" | sed 's/^/      /'; }
    echo "FAIL $name"
    return 1
  fi
  ((keep)) || rm -f "$ia" "$ib"
  echo "PASS $name"
}

passed=0 failed=0 skipped=0
for c in "${cases[@]}"; do
  rc=0
  run_one "$c" || rc=$?
  case $rc in 0) passed=$((passed + 1)) ;; 2) skipped=$((skipped + 1)) ;; *) failed=$((failed + 1)) ;; esac
  ((keep)) || [[ $rc == 1 ]] || rm -rf "${work:?}/$(basename "$c" .sh)"
done
echo "$passed passed, $failed failed, $skipped skipped"
((failed == 0)) || exit 1
((passed > 0 || skipped == 0)) || exit 77  # every case skipped: ctest shows it as skipped
