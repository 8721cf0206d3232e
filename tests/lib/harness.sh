# shellcheck shell=bash
# harness.sh - shell pieces shared by the kernel-comparison scripts (tests/rw/difftest.sh,
# tests/recovery/kernel-crash.sh, tests/recovery/kill-crash.sh):
# the capability checks, a work directory cleaned up at exit, kernel and xfsfuse mounts that are
# always undone, per-case failure counting, the tree snapshot and the image checks.
# Sourced, not run.
#
#   harness_options SCRIPT "$@"          the options the scripts take (see their usage) into peer,
#                                        build, xfsfuse, fsck, ctl, workdir, keep, list and, where
#                                        the caller set harness_takes_without=1, without; then the
#                                        CASE arguments into cases (all of SCRIPT's cases/ when
#                                        none), or, where the caller set harness_takes_args=1, the
#                                        arguments as they are into args (from the first one that
#                                        is not a common option); calls the caller's usage on a bad
#                                        option
#                                        --io-uring sets io_uring=1 (xfsfuse -o io_uring)
#   harness_need_root_loop_xfs           SKIP (exit 77) without root, loop devices or XFS
#   harness_io_uring                     when io_uring is 1: SKIP without FUSE over io_uring in the
#                                        kernel, else sets the fuse module's enable_uring to Y
#                                        (put back at exit) and sets xfsfuse_uring_opts to
#                                        ",io_uring,stats_file=" (the caller appends a path) and
#                                        uring_used STATS, which fails unless the stats file says
#                                        the rings served requests
#   harness_need_tools TOOL...           FAIL (exit 1) when a tool is missing
#   harness_work WORKDIR PREFIX KEEP     makes $work (mktemp) and the EXIT trap that kills the
#                                        processes listed in $work/holders (one pid a line),
#                                        unmounts what is still mounted, waits for daemons (10 s,
#                                        then kill -9), removes $work (kept when KEEP is 1)
#   kernel_mount IMG MNT [OPTS]          mount -t xfs -o loop[,OPTS]
#   fuse_mount BIN IMG MNT LOG [ARG...]  BIN IMG MNT -f ARG... in the background, stderr to LOG;
#                                        returns 1 if it exits instead of mounting (30 s at most)
#   fuse_umount MNT                      fusermount3 -u, then the daemon must exit 0
#   fuse_kill MNT                        kill -9 of MNT's daemon (a crash), then the dead mount is
#                                        unmounted; returns 1 if the daemon had already exited
#   op CMD... / note TEXT                (in a case, with $CASE_LOG and $CASE_TMP set) op runs CMD
#                                        with stdin /dev/null, logs it, its status, stdout ("| ")
#                                        and stderr ("! "); a failure's command line is also
#                                        appended to $CASE_TMP/failed; note logs "# TEXT"
#   cfail TEXT / same WHAT A B           count a failure of the current case ($fails); same: the
#                                        files must be equal, else FAIL with the diff's start
#   snapshot MNT PREFIX                  rwtool.py snapshot: PREFIX.strict and PREFIX.alloc
#   image_checks IMG NAME DIR FSCK       xfs_repair -n and FSCK -n must exit 0 (outputs in DIR)
#   sanitizer_logs / sanitizer_reports   (after harness_work) the ASan/UBSan/TSan reports of every
#                                        process started after sanitizer_logs go to $work/sanitizer.*;
#                                        sanitizer_reports counts a failure (cfail) when any is there,
#                                        prints their start and removes them
#   image_log_state IMG                  "clean|dirty tail T head H cycles C..D" from xfs_logprint -t
#                                        (through a read-only loop device; it needs a block device)
#   log_must_be STATE IMG WHAT           cfail unless image_log_state of IMG starts with STATE
#   logprint_state < OUT                 the same line from saved xfs_logprint -t output
#   logprint_complaints < OUT            the lines where xfs_logprint -t output complains ("bad",
#                                        "Invalid"); status 0 when there is one
#   image_logprint IMG ARG...            xfs_logprint ARG... of IMG (a read-only loop device)

rwtool_py=$(cd "$(dirname "${BASH_SOURCE[0]}")/../rw" && pwd)/rwtool.py

skip() { printf 'SKIP: %s\n' "$*"; exit 77; }

