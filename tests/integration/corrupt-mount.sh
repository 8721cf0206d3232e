#!/usr/bin/env bash
# corrupt-mount.sh XFSFUSE - a corrupted demo image through a live xfsfuse mount.
#
# Builds the demo image (images/make-image), corrupts three structures with
# byte flips found through xfs_db, mounts it and checks that each call that
# meets a corrupt structure fails with EUCLEAN ("Structure needs cleaning"),
# that the daemon logs one line naming the structure and its daddr, and that
# everything else keeps working on the same mount:
#   - a byte inside /block's directory data block  -> ls /block fails
#   - a byte inside /README's inode                -> stat /README fails
#   - a byte inside a bmbt block of /node          -> /node fails
# Needs /dev/fuse and fusermount3 (or root): otherwise prints SKIP and exits 77.
# Exit codes: 0 passed, 1 a check failed ("FAIL: ..."), 2 usage, 77 skipped.
set -uo pipefail
export LC_ALL=C

(($# == 1)) || { echo "usage: corrupt-mount.sh XFSFUSE" >&2; exit 2; }
xfsfuse=$(realpath "$1")
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/../.." && pwd)

[[ -c /dev/fuse ]] || { echo "SKIP: no /dev/fuse"; exit 77; }
command -v fusermount3 >/dev/null || { echo "SKIP: fusermount3 not installed (Debian package fuse3)"; exit 77; }

work=$(mktemp -d /tmp/xfsfuse-corrupt-XXXXXX)
mnt=$work/mnt
mkdir "$mnt"
cleanup() {
  mountpoint -q "$mnt" && { fusermount3 -u "$mnt" 2>/dev/null || umount -l "$mnt"; }
  rm -rf "$work"
}
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

img=$work/demo.img
"$src/images/make-image" demo "$img" >/dev/null || { echo "FAIL: make-image demo"; exit 1; }

offset_of() {  # xfs_db commands... -> byte offset of the last object on xfs_db's stack
  xfs_db -r "${@/#/-c}" -c stack "$img" | sed -n 's/.*byte offset \([0-9]*\).*/\1/p' | tail -1
}
flip() {  # byte offset: xor one byte with 0x20
  local off=$1 b
  b=$(od -An -tu1 -j "$off" -N1 "$img" | tr -d ' ')
  printf "$(printf '\\%03o' $((b ^ 0x20)))" | dd of="$img" bs=1 seek="$off" conv=notrunc status=none
}

block_off=$(offset_of "path /block" "dblock 0")
readme_off=$(offset_of "path /README")
bmbt_off=$(offset_of "path /node" "addr u3.bmbt.ptrs[1]")
[[ -n $block_off && -n $readme_off && -n $bmbt_off ]] || { echo "FAIL: xfs_db did not locate the structures"; exit 1; }
flip $((block_off + 300))  # inside the entries: the block's CRC no longer matches
flip $((readme_off + 40))  # inside di_size
flip $((bmbt_off + 100))   # inside the bmbt leaf's records

log=$work/xfsfuse.log
"$xfsfuse" "$img" "$mnt" -o ro -f 2>"$log" &
for _ in $(seq 100); do mountpoint -q "$mnt" && break; sleep 0.1; done
mountpoint -q "$mnt" || { cat "$log"; echo "FAIL: the mount did not come up"; exit 1; }

expect_euclean() {  # description command...
  local what=$1 out
  shift
  if out=$("$@" 2>&1); then
    fail "$what succeeded on a corrupt structure"
  elif [[ $out != *"Structure needs cleaning"* ]]; then
    fail "$what: expected 'Structure needs cleaning', got: $out"
  fi
}
expect_ok() {
  local what=$1
  shift
  "$@" >/dev/null 2>&1 || fail "$what failed on the corrupted mount"
}

for round in 1 2; do  # twice: a remembered corruption must fail the same way
  expect_euclean "ls /block (round $round)" ls "$mnt/block"
  expect_euclean "stat /README (round $round)" stat "$mnt/README"
  expect_euclean "ls /node (round $round)" ls "$mnt/node"
done
expect_ok "stat /block" stat "$mnt/block"
ls "$mnt" | grep -qx README || fail "ls / does not list README (its name is intact)"
expect_ok "find /sf /deep /devs /links" find "$mnt/sf" "$mnt/deep" "$mnt/devs" "$mnt/links"
expect_ok "ls -l /leaf" ls -l "$mnt/leaf"
while IFS=$'\t' read -r path type _ _ _ _ _ _ sha1; do
  [[ $type == reg && $path == /files/* ]] || continue
  [[ $(sha1sum <"$mnt$path" | cut -d' ' -f1) == "$sha1" ]] || fail "content of $path"
done <"$img.manifest"
mountpoint -q "$mnt" || fail "the mount went away"

fusermount3 -u "$mnt"
wait
for what in "dir3 data\|dir3 block\|dir block" "inode at daddr" "bmbt block at daddr"; do
  grep -q "metadata corruption: .*\($what\)" "$log" || fail "no log line for $what in: $(cat "$log")"
done
bad=$(grep -c "metadata corruption" "$log")
((bad >= 3)) || fail "expected a log line per corrupt structure, got $bad"
grep -v "metadata corruption" "$log" | grep -qi "error\|abort\|sanitizer" && fail "unexpected daemon output: $(cat "$log")"

# In the background (no -f) the log lines go to syslog.  With no syslog
# daemon here, a listener stands in for one at /dev/log.
if [[ -e /dev/log ]] || (($(id -u) != 0)) || ! command -v python3 >/dev/null; then
  echo "SKIP (background logging check): needs root, python3 and no /dev/log of a running syslog"
else
  python3 "$here/devlog-listener.py" 5 "$work/syslog" &
  listener=$!
  for _ in $(seq 50); do [[ -S /dev/log ]] && break; sleep 0.1; done
  "$xfsfuse" "$img" "$mnt" -o ro || fail "background mount"
  stat "$mnt/README" >/dev/null 2>&1 && fail "stat /README succeeded in the background mount"
  fusermount3 -u "$mnt"
  wait "$listener"
  grep -q "xfsfuse\[[0-9]*\]: xfsfuse: metadata corruption: inode at daddr" "$work/syslog" ||
    fail "a background mount did not send the corruption line to syslog: $(cat "$work/syslog")"
fi

((fails == 0)) && echo "corrupt-mount: all checks passed" || exit 1
