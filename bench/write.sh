#!/usr/bin/env bash
# bench/write.sh - the write path side by side: the kernel's XFS (loop mount), fuse2fs on ext4 and
# xfsfuse -o rw, each on a fresh image in the same directory.
#
#   bench/write.sh [--runs N] [--dir DIR] [--xfsfuse BIN] [--xfsfuse-options OPTS] [--only LIST]
#
#   --runs N      fresh images and runs per filesystem; the table shows medians (default 3)
#   --dir DIR     where the images go (default $TMPDIR or /tmp); the table names its filesystem and
#                 device: pass a tmpfs (/dev/shm) to leave the disk out
#   --xfsfuse BIN the driver (default build/fs/fuse/xfsfuse)
#   --xfsfuse-options OPTS  more -o options for xfsfuse after rw (e.g. writeback_cache)
#   --only LIST   some of kernel,fuse2fs,xfsfuse (default all three)
#
# Each run, on a 4 GiB sparse image (mkfs.xfs defaults; mkfs.ext4 defaults for fuse2fs):
#   seq write   dd if=/dev/zero bs=1M count=1024 conv=fsync into a new file
#   seq read    that file with dd bs=1M after an unmount, `echo 3 > /proc/sys/vm/drop_caches` and a
#               new mount (so neither the page cache nor a FUSE daemon's cache holds it)
#   rand write  a 256 MiB file written sequentially and fsynced (not timed), then 20,000 pwrite()s of
#               4 KiB at random 4 KiB-aligned offsets (fixed seed) and one fsync, timed together
#   fsync       1,000 times: pwrite() 4 KiB at the end of a file, then fsync(); p50 and p99 latency
# fuse2fs is Debian's package of that name: installed with apt-get when missing (root), else its
# column says why it is empty; so does xfsfuse's if it does not mount. Needs root (loop mounts,
# drop_caches). Prints one Markdown table (ms; MB/s = 10^6 bytes per second). Exit: 0 done,
# 1 a mount or measurement failed, 2 usage.
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
runs=3 dir=${TMPDIR:-/tmp} xfsfuse=$here/build/fs/fuse/xfsfuse xopts='' only=kernel,fuse2fs,xfsfuse
usage() { sed -n '2,24p' "$0" >&2; exit 2; }
while (($#)); do
  case $1 in
    --runs) runs=${2:-}; shift 2 || usage ;;
    --dir) dir=${2:-}; shift 2 || usage ;;
    --xfsfuse) xfsfuse=${2:-}; shift 2 || usage ;;
    --only) only=${2:-}; shift 2 || usage ;;
    --xfsfuse-options) xopts=${2:-}; shift 2 || usage ;;
    *) usage ;;
  esac
done
[[ $runs =~ ^[1-9][0-9]*$ ]] || usage
[[ $(id -u) == 0 ]] || { echo "write.sh: needs root (loop mounts, drop_caches)" >&2; exit 1; }

mkfs_xfs_opts=()
# shellcheck source=bench/lib/peers.sh
source "$here/bench/lib/peers.sh"
peers_begin write-bench 4G write.sh

# --- the measurements ------------------------------------------------------------------------

now_ns() { date +%s%N; }
drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches; }

