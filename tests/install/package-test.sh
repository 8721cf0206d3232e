#!/usr/bin/env bash
# tests/install/package-test.sh BUILD_DIR - the Debian package end to end: `cpack -G DEB` from
# BUILD_DIR, its contents and dependencies, then (root only) dpkg -i on this machine, mounts
# through `mount -t xfsfuse`, `mount -t fuse.xfsfuse` and fstab lines of both types with
# `defaults` (mount -T FILE), a write that the kernel's xfs_repair -n accepts afterwards, the
# man pages and --version of the installed programs, and dpkg -r leaving none of its files.
# Exit: 0 pass, 1 fail, 77 skipped (not root, no dpkg/cpack/FUSE, or an xfsfuse package is
# installed already: this test never replaces one).
set -euo pipefail
export LC_ALL=C
build=$(realpath "$1")
skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }

command -v cpack >/dev/null || skip "cpack is not installed"
command -v dpkg-deb >/dev/null || skip "dpkg-deb is not installed"
work=$(mktemp -d /tmp/xfsfuse-package.XXXXXX)
mnt=$work/mnt installed=0
cleanup() {
  if findmnt -rn -M "$mnt" >/dev/null 2>&1; then umount "$mnt" || umount -l "$mnt"; fi
  ((installed == 0)) || dpkg -r xfsfuse >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$mnt"

# --- the package ------------------------------------------------------------------------------
(cd "$build" && cpack -G DEB -B "$work/pkg" >"$work/cpack.log" 2>&1) || { cat "$work/cpack.log"; fail "cpack -G DEB failed"; }
deb=$(ls "$work"/pkg/xfsfuse_*_*.deb)
dpkg-deb -c "$deb" | awk '{ print $6 }' >"$work/files"
for f in ./usr/bin/xfsfuse ./usr/bin/xfsfuse-ctl ./usr/bin/xfsfuse-churn ./usr/bin/xfsfuse-dirstress \
  ./usr/sbin/xfsfuse-fsck ./usr/sbin/mount.xfsfuse ./usr/share/man/man8/xfsfuse.8.gz \
  ./usr/share/man/man8/xfsfuse-fsck.8.gz ./usr/share/man/man8/xfsfuse-ctl.8.gz \
  ./usr/share/man/man1/xfsfuse-churn.1.gz ./usr/share/man/man1/xfsfuse-dirstress.1.gz \
  ./usr/share/xfsfuse/images/make-image ./usr/share/doc/xfsfuse/README.md; do
  grep -qxF "$f" "$work/files" || fail "the package lacks $f"
done
depends=$(dpkg-deb -f "$deb" Depends)
for d in fuse3 libfuse3-3 libisal2; do
  [[ $depends == *"$d"* ]] || fail "Depends: lacks $d ($depends)"
done
echo "package: $(basename "$deb"), $(wc -l <"$work/files") paths; Depends: $depends"

# --- installed on this machine ----------------------------------------------------------------
[[ $(id -u) == 0 ]] || skip "not root: dpkg -i and mount need it (the package itself was checked)"
[[ -c /dev/fuse ]] || skip "no /dev/fuse"
command -v mkfs.xfs >/dev/null && command -v xfs_repair >/dev/null || skip "xfsprogs is not installed"
if dpkg-query -W -f '${Status}' xfsfuse 2>/dev/null | grep -q 'ok installed'; then
  skip "an xfsfuse package is installed already; this test does not replace it"
fi
for p in /usr/local/bin/xfsfuse /usr/local/sbin/xfsfuse; do
  # mount.fuse3's PATH would find it before the package's /usr/bin/xfsfuse.
  [[ ! -e $p ]] || skip "$p exists and would shadow the package's xfsfuse"
done
dpkg -i "$deb" >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log"; fail "dpkg -i failed (its dependencies missing?)"; }
installed=1
for p in /usr/bin/xfsfuse /usr/sbin/xfsfuse-fsck /usr/bin/xfsfuse-ctl /usr/bin/xfsfuse-churn /usr/bin/xfsfuse-dirstress; do
  out=$("$p" --version) || fail "$p --version exited $?"
  out=${out%%$'\n'*}
  [[ $out == "$(basename "$p") "[0-9]* ]] || fail "$p --version printed '$out'"
done
man -w xfsfuse >/dev/null 2>&1 || ! command -v man >/dev/null || fail "man -w xfsfuse finds no page"

img=$work/image.img
truncate -s 320M "$img"
mkfs.xfs -q "$img"
# unmount_wait: unmounts and waits for the daemon (found by the image's unique path) to exit,
# which writes everything back first.
unmount_wait() {
  local i
  umount "$mnt"
  for ((i = 0; i < 200; i++)); do
    pgrep -f -- "$img" >/dev/null || return 0
    sleep 0.1
  done
  fail "the xfsfuse daemon did not exit after umount"
}
# check_mount HOW TYPE OPTIONS: the mount is there with that type and options containing OPTIONS.
check_mount() {
  local got
  got=$(findmnt -n -o FSTYPE,OPTIONS -M "$mnt") || fail "$1: nothing mounted at $mnt"
  [[ $got == "$2 "*"$3"* ]] || fail "$1: mounted as '$got', want type $2 with $3"
}
mount -t xfsfuse "$img" "$mnt" || fail "mount -t xfsfuse exited $?"
check_mount "mount -t xfsfuse" fuse.xfsfuse rw
echo hello >"$mnt/written"
unmount_wait
mount -t fuse.xfsfuse -o ro "$img" "$mnt" || fail "mount -t fuse.xfsfuse -o ro exited $?"
check_mount "mount -t fuse.xfsfuse -o ro" fuse.xfsfuse ro
[[ $(cat "$mnt/written") == hello ]] || fail "the file written through mount -t xfsfuse is not there"
unmount_wait
for type in xfsfuse fuse.xfsfuse; do
  echo "$img $mnt $type defaults 0 0" >"$work/fstab"
  mount -T "$work/fstab" "$mnt" || fail "mount through an fstab line of type $type exited $?"
  check_mount "fstab type $type" fuse.xfsfuse rw
  [[ $(cat "$mnt/written") == hello ]] || fail "fstab type $type: the file is not there"
  unmount_wait
done
xfs_repair -n "$img" >"$work/repair.log" 2>&1 || { cat "$work/repair.log"; fail "xfs_repair -n: the image is not clean"; }

dpkg -r xfsfuse >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log"; fail "dpkg -r failed"; }
installed=0
for f in $(grep -v '/$' "$work/files"); do
  [[ ! -e ${f#.} ]] || fail "dpkg -r left ${f#.}"
done
echo "PASS: installed, mounted four ways (type xfsfuse and fuse.xfsfuse, command line and fstab), removed"
