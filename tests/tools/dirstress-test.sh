#!/usr/bin/env bash
# dirstress-test.sh MODE DIRSTRESS [XFSFUSE FSCK] - xfsfuse-dirstress end to end.
#
#   plain    on a temporary directory ($TMPDIR): usage errors exit 2; -p 1 -n 1, -p 5 -n 1,
#            -p 5 -n 5, --threads, -k, -C, -c, --verify each exit as dirstress would and leave
#            (or remove) stressdir as they should; the --json report has its documented keys
#            (README "xfsfuse-dirstress") and counts that follow from the options.
#   xfsfuse  on xfsfuse -o rw mounts of fresh images (64 KiB and 4 KiB directory blocks): the
#            same runs with --verify where groups are of one worker, then the unmount (xfsfuse
#            exits 0), `xfsfuse-fsck -n` and `xfs_repair -n` clean; the -k and -C runs again on
#            the kernel's loop mount of an identical image, whose trees (names, types, symlink
#            targets) must equal xfsfuse's.  Needs root and /dev/fuse (else SKIP, exit 77); the
#            kernel part is skipped, with its reason, without loop devices or XFS.
#   long     xfsfuse, 64 KiB directory blocks: 100,000 entries with -c -C, then fsck and repair.
# In sanitizer builds, any report of the tools fails the test.
# Exit: 0 passed, 1 a check failed ("FAIL: ..."), 2 usage, 77 skipped.
set -uo pipefail
export LC_ALL=C

