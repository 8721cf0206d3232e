#!/usr/bin/env bash
# bench/tree.sh - copying and removing whole trees side by side: the kernel's XFS (loop mount),
# fuse2fs on ext4, xfsfuse -o rw,noio_uring (/dev/fuse) and xfsfuse -o rw,io_uring (FUSE over
# io_uring; the fuse module's enable_uring is set to Y for the run and put back), each on a fresh
# image in the same directory.
#
#   bench/tree.sh [--runs N] [--dir DIR] [--xfsfuse BIN] [--xfsfuse-options OPTS] [--only LIST]
#                 [--small DIR] [--large DIR] [--dirblock BYTES]
#
#   --runs N      fresh images and runs per filesystem, in rounds (run 1 of every filesystem, then
#                 run 2...); the table shows medians (default 3)
#   --dir DIR     where the images go (default $TMPDIR or /tmp)
#   --xfsfuse BIN the driver (default build/fs/fuse/xfsfuse)
#   --xfsfuse-options OPTS  more -o options for xfsfuse after rw
#   --only LIST   some of kernel,fuse2fs,xfsfuse,xfsfuse-uring (default all four)
#   --small DIR   the tree of small files (default /usr/include)
#   --large DIR   the data-heavy tree (default /usr/lib/x86_64-linux-gnu)
#   --dirblock B  XFS directory block size for both XFS peers (mkfs.xfs -n size=B; default mkfs's 4096)
#
# Each run, on a 4 GiB sparse image (mkfs defaults), the source trees read once beforehand so
# they come from the page cache:
#   cp small    mount; cp -a SMALL into it; sync; unmount; sync     (all timed together)
#   cp large    mount; cp -a LARGE into it; sync; unmount; sync
#   rm small    mount; rm -rf the copy of SMALL; sync; unmount; sync
#   rm large    mount; rm -rf the copy of LARGE; sync; unmount; sync
# The unmount is inside the time because sync(1) does not reach a FUSE daemon (FUSE sends no
# SYNCFS to such servers): only the unmount makes xfsfuse and fuse2fs write everything back, as
# sync makes the kernel; the last sync puts the image file itself on the disk for every peer.
# A copy must come out equal to its source (diff -r, not timed).
# Needs root. Prints one Markdown table (ms). Exit: 0 done, 1 a mount or step failed, 2 usage.
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
runs=3 dir=${TMPDIR:-/tmp} xfsfuse=$here/build/fs/fuse/xfsfuse xopts='' only=kernel,fuse2fs,xfsfuse,xfsfuse-uring
small=/usr/include large=/usr/lib/x86_64-linux-gnu mkfs_xfs_opts=()
usage() { sed -n '2,29p' "$0" >&2; exit 2; }
while (($#)); do
  case $1 in
    --runs) runs=${2:-}; shift 2 || usage ;;
    --dir) dir=${2:-}; shift 2 || usage ;;
    --xfsfuse) xfsfuse=${2:-}; shift 2 || usage ;;
    --only) only=${2:-}; shift 2 || usage ;;
    --xfsfuse-options) xopts=${2:-}; shift 2 || usage ;;
    --small) small=${2:-}; shift 2 || usage ;;
    --large) large=${2:-}; shift 2 || usage ;;
    --dirblock) mkfs_xfs_opts=(-n "size=${2:-}"); shift 2 || usage ;;
    *) usage ;;
  esac
done
[[ $runs =~ ^[1-9][0-9]*$ && -d $small && -d $large ]] || usage
[[ $(id -u) == 0 ]] || { echo "tree.sh: needs root (loop mounts)" >&2; exit 1; }

# shellcheck source=bench/lib/peers.sh
source "$here/bench/lib/peers.sh"
peers_begin tree-bench 4G tree.sh