# rand_write FILE: prints the ms of 20,000 random 4 KiB pwrite()s plus one fsync.
# fsync_latency FILE: prints "p50_ms p99_ms" of 1,000 appending 4 KiB pwrite() + fsync() pairs.
py_io() {
  python3 - "$@" <<'EOF'
import os, random, sys, time
mode, path = sys.argv[1], sys.argv[2]
block = os.urandom(4096)
fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
if mode == "rand":
    size = 256 << 20
    chunk = os.urandom(1 << 20)
    for off in range(0, size, len(chunk)):
        os.pwrite(fd, chunk, off)
    os.fsync(fd)
    rng = random.Random(20250101)
    offsets = [rng.randrange(size // 4096) * 4096 for _ in range(20000)]
    t0 = time.perf_counter()
    for off in offsets:
        os.pwrite(fd, block, off)
    os.fsync(fd)
    print(f"{(time.perf_counter() - t0) * 1000:.1f}")
else:
    lat = []
    for i in range(1000):
        t0 = time.perf_counter()
        os.pwrite(fd, block, i * 4096)
        os.fsync(fd)
        lat.append((time.perf_counter() - t0) * 1000)
    lat.sort()
    print(f"{lat[499]:.3f} {lat[989]:.3f}")
os.close(fd)
EOF
}

# one_run KIND: appends "seqw_ms seqr_ms rand_ms p50_ms p99_ms" to $work/KIND.runs.
one_run() {
  local kind=$1 t0 t1 t2 seqw seqr rand lat
  make_image "$kind"
  do_mount "$kind" || { echo "write.sh: $kind did not mount" >&2; return 1; }
  t0=$(now_ns)
  dd if=/dev/zero of="$mnt/seq" bs=1M count=1024 conv=fsync status=none
  t1=$(now_ns)
  seqw=$(((t1 - t0) / 1000000))
  do_umount
  drop_caches
  do_mount "$kind" || { echo "write.sh: $kind did not mount again" >&2; return 1; }
  t1=$(now_ns)
  dd if="$mnt/seq" of=/dev/null bs=1M status=none
  t2=$(now_ns)
  seqr=$(((t2 - t1) / 1000000))
  rand=$(py_io rand "$mnt/rand")
  lat=$(py_io fsync "$mnt/lat")
  do_umount
  echo "$seqw $seqr $rand $lat" >>"$work/$kind.runs"
}

kinds=()
for k in kernel fuse2fs xfsfuse; do
  [[ ,$only, == *,$k,* ]] || continue
  kinds+=("$k")
  if available "$k"; then
    for ((r = 1; r <= runs; r++)); do
      echo "write.sh: $k run $r of $runs" >&2
      one_run "$k"
    done
  fi
done

# --- the table -------------------------------------------------------------------------------

mbs() { awk -v ms="$1" -v bytes="$2" 'BEGIN { printf "%.0f", bytes / 1e6 / (ms / 1000) }'; }
cell() { # KIND ROW
  local f=$work/$1.runs ms
  [[ -f $f ]] || { echo "-"; return; }
  case $2 in
    seqw) ms=$(median 1 "$f"); echo "$ms ms, $(mbs "$ms" 1073741824) MB/s" ;;
    seqr) ms=$(median 2 "$f"); echo "$ms ms, $(mbs "$ms" 1073741824) MB/s" ;;
    rand) ms=$(median 3 "$f"); echo "$ms ms, $(mbs "$ms" $((20000 * 4096))) MB/s" ;;
    p50) echo "$(median 4 "$f") ms" ;;
    p99) echo "$(median 5 "$f") ms" ;;
  esac
}

where=$(df --output=fstype,source "$work" | tail -1 | awk '{ print $1 " on " $2 }')
echo
echo "Write path, median of $runs runs, each on a fresh 4 GiB sparse image in $dir ($where);"
echo "$(uname -r), $(nproc) CPUs. MB/s = 10^6 bytes/s."
echo
row() { local k out="| $1 |"; for k in "${kinds[@]}"; do out+=" $(cell "$k" "$2") |"; done; echo "$out"; }
hdr="| |" sep="|---|"
for k in "${kinds[@]}"; do hdr+=" $(title "$k") |"; sep+="---:|"; done
echo "$hdr"
echo "$sep"
row "sequential write, 1 GiB (dd bs=1M conv=fsync)" seqw
row "sequential read, 1 GiB, cold (remount + drop_caches)" seqr
row "random 4 KiB writes: 20,000 in a 256 MiB file, then fsync" rand
row "4 KiB write + fsync, p50 of 1,000" p50
row "4 KiB write + fsync, p99 of 1,000" p99
echo
for k in "${kinds[@]}"; do
  [[ -f $work/$k.runs ]] || echo "$(title "$k"): ${why_not[$k]:-not measured}"
done
[[ ! -f $work/fuse2fs.runs ]] || echo "fuse2fs: ext4 made by mkfs.ext4 with its defaults; fuse2fs does not write its journal (it says so at mount)."
