#!/usr/bin/env bash
# bench/fsck.sh - xfsfuse-fsck against xfs_repair -n on the same images: wall time and peak RSS
# (GNU time's "Maximum resident set size"), in memory and with --scratch --mem-limit 64.
#
#   bench/fsck.sh [--runs N] [--fsck BIN] IMAGE...
#
#   --runs N     repetitions of each measurement; the median is printed (default 3)
#   --fsck BIN   the checker (default build/tools/fsck/xfsfuse-fsck)
#
# Images of the sizes the issue names: build/tests/images/bigdir.img (100,000 files) and
# `images/make-image churn /tmp/churn1m.img 1000000` (1,000,000 inodes in one directory).
# Every run starts with `echo 3 > /proc/sys/vm/drop_caches` when root (cold page cache), else
# the table says "page cache warm". Prints a Markdown table. Exit: 0 done, 1 a checker did not
# say clean (exit status other than 0), 2 usage.
set -euo pipefail
export LC_ALL=C
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
runs=3
fsck=$here/build/tools/fsck/xfsfuse-fsck
usage() { sed -n '2,16p' "$0" >&2; exit 2; }
while (($#)); do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --fsck) fsck=$2; shift 2 ;;
    -h|--help) usage ;;
    -*) usage ;;
    *) break ;;
  esac
done
(($# >= 1)) || usage
[[ $runs =~ ^[1-9][0-9]*$ ]] || usage
root=0
[[ $(id -u) == 0 ]] && root=1
work=$(mktemp -d "${TMPDIR:-/tmp}/xfsfuse-fsck-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
status=0

# measure LABEL CMD...: runs CMD $runs times; prints "median_ms median_rss_mb" (RSS in MiB).
measure() {
  local i rc ms=() rss=()
  for ((i = 0; i < runs; i++)); do
    ((root)) && { sync; echo 3 >/proc/sys/vm/drop_caches; }
    rc=0
    /usr/bin/time -f '%e %M' -o "$work/time" "$@" >/dev/null 2>"$work/err" || rc=$?
    if ((rc != 0)); then
      echo "bench/fsck.sh: $* exited $rc:" >&2
      head -5 "$work/err" >&2
      status=1
    fi
    read -r s kb < <(tail -1 "$work/time")  # GNU time puts "Command exited ..." first on failure
    ms+=("$(awk -v s="$s" 'BEGIN { printf "%d", s * 1000 }')")
    rss+=("$((kb / 1024))")
  done
  printf '%s %s\n' "$(printf '%s\n' "${ms[@]}" | sort -n | sed -n "$(((runs + 1) / 2))p")" \
    "$(printf '%s\n' "${rss[@]}" | sort -n | sed -n "$(((runs + 1) / 2))p")"
}

echo "| image | inodes | checker | wall ms | peak RSS MiB |"
echo "|---|---|---|---|---|"
for img in "$@"; do
  name=$(basename "$img")
  inodes=$(xfs_db -r -c 'sb 0' -c 'p icount' "$img" | awk '{ print $3 }')
  mkdir -p "$work/scratch"
  read -r ms rss < <(measure xfs_repair -n -f "$img")
  echo "| $name | $inodes | xfs_repair -n | $ms | $rss |"
  read -r ms rss < <(measure "$fsck" -n "$img")
  echo "| $name | $inodes | xfsfuse-fsck -n | $ms | $rss |"
  read -r ms rss < <(measure "$fsck" -n --scratch "$work/scratch" --mem-limit 64 "$img")
  echo "| $name | $inodes | xfsfuse-fsck -n --scratch --mem-limit 64 | $ms | $rss |"
done
((root)) || echo "(not root: page cache warm)"
exit $status
