#!/usr/bin/env bash
# bench/traverse.sh - cold and warm `find` and `ls -l` over an image, through
# xfsfuse and (as root with loop devices) through the kernel's XFS.
#
#   bench/traverse.sh [--runs N] [--dir PATH] [--xfsfuse BIN] [-o OPTS] IMAGE
#
#   --runs N      repetitions of each measurement; the median is printed (default 3)
#   --dir PATH    the directory `ls -l` lists, relative to the mount (default /bigdir)
#   --xfsfuse BIN the driver (default build/fs/fuse/xfsfuse)
#   -o OPTS       extra xfsfuse mount options (for example vmap=eager)
#
# cold: a fresh mount (so xfsfuse's buffer cache is empty) after
#       `echo 3 > /proc/sys/vm/drop_caches` (root only; otherwise the image's
#       pages may still be in the page cache, and the table says so).
# warm: the same command again on that mount.
# Prints a Markdown table of median wall times in milliseconds.
# Exit codes: 0 done, 1 a mount or command failed, 2 usage.
set -euo pipefail
export LC_ALL=C

runs=3
dir=/bigdir
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
xfsfuse=$here/build/fs/fuse/xfsfuse
opts=
usage() { sed -n '2,18p' "$0" >&2; exit 2; }
while (($#)); do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    --xfsfuse) xfsfuse=$2; shift 2 ;;
    -o) opts=$2; shift 2 ;;
    -h | --help) usage ;;
    -*) usage ;;
    *) break ;;
  esac
done
(($# == 1)) || usage
img=$(realpath "$1")
[[ -x $xfsfuse ]] || { echo "traverse.sh: $xfsfuse is not built" >&2; exit 1; }

mnt=$(mktemp -d /tmp/xfsfuse-bench-XXXXXX)
mounted=
cleanup() {
  if [[ $mounted == fuse ]]; then fusermount3 -u "$mnt" 2>/dev/null || umount "$mnt"; fi
  if [[ $mounted == kernel ]]; then umount "$mnt"; fi
  rmdir "$mnt"
}
trap cleanup EXIT

root=0
[[ $(id -u) == 0 ]] && root=1
kernel=0
if ((root)) && [[ -e /dev/loop-control ]] && { grep -qw xfs /proc/filesystems || modprobe xfs 2>/dev/null; }; then kernel=1; fi

do_mount() {  # fuse|kernel
  if [[ $1 == fuse ]]; then
    "$xfsfuse" "$img" "$mnt" -o "ro${opts:+,$opts}"
  else
    mount -o loop,ro "$img" "$mnt"
  fi
  mounted=$1
}
do_umount() {
  if [[ $mounted == fuse ]]; then fusermount3 -u "$mnt"; else umount "$mnt"; fi
  mounted=
}
drop_kernel_caches() { if ((root)); then sync; echo 3 >/proc/sys/vm/drop_caches; fi; }
ms() {  # command... -> wall milliseconds
  local t0 t1
  t0=$(date +%s%N)
  "$@" >/dev/null
  t1=$(date +%s%N)
  echo $(((t1 - t0) / 1000000))
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

measure() {  # fuse|kernel "command" -> "cold warm"
  local kind=$1 cmd=$2 cold=() warm=() i
  for ((i = 0; i < runs; i++)); do
    drop_kernel_caches
    do_mount "$kind"
    cold+=("$(ms bash -c "$cmd")")
    warm+=("$(ms bash -c "$cmd")")
    do_umount
  done
  echo "$(printf '%s\n' "${cold[@]}" | median) $(printf '%s\n' "${warm[@]}" | median)"
}

find_cmd="find $mnt"
ls_cmd="ls -l $mnt$dir"
echo "| what | driver | cold ms | warm ms |"
echo "|---|---|---|---|"
for kind in fuse kernel; do
  [[ $kind == kernel ]] && ((!kernel)) && continue
  name=xfsfuse
  [[ $kind == kernel ]] && name="kernel XFS"
  read -r c w < <(measure "$kind" "$find_cmd")
  echo "| find | $name | $c | $w |"
  read -r c w < <(measure "$kind" "$ls_cmd")
  echo "| ls -l $dir | $name | $c | $w |"
done
((root)) || echo "(not root: page cache not dropped, so 'cold' is only xfsfuse's own cache)"
((kernel)) || echo "(no kernel rows: needs root, loop devices and XFS in the kernel)"