now_ns() { date +%s%N; }
# timed KIND CMD...: mount, CMD, sync, unmount; prints the milliseconds.
timed() {
  local kind=$1 t0 t1
  shift
  t0=$(now_ns)
  do_mount "$kind" || { echo "tree.sh: $kind did not mount" >&2; return 1; }
  "$@"
  sync
  do_umount
  sync  # the FUSE daemons' writes to the image file, still in this host's page cache
  t1=$(now_ns)
  echo $(((t1 - t0) / 1000000))
}
# verify KIND: the copies equal their sources (mounted again, not timed); else 1 with
# why_not[KIND] set (cp's first error, or diff's first line).
verify() {
  do_mount "$1" || { why_not[$1]="did not mount again"; return 1; }
  if ! diff -r --no-dereference "$small" "$mnt/small" >"$work/diff.log" 2>&1 ||
    ! diff -r --no-dereference "$large" "$mnt/large" >>"$work/diff.log" 2>&1; then
    why_not[$1]="the copy differs from its source: $(head -1 "$work/cp.err" 2>/dev/null || head -1 "$work/diff.log")"
    do_umount
    return 1
  fi
  do_umount
}

# one_run KIND: appends "cp_small cp_large rm_small rm_large" (ms) to $work/KIND.runs.
one_run() {
  local kind=$1 a b c d
  make_image "$kind"
  rm -f "$work/cp.err"
  a=$(timed "$kind" cp -a "$small" "$mnt/small" 2>>"$work/cp.err") || true
  b=$(timed "$kind" cp -a "$large" "$mnt/large" 2>>"$work/cp.err") || true
  [[ -s $work/cp.err ]] || rm -f "$work/cp.err"
  verify "$kind" || return 0
  c=$(timed "$kind" rm -rf "$mnt/small")
  d=$(timed "$kind" rm -rf "$mnt/large")
  echo "$a $b $c $d" >>"$work/$kind.runs"
}

tar cf - "$small" "$large" 2>/dev/null | cat >/dev/null
kinds=() ready=()
for k in kernel fuse2fs xfsfuse xfsfuse-uring; do
  [[ ,$only, == *,$k,* ]] || continue
  kinds+=("$k")
  if available "$k"; then ready+=("$k"); fi
done
run_rounds "$runs" "${ready[@]}"

files() { find "$1" | wc -l; }
cell() { # KIND COLUMN
  local f=$work/$1.runs ms ref
  [[ -f $f ]] || { echo "-"; return; }
  ms=$(median "$2" "$f")
  if [[ $1 != kernel && -f $work/kernel.runs ]]; then
    ref=$(median "$2" "$work/kernel.runs")
    echo "$ms ms ($(awk -v a="$ms" -v b="$ref" 'BEGIN { printf "%.1f", a / b }')×)"
  else
    echo "$ms ms"
  fi
}
where=$(df --output=fstype,source "$work" | tail -1 | awk '{ print $1 " on " $2 }')
echo
echo "Trees, median of $runs runs, each on a fresh 4 GiB sparse image in $dir ($where)${mkfs_xfs_opts[*]:+, XFS made with ${mkfs_xfs_opts[*]}};"
echo "$(uname -r), $(nproc) CPUs. Each time includes mount, sync and unmount (see bench/tree.sh)."
echo
row() { local k out="| $1 |"; for k in "${kinds[@]}"; do out+=" $(cell "$k" "$2") |"; done; echo "$out"; }
hdr="| |" sep="|---|"
for k in "${kinds[@]}"; do hdr+=" $(title "$k") |"; sep+="---:|"; done
echo "$hdr"
echo "$sep"
row "cp -a $small ($(files "$small") entries, $(du -sh "$small" | cut -f1))" 1
row "cp -a $large ($(files "$large") entries, $(du -sh "$large" | cut -f1))" 2
row "rm -rf the copy of $small" 3
row "rm -rf the copy of $large" 4
echo
for k in "${kinds[@]}"; do
  [[ -f $work/$k.runs ]] || echo "$(title "$k"): ${why_not[$k]:-not measured}"
done
