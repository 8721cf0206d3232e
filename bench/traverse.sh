#!/usr/bin/env bash
# bench/traverse.sh - cold and warm `find` and `ls -l` over an image, through
# xfsfuse and (as root with loop devices) through the kernel's XFS, with the
# FUSE requests each made, and the FUSE floor of one getxattr round trip.
#
#   bench/traverse.sh [--runs N] [--dir PATH] [--modes LIST] [--xfsfuse BIN] [--bin DIR]
#                     [-o OPTS] [--loop ARGS] [--floor-calls N] IMAGE
#
#   --runs N      repetitions of each measurement; medians are printed (default 3)
#   --dir PATH    the directory `ls -l` lists, relative to the mount (default /bigdir)
#   --modes LIST  xfsfuse's -o readdirplus modes, one row pair each (default adaptive;
#                 e.g. adaptive,always,auto)
#   --xfsfuse BIN the driver (default build/fs/fuse/xfsfuse)
#   --bin DIR     where xfsfuse-ctl, xfsfuse-fuse-floor and xfsfuse-getxattr-loop are
#                 (default: next to BIN in its build tree: tools/, bench/)
#   -o OPTS       extra xfsfuse mount options (for example vmap=eager)
#   --loop ARGS   libfuse loop arguments for xfsfuse and the floor server alike
#                 (for example "-s" or "-o clone_fd,max_idle_threads=2")
#   --floor-calls N  lgetxattr calls per floor measurement (default 20000)
#
# cold: a fresh mount (so xfsfuse's buffer cache is empty) after
#       `echo 3 > /proc/sys/vm/drop_caches` (root only; otherwise the image's
#       pages may still be in the page cache, and the table says so).
# warm: the same command again on that mount.
# LOOKUP/GETATTR/GETXATTR: the requests xfsfuse served during that command
# (xfsfuse-ctl stats before and after; medians over the runs).
# load: the 1-minute load average when the row's first run started.
# foreign drops: cache drops by other processes during the row's runs
# (/proc/vmstat drop_slab); they evict the kernel's FUSE dentries, inodes and
# cached listings, so a row with any is not a clean measurement.
# floor: the mean time of one lgetxattr(security.selinux) (ENODATA) on one
# file, against xfsfuse-fuse-floor (a low-level server that answers ENODATA
# at once) and against a file of the xfsfuse mount, alternating, medians of
# --runs; then the issue's warm `ls -l` target, 1.2 x (kernel warm + entries
# x floor).
# Prints Markdown.  Exit codes: 0 done, 1 a mount or command failed, 2 usage.
set -euo pipefail
export LC_ALL=C

runs=3
dir=/bigdir
modes=adaptive
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
xfsfuse=$here/build/fs/fuse/xfsfuse
bin=
opts=
loop=
floor_calls=20000
usage() { sed -n '2,36p' "$0" >&2; exit 2; }
while (($#)); do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    --modes) modes=$2; shift 2 ;;
    --xfsfuse) xfsfuse=$2; shift 2 ;;
    --bin) bin=$2; shift 2 ;;
    -o) opts=$2; shift 2 ;;
    --loop) loop=$2; shift 2 ;;
    --floor-calls) floor_calls=$2; shift 2 ;;
    -h | --help) usage ;;
    -*) usage ;;
    *) break ;;
  esac
