# shellcheck shell=bash
# bench/lib/peers.sh - the filesystems the write benchmarks compare, one at a time on one image
# path: the kernel's XFS (loop mount), fuse2fs on ext4, xfsfuse -o rw,noio_uring (/dev/fuse) and
# (kind xfsfuse-uring) xfsfuse -o rw,io_uring; and tmpfs (no image), a floor for the metadata
# benchmarks.
# Sourced by bench/write.sh, bench/tree.sh, bench/dirstress.sh and bench/beside_fsync.sh. The
# caller calls peers_begin (or sets img mnt work size prog itself) and sets:
#   xfsfuse xopts  the driver and extra -o options after rw (may be empty)
#   mkfs_xfs_opts  extra mkfs.xfs options (an array, may be empty), e.g. (-n size=65536)
# and gets make_image KIND, do_mount KIND, do_umount, available KIND (fills why_not[KIND]),
# peers_cleanup (for the EXIT trap), median COLUMN FILE, title KIND, and run_rounds RUNS KIND...
# (which calls the caller's one_run KIND).

# peers_begin TAG SIZE PROG: makes the scratch directory $dir/xfsfuse-TAG.XXXXXX (the caller's
# --dir) and sets work, img, mnt, size and prog for the functions below; it all goes at exit.
peers_begin() {
  work=$(mktemp -d "$dir/xfsfuse-$1.XXXXXX")
  img=$work/image mnt=$work/mnt size=$2 prog=$3
  mkdir -p "$mnt"
  trap peers_cleanup EXIT
}

# xfsfuse_opts KIND: the -o options an xfsfuse kind mounts with (xfsfuse names noio_uring: it
# would use the rings whenever enable_uring is Y).
xfsfuse_opts() {
  local o=rw,noio_uring
  [[ $1 != xfsfuse-uring ]] || o=rw,io_uring
  echo "$o${xopts:+,$xopts}"
}

daemon=
declare -A why_not   # kind -> why its column is empty
# shellcheck source=scripts/fuse-uring.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/fuse-uring.sh"

make_image() { # KIND: a fresh image, mkfs defaults (tmpfs: none, it starts empty)
  rm -f "$img"
  case $1 in
    tmpfs) return ;;
    fuse2fs) truncate -s "$size" "$img" && mkfs.ext4 -q -F "$img" ;;
    *) truncate -s "$size" "$img" && mkfs.xfs -q -f "${mkfs_xfs_opts[@]}" "$img" ;;
  esac
}
# do_mount KIND: mounts $img at $mnt; a FUSE daemon runs in the foreground as a job of the caller
# (so the unmount can wait for it to write everything back and exit).
do_mount() {
  local i
  case $1 in
    kernel) mount -t xfs -o loop "$img" "$mnt"; return ;;
    tmpfs) mount -t tmpfs -o "size=$size" tmpfs "$mnt"; return ;;
    fuse2fs) fuse2fs "$img" "$mnt" -f >>"$work/daemon.log" 2>&1 & ;;
    xfsfuse | xfsfuse-uring) "$xfsfuse" "$img" "$mnt" -f -o "$(xfsfuse_opts "$1")" 2>>"$work/daemon.log" & ;;
  esac
  daemon=$!
  # Polled every 10 ms (up to 30 s): the wait is inside the timed steps, and a coarser poll
  # would add up to its interval to every FUSE peer's time (a mount takes ~10 ms).
  for ((i = 0; i < 3000; i++)); do
    findmnt -rn -M "$mnt" >/dev/null && return 0
    kill -0 "$daemon" 2>/dev/null || break
    sleep 0.01
  done
  wait "$daemon" 2>/dev/null || true
  daemon=
  return 1
}
# do_umount: unmounts $mnt, retrying for up to 10 s while it is busy (a process killed in the
# mount may still be exiting), and waits for the FUSE daemon; 1 if either fails.
do_umount() {
  local i
  for ((i = 0; i < 50; i++)); do
    umount "$mnt" 2>/dev/null && break
    sleep 0.2
  done
  if ((i == 50)); then umount "$mnt" || return 1; fi
  if [[ -n $daemon ]]; then wait "$daemon" || { echo "$prog: the FUSE daemon exited $?" >&2; return 1; }; fi
  daemon=
}
peers_cleanup() {
  fuse_uring_restore
  if findmnt -rn -M "$mnt" >/dev/null 2>&1; then umount "$mnt" 2>/dev/null || umount -l "$mnt"; fi
  [[ -z $daemon ]] || wait "$daemon" 2>/dev/null || true
  rm -rf "$work"
}
available() { # KIND: 0 if it can run here, else sets why_not[KIND]
  local out
  case $1 in
    kernel) grep -qw xfs /proc/filesystems || modprobe xfs 2>/dev/null || { why_not[kernel]="no XFS in the kernel"; return 1; } ;;
    fuse2fs)
      if ! command -v fuse2fs >/dev/null; then
        { apt-get install -y -qq fuse2fs || { apt-get update -qq && apt-get install -y -qq fuse2fs; }; } >"$work/apt.log" 2>&1 ||
          { why_not[fuse2fs]="fuse2fs is not installed and apt-get install fuse2fs failed"; return 1; }
      fi ;;
    xfsfuse | xfsfuse-uring)
      [[ -x $xfsfuse ]] || { why_not[$1]="$xfsfuse is not built"; return 1; }
      # -o io_uring: the kernel offers FUSE over io_uring only with the fuse module's enable_uring
      # set (docs/fuse-io-uring.md); set for the run, put back at exit.
      if [[ ,$(xfsfuse_opts "$1"), == *,io_uring,* ]]; then
        fuse_uring_available || { why_not[$1]="-o io_uring: the kernel has no FUSE over io_uring"; return 1; }
        fuse_uring_set Y
      fi
      make_image "$1"
      if ! do_mount "$1"; then
        out=$(tail -1 "$work/daemon.log")
        why_not[$1]="skipped: ${out:-xfsfuse did not mount -o $(xfsfuse_opts "$1")}"
        return 1
      fi
      do_umount ;;
  esac
}
# run_rounds RUNS KIND...: one_run KIND for each KIND in turn, RUNS rounds (run 1 of every
# filesystem, then run 2...): this host's speed drifts by a quarter within half an hour, and runs
# made one filesystem after the other would carry that drift into the ratios.
run_rounds() {
  local runs=$1 r k
  shift
  for ((r = 1; r <= runs; r++)); do
    for k in "$@"; do
      echo "$prog: $k run $r of $runs" >&2
      one_run "$k"
    done
  done
}

median() { # COLUMN FILE
  awk -v c="$1" '{ print $c }' "$2" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
title() { # KIND: its column's heading
  case $1 in
    kernel) echo "kernel XFS (loop)" ;;
    fuse2fs) echo "fuse2fs $(dpkg-query -W -f '${Version}' fuse2fs 2>/dev/null) (ext4)" ;;
    xfsfuse | xfsfuse-uring) echo "xfsfuse -o $(xfsfuse_opts "$1")" ;;
    tmpfs) echo "tmpfs" ;;
  esac
}
