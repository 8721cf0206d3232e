#!/usr/bin/env bash
# tests/integration/offset.sh XFSFUSE - a filesystem inside a disk image: `-o offset=,sizelimit=`
# mounts the XFS that starts 1 MiB into a file (a partition), reads and writes it, and the
# partition cut out afterwards is clean for xfs_repair -n and shows the kernel the same files;
# offsets past the end and bad numbers are refused with one line. A block device (a loop device
# over the partition) mounted by root is a fuseblk mount.
# Exit: 0 pass, 1 fail, 77 skip (not root, no /dev/fuse, no xfsprogs).
set -uo pipefail
export LC_ALL=C
xfsfuse=$(realpath "$1")
[[ $(id -u) == 0 && -c /dev/fuse ]] || { echo "SKIP: needs root and /dev/fuse"; exit 77; }
command -v mkfs.xfs >/dev/null && command -v xfs_repair >/dev/null || { echo "SKIP: xfsprogs is not installed"; exit 77; }
work=$(mktemp -d /tmp/xfsfuse-offset.XXXXXX)
mnt=$work/mnt
cleanup() {
  if findmnt -rn -M "$mnt" >/dev/null 2>&1; then umount "$mnt" || umount -l "$mnt"; fi
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$mnt"
fail() { echo "FAIL: $*"; exit 1; }
wait_gone() { # the daemon of $work/disk.img has exited (it writes back first)
  local i
  for ((i = 0; i < 200; i++)); do pgrep -f -- "$work/disk.img" >/dev/null || return 0; sleep 0.1; done
  fail "the daemon did not exit after umount"
}

part=$((320 << 20)) off=$((1 << 20))
truncate -s "$part" "$work/part.img" && mkfs.xfs -q "$work/part.img"
truncate -s "$off" "$work/disk.img" && cat "$work/part.img" >>"$work/disk.img" && truncate -s +1M "$work/disk.img"
"$xfsfuse" "$work/disk.img" "$mnt" -o "offset=$off,sizelimit=$part" || fail "mount with offset= and sizelimit= exited $?"
echo hello >"$mnt/hello" && mkdir "$mnt/d" && seq 1 100000 >"$mnt/d/numbers" || fail "writing through the offset mount"
umount "$mnt" && wait_gone
dd if="$work/disk.img" of="$work/cut.img" bs=1M skip=1 count=320 status=none
xfs_repair -n "$work/cut.img" >"$work/repair.log" 2>&1 || { cat "$work/repair.log"; fail "xfs_repair -n on the partition"; }
if grep -qw xfs /proc/filesystems || modprobe xfs 2>/dev/null; then
  mount -o loop,ro "$work/cut.img" "$mnt" || fail "the kernel does not mount the partition"
  [[ $(cat "$mnt/hello") == hello && $(seq 1 100000 | cmp - "$mnt/d/numbers" && echo same) == same ]] ||
    fail "the kernel sees other contents"
  umount "$mnt"
fi
"$xfsfuse" "$work/disk.img" "$mnt" -o ro,offset=$off || fail "offset= alone exited $?"
[[ $(cat "$mnt/hello") == hello ]] || fail "offset= alone: the file is not there"
umount "$mnt" && wait_gone

if loop=$(losetup -f --show "$work/cut.img" 2>/dev/null); then
  "$xfsfuse" "$loop" "$mnt" -o ro || { losetup -d "$loop"; fail "mounting the block device $loop exited $?"; }
  type=$(findmnt -n -o FSTYPE -M "$mnt")
  [[ $(cat "$mnt/hello") == hello ]] || fail "the block device mount lacks the file"
  umount "$mnt"
  for ((i = 0; i < 200; i++)); do pgrep -f -- "$loop" >/dev/null || break; sleep 0.1; done
  losetup -d "$loop"
  [[ $type == fuseblk.xfsfuse ]] || fail "a block device mounted by root is type $type, want fuseblk.xfsfuse"
else
  echo "SKIP (partly): no free loop device for the fuseblk case"
fi
out=$("$xfsfuse" "$work/disk.img" "$mnt" -o offset=$((1 << 40)) 2>&1) && fail "an offset past the end mounted"
[[ $out == "xfsfuse: $work/disk.img: offset 1099511627776 reaches past the image's $((part + off + (1 << 20))) bytes" ]] ||
  fail "offset past the end said: $out"
out=$("$xfsfuse" "$work/disk.img" "$mnt" -o sizelimit=0 2>&1) && fail "sizelimit=0 mounted"
[[ $out == "xfsfuse: sizelimit=0: want a number of bytes" ]] || fail "sizelimit=0 said: $out"
out=$("$xfsfuse" "$work/disk.img" "$mnt" -o offset=0 2>&1) && { umount "$mnt"; fail "offset=0 of a disk image mounted"; }
[[ $out == *"not a usable XFS v5 filesystem"* ]] || fail "offset=0 of a disk image said: $out"
echo PASS