usage() { echo "usage: dirstress-test.sh plain DIRSTRESS | {xfsfuse|long} DIRSTRESS XFSFUSE FSCK" >&2; exit 2; }
(($# >= 2)) || usage
mode=$1 ds=$2 xfsfuse=${3:-} fsck=${4:-}
case $mode in plain) ;; xfsfuse | long) (($# == 4)) || usage ;; *) usage ;; esac
skip() { echo "SKIP: $*"; exit 77; }
if [[ $mode != plain ]]; then
  [[ $(id -u) == 0 ]] || skip "needs root (mounts, device nodes)"
  [[ -c /dev/fuse ]] || skip "no /dev/fuse"
  for t in fusermount3 mkfs.xfs xfs_repair findmnt; do command -v "$t" >/dev/null || skip "$t not installed"; done
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/xfsfuse-dirstress-test.XXXXXX")
daemons=()
cleanup() {
  local m
  for m in $(awk -v w="$work/" 'index($2, w) == 1 { print $2 }' /proc/mounts); do umount -l "$m" || true; done
  # A daemon still running after a failed run may be stuck: killing it fails its callers' requests.
  ((${#daemons[@]} == 0)) || { kill -KILL "${daemons[@]}" 2>/dev/null; wait "${daemons[@]}" 2>/dev/null; }
  rm -rf "$work"
}
trap cleanup EXIT
for v in ASAN_OPTIONS UBSAN_OPTIONS TSAN_OPTIONS; do export "$v=log_path=$work/sanitizer:${!v:-}"; done

fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }

# expect RC DESC ARGS...: runs the tool; its exit status must be RC.  Output in $work/last.out.
# A run that does not end within $limit seconds (a hung filesystem) fails the test and ends it.
# run_as: a command prefix (setpriv ...) to run the tool as another user; empty: as this one.
limit=${DIRSTRESS_TEST_LIMIT:-120} run_as=()
expect() {
  local want=$1 desc=$2 rc
  shift 2
  timeout -k 5 "$limit" "${run_as[@]}" "$ds" "$@" >"$work/last.out" 2>&1
  rc=$?
  if ((rc == 124 || rc == 137)); then
    fail "$desc: still running after $limit s (hung?); the workers' kernel stacks:"
    for p in $(pgrep -f "^$ds "); do echo "  $p: $(tr '\n' ' ' </proc/$p/stack 2>/dev/null | cut -c1-200)"; done
    if command -v gdb >/dev/null; then
      for p in "${daemons[@]}"; do
        kill -0 "$p" 2>/dev/null || continue
        echo "  xfsfuse $p, its threads in xfsfuse code:"
        timeout 60 gdb -p "$p" -batch -ex "thread apply all bt 40" 2>/dev/null |
          grep -E '^Thread|xfsfuse::(fs|bc)::' | sed -E 's/ \(.*\) at / at /; s/^/    /' | cut -c1-220
      done
    fi
    echo "$fails checks failed"
    exit 1
  fi
  if [[ $rc == "$want" ]]; then ok "$desc: exit $rc"; else fail "$desc: exit $rc, want $want: $(tail -5 "$work/last.out")"; fi
}
# tree DIR: one line per entry under DIR: type, relative path, symlink target.
tree() { (cd "$1" && find . -mindepth 1 -printf '%y %p %l\n' | sort); }
count() { find "$1" -mindepth 1 -maxdepth 1 | wc -l; }

# --- mounts ------------------------------------------------------------------------------------
declare -A daemon_of
# xfsfuse_mount IMG MNT: xfsfuse -o rw in the foreground as a job; its stderr in MNT.log.
xfsfuse_mount() {
  local i pid
  mkdir -p "$2"
  "$xfsfuse" "$1" "$2" -f -o rw 2>>"$2.log" &
  pid=$!
  daemons+=("$pid")
  daemon_of[$2]=$pid
  for ((i = 0; i < 300; i++)); do
    findmnt -rn -M "$2" >/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  return 1
}
# xfsfuse_umount MNT: unmounts and waits for the daemon, which must exit 0.
xfsfuse_umount() {
  local rc=0
  fusermount3 -u "$1" || { fail "fusermount3 -u $1"; return 1; }
  wait "${daemon_of[$1]}" || rc=$?
  ((rc == 0)) && ok "xfsfuse exited 0 after the unmount" || fail "xfsfuse exited $rc after the unmount: $(tail -5 "$1.log")"
}
# checks IMG: xfsfuse-fsck -n and xfs_repair -n must both find IMG clean.
checks() {
  if "$fsck" -n "$1" >"$work/fsck.out" 2>&1; then ok "xfsfuse-fsck -n $(basename "$1"): clean"
  else fail "xfsfuse-fsck -n $1: $(head -20 "$work/fsck.out")"; fi
  if xfs_repair -n "$1" >"$work/repair.out" 2>&1; then ok "xfs_repair -n $(basename "$1"): clean"
  else fail "xfs_repair -n $1: $(grep -v '^ *- \|^Phase\|^No modify' "$work/repair.out" | head -20)"; fi
}
# mkimage IMG DIRBLOCK: a fresh 512 MiB image (fixed UUID: copies are identical).
mkimage() {
  truncate -s 512M "$1"
  QA_CHECK_FS=1 mkfs.xfs -q -f -n size="$2" -m uuid=5ca1ab1e-0000-4000-8000-00000000d157 "$1" >"$work/mkfs.out" 2>&1 ||
    { fail "mkfs.xfs: $(cat "$work/mkfs.out")"; return 1; }
}

# --- plain: a temporary directory --------------------------------------------------------------
plain() {
  local d=$work/plain j=$work/run.json n
  mkdir -p "$d"
  expect 2 "no -d" -p 1
  grep -q -- '-d DIR is required' "$work/last.out" || fail "no -d: no message"
  expect 2 "--verify with -n 2" -d "$d" -p 2 -n 2 --verify
  expect 2 "-p 0" -d "$d" -p 0
  expect 0 "--help" --help

  expect 0 "-p 1 -n 1 --verify" -d "$d" -p 1 -n 1 -f 400 -s 11 --verify
  grep -q 'verify: every directory matches the replay' "$work/last.out" || fail "-p 1 -n 1 --verify: no verdict"
  [[ ! -e $d/stressdir ]] && ok "stressdir removed" || fail "stressdir left behind: $(tree "$d" | head)"
  expect 0 "-p 5 -n 1 --verify --json" -d "$d" -p 5 -n 1 -f 200 -s 12 --verify --json "$j"
  python3 - "$j" <<'PY' && ok "JSON keys and counts" || fail "JSON: see above"
import json, sys
j = json.load(open(sys.argv[1]))
bad = []
for k in ("tool", "options", "seconds", "ops", "errors", "errors_by_errno", "ops_per_second", "kinds",
          "workers_failed", "exit_status", "verify"):
    if k not in j: bad.append("missing " + k)
kinds = ("creat", "mkdir", "symlink", "mknod", "rename", "unlink", "rmdir", "lstat")
for k in kinds:
    s = j["kinds"].get(k)
    if s is None: bad.append("missing kind " + k); continue
    for f in ("ops", "errors", "errors_by_errno", "latency_us"):
        if f not in s: bad.append(k + ": missing " + f)
    if s["ops"] and not 0 < s["latency_us"]["p50"] <= s["latency_us"]["p99"]: bad.append(k + ": p50/p99 " + str(s["latency_us"]))
    if s["errors"] != sum(s["errors_by_errno"].values()): bad.append(k + ": errors != sum by errno")
# 5 workers x 200 entries: create makes 50 of each kind per worker; scramble 400 calls (80 per kind);
# remove one lstat per name.  mkdir: + stressdir and stress.N; rmdir: + stress.N and stressdir.
want = {"symlink": 250, "mknod": 250, "rename": 400, "lstat": 1000}
for k, n in want.items():
    if j["kinds"][k]["ops"] != n: bad.append("%s: %d calls, want %d" % (k, j["kinds"][k]["ops"], n))
if j["kinds"]["creat"]["ops"] != 250 + 400: bad.append("creat: %d" % j["kinds"]["creat"]["ops"])
if j["ops"] != sum(s["ops"] for s in j["kinds"].values()): bad.append("ops != sum over kinds")
if j["errors"] != sum(j["errors_by_errno"].values()): bad.append("errors != sum by errno")
o = j["options"]
if (o["nprocs"], o["nfiles"], o["procs_per_dir"], o["seed"], o["verify"]) != (5, 200, 1, 12, True): bad.append("options " + str(o))
if (j["workers_failed"], j["exit_status"], j["verify"], j["tool"]) != (0, 0, "passed", "xfsfuse-dirstress"): bad.append("verdict")
if not j["seconds"] > 0 or not j["ops_per_second"] > 0: bad.append("time")
for b in bad: print("   " + b)
sys.exit(1 if bad else 0)
PY
  expect 0 "-p 5 -n 5" -d "$d" -p 5 -n 5 -f 300 -s 13
  [[ ! -e $d/stressdir ]] && ok "stressdir removed" || fail "-p 5 -n 5 left: $(tree "$d" | head)"
  expect 0 "--threads -p 4 -n 1 -k --verify" -d "$d" -p 4 -n 1 -f 300 -s 14 -k --threads --verify
  # Every worker draws the same seeded sequence: the four directories are alike.
  [[ $(tree "$d/stressdir/stress.0") == "$(tree "$d/stressdir/stress.3")" ]] && ok "stress.0 and stress.3 alike" ||
    fail "--threads: stress.0 and stress.3 differ"
  rm -rf "$d/stressdir"
  expect 0 "--threads -p 4 -n 2" -d "$d" -p 4 -n 2 -f 300 -s 15 --threads
  expect 0 "-C -p 2" -d "$d" -p 2 -n 1 -f 100 -s 16 -C
  n=$(count "$d/stressdir/stress.1")
  [[ $n == 100 ]] && ok "-C left 100 entries" || fail "-C left $n entries, want 100"
  rm -rf "$d/stressdir"
  # -c: the scramble's first failed call fails each worker; the exit status counts them.
  expect 3 "-c -p 3 (scramble fails every worker)" -d "$d" -p 3 -n 1 -f 100 -s 17 -c
  rm -rf "$d/stressdir"
  if [[ $(id -u) == 0 ]]; then
    expect 0 "-c -C as root" -d "$d" -p 2 -n 1 -f 100 -s 18 -c -C --verify
    rm -rf "$d/stressdir"
    # As another user: a device 0:0 is a whiteout, which needs no privilege since Linux 5.8
    # (before, mknod fails with EPERM, counted, fatal only with -c); the replay knows which.
    if command -v setpriv >/dev/null; then
      chmod 0777 "$d" "$work"
      run_as=(setpriv --reuid=65534 --regid=65534 --clear-groups)
      expect 0 "uid 65534: -k --verify" -d "$d" -p 1 -n 1 -f 100 -s 19 -k --verify
      rm -rf "$d/stressdir"
      IFS=. read -r kmaj kmin _ <<<"$(uname -r)"
      if ((kmaj > 5 || (kmaj == 5 && kmin >= 8))); then
        expect 0 "uid 65534: -c -C (Linux >= 5.8: whiteouts need no privilege)" -d "$d" -p 2 -n 1 -f 100 -s 18 -c -C
      else
        expect 2 "uid 65534: -c -C (mknod fails both workers)" -d "$d" -p 2 -n 1 -f 100 -s 18 -c -C
      fi
      run_as=()
    fi
  else
    expect 0 "-c -C as a user" -d "$d" -p 2 -n 1 -f 100 -s 18 -c -C --verify
  fi
}

# --- xfsfuse: a fresh image per directory block size, then the kernel -------------------------
xfsfuse_runs() {
  local m=$1
  expect 0 "$2: -p 1 -n 1 --verify" -d "$m" -p 1 -n 1 -f 1000 -s 21 --verify
  expect 0 "$2: -p 5 -n 1 --verify" -d "$m" -p 5 -n 1 -f 1000 -s 22 --verify
  expect 0 "$2: -p 5 -n 5" -d "$m" -p 5 -n 5 -f 1000 -s 23
  expect 0 "$2: --threads -p 3 -n 1 --verify" -d "$m" -p 3 -n 1 -f 500 -s 24 --threads --verify
  [[ ! -e $m/stressdir ]] && ok "$2: stressdir removed" || fail "$2: stressdir left: $(tree "$m" | head)"
  mkdir "$m/keep" "$m/create"
  expect 0 "$2: -k --verify" -d "$m/keep" -p 3 -n 1 -f 800 -s 25 -k --verify
  expect 0 "$2: -c -C --verify" -d "$m/create" -p 2 -n 1 -f 3000 -s 26 -c -C --verify
}

xfsfuse_mode() {
  local bs img m k reason=''
  if [[ ! -e /dev/loop-control ]]; then reason="no loop devices"
  elif ! grep -qw xfs /proc/filesystems && ! modprobe xfs 2>/dev/null; then reason="no XFS in the kernel"; fi
  for bs in 65536 4096; do
    img=$work/x$bs.img m=$work/mnt-x$bs
    mkimage "$img" "$bs" || return
    cp --sparse=always "$img" "$work/k$bs.img"
    xfsfuse_mount "$img" "$m" || { fail "xfsfuse did not mount $img: $(tail -5 "$m.log")"; continue; }
    xfsfuse_runs "$m" "xfsfuse, ${bs}-byte directory blocks"
    tree "$m" >"$work/x$bs.tree"
    xfsfuse_umount "$m"
    checks "$img"
    if [[ -n $reason ]]; then echo "SKIP: the kernel comparison: $reason"; continue; fi
    k=$work/mnt-k$bs
    mkdir -p "$k"
    mount -t xfs -o loop "$work/k$bs.img" "$k" || { fail "the kernel did not mount the copy"; continue; }
    mkdir "$k/keep" "$k/create"
    expect 0 "kernel, ${bs}-byte directory blocks: -k --verify" -d "$k/keep" -p 3 -n 1 -f 800 -s 25 -k --verify
    expect 0 "kernel, ${bs}-byte directory blocks: -c -C --verify" -d "$k/create" -p 2 -n 1 -f 3000 -s 26 -c -C --verify
    tree "$k" >"$work/k$bs.tree"
    umount "$k"
    if cmp -s "$work/x$bs.tree" "$work/k$bs.tree"; then ok "${bs}: xfsfuse's tree equals the kernel's ($(wc -l <"$work/k$bs.tree") entries)"
    else fail "${bs}: trees differ (< xfsfuse, > kernel): $(diff "$work/x$bs.tree" "$work/k$bs.tree" | head -20)"; fi
  done
}

long_mode() {
  local img=$work/long.img m=$work/mnt-long
  mkimage "$img" 65536 || return
  xfsfuse_mount "$img" "$m" || { fail "xfsfuse did not mount $img"; return; }
  expect 0 "100,000 entries, -c -C" -d "$m" -p 1 -n 1 -f 100000 -s 31 -c -C --verify
  grep INFO "$work/last.out"
  xfsfuse_umount "$m"
  checks "$img"
}

case $mode in
  plain) plain ;;
  xfsfuse) xfsfuse_mode ;;
  long) long_mode ;;
esac

for f in "$work"/sanitizer*; do
  [[ -e $f ]] || continue
  fail "sanitizer report $(basename "$f"): $(head -30 "$f")"
done
((fails == 0)) && { echo "PASS"; exit 0; }
echo "$fails checks failed"
exit 1
