#!/usr/bin/env bash
# bench/dirstress.sh - directory-heavy metadata calls side by side: xfstests generic/011's three
# dirstress runs and one 100,000-entry create-only directory, by xfsfuse-dirstress, on the
# kernel's XFS (loop mount), xfsfuse -o rw, fuse2fs on ext4 and tmpfs.
#
#   bench/dirstress.sh [--runs N] [--dir DIR] [--xfsfuse BIN] [--dirstress BIN] [--only LIST]
#                      [--timeout SECONDS]
#
#   --runs N        fresh images and runs per filesystem; the table shows medians (default 3)
#   --dir DIR       where the images go (default $TMPDIR or /tmp)
#   --xfsfuse BIN   the driver (default build/fs/fuse/xfsfuse)
#   --dirstress BIN the load (default build/tools/xfsfuse-dirstress)
#   --only LIST     some of kernel,xfsfuse,fuse2fs,tmpfs (default all four)
#   --timeout S     a load still running after S seconds is killed and shown as "> S s"
#                   (default 60: fuse2fs looks names up linearly, 20,000 creates in one directory
#                   took it 28 s here, so 100,000 would take about 10 minutes a run)
#
# Each run, each filesystem gets a fresh 4 GiB sparse image (both XFS peers: mkfs.xfs -n
# size=65536, 64 KiB directory blocks as generic/011 gets them; ext4: mkfs.ext4 defaults; tmpfs: a
# new mount), mounted once; in it, each in a fresh directory, with the fixed seed 1:
#   xfsfuse-dirstress -p 1 -n 1 -f 1000        one worker                  (generic/011's three)
#   xfsfuse-dirstress -p 5 -n 1 -f 1000        five workers, own directories
#   xfsfuse-dirstress -p 5 -n 5 -f 1000        five workers in one directory
#   xfsfuse-dirstress -p 1 -n 1 -f 100000 -c -C  100,000 creates in one directory, any failure fatal
# The time is the tool's own "seconds" (its --json): first worker's start to last worker's end.
# Mount, unmount and write-back are not in it, so a FUSE daemon's unwritten metadata costs it
# nothing here (bench/tree.sh times those). The filesystems take turns within each run, so a
# change of the machine's load falls on all of them. After the unmount, an XFS image must pass
# xfs_repair -n and an ext4 image e2fsck -fn (not timed).
# A load the timeout killed leaves its entries; the next load and the checks go on.
# Needs root. Prints one Markdown table (seconds, × the kernel's). Exit: 0 done, 1 a mount, a run
# or a check failed (the table still printed; not after a failed unmount, which stops it), 2 usage.
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
runs=3 dir=${TMPDIR:-/tmp} xfsfuse=$here/build/fs/fuse/xfsfuse xopts='' only=kernel,xfsfuse,fuse2fs,tmpfs
dirstress=$here/build/tools/xfsfuse-dirstress limit=60
usage() { sed -n '2,33p' "$0" >&2; exit 2; }
while (($#)); do
  case $1 in
    --runs) runs=${2:-}; shift 2 || usage ;;
    --dir) dir=${2:-}; shift 2 || usage ;;
    --xfsfuse) xfsfuse=${2:-}; shift 2 || usage ;;
    --dirstress) dirstress=${2:-}; shift 2 || usage ;;
    --only) only=${2:-}; shift 2 || usage ;;
    --timeout) limit=${2:-}; shift 2 || usage ;;
    *) usage ;;
  esac
done
[[ $runs =~ ^[1-9][0-9]*$ && $limit =~ ^[1-9][0-9]*$ && -d $dir ]] || usage
[[ $(id -u) == 0 ]] || { echo "dirstress.sh: needs root (loop and tmpfs mounts)" >&2; exit 1; }
[[ -x $dirstress ]] || { echo "dirstress.sh: $dirstress is not built" >&2; exit 1; }

# The loads, one per table row: dirstress's options after -d DIR -s 1 --json FILE.
loads=("-p 1 -n 1 -f 1000" "-p 5 -n 1 -f 1000" "-p 5 -n 5 -f 1000" "-p 1 -n 1 -f 100000 -c -C")

mkfs_xfs_opts=(-n size=65536)
# shellcheck source=bench/lib/peers.sh
source "$here/bench/lib/peers.sh"
peers_begin dirstress-bench 4G dirstress.sh
status=0

# fail KIND WHY: the run of KIND is not counted; the first reason is kept for the notes.
fail() { why_not[$1]=${why_not[$1]:-$2}; status=1; echo "dirstress.sh: $1: $2" >&2; }

# seconds_ops JSON: prints "seconds ops" from a dirstress --json file.
seconds_ops() {
  python3 -c 'import json, sys; j = json.load(open(sys.argv[1])); print(j["seconds"], j["ops"])' "$1"
}