done
(($# == 1)) || usage
img=$(realpath "$1")
[[ -x $xfsfuse ]] || { echo "traverse.sh: $xfsfuse is not built" >&2; exit 1; }
build=$(cd "$(dirname "$xfsfuse")/../.." && pwd)
ctl=${bin:-$build/tools}/xfsfuse-ctl
floor=${bin:-$build/bench}/xfsfuse-fuse-floor
gxloop=${bin:-$build/bench}/xfsfuse-getxattr-loop
for b in "$ctl" "$floor" "$gxloop"; do [[ -x $b ]] || { echo "traverse.sh: $b is not built" >&2; exit 1; }; done
read -r -a loop_args <<<"$loop"

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

do_mount() {  # fuse MODE | kernel | floor
  case $1 in
    fuse) "$xfsfuse" "$img" "$mnt" -o "ro,readdirplus=$2${opts:+,$opts}" "${loop_args[@]}" ;;
    kernel) mount -o loop,ro "$img" "$mnt" ;;
    floor) "$floor" "$mnt" "${loop_args[@]}" ;;
  esac
  mountpoint -q "$mnt" || { echo "traverse.sh: mount ($1) failed" >&2; exit 1; }
  mounted=$1
  [[ $1 == floor ]] && mounted=fuse
  return 0
}
do_umount() {
  if [[ $mounted == fuse ]]; then fusermount3 -u "$mnt"; else umount "$mnt"; fi
  mounted=
}
slab_drops() { awk '$1 == "drop_slab" { print $2 }' /proc/vmstat; }
own_drops=0
drop_kernel_caches() { if ((root)); then sync; echo 3 >/proc/sys/vm/drop_caches; own_drops=$((own_drops + 1)); fi; }
load1() { cut -d' ' -f1 /proc/loadavg; }
ms() {  # command... -> wall milliseconds
  local t0 t1
  t0=$(date +%s%N)
  "$@" >/dev/null
  t1=$(date +%s%N)
  echo $(((t1 - t0) / 1000000))
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# "LOOKUP GETATTR GETXATTR" served so far by the xfsfuse mount (0 0 0 for the kernel).
counts() {
  if [[ $mounted != fuse ]]; then echo "0 0 0"; return; fi
  "$ctl" "$mnt" stats | awk '$1 == "fuse.lookup" {l=$2} $1 == "fuse.getattr" {g=$2} $1 == "fuse.getxattr" {x=$2}
    END {print l+0, g+0, x+0}'
}
sub3() { echo "$(($1 - $4)) $(($2 - $5)) $(($3 - $6))"; }
med3() {  # "a b c" lines -> per-column medians as "a/b/c"
  local a b c
  a=$(awk '{print $1}' <<<"$1" | median) b=$(awk '{print $2}' <<<"$1" | median) c=$(awk '{print $3}' <<<"$1" | median)
  echo "$a/$b/$c"
}

measure() {  # fuse MODE|kernel "command" -> "cold warm cold_counts warm_counts load foreign"
  local kind=$1 mode=$2 cmd=$3 cold=() warm=() cc='' wc='' i c0 c1 c2 load drops0
  load=$(load1)
  drops0=$(slab_drops) own_drops=0
  for ((i = 0; i < runs; i++)); do
    drop_kernel_caches
    do_mount "$kind" "$mode"
    c0=$(counts)
    cold+=("$(ms bash -c "$cmd")")
    c1=$(counts)
    warm+=("$(ms bash -c "$cmd")")
    c2=$(counts)
    do_umount
    # shellcheck disable=SC2086
    cc+="$(sub3 $c1 $c0)"$'\n' wc+="$(sub3 $c2 $c1)"$'\n'
  done
  echo "$(printf '%s\n' "${cold[@]}" | median) $(printf '%s\n' "${warm[@]}" | median)" \
    "$(med3 "${cc%$'\n'}") $(med3 "${wc%$'\n'}") $load $(($(slab_drops) - drops0 - own_drops))"
}

find_cmd="find $mnt"
ls_cmd="ls -l $mnt$dir"
echo "| what | driver | cold ms | warm ms | cold LOOKUP/GETATTR/GETXATTR | warm LOOKUP/GETATTR/GETXATTR | load | foreign drops |"
echo "|---|---|---|---|---|---|---|---|"
kernel_ls_warm=
rows() {  # kind mode name
  local c w cc wc l f what cmd
  for what in find ls; do
    cmd=$find_cmd
    [[ $what == ls ]] && cmd=$ls_cmd
    read -r c w cc wc l f < <(measure "$1" "$2" "$cmd")
    [[ $1 == kernel ]] && cc=- wc=-
    [[ $1 == kernel && $what == ls ]] && kernel_ls_warm=$w
    [[ $what == ls ]] && what="ls -l $dir"
    echo "| $what | $3 | $c | $w | $cc | $wc | $l | $f |"
  done
}
IFS=, read -r -a mode_list <<<"$modes"
for m in "${mode_list[@]}"; do rows fuse "$m" "xfsfuse readdirplus=$m${loop:+ $loop}"; done
((kernel)) && rows kernel - "kernel XFS"

# The floor: the same lgetxattr loop against the floor server and an xfsfuse file, alternating.
floor_us=() ours_us=()
load=$(load1)
for ((i = 0; i < runs; i++)); do
  do_mount floor
  floor_us+=("$("$gxloop" "$mnt/f" "$floor_calls" | awk '{print $1}')")
  do_umount
  do_mount fuse "${mode_list[0]}"
  f=$(find "$mnt$dir" -maxdepth 1 -type f -print -quit)
  ours_us+=("$("$gxloop" "$f" "$floor_calls" | awk '{print $1}')")
  do_umount
done
fl=$(printf '%s\n' "${floor_us[@]}" | median)
ours=$(printf '%s\n' "${ours_us[@]}" | median)
echo
echo "getxattr round trip (lgetxattr security.selinux, $floor_calls calls on one file, median of $runs${loop:+, loop $loop}," \
  "load $load): floor server $fl us, xfsfuse $ours us ($(awk -v a="$ours" -v b="$fl" 'BEGIN { printf "%+.0f%%", (a / b - 1) * 100 }'))"
if [[ -n $kernel_ls_warm ]]; then
  do_mount kernel
  entries=$(find "$mnt$dir" -mindepth 1 -maxdepth 1 | wc -l)
  do_umount
  echo "warm ls -l target: 1.2 x (kernel warm $kernel_ls_warm ms + $entries x $fl us) =" \
    "$(awk -v k="$kernel_ls_warm" -v n="$entries" -v f="$fl" 'BEGIN { printf "%.0f", 1.2 * (k + n * f / 1000) }') ms"
fi
((root)) || echo "(not root: page cache not dropped, so 'cold' is only xfsfuse's own cache)"
((kernel)) || echo "(no kernel rows: needs root, loop devices and XFS in the kernel)"
