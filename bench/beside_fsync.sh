#!/usr/bin/env bash
# bench/beside_fsync.sh - lookups beside a process that fsyncs, on one CPU: what a request that
# waits for the disk costs the requests behind it. The kernel's XFS (loop mount), xfsfuse -o
# rw,noio_uring (/dev/fuse) and xfsfuse -o rw,io_uring (the fuse module's enable_uring is set to
# Y for the run and put back), each on a fresh image in the same directory.
#
#   bench/beside_fsync.sh [--runs N] [--dir DIR] [--xfsfuse BIN] [--only LIST] [--tree DIR]
#
#   --runs N      fresh images and runs per filesystem, in rounds; the table shows medians (default 3)
#   --dir DIR     where the images go (default $TMPDIR or /tmp)
#   --xfsfuse BIN the driver (default build/fs/fuse/xfsfuse)
#   --only LIST   some of kernel,xfsfuse,xfsfuse-uring (default all three)
#   --tree DIR    the tree copied in and walked (default /usr/include/linux)
#
# Each run, on a 1 GiB sparse image (mkfs.xfs defaults) holding a copy of the tree, everything
# pinned to CPU 0 (taskset):
#   alone    five passes of lstat over every entry of the copy, the kernel's dentry and inode caches
#            dropped before each (echo 2 > /proc/sys/vm/drop_caches), so each pass asks the
#            filesystem again; the time of the five passes
#   beside   the same while a loop of 4 KiB pwrite + fsync on a file in the same filesystem runs
#            beside it; the time, and the fsyncs the loop made per second meanwhile
# Needs root. Prints one Markdown table. Exit: 0 done, 1 a mount or step failed, 2 usage.
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
runs=3 dir=${TMPDIR:-/tmp} xfsfuse=$here/build/fs/fuse/xfsfuse xopts='' only=kernel,xfsfuse,xfsfuse-uring
tree=/usr/include/linux mkfs_xfs_opts=()
usage() { sed -n '2,22p' "$0" >&2; exit 2; }
while (($#)); do
  case $1 in
    --runs) runs=${2:-}; shift 2 || usage ;;
    --dir) dir=${2:-}; shift 2 || usage ;;
    --xfsfuse) xfsfuse=${2:-}; shift 2 || usage ;;
    --only) only=${2:-}; shift 2 || usage ;;
    --tree) tree=${2:-}; shift 2 || usage ;;
    *) usage ;;
  esac
done
[[ $runs =~ ^[1-9][0-9]*$ && -d $tree ]] || usage
[[ $(id -u) == 0 ]] || { echo "beside_fsync.sh: needs root (loop mounts, drop_caches)" >&2; exit 1; }

# shellcheck source=bench/lib/peers.sh
source "$here/bench/lib/peers.sh"
peers_begin fsync-bench 1G beside_fsync.sh

# walk DIR: prints the ms of five lstat passes over DIR, caches dropped before each.
walk() {
  taskset -c 0 python3 - "$1" <<'EOF'
import os, sys, time
total = 0.0
for _ in range(5):
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("2")
    t0 = time.perf_counter()
    for root, dirs, files in os.walk(sys.argv[1]):
        for n in dirs + files:
            os.lstat(os.path.join(root, n))
    total += time.perf_counter() - t0
print(f"{total * 1000:.0f}")
EOF
}
# fsync_loop FILE COUNTFILE: appends 4 KiB and fsyncs until killed (SIGTERM), then writes how many
# fsyncs it made and in how many seconds.
fsync_loop() {
  exec taskset -c 0 python3 - "$1" "$2" <<'EOF'
import os, signal, sys, time
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
block, n, t0 = os.urandom(4096), 0, time.perf_counter()
def done(*_):
    with open(sys.argv[2], "w") as f:
        f.write(f"{n} {time.perf_counter() - t0:.3f}\n")
    sys.exit(0)
signal.signal(signal.SIGTERM, done)
while True:
    os.write(fd, block)
    os.fsync(fd)
    n += 1
EOF
}

one_run() { # KIND: appends "alone_ms beside_ms fsyncs_per_s" to $work/KIND.rows
  local kind=$1 alone beside loop n secs
  make_image "$kind"
  do_mount "$kind" || { echo "$prog: $kind did not mount" >&2; exit 1; }
  cp -a "$tree" "$mnt/tree"
  sync
  alone=$(walk "$mnt/tree")
  fsync_loop "$mnt/fsynced" "$work/count" &
  loop=$!
  sleep 0.5  # the loop is under way
  beside=$(walk "$mnt/tree")
  kill -TERM "$loop"
  wait "$loop" || true
  read -r n secs <"$work/count"
  do_umount || exit 1
  echo "$alone $beside $(awk -v n="$n" -v s="$secs" 'BEGIN { printf "%.0f", n / s }')" >>"$work/$kind.rows"
}

kinds=()
IFS=, read -ra wanted <<<"$only"
for k in "${wanted[@]}"; do
  case $k in
    kernel | xfsfuse | xfsfuse-uring) if available "$k"; then kinds+=("$k"); fi ;;
    *) usage ;;
  esac
done
((${#kinds[@]})) || { echo "$prog: nothing to run" >&2; exit 1; }
run_rounds "$runs" "${kinds[@]}"

echo
echo "five lstat passes over $tree ($(find "$tree" | wc -l) entries), pinned to CPU 0; medians of $runs runs"
echo
echo "| filesystem | alone (ms) | beside an fsync loop (ms) | the loop's fsyncs/s |"
echo "|---|---:|---:|---:|"
for k in "${wanted[@]}"; do
  if [[ -s $work/$k.rows ]]; then
    echo "| $(title "$k") | $(median 1 "$work/$k.rows") | $(median 2 "$work/$k.rows") | $(median 3 "$work/$k.rows") |"
  else
    echo "| $(title "$k") | ${why_not[$k]:-not run} | | |"
  fi
done
