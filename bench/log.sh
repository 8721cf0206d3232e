#!/usr/bin/env bash
# bench/log.sh - what logging costs: time, log blocks and bytes per operation, and fsync latency,
# the kernel's XFS (loop mount) beside xfsfuse -o rw (the log on) and xfsfuse -o rw,nolog, each on
# a fresh image in the same run.
#
#   bench/log.sh [--ops N] [--dir DIR] [--xfsfuse BIN] [--ctl BIN]
#
#   --ops N       files per phase (default 10000)
#   --dir DIR     where the images go (default $TMPDIR or /tmp)
#   --xfsfuse BIN the driver (default build/fs/fuse/xfsfuse); --ctl: xfsfuse-ctl (default build/tools/)
#
# Each filesystem gets a 512 MiB sparse image (mkfs.xfs -n size=65536: 64 KiB directory blocks)
# and runs, in one directory, timed phase by phase and each ended by an fsync of the directory:
#   create   N empty files          rename   each to a new name    unlink   each
#   fsync    1,000 times: create a file, write 4 KiB, fsync it (p50 and p99 latency)
#   refsync  fsync each of those 1,000 files again, unchanged since its fsync (p50 and p99: what
#            an fsync with nothing of its own to force costs while the others' changes are on disk)
# Log blocks per op: the head's advance over the phase (512-byte log blocks), from
# /sys/fs/xfs/DEV/log/log_head_lsn for the kernel and `xfsfuse-ctl MNT log --json` for xfsfuse
# (nolog writes no log). Both merge the transactions of a group commit into one checkpoint that
# logs each buffer once; the kernel's checkpoints are larger (docs/log.md "Group commit, as checkpoints").
# Needs root (loop mounts). Prints one Markdown table. Exit: 0 done, 1 a mount or step failed,
# 2 usage.
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ops=10000 dir=${TMPDIR:-/tmp} xfsfuse=$here/build/fs/fuse/xfsfuse ctl=$here/build/tools/xfsfuse-ctl
usage() { sed -n '2,22p' "$0" >&2; exit 2; }
while (($#)); do
  case $1 in
    --ops) ops=${2:-}; shift 2 || usage ;;
    --dir) dir=${2:-}; shift 2 || usage ;;
    --xfsfuse) xfsfuse=${2:-}; shift 2 || usage ;;
    --ctl) ctl=${2:-}; shift 2 || usage ;;
    *) usage ;;
  esac
done
[[ $ops =~ ^[0-9]+$ ]] || usage
((EUID == 0)) || { echo "bench/log.sh: needs root (loop mounts)" >&2; exit 1; }