harness_options() {
  local script=$1 dir c
  dir=$(cd "$(dirname "$script")" && pwd)
  shift
  peer=xfsfuse build=$repo/build xfsfuse='' fsck='' ctl='' without='' workdir=${TMPDIR:-/tmp} keep=0 list=0
  io_uring=0
  while (($#)); do
    case $1 in
      --peer) peer=${2:-}; shift 2 || usage ;;
      --build) build=${2:-}; shift 2 || usage ;;
      --xfsfuse) xfsfuse=${2:-}; shift 2 || usage ;;
      --fsck) fsck=${2:-}; shift 2 || usage ;;
      --ctl) ctl=${2:-}; shift 2 || usage ;;
      --without) ((${harness_takes_without:-0})) || usage; without=${2:-}; shift 2 || usage ;;
      --work) workdir=${2:-}; shift 2 || usage ;;
      --keep) keep=1; shift ;;
      --io-uring) io_uring=1; shift ;;
      --list) list=1; shift ;;
      -h | --help) usage ;;
      -*) ((${harness_takes_args:-0})) || usage; break ;;
      *) break ;;
    esac
  done
  [[ $peer == kernel || $peer == xfsfuse ]] || usage
  xfsfuse=${xfsfuse:-$build/fs/fuse/xfsfuse}
  fsck=${fsck:-$build/tools/fsck/xfsfuse-fsck}
  ctl=${ctl:-$build/tools/xfsfuse-ctl}
  if ((${harness_takes_args:-0})); then
    args=("$@")
    return 0
  fi
  cases=()
  if (($# == 0)); then
    cases=("$dir"/cases/*.sh)
    return 0
  fi
  for c in "$@"; do
    if [[ -f $c ]]; then cases+=("$(realpath "$c")")
    elif [[ -f $dir/cases/$c.sh ]]; then cases+=("$dir/cases/$c.sh")
    else echo "$(basename "$script"): no case $c" >&2; exit 2
    fi
  done
}

# shellcheck source=scripts/fuse-uring.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/fuse-uring.sh"
xfsfuse_uring_opts=''
harness_io_uring() {
  ((io_uring)) || return 0
  fuse_uring_available || skip "$fuse_uring_missing"
  fuse_uring_set Y
  xfsfuse_uring_opts=",io_uring,stats_file="
}
# uring_used STATS: 0 when xfsfuse's stats file STATS shows requests served through the rings.
uring_used() {
  awk '$1 == "fuse.uring_queues" && $2 > 0 { q = 1 } $1 == "fuse.uring_requests" && $2 > 0 { r = 1 }
       END { exit !(q && r) }' "$1" 2>/dev/null
}

harness_need_root_loop_xfs() {
  [[ $(id -u) == 0 ]] || skip "needs root (loop mounts)"
  [[ -e /dev/loop-control ]] || skip "no loop device support"
  grep -qw xfs /proc/filesystems || modprobe xfs 2>/dev/null || skip "no XFS in the kernel"
}

harness_need_tools() {
  local t
  for t in "$@"; do
    command -v "$t" >/dev/null || { echo "FAIL: missing tool $t (Debian: xfsprogs, util-linux, coreutils, python3)"; exit 1; }
  done
}

mounts=() daemons=()
declare -A daemon_of reaped  # reaped[PID]: waited for, so the pid may belong to another process now
harness_cleanup() {
  local i m
  fuse_uring_restore
  if [[ -s $work/holders ]]; then
    while read -r i; do kill "$i" 2>/dev/null; done <"$work/holders"
    sleep 0.5
  fi
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
    m=${mounts[i]}
    findmnt -rn -M "$m" >/dev/null 2>&1 || continue
    umount "$m" 2>/dev/null || fusermount3 -u "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
  done
  # A daemon that hangs (unmounted lazily, a request never answered) must not hang the script.
  for i in "${daemons[@]}"; do
    [[ -n ${reaped[$i]:-} ]] && continue
    for ((m = 0; m < 100; m++)); do kill -0 "$i" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$i" 2>/dev/null
  done
  ((${#daemons[@]} == 0)) || wait "${daemons[@]}" 2>/dev/null
  if ((harness_keep)); then echo "work directory kept: $work"; else rm -rf "$work"; fi
}
harness_work() {
  mkdir -p "$1"
  work=$(mktemp -d "$1/$2.XXXXXX")
  harness_keep=$3
  trap harness_cleanup EXIT
  trap 'exit 130' INT TERM
}

kernel_mount() {
  mkdir -p "$2"
  mounts+=("$2")
  mount -t xfs -o "loop${3:+,$3}" "$1" "$2"
}

fuse_mount() {
  local bin=$1 img=$2 mnt=$3 log=$4 i pid
  shift 4
  mkdir -p "$mnt"
  mounts+=("$mnt")
  "$bin" "$img" "$mnt" -f "$@" 2>>"$log" &
  pid=$!
  daemons+=("$pid")
  daemon_of[$mnt]=$pid
  for ((i = 0; i < 300; i++)); do
    findmnt -rn -M "$mnt" >/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  return 1
}

fuse_umount() {
  local rc=0
  fusermount3 -u "$1" || return 1
  wait "${daemon_of[$1]}" || rc=$?
  reaped[${daemon_of[$1]}]=1
  ((rc == 0)) || { echo "xfsfuse exited $rc after the unmount"; return 1; }
}

fuse_kill() {
  local pid=${daemon_of[$1]} alive=1
  kill -0 "$pid" 2>/dev/null || alive=0
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  reaped[$pid]=1
  fusermount3 -u "$1" 2>/dev/null || umount -l "$1" 2>/dev/null
  ((alive))
}

note() { printf '# %s\n' "$*" >>"$CASE_LOG"; }
op() {
  local rc=0
  "$@" >"$CASE_TMP/out" 2>"$CASE_TMP/err" </dev/null || rc=$?
  {
    printf '$'; printf ' %q' "$@"; printf '\n-> %d\n' "$rc"
    sed 's/^/  | /' "$CASE_TMP/out"
    sed 's/^/  ! /' "$CASE_TMP/err"
  } >>"$CASE_LOG"
  ((rc == 0)) || printf '%q ' "$@" >>"$CASE_TMP/failed"
  return "$rc"
}

fails=0
cfail() { printf '  FAIL: %s\n' "$*"; fails=$((fails + 1)); }
same() {
  if ! cmp -s "$2" "$3"; then
    cfail "$1 (- $(basename "$2"), + $(basename "$3"))"
    diff -u "$2" "$3" | tail -n +3 | head -40 | sed 's/^/      /'
  fi
}

snapshot() {
  sync -f "$1" 2>/dev/null
  python3 "$rwtool_py" snapshot "$1" "$2.strict" "$2.alloc" 2>"$2.err" ||
    { cfail "snapshot of $1 failed"; sed 's/^/      /' "$2.err" | tail -5; }
}

image_checks() {
  local img=$1 name=$2 dir=$3 fsck=$4 rc=0
  xfs_repair -n "$img" >"$dir/$name.repair" 2>&1 || rc=$?
  ((rc == 0)) || { cfail "xfs_repair -n on image $name exited $rc"; grep -v '^ *- \|^Phase\|geometry\|sector size\|image and the host' "$dir/$name.repair" | head -20 | sed 's/^/      /'; }
  rc=0
  "$fsck" -n "$img" >"$dir/$name.fsck" 2>&1 || rc=$?
  ((rc == 0)) || { cfail "xfsfuse-fsck -n on image $name exited $rc"; head -20 "$dir/$name.fsck" | sed 's/^/      /'; }
}

sanitizer_logs() {
  local v
  for v in ASAN_OPTIONS UBSAN_OPTIONS TSAN_OPTIONS; do export "$v=log_path=$work/sanitizer:${!v:-}"; done
}
sanitizer_reports() {
  compgen -G "$work/sanitizer*" >/dev/null || return 0
  cfail "sanitizer reports:"; cat "$work"/sanitizer* | head -40 | sed 's/^/      /'; rm -f "$work"/sanitizer*
}

image_logprint() {
  local dev img=$1 rc=0
  shift
  dev=$(losetup -f --show -r "$img") || return 1
  xfs_logprint "$@" "$dev" 2>&1 || rc=$?
  losetup -d "$dev"
  return "$rc"
}

# The log's state as xfs_logprint -t reports it ("log tail: T head: H state: <DIRTY>"), with the
# lowest and highest cycle of the records it lists (a highest cycle above 1: the log wrapped).
image_log_state() {
  local out
  out=$(image_logprint "$1" -t) || { echo "unknown (xfs_logprint failed: $(tail -1 <<<"$out"))"; return 1; }
  logprint_state <<<"$out"
}
log_must_be() {
  local s
  s=$(image_log_state "$2")
  [[ $s == "$1 "* ]] || cfail "the log of $3 is not $1: $s"
}
logprint_state() {
  awk '
    /log tail: .* head: .* state:/ {
      for (i = 1; i <= NF; i++) { if ($i == "tail:") t = $(i + 1); if ($i == "head:") h = $(i + 1) }
      s = $0 ~ /<DIRTY>/ ? "dirty" : $0 ~ /<CLEAN>/ ? "clean" : "unknown"
    }
    /LOG REC AT LSN cycle/ { c = $6 + 0; if (lo == "" || c < lo) lo = c; if (c > hi) hi = c }
    END {
      if (s == "") { print "unknown (no state line from xfs_logprint)"; exit 1 }
      printf "%s tail %s head %s cycles %s..%s\n", s, t, h, (lo == "" ? 0 : lo), (hi == "" ? 0 : hi)
    }'
}
# A complaint, not a hex address or a name holding "bad".
logprint_complaints() { grep -E '(^|[^0-9a-zA-Z])(bad|Invalid)'; }
