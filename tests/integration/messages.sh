#!/usr/bin/env bash
# tests/integration/messages.sh XFSFUSE FSCK CTL - every command-line mistake gets its own exact line
# and exit status, before anything is opened or mounted; the same for xfsfuse-fsck (fsck(8)'s
# codes: 16 usage, 8 operational), including a refusal to check an image mounted read-write
# (kernel loop mount and xfsfuse mount: root only, else those cases are skipped with a line).
# Exit: 0 pass, 1 fail, 77 skip (no mkfs.xfs).
set -uo pipefail
export LC_ALL=C
xfsfuse=$(realpath "$1") fsck=$(realpath "$2") ctl=$(realpath "$3")
make_image=$(cd "$(dirname "$0")/../.." && pwd)/images/make-image
command -v mkfs.xfs >/dev/null || { echo "SKIP: mkfs.xfs is not installed"; exit 77; }
work=$(mktemp -d /tmp/xfsfuse-messages.XXXXXX)
mnt=$work/mnt failures=0
cleanup() {
  if findmnt -rn -M "$mnt" >/dev/null 2>&1; then umount "$mnt" || umount -l "$mnt"; fi
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$mnt"
cd "$work" || exit 1
truncate -s 320M good.img && mkfs.xfs -q good.img
truncate -s 320M v4.img && mkfs.xfs -q -m crc=0 v4.img >/dev/null 2>&1
: >plain-file
mkdir -p somedir

# expect WANT_STATUS WANT_LINE CMD...: CMD's stderr+stdout must be exactly WANT_LINE.
expect() {
  local want_rc=$1 want=$2 out rc=0
  shift 2
  out=$("$@" 2>&1) || rc=$?
  if [[ $rc == "$want_rc" && $out == "$want" ]]; then
    echo "ok: $* -> $rc"
  else
    echo "FAIL: $*"
    echo "   got  ($rc): $out"
    echo "   want ($want_rc): $want"
    failures=$((failures + 1))
  fi
}

expect 1 "xfsfuse: no IMAGE and MOUNTPOINT given (usage: xfsfuse IMAGE MOUNTPOINT [-o OPTIONS]; see --help)" "$xfsfuse"
expect 1 "xfsfuse: onlyone: no MOUNTPOINT given after it (usage: xfsfuse IMAGE MOUNTPOINT [-o OPTIONS])" "$xfsfuse" onlyone
expect 1 "xfsfuse: no-such.img: No such file or directory" "$xfsfuse" no-such.img mnt
expect 1 "xfsfuse: somedir: is a directory, not an image file or block device" "$xfsfuse" somedir mnt
expect 1 "xfsfuse: mnt: is a directory, not an image file or block device (IMAGE and MOUNTPOINT swapped? the order is xfsfuse IMAGE MOUNTPOINT)" \
  "$xfsfuse" mnt good.img
expect 1 "xfsfuse: mount point no-such-dir: No such file or directory" "$xfsfuse" good.img no-such-dir
expect 1 "xfsfuse: mount point plain-file: not a directory" "$xfsfuse" good.img plain-file
expect 1 "xfsfuse: /dev/null: not an image file or block device" "$xfsfuse" /dev/null mnt
expect 1 "xfsfuse: stats_file=/nonexistent-dir/stats.json: its directory /nonexistent-dir/: No such file or directory" \
  "$xfsfuse" good.img mnt -o stats_file=/nonexistent-dir/stats.json
expect 1 "xfsfuse: $work/v4.img: not a usable XFS v5 filesystem: superblock: superblock version 4 (only v5 filesystems are supported)" \
  "$xfsfuse" v4.img mnt
expect 1 "xfsfuse: norecovery needs a read-only mount (-o ro,norecovery)" "$xfsfuse" good.img mnt -o norecovery

expect 16 "xfsfuse-fsck: want one IMAGE, got 0 arguments (usage: xfsfuse-fsck -n IMAGE; see --help)" "$fsck"
expect 16 "xfsfuse-fsck: want one IMAGE, got 2 arguments (usage: xfsfuse-fsck -n IMAGE; see --help)" "$fsck" -n a b
expect 16 "xfsfuse-fsck: unknown option --bogus (see --help)" "$fsck" --bogus good.img
expect 16 "xfsfuse-fsck: missing value for --scratch (see --help)" "$fsck" -n good.img --scratch
expect 16 "xfsfuse-fsck: --mem-limit x: want a number of MiB" "$fsck" -n --mem-limit x good.img
expect 8 "xfsfuse-fsck: repair is not implemented; run with -n to check good.img (nothing was changed)" "$fsck" good.img
expect 8 "xfsfuse-fsck: no-such.img: No such file or directory" "$fsck" -n no-such.img
expect 0 "xfsfuse-fsck: good.img: clean" "$fsck" -n good.img
out=$("$fsck" --version) && [[ $out == "xfsfuse-fsck "[0-9]*" (git "*")" ]] && echo "ok: fsck --version: $out" ||
  { echo "FAIL: fsck --version printed '$out'"; failures=$((failures + 1)); }
out=$("$xfsfuse" --version 2>&1) && [[ ${out%%$'\n'*} == "xfsfuse "[0-9]*" (git "*"), libfuse "* ]] &&
  echo "ok: xfsfuse --version: ${out%%$'\n'*}" || { echo "FAIL: xfsfuse --version printed '$out'"; failures=$((failures + 1)); }
out=$("$fsck" -n --progress good.img 2>&1 >/dev/null)
want=$'superblocks done\nags done\ninodes done\ndirectories done\nlinks done\ncounters done\nspace done\nxfsfuse-fsck: good.img: clean'
[[ $out == "$want" ]] && echo "ok: --progress prints each phase once" ||
  { echo "FAIL: --progress printed: $out"; failures=$((failures + 1)); }

expect 1 "make-image: error: good.img exists: refusing to overwrite it (--force replaces it)" "$make_image" demo good.img
expect 1 "make-image: error: somedir exists and is not a regular file: refusing to replace it" "$make_image" --force demo somedir

if [[ $(id -u) == 0 && -c /dev/fuse ]] && grep -qw xfs /proc/filesystems; then
  mount -o loop good.img "$mnt"
  expect 8 "xfsfuse-fsck: good.img contains a mounted and writable filesystem (at $mnt); unmount it, or mount it read-only, before checking" \
    "$fsck" -n good.img
  umount "$mnt"
  mount -o loop,ro good.img "$mnt"
  expect 0 "xfsfuse-fsck: good.img: clean" "$fsck" -n good.img
  umount "$mnt"
  "$xfsfuse" good.img "$mnt" || { echo "FAIL: xfsfuse good.img mnt exited $?"; failures=$((failures + 1)); }
  echo data >"$mnt/file"
  out=$("$ctl" "$mnt/file" stats 2>&1) && [[ $out == *"fuse.errors "* ]] && echo "ok: xfsfuse-ctl MNT/file stats" ||
    { echo "FAIL: xfsfuse-ctl on a regular file: $out"; failures=$((failures + 1)); }
  mkfifo "$mnt/fifo"
  expect 1 "xfsfuse-ctl: $mnt/fifo: not a directory or regular file of an xfsfuse mount" "$ctl" "$mnt/fifo" stats
  expect 8 "xfsfuse-fsck: good.img contains a mounted and writable filesystem (at $mnt); unmount it, or mount it read-only, before checking" \
    "$fsck" -n good.img
  umount "$mnt"
else
  echo "SKIP (partly): the mounted-image cases need root, /dev/fuse and XFS in the kernel"
fi
((failures == 0)) || { echo "$failures failure(s)"; exit 1; }
echo PASS
