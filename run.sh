#!/usr/bin/env bash
# ./run.sh — installs what is missing, builds, and runs the main job: makes the demo image
# (images/make-image demo), mounts it with xfsfuse, walks it with `find` and `ls -lR`, prints the
# entry counts, unmounts, and prints the counters the driver wrote at unmount (-o stats_file):
# FUSE requests, buffer cache, vmap and page pool.  Then the write workload: a copy of the image
# mounted read-write, xfstests generic/011's three xfsfuse-dirstress runs (-p 1 -n 1, -p 5 -n 1,
# -p 5 -n 5; 1000 files each) and a create-only 100,000-entry directory (-C, with -c as root),
# their times, the vmap, pool and buffer-cache counters (xfsfuse-ctl stats), the unmount, and the
# verdicts of xfsfuse-fsck -n and xfs_repair -n on the copy (exit 1 unless both are clean).
#
#   ./run.sh                   the driver on the demo image (needs /dev/fuse: root, or fuse3's
#                              fusermount3 for a user)
#   ./run.sh vmap-demo [ARGS]  the vmap/ demo: simulated traversals under each unmap policy
#                              (ARGS go to xfsfuse-vmap-demo; try --help)
#
# XFSFUSE_BUILD_DIR (default build) is the build directory; the image is made in
# $XFSFUSE_BUILD_DIR/run/. XFSFUSE_OPTIONS adds xfsfuse -o options, e.g. vmap=eager,cache_mb=8.
set -euo pipefail
cd "$(dirname "$0")"
[[ $# == 0 || $1 == vmap-demo ]] || { echo "usage: ./run.sh | ./run.sh vmap-demo [ARGS]" >&2; exit 2; }
. scripts/deps.sh
xfsfuse_ensure_deps
build=${XFSFUSE_BUILD_DIR:-build}
xfsfuse_build "$build" >/dev/null

if [[ ${1:-} == vmap-demo ]]; then
  shift
  exec "./$build/tools/xfsfuse-vmap-demo" "$@"
fi

work=$build/run
mkdir -p "$work"
img=$work/demo.img
stats=$work/demo.stats
echo "== making the demo image: $img"
images/make-image --force demo "$img"

mnt=$(mktemp -d "${TMPDIR:-/tmp}/xfsfuse-run.XXXXXX")
pid=
cleanup() {
  if mountpoint -q "$mnt"; then fusermount3 -u "$mnt" 2>/dev/null || umount "$mnt" 2>/dev/null || umount -l "$mnt"; fi
  [[ -z $pid ]] || wait "$pid" 2>/dev/null || true
  rmdir "$mnt" 2>/dev/null || true
}
trap cleanup EXIT

# start_xfsfuse IMG OPTS: xfsfuse IMG $mnt -f -o OPTS in the background ($pid), until mounted.
start_xfsfuse() {
  echo "== mounting: xfsfuse $1 $mnt -f -o $2"
  "./$build/fs/fuse/xfsfuse" "$1" "$mnt" -f -o "$2" &
  pid=$!
  for ((i = 0; i < 100; i++)); do
    mountpoint -q "$mnt" && break
    kill -0 "$pid" 2>/dev/null || { echo "run.sh: xfsfuse exited before mounting" >&2; pid=; exit 1; }
    sleep 0.1
  done
  mountpoint -q "$mnt" || { echo "run.sh: $mnt did not get mounted" >&2; exit 1; }
  grep " $mnt " /proc/mounts
}

rm -f "$stats"
start_xfsfuse "$img" "ro,stats_file=$stats${XFSFUSE_OPTIONS:+,$XFSFUSE_OPTIONS}"

seconds() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }'; }
t0=$(date +%s.%N)
find "$mnt" >"$work/find.out"
echo "== find:   $(wc -l <"$work/find.out") paths in $(seconds "$t0") s (cold caches)"
for t in d f l c b p; do printf '   type %s: %s\n' "$t" "$(find "$mnt" -type "$t" | wc -l)"; done
t0=$(date +%s.%N)
ls -lR "$mnt" >"$work/ls-lR.out"
echo "== ls -lR: $(grep -c '^[-dlcbps]' "$work/ls-lR.out") entries in $(grep -c ':$' "$work/ls-lR.out") directories in $(seconds "$t0") s (warm)"
stat -f "$mnt" | sed 's/^/   /'

echo "== unmounting"
fusermount3 -u "$mnt"
wait "$pid"
pid=
echo "== counters (written by xfsfuse at unmount to $stats)"
awk '{ split($1, p, "."); if (p[1] != last) { printf "%s\n", p[1]; last = p[1] } printf "   %-40s %14s\n", substr($1, length(p[1]) + 2), $2 }' "$stats"

# --- the write workload ------------------------------------------------------------------------
rwimg=$work/demo-rw.img
echo "== write workload: xfsfuse-dirstress on a read-write copy, $rwimg"
cp --sparse=always "$img" "$rwimg"
start_xfsfuse "$rwimg" "rw${XFSFUSE_OPTIONS:+,$XFSFUSE_OPTIONS}"
ds=./$build/tools/xfsfuse-dirstress
check=(-c)
[[ $(id -u) == 0 ]] || { check=(); echo "   (not root: no device nodes, so the 100,000-entry run goes without -c)"; }
runs=("-p 1 -n 1 -f 1000" "-p 5 -n 1 -f 1000" "-p 5 -n 5 -f 1000" "-p 1 -n 1 -f 100000 ${check[*]} -C")
for ((r = 0; r < ${#runs[@]}; r++)); do
  mkdir "$mnt/dirstress.$r"
  t0=$(date +%s.%N)
  # A run that does not end in 10 minutes means a hung filesystem: stop rather than wait forever.
  if ! out=$(timeout -k 5 600 "$ds" -d "$mnt/dirstress.$r" -s 1 ${runs[r]}); then
    echo "$out"
    echo "run.sh: xfsfuse-dirstress ${runs[r]} failed or hung; stopping xfsfuse" >&2
    kill -KILL "$pid"; umount -l "$mnt"; pid=
    exit 1
  fi
  printf '   %-34s %8s s   %s\n' "${runs[r]}" "$(seconds "$t0")" "$(grep -o '[0-9]* calls (.*' <<<"$out")"
done
echo "== counters of the read-write mount (xfsfuse-ctl stats)"
"./$build/tools/xfsfuse-ctl" "$mnt" stats | awk '$1 ~ /^(vmap|pool|cache)\./ { split($1, p, "."); if (p[1] != last) { printf "%s\n", p[1]; last = p[1] } printf "   %-40s %14s\n", substr($1, length(p[1]) + 2), $2 }'
echo "== unmounting"
fusermount3 -u "$mnt"
wait "$pid"
pid=
verdict=0
if "./$build/tools/fsck/xfsfuse-fsck" -n "$rwimg" >"$work/fsck.out" 2>&1; then echo "== xfsfuse-fsck -n: clean"
else echo "== xfsfuse-fsck -n: NOT clean"; head -20 "$work/fsck.out"; verdict=1; fi
if xfs_repair -n "$rwimg" >"$work/repair.out" 2>&1; then echo "== xfs_repair -n: clean"
else echo "== xfs_repair -n: NOT clean (exit $?)"; head -20 "$work/repair.out"; verdict=1; fi
exit $verdict