work=$(mktemp -d "$dir/xfsfuse-logbench.XXXXXX")
mnt=$work/mnt pid=''
mkdir -p "$mnt"
cleanup() {
  mountpoint -q "$mnt" && { umount "$mnt" 2>/dev/null || fusermount3 -u "$mnt" 2>/dev/null || umount -l "$mnt"; }
  [[ -n $pid ]] && wait "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# The workload, phase by phase, each ended by an fsync of the directory; $1: a shell command
# printing the log head as an absolute log block ("0" without a log). Prints "phase seconds
# blocks" per phase and "lat p50 p99" / "relat p50 p99" (ms) for the fsync and refsync phases.
measure() {
  python3 - "$mnt/d" "$ops" "$1" <<'EOF2'
import os, subprocess, sys, time
d, n, head_cmd = sys.argv[1], int(sys.argv[2]), sys.argv[3]
os.mkdir(d)
def head():
    return int(subprocess.check_output(head_cmd, shell=True, text=True).strip())
def sync_dir():
    fd = os.open(d, os.O_RDONLY); os.fsync(fd); os.close(fd)
def create():
    for i in range(n): os.close(os.open("%s/file-%07d" % (d, i), os.O_CREAT | os.O_WRONLY, 0o644))
def rename():
    for i in range(n): os.rename("%s/file-%07d" % (d, i), "%s/renamed-%07d" % (d, i))
def unlink():
    for i in range(n): os.unlink("%s/renamed-%07d" % (d, i))
lat, relat = [], []
def fsyncs():
    buf = b"x" * 4096
    for i in range(1000):
        t = time.monotonic()
        fd = os.open("%s/sync-%04d" % (d, i), os.O_CREAT | os.O_WRONLY, 0o644)
        os.write(fd, buf); os.fsync(fd); os.close(fd)
        lat.append(time.monotonic() - t)
def refsyncs():
    fds = [os.open("%s/sync-%04d" % (d, i), os.O_RDONLY) for i in range(1000)]
    for fd in fds:
        t = time.monotonic()
        os.fsync(fd)
        relat.append(time.monotonic() - t)
    for fd in fds: os.close(fd)
sync_dir()
for name, fn in (("create", create), ("rename", rename), ("unlink", unlink), ("fsync", fsyncs),
                 ("refsync", refsyncs)):
    h = head(); t = time.monotonic()
    fn(); sync_dir()
    t = time.monotonic() - t
    print("%s %.3f %d" % (name, t, head() - h))
for tag, v in (("lat", lat), ("relat", relat)):
    v.sort()
    print("%s %.3f %.3f" % (tag, v[len(v) // 2] * 1e3, v[len(v) * 99 // 100] * 1e3))
EOF2
}

declare -A res
fresh() { rm -f "$work/img"; truncate -s 512M "$work/img"; mkfs.xfs -q -f -n size=65536 "$work/img"; }
log_bbs() { echo $(($(xfs_db -r -c 'sb 0' -c 'p logblocks' "$work/img" | awk '{print $3}') * 8)); }

# The kernel.
fresh
n=$(log_bbs)
mount -o loop "$work/img" "$mnt"
dev=$(basename "$(findmnt -n -o SOURCE "$mnt")")
res[kernel]=$(measure "l=\$(cat /sys/fs/xfs/$dev/log/log_head_lsn); echo \$((\${l%%:*} * $n + \${l##*:}))")
umount "$mnt"

# xfsfuse with the log, then without.
for fs in xfsfuse xfsfuse-nolog; do
  fresh
  opts=rw
  [[ $fs == xfsfuse-nolog ]] && opts=rw,nolog
  "$xfsfuse" "$work/img" "$mnt" -f -o "$opts" 2>"$work/$fs.err" &
  pid=$!
  for _ in $(seq 100); do mountpoint -q "$mnt" && break; sleep 0.05; done
  mountpoint -q "$mnt" || { cat "$work/$fs.err" >&2; exit 1; }
  if [[ $fs == xfsfuse ]]; then
    res[$fs]=$(measure "'$ctl' '$mnt' log --json | python3 -c 'import json,sys; j=json.load(sys.stdin); print((j[\"head_lsn\"] >> 32) * j[\"log_blocks\"] + (j[\"head_lsn\"] & 0xffffffff))'")
  else
    res[$fs]=$(measure "echo 0")
  fi
  fusermount3 -u "$mnt"
  wait "$pid"
  pid=''
done

echo "| phase ($ops files, one directory, 64 KiB directory blocks) | kernel XFS | xfsfuse (log) | xfsfuse (nolog) |"
echo "|---|---|---|---|"
for phase in create rename unlink fsync refsync; do
  row="| $phase |"
  for fs in kernel xfsfuse xfsfuse-nolog; do
    read -r _ secs blocks < <(grep "^$phase " <<<"${res[$fs]}")
    if [[ $fs == xfsfuse-nolog ]]; then
      row+=" $secs s |"
    else
      per=$ops
      [[ $phase == fsync || $phase == refsync ]] && per=1000
      row+=" $secs s, $(python3 -c "print('%.2f' % ($blocks / $per))") log blocks/op |"
    fi
  done
  echo "$row"
done
for tag in lat relat; do
  row="| fsync latency p50 / p99 |"
  [[ $tag == relat ]] && row="| fsync of an unchanged file, p50 / p99 |"
  for fs in kernel xfsfuse xfsfuse-nolog; do
    read -r _ p50 p99 < <(grep "^$tag " <<<"${res[$fs]}")
    row+=" $p50 / $p99 ms |"
  done
  echo "$row"
done