# check KIND: the unmounted image passes its fsck (tmpfs: nothing to check).
check() {
  case $1 in
    tmpfs) return 0 ;;
    fuse2fs) e2fsck -fn "$img" >"$work/fsck.log" 2>&1 ;;
    *) xfs_repair -n "$img" >"$work/fsck.log" 2>&1 ;;
  esac
}

# one_run KIND: on a fresh image, every load in its own directory; appends one line
# "s1 ops1 s2 ops2 ..." to $work/KIND.runs, or nothing (with fail) if any step failed. A load
# the timeout killed counts as the limit, 0 calls, and touches $work/KIND.timeout.ROW.
one_run() {
  local kind=$1 i line='' d out rc
  make_image "$kind" || { fail "$kind" "mkfs failed"; return 0; }
  do_mount "$kind" || { fail "$kind" "did not mount"; return 0; }
  for i in "${!loads[@]}"; do
    mountpoint -q "$mnt" || { fail "$kind" "not mounted any more before load $((i + 1))"; break; }
    d=$mnt/load$((i + 1))
    mkdir "$d"
    rc=0
    # shellcheck disable=SC2086 # the load's options are words
    timeout "$limit" "$dirstress" -d "$d" -s 1 --json "$work/out.json" ${loads[i]} \
      >"$work/dirstress.log" 2>&1 || rc=$?
    if ((rc == 124)); then
      touch "$work/$kind.timeout.$i"
      line+="${line:+ }$limit 0"
      continue
    elif ((rc != 0)); then
      fail "$kind" "xfsfuse-dirstress ${loads[i]} exited $rc: $(tail -1 "$work/dirstress.log")"
      line=''
      break
    fi
    out=$(seconds_ops "$work/out.json")
    line+="${line:+ }$out"
  done
  do_umount || { fail "$kind" "the unmount failed; stopping"; exit 1; }
  check "$kind" || { fail "$kind" "fsck of the image failed: $(grep -m1 -iv '^phase\|^ *-' "$work/fsck.log")"; return 0; }
  [[ -z $line ]] || echo "$line" >>"$work/$kind.runs"
}

kinds=()
for k in kernel xfsfuse fuse2fs tmpfs; do
  [[ ,$only, == *,$k,* ]] || continue
  if available "$k"; then kinds+=("$k"); else status=1; fi
done
run_rounds "$runs" "${kinds[@]}"

fmt_s() { awk -v s="$1" 'BEGIN { printf (s < 1 ? "%.3f s" : s < 10 ? "%.2f s" : "%.1f s"), s }'; }
cell() { # KIND ROW (0-based)
  local f=$work/$1.runs s ref
  [[ -f $f ]] || { echo "-"; return; }
  s=$(median $((2 * $2 + 1)) "$f")
  if [[ -f $work/$1.timeout.$2 ]] && awk -v s="$s" -v l="$limit" 'BEGIN { exit !(s >= l) }'; then
    echo "> $limit s (killed)"
    return
  fi
  if [[ $1 != kernel && -f $work/kernel.runs ]]; then
    ref=$(median $((2 * $2 + 1)) "$work/kernel.runs")
    echo "$(fmt_s "$s") ($(awk -v a="$s" -v b="$ref" 'BEGIN { printf "%.1f", a / b }')×)"
  else
    fmt_s "$s"
  fi
}
calls() { # ROW: the calls made, over every run of every filesystem ("a–b" if they differ)
  local c=$((2 * $1 + 2))
  cat "$work"/*.runs 2>/dev/null | awk -v c="$c" '
    $c == 0 { next }  # killed by the timeout
    !n++ || $c < lo { lo = $c } $c > hi { hi = $c }
    END { if (!n) print "?"; else if (lo == hi) printf "%d", lo; else printf "%d–%d", lo, hi }'
}
where=$(df --output=fstype,source "$work" | tail -1 | awk '{ print $1 " on " $2 }')
echo
echo "xfsfuse-dirstress -s 1, median of $runs runs, each on a fresh 4 GiB sparse image in $dir ($where),"
echo "XFS made with -n size=65536; $(uname -r), $(nproc) CPUs. The tool's own seconds (see bench/dirstress.sh)."
echo
hdr="| run |" sep="|---|"
for k in "${kinds[@]}"; do hdr+=" $(title "$k") |"; sep+="---:|"; done
echo "$hdr"
echo "$sep"
for i in "${!loads[@]}"; do
  out="| \`${loads[i]}\` ($(calls "$i") calls) |"
  for k in "${kinds[@]}"; do out+=" $(cell "$k" "$i") |"; done
  echo "$out"
done
echo
for k in kernel xfsfuse fuse2fs tmpfs; do
  [[ ,$only, == *,$k,* ]] || continue
  if [[ ! -f $work/$k.runs ]]; then
    echo "$(title "$k"): ${why_not[$k]:-not measured}"
  elif [[ -n ${why_not[$k]:-} ]]; then
    echo "$(title "$k"): $(wc -l <"$work/$k.runs") of $runs runs counted; $k: ${why_not[$k]}"
  fi
done
exit "$status"
