#!/usr/bin/env bash
# ./run.sh — installs what is missing, builds, and runs the main job: makes the demo image
# (images/make-image demo), mounts it with xfsfuse, walks it with `find` and `ls -lR`, prints the
# entry counts, unmounts, and prints the counters the driver wrote at unmount (-o stats_file):
# FUSE requests, buffer cache, vmap and page pool.
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

rm -f "$stats"
opts=ro,stats_file=$stats${XFSFUSE_OPTIONS:+,$XFSFUSE_OPTIONS}
echo "== mounting: xfsfuse $img $mnt -f -o $opts"
"./$build/fs/fuse/xfsfuse" "$img" "$mnt" -f -o "$opts" &
pid=$!
for ((i = 0; i < 100; i++)); do
  mountpoint -q "$mnt" && break
  kill -0 "$pid" 2>/dev/null || { echo "run.sh: xfsfuse exited before mounting" >&2; pid=; exit 1; }
  sleep 0.1
done
mountpoint -q "$mnt" || { echo "run.sh: $mnt did not get mounted" >&2; exit 1; }
grep " $mnt " /proc/mounts

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
