#!/usr/bin/env bash
# churn-sizes.sh DIR FILES... - images/make-image churn builds an image of each size, xfs_repair -n
# calls it clean, and its superblock counts FILES + 4 inodes in use (the files, / and /d, and the
# realtime bitmap and summary inodes mkfs always makes). Sizes between 100,000 and 300,000 files once failed in mkfs.xfs -p with ENOSPC
# (images/make-image sizes the image for them). The images are removed afterwards.
# Exit: 0 passed, 1 failed, 2 usage.
set -euo pipefail
(($# >= 2)) || { echo "usage: churn-sizes.sh DIR FILES..." >&2; exit 2; }
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
dir=$1
shift
failures=0
for files in "$@"; do
  img=$dir/churn-$files.img
  rc=0
  "$here/images/make-image" churn "$img" "$files" >"$img.log" 2>&1 || rc=$?
  if ((rc != 0)); then
    echo "FAIL: make-image churn $files: exit $rc: $(grep -v 'reservation exceeded' "$img.log" | tail -3)"
    failures=$((failures + 1))
  elif ! xfs_repair -n -f "$img" >/dev/null 2>&1; then
    echo "FAIL: churn $files: xfs_repair -n does not call it clean"
    failures=$((failures + 1))
  else
    icount=$(xfs_db -r -c 'sb 0' -c 'print icount ifree' "$img" | awk '/icount/ {c = $3} /ifree/ {f = $3} END {print c - f}')
    if ((icount == files + 4)); then
      echo "ok: churn $files: built, clean, $icount inodes in use"
    else
      echo "FAIL: churn $files: $icount inodes in use, expected $files + 4"
      failures=$((failures + 1))
    fi
  fi
  rm -f "$img" "$img.manifest" "$img.log"
done
((failures == 0)) || exit 1
