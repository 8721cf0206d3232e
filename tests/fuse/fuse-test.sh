#!/usr/bin/env bash
# fuse-test.sh XFSFUSE GETDENTS MODE ARGS... - integration tests of the xfsfuse binary on real images.
#
#   compare NAME IMG   mount IMG (demo, bigdir or kernel; IMG.manifest next to it) with xfsfuse and
#                      compare what it shows with the manifest (tree_view), the xattr manifest
#                      (xattr_view; none expected without IMG.xattrs), and a listing of every
#                      directory through small getdents buffers (no entry skipped or repeated across
#                      READDIRPLUS requests). Then, if the kernel can mount IMG through a loop device,
#                      compare every stat field (stat_view), every directory listing in order, the
#                      xattrs and statfs with the kernel's own read-only mount.
#   cli IMG            (demo) the command line and mount behaviour: read-write by default and with
#                      -o rw (on a copy; nothing written when nothing changed), bad options, --help, `mount -t fuse.xfsfuse` (through mount.fuse3 and the
#                      xfsfuse on /usr/local/bin), writes answer EROFS, access(2) for other users,
#                      every vmap policy and the single-threaded loop, pre-1970 and post-2038
#                      timestamps (set on a copy through the kernel). (Corrupted images:
#                      tests/integration/corrupt-mount.sh.)
#   ctl IMG CTL        (demo) the control channel through xfsfuse-ctl (CTL): stats JSON has exactly
#                      the keys README documents and the mount's options; drop-caches, purge and set
#                      vmap_batch do what they say (by the counters); other users may read stats but
#                      not change anything; bad commands; other ioctls get ENOTTY.
#   bigdir-ls IMG      (bigdir) `ls -l` and `find` over the 100,000-entry directory with
#                      readdirplus=adaptive and always, and the driver's counters (-o stats_file)
#                      show READDIRPLUS filled the attributes: no LOOKUP per entry; find alone gets
#                      no attributes (adaptive).
#   listing-verdict IMG (demo, on a copy) the listing verdict of readdirplus=adaptive: a tree of 40
#                      directories of 100 files made through xfsfuse -o rw; on a fresh mount, `rm -rf`
#                      of it makes few LOOKUPs (later directories open with attributes); on another,
#                      `find` gets none (every entry bare, a LOOKUP per directory only).
#   uring IMG          (demo, on a copy) -o io_uring (FUSE over io_uring, fs/fuse/uring.h) with the
#                      fuse module's enable_uring set to Y (put back at exit): two writers pinned
#                      to different CPUs make, write (3 MiB files: several 1 MiB WRITEs), link,
#                      rename, symlink, set xattrs and remove at once (the ring threads go under
#                      SCHED_IDLE, -o ring_sched); a second io_uring mount (ring_sched=normal) reads
#                      it all back (READs through the rings) and removes it; the counters show the
#                      rings served it (one queue per possible CPU) and the forgets left on
#                      /dev/fuse came in batches, xfs_repair -n is clean. Then,
#                      with enable_uring=N, -o io_uring says why it is not used and serves through
#                      /dev/fuse; without the option the rings are used when enable_uring is Y and
#                      nothing is said when it is N; noio_uring. An fsync held by a frozen disk
#                      does not hold up the requests behind it on its CPU (a helper serves it);
#                      fsyncs and fsyncdirs from both CPUs at once all go through helpers and lose
#                      nothing.
#                      SKIP without FUSE over io_uring in the kernel.
#   acl                on a new image, the kernel's XFS sets POSIX ACLs (named users and groups,
#                      masks, default ACLs, one inherited, one of 300 entries); xfsfuse's read-only
#                      mount must list and read them exactly as the kernel did, for root and for
#                      nobody (system.posix_acl_* and trusted.SGI_ACL_*); on a read-write mount
#                      nobody may read and create what named entries allow it, as on the kernel's,
#                      and not what one denies it; with -o noacl, what the mode bits allow. SKIP
#                      without loop devices.
#
# xfsfuse runs in the foreground as a job of this script (mounts made through mount(8) excepted) and
# must exit 0 after its unmount; in sanitizer builds any report from any xfsfuse process fails.
# The tree_view, xattr_view and stat_view functions are tests/images/tree-view.sh, the same ones
# check-image.sh compares the kernel's mount with. Needs root and /dev/fuse (else "SKIP: ..." and
# exit 77); the kernel comparison also needs loop devices and XFS in the kernel (else it is skipped
# with a note, the rest still runs). Exit: 0 passed, 1 a check failed ("FAIL: ..."), 2 usage, 77.
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/images/tree-view.sh
. "$here/../images/tree-view.sh"
# shellcheck source=scripts/fuse-uring.sh
. "$here/../../scripts/fuse-uring.sh"

usage() {
  echo "usage: fuse-test.sh XFSFUSE GETDENTS compare NAME IMG | cli IMG | ctl IMG CTL | bigdir-ls IMG | listing-verdict IMG | uring IMG CTL | acl" >&2
  exit 2
}
(($# >= 3)) || usage
xfsfuse=$1 getdents=$2 mode=$3
shift 3

failures=0
fail() { printf 'FAIL: %s\n' "$*"; failures=$((failures + 1)); }
ok() { printf 'ok: %s\n' "$*"; }
check() { # check DESCRIPTION COMMAND...: pass if COMMAND exits 0
  local what=$1
  shift
  if "$@"; then ok "$what"; else fail "$what"; fi
}
skip() { printf 'SKIP: %s\n' "$*"; exit 77; }

[[ $(id -u) == 0 ]] || skip "needs root (FUSE and loop mounts, other users' access)"
[[ -c /dev/fuse ]] || skip "no /dev/fuse"
[[ -x $xfsfuse ]] || { echo "FAIL: $xfsfuse is not an executable"; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/xfsfuse-test.XXXXXX")
chmod 755 "$work"  # other users' access checks walk through it
# Sanitizer builds: reports of every xfsfuse process, daemons included, land in $work/sanitizer.*.
for v in ASAN_OPTIONS UBSAN_OPTIONS TSAN_OPTIONS; do export "$v=log_path=$work/sanitizer:${!v:-}"; done
mounts=() loops=() daemons=() helper_restore= frozen=
cleanup() {
  local m l
  [[ -z $frozen ]] || fsfreeze -u "$frozen" || true  # a check that failed midway leaves nothing frozen
  for m in "${mounts[@]}"; do
    if mountpoint -q "$m"; then umount "$m" 2>/dev/null || umount -l "$m" || true; fi
  done
  wait "${daemons[@]}" 2>/dev/null || true
  for l in "${loops[@]}"; do losetup -d "$l" 2>/dev/null || true; done
  [[ -z $helper_restore ]] || eval "$helper_restore"
  fuse_uring_restore
  rm -rf "$work"
}
trap cleanup EXIT

# fuse_mount IMG MNT [--as-given] [ARGS...]: mount IMG at MNT with xfsfuse in the foreground (-f)
# as a job of this script, read-only (-o ro before ARGS) unless --as-given, its stderr appended
# to $work/daemon.log; returns once the mount is live, 1 if xfsfuse exited instead. fuse_umount MNT then unmounts and checks that it exited 0.
declare -A daemon_of
fuse_mount() {
  local img=$1 mnt=$2 i pid mode=(-o ro)
  shift 2
  [[ ${1:-} != --as-given ]] || { mode=(); shift; }
  mkdir -p "$mnt"
  mounts+=("$mnt")
  "$xfsfuse" "$img" "$mnt" -f "${mode[@]}" "$@" 2>>"$work/daemon.log" &
  pid=$!
  daemons+=("$pid")
  daemon_of[$mnt]=$pid
  for ((i = 0; i < 300; i++)); do
    mountpoint -q "$mnt" && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "xfsfuse $img $mnt -f $*: not mounted; its stderr:"
  sed 's/^/    /' "$work/daemon.log"
  return 1
}
fuse_umount() {
  local rc=0
  umount "$1"
  wait "${daemon_of[$1]}" || rc=$?
  check "xfsfuse serving $1 exited 0 after the unmount (got $rc)" test "$rc" = 0
}
# wait_helper MNT: after unmounting a mount made through mount(8), wait for its daemon to exit.
wait_helper() {
  local i
  for ((i = 0; i < 100; i++)); do pgrep -f -- "xfsfuse .* $1 " >/dev/null || return 0; sleep 0.1; done
}
# kernel_mount IMG MNT [rw]: the kernel's mount of IMG at MNT, read-only unless rw; returns 1 if
# it cannot (no loop device, no XFS in the kernel).
kernel_mount() {
  local loop ro=(-r) opt=ro
  [[ ${3:-} != rw ]] || { ro=() opt=rw; }
  [[ -e /dev/loop-control ]] || return 1
  loop=$(losetup "${ro[@]}" -f --show "$1" 2>/dev/null) || return 1
  loops+=("$loop")
  mkdir -p "$2"
  mount -t xfs -o "$opt" "$loop" "$2" 2>/dev/null || return 1
  mounts+=("$2")
}
# repair_clean IMG: xfs_repair -n finds nothing in IMG (its output kept in $work/repair.out).
repair_clean() { xfs_repair -n -f "$1" >"$work/repair.out" 2>&1; }
# stat_counter FILE NAME: one counter from a stats file.
stat_counter() { awk -v n="$2" '$1 == n { print $2 }' "$1"; }

# same WHAT EXPECTED_FILE GOT_FILE: the two files are identical; if not, the start of the diff is
# shown and the whole diff kept in the current directory (ctest: build*/tests/fuse/).
same() {
  local keep
  keep=$PWD/$mode-$(basename "$3").diff
  if diff "$2" "$3" >"$keep"; then
    rm -f "$keep"
    ok "$1 ($(wc -l <"$3") lines)"
  else
    fail "$1: differs (< expected, > xfsfuse; full diff: $keep)"
    head -20 "$keep" | sed 's/^/    /'
  fi
}

# dirents_view MNT BUFSIZE: every directory's listing, in readdir order through BUFSIZE-byte getdents
# calls: "dir<TAB>name<TAB>d_ino<TAB>d_type".
dirents_view() {
  local mnt=$1 size=$2 d rel
  (cd "$mnt" && find . -type d -printf '%P\n') | sort | while IFS= read -r d; do
    rel=/$d
    "$getdents" "$mnt/$d" "$size" | awk -v d="$rel" -F '\t' -v OFS='\t' '{ print d, $0 }'
  done
}
# dirents_paths: turns a dirents view into the sorted list of paths it names (no . and ..), which
# must be the manifest's paths once each.
dirents_paths() {
  awk -F '\t' '$2 != "." && $2 != ".." { print ($1 == "/" ? "" : $1) "/" $2 }' | sort
}

mode_compare() {
  local name=$1 img=$2 fmnt=$work/fuse kmnt=$work/kernel bufsize=300
  [[ -f $img && -f $img.manifest ]] || skip "$img or its manifest is missing (the images tests build them)"
  [[ $name == bigdir ]] && bufsize=2000
  fuse_mount "$img" "$fmnt" || { fail "xfsfuse did not mount $img"; return; }

  tail -n +2 "$img.manifest" >"$work/manifest"
  tree_view "$fmnt" >"$work/fuse.tree" || fail "walking the xfsfuse mount failed (errors above)"
  same "xfsfuse shows exactly the manifest" "$work/manifest" "$work/fuse.tree"

  : >"$work/xattrs.expected"
  [[ -f $img.xattrs ]] && tail -n +2 "$img.xattrs" | sort >"$work/xattrs.expected"
  xattr_view "$fmnt" >"$work/fuse.xattrs" || fail "listing xattrs through xfsfuse failed"
  same "xfsfuse shows exactly the xattr manifest" "$work/xattrs.expected" "$work/fuse.xattrs"

  dirents_view "$fmnt" "$bufsize" >"$work/fuse.dirents" || fail "getdents through xfsfuse failed"
  awk -F '\t' '$1 != "/" { print $1 }' "$work/manifest" >"$work/manifest.paths"
  dirents_paths <"$work/fuse.dirents" >"$work/fuse.paths"
  same "$bufsize-byte getdents calls list every path once" "$work/manifest.paths" "$work/fuse.paths"

  if kernel_mount "$img" "$kmnt"; then
    compare_with_kernel "$fmnt" "$kmnt" "$bufsize"
  else
    echo "note: the kernel cannot mount $img here (loop device or XFS missing): kernel comparison skipped"
  fi
  fuse_umount "$fmnt"
}

# compare_with_kernel FUSE_MNT KERNEL_MNT BUFSIZE: every stat field, listing, xattr and statfs.
compare_with_kernel() {
  local fmnt=$1 kmnt=$2 bufsize=$3
  stat_view "$kmnt" >"$work/kernel.stat"
  stat_view "$fmnt" >"$work/fuse.stat" || fail "stat through xfsfuse failed"
  same "every stat field equals the kernel's (ino, mode, nlink, ids, size, blocks, blksize, times, rdev)" \
    "$work/kernel.stat" "$work/fuse.stat"
  dirents_view "$kmnt" "$bufsize" >"$work/kernel.dirents"
  same "every directory lists the same entries (name, d_ino, d_type) in the same order as the kernel" \
    "$work/kernel.dirents" "$work/fuse.dirents"
  xattr_view "$kmnt" >"$work/kernel.xattrs"
  same "xattrs equal the kernel's" "$work/kernel.xattrs" "$work/fuse.xattrs"
  stat -f -c '%S %b %f %a %c %d %l' "$kmnt" >"$work/kernel.statfs"
  stat -f -c '%S %b %f %a %c %d %l' "$fmnt" >"$work/fuse.statfs"
  same "statfs equals the kernel's (bsize blocks bfree bavail files ffree namemax)" \
    "$work/kernel.statfs" "$work/fuse.statfs"
}

# install_helper: /usr/local/bin/xfsfuse -> this build's binary, for mount(8) -> mount.fuse3 (which
# runs helpers with a fixed PATH: /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin).
# Whatever was there is put back on exit.
install_helper() {
  local dst=/usr/local/bin/xfsfuse
  if [[ -L $dst ]]; then
    helper_restore="ln -sfn '$(readlink "$dst")' '$dst'"
  elif [[ -e $dst ]]; then
    mv "$dst" "$work/xfsfuse.saved"
    helper_restore="mv '$work/xfsfuse.saved' '$dst'"
  else
    helper_restore="rm -f '$dst'"
  fi
  ln -sfn "$xfsfuse" "$dst"
}

# errno_of OP PATH: what a write-like operation through Python gets: an errno name, or "ok".
errno_of() {
  python3 - "$1" "$2" <<'EOF'
import errno, os, sys
op, p = sys.argv[1], sys.argv[2]
try:
    {"create": lambda: os.open(p + ".new", os.O_CREAT | os.O_WRONLY, 0o644),
     "open-write": lambda: os.open(p, os.O_WRONLY),
     "mkdir": lambda: os.mkdir(p + ".d"),
     "unlink": lambda: os.unlink(p),
     "rmdir": lambda: os.rmdir(p),
     "rename": lambda: os.rename(p, p + ".moved"),
     "link": lambda: os.link(p, p + ".link"),
     "symlink": lambda: os.symlink("target", p + ".sym"),
     "mknod": lambda: os.mkfifo(p + ".fifo"),
     "chmod": lambda: os.chmod(p, 0o600),
     "chown": lambda: os.chown(p, 1, 1),
     "utime": lambda: os.utime(p, (0, 0)),
     "truncate": lambda: os.truncate(p, 0),
     "setxattr": lambda: os.setxattr(p, "user.new", b"v"),
     "removexattr": lambda: os.removexattr(p, "user.none")}[op]()
    print("ok")
except OSError as e:
    print(errno.errorcode[e.errno])
EOF
}

mode_cli() {
  local img=$1 mnt=$work/cli out rc op
  [[ -f $img ]] || skip "$img is missing (the images tests build it)"
  mkdir -p "$mnt"

  # Read-write is the default and -o rw says so; a mount that changed nothing writes nothing.
  local copy=$work/cli-rw.img sum
  cp --sparse=always "$img" "$copy"
  sum=$(sha256sum <"$copy")
  for op in "" "-o rw" "-o ro,rw"; do
    # shellcheck disable=SC2086
    if fuse_mount "$copy" "$mnt" --as-given $op; then
      check "'$op': mounted read-write ($(awk -v m="$mnt" '$2 == m { print $4 }' /proc/mounts))" \
        eval '[[ $(awk -v m="$mnt" '"'"'$2 == m { print $4 }'"'"' /proc/mounts) == rw,* ]]'
      fuse_umount "$mnt"
    else
      fail "'$op': read-write mount failed"
    fi
  done
  check "read-write mounts that changed nothing left the image as it was" test "$(sha256sum <"$copy")" = "$sum"
  rc=0
  out=$("$xfsfuse" "$img" "$mnt" -o rw,norecovery 2>&1) || rc=$?
  check "-o rw,norecovery is refused (exit $rc): $out" \
    eval '((rc == 1)) && [[ $out == *"norecovery needs a read-only mount"* ]] && ! mountpoint -q "$mnt"'
  for op in cache_mb=0 cache_mb=x vmap=sometimes vmap_batch=0 ring_sched=fifo no_such_option; do
    rc=0
    out=$("$xfsfuse" "$img" "$mnt" -o "$op" 2>&1) || rc=$?
    check "-o $op is refused (exit $rc: $out)" test "$rc" = 1
  done
  rc=0
  out=$("$xfsfuse" "$work/no-such.img" "$mnt" 2>&1) || rc=$?
  check "a missing image is refused (exit $rc: $out)" test "$rc" = 1 -a -n "$out"
  out=$("$xfsfuse" --help)
  check "--help lists xfsfuse's options and libfuse's" \
    eval '[[ $out == *cache_mb=N* && $out == *vmap=POLICY* && $out == *norecovery* && $out == *allow_other* ]]'

  # mount(8) passes "-o rw,dev,suid" when no mode is given (and for "defaults"): read-write.
  install_helper
  mounts+=("$mnt")
  if mount -t fuse.xfsfuse "$copy" "$mnt"; then
    local line
    line=$(awk -v m="$mnt" '$2 == m' /proc/mounts)
    check "mount -t fuse.xfsfuse without options mounts read-write: $line" eval '[[ $line == "$copy $mnt fuse.xfsfuse rw,"* ]]'
    umount "$mnt"
    wait_helper "$mnt"
  else
    fail "mount -t fuse.xfsfuse $copy $mnt failed"
  fi
  if mount -t fuse.xfsfuse "$img" "$mnt" -o ro,cache_mb=16,vmap=eager,allow_other; then
    local line
    line=$(awk -v m="$mnt" '$2 == m' /proc/mounts)
    check "/proc/mounts: the image as source, type fuse.xfsfuse, read-only: $line" \
      eval '[[ $line == "$img $mnt fuse.xfsfuse ro,"* ]]'
    check "the helper mount serves the tree" test "$(find "$mnt" | wc -l)" = 26372
    for op in create open-write mkdir symlink mknod; do
      out=$(errno_of "$op" "$mnt/files/small.txt")
      check "$op: $out" test "$out" = EROFS
    done
    for op in unlink rename link chmod chown utime truncate setxattr removexattr; do
      out=$(errno_of "$op" "$mnt/files/small.txt")
      check "$op: $out" test "$out" = EROFS
    done
    out=$(errno_of rmdir "$mnt/sf/empty-dir")
    check "rmdir: $out" test "$out" = EROFS
    out=$(touch "$mnt/new-file" 2>&1 || true)
    check "touch says: $out" eval '[[ $out == *"Read-only file system"* ]]'

    # access(2) for other users (allow_other), against mode, owner and group.
    as() { local u=$1 g=$2 gs=$3; shift 3; setpriv --reuid="$u" --regid="$g" --groups="$gs" "$@"; }
    check "nobody may read a 0644 file" as 65534 65534 65534 test -r "$mnt/files/small.txt"
    check "nobody may not read a 0000 file" eval '! as 65534 65534 65534 test -r "$mnt/files/no-permissions"'
    check "nobody may not open a 0000 file" eval '! as 65534 65534 65534 cat "$mnt/files/no-permissions" 2>/dev/null'
    check "nobody may open a 0644 file" eval 'as 65534 65534 65534 cat "$mnt/files/small.txt" >/dev/null'
    check "nobody may not execute a 0644 file" eval '! as 65534 65534 65534 test -x "$mnt/files/small.txt"'
    check "nobody may execute a 0755 file" as 65534 65534 65534 test -x "$mnt/files/exec"
    check "root may read a 0000 file" test -r "$mnt/files/no-permissions"
    check "root may not execute a file with no x bit" eval '! test -x "$mnt/files/no-permissions"'
    check "the owner (1000) may read its 0640 file" as 1000 1000 1000 test -r "$mnt/files/owned"
    check "the group (gid 1000) may read a 0640 file" as 2000 1000 1000 test -r "$mnt/files/owned"
    check "a supplementary group 1000 may read a 0640 file" as 2000 2000 2000,1000 test -r "$mnt/files/owned"
    check "others may not read a 0640 file" eval '! as 2000 2000 2000 test -r "$mnt/files/owned"'
    umount "$mnt"
    wait_helper "$mnt"
  else
    fail "mount -t fuse.xfsfuse $img $mnt -o ro,... failed"
  fi

  # Every unmap policy, and the single-threaded loop, serve the same tree.
  for op in "-o vmap=eager" "-o vmap=lazy,vmap_batch=1" "-o vmap=lazy-noref" "-s"; do
    # shellcheck disable=SC2086
    if fuse_mount "$img" "$mnt" $op; then
      check "$op: xfsfuse shows the manifest" eval 'tree_view "$mnt" | diff -q <(tail -n +2 "$img.manifest") - >/dev/null'
      fuse_umount "$mnt"
    else
      fail "$op: mount failed"
    fi
  done

  check_readdirplus_modes "$img"
  check_extreme_times "$img"
}

# readdirplus=adaptive (default) answers every directory read with READDIRPLUS, find's without
# attributes (no LOOKUP asked for its names); readdirplus=always too, every entry with attributes;
# readdirplus=auto lets the kernel send plain READDIRs too (find needs no attributes); anything
# else is refused.
check_readdirplus_modes() {
  local img=$1 mnt=$work/rdplus mode stats plain bare
  for mode in adaptive always auto; do
    stats=$work/rdplus-$mode.stats
    fuse_mount "$img" "$mnt" -o "readdirplus=$mode,stats_file=$stats" || { fail "mount with readdirplus=$mode"; continue; }
    find "$mnt" >/dev/null
    fuse_umount "$mnt"
    plain=$(stat_counter "$stats" fuse.readdir)
    bare=$(stat_counter "$stats" fuse.readdirplus_bare)
    case $mode in
      adaptive)
        check "readdirplus=adaptive sends no plain READDIR (got ${plain:-none})" test "${plain:-x}" = 0
        check "readdirplus=adaptive answers find without attributes ($bare bare entries)" test "${bare:-0}" -gt 0 ;;
      always)
        check "readdirplus=always sends no plain READDIR (got ${plain:-none})" test "${plain:-x}" = 0
        check "readdirplus=always sends every entry with attributes (${bare:-none} bare)" test "${bare:-x}" = 0 ;;
      auto)
        check "readdirplus=auto lets find use plain READDIR (got ${plain:-none})" test "${plain:-0}" -gt 0 ;;
    esac
  done
  local out
  out=$("$xfsfuse" "$img" "$mnt" -o readdirplus=sometimes 2>&1) && fail "readdirplus=sometimes was accepted"
  check "readdirplus=sometimes is refused with a message" grep -q "readdirplus=sometimes: want adaptive, always or auto" <<<"$out"
}

# Timestamps the images do not have: a copy of IMG whose files get pre-1970 and post-2038 (bigtime)
# times through the kernel; xfsfuse must show them as the kernel does, to the nanosecond.
check_extreme_times() {
  local img=$1 copy=$work/times.img kmnt=$work/times-kernel fmnt=$work/times-fuse loop f
  cp --sparse=always "$img" "$copy"
  mkdir -p "$kmnt"
  if ! loop=$(losetup -f --show "$copy" 2>/dev/null) || ! mount -t xfs "$loop" "$kmnt" 2>/dev/null; then
    [[ -z ${loop:-} ]] || losetup -d "$loop"
    echo "note: the kernel cannot mount a copy of $img read-write here: extreme timestamps not checked"
    return
  fi
  loops+=("$loop")
  mounts+=("$kmnt")
  touch -h -d '1901-12-14 00:00:00.000000001 UTC' "$kmnt/files/empty"
  touch -h -d '1960-01-01 12:34:56.123456789 UTC' "$kmnt/files/small.txt"
  touch -h -d '2300-05-06 07:08:09.987654321 UTC' "$kmnt/files/exec"
  for f in empty small.txt exec; do stat -c "$f %X %Y %x %y" "$kmnt/files/$f"; done >"$work/times.kernel"
  umount "$kmnt"
  losetup -d "$loop"
  fuse_mount "$copy" "$fmnt" || { fail "xfsfuse did not mount $copy"; return; }
  for f in empty small.txt exec; do stat -c "$f %X %Y %x %y" "$fmnt/files/$f"; done >"$work/times.fuse"
  fuse_umount "$fmnt"
  same "1901, 1960 and 2300 timestamps as the kernel shows them" "$work/times.kernel" "$work/times.fuse"
}

# ctl_json CTL MNT EXPR: evaluates the Python expression EXPR over the stats JSON `j` (dotted
# lookups through c("a.b")) and prints the result.
ctl_json() {
  "$1" "$2" stats --json | python3 -c '
import json, sys
j = json.load(sys.stdin)
def c(name):
    v = j
    for k in name.split("."):
        v = v[k]
    return v
print(eval(sys.argv[1]))' "$3"
}

mode_ctl() {
  local img=$1 ctl=$2 mnt=$work/ctl stats=$work/ctl.stats out rc readme pid v
  [[ -f $img ]] || skip "$img is missing (the images tests build it)"
  [[ -x $ctl ]] || { fail "$ctl is not an executable"; return; }
  readme=$here/../../README.md
  fuse_mount "$img" "$mnt" -o vmap=lazy,vmap_batch=1000,vmap_all,allow_other,stats_file="$stats" ||
    { fail "xfsfuse did not mount $img"; return; }
  pid=${daemon_of[$mnt]}

  # Keys: exactly the README's list.
  out=$("$ctl" "$mnt" stats --json | python3 -c '
import json, re, sys
j = json.load(sys.stdin)
def flat(v, p=""):
    if isinstance(v, dict):
        for k, x in v.items():
            yield from flat(x, p + "." + k if p else k)
    else:
        yield p
got = set(flat(j))
text = open(sys.argv[1]).read()
block = re.search(r"<!-- ctl-keys: begin -->\s*```(.*?)```\s*<!-- ctl-keys: end -->", text, re.S).group(1)
want = set(block.split())
print("missing:", sorted(want - got), "undocumented:", sorted(got - want), "n=%d" % len(want))' "$readme")
  check "stats --json has exactly the README's keys ($out)" grep -q '^missing: \[\] undocumented: \[\] n=[1-9]' <<<"$out"
  v=$(ctl_json "$ctl" "$mnt" '(c("version"), c("image"), c("pid"), c("options.vmap"), c("options.vmap_batch"), c("options.vmap_all"), c("options.readdirplus"))')
  check "stats shows the mount: $v" test "$v" = "(1, '$img', $pid, 'lazy', 1000, True, 'adaptive')"
  v=$(ctl_json "$ctl" "$mnt" 'c("uptime_s") > 0')
  check "uptime_s is positive" test "$v" = True
  check "plain stats prints name value lines" bash -c "'$ctl' '$mnt' stats | grep -Eq '^vmap\.purges\.every_n [0-9]+$'"

  # A walk maps buffers through slots (vmap_all); drop-caches evicts them, parking their mappings.
  find "$mnt" -printf '' && ls -lR "$mnt" >/dev/null
  v=$(ctl_json "$ctl" "$mnt" '(c("cache.buffers") > 10, c("vmap.map_syscalls") > 0, c("vmap.stale_alias_reuse"), c("inodes.cached") > 10)')
  check "a walk filled the cache and mapped through slots: $v" test "$v" = "(True, True, 0, True)"
  # The kernel's own caches first: its FORGETs let go of the in-core inodes it held.
  sync && echo 2 >/proc/sys/vm/drop_caches
  for _ in $(seq 50); do
    [[ $(ctl_json "$ctl" "$mnt" 'c("inodes.held") < c("inodes.cached")') == True ]] && break
    sleep 0.1
  done
  out=$("$ctl" "$mnt" drop-caches)
  check "drop-caches says what went: $out" grep -Eq '^evicted [1-9][0-9]* buffers, [1-9][0-9]* in-core inodes; [0-9]+ pool pages free$' <<<"$out"
  v=$(ctl_json "$ctl" "$mnt" '(c("cache.buffers") < 10, c("vmap.parked_areas") > 0, c("vmap.pages_pinned_by_parked_aliases") > 0)')
  check "drop-caches emptied the cache and parked the mappings (batch 1000): $v" test "$v" = "(True, True, True)"
  out=$("$ctl" "$mnt" purge)
  check "purge frees the pinned pages: $out" grep -Eq '^purged; [1-9][0-9]* pages back to the pool$' <<<"$out"
  v=$(ctl_json "$ctl" "$mnt" '(c("vmap.parked_areas"), c("vmap.pages_pinned_by_parked_aliases"), c("vmap.purges.explicit") >= 1)')
  check "after purge nothing is parked: $v" test "$v" = "(0, 0, True)"

  # set vmap_batch on the live mount.
  out=$("$ctl" "$mnt" set vmap_batch=4)
  check "set vmap_batch=4: $out" test "$out" = "vmap_batch 4 (was 1000)"
  v=$(ctl_json "$ctl" "$mnt" 'c("options.vmap_batch")')
  check "stats shows vmap_batch 4 ($v)" test "$v" = 4
  find "$mnt" -printf '' && "$ctl" "$mnt" drop-caches >/dev/null
  v=$(ctl_json "$ctl" "$mnt" '(c("vmap.parked_areas") < 4, c("vmap.purges.every_n") > 0)')
  check "with batch 4 the drop purged every 4th unmap: $v" test "$v" = "(True, True)"
  for bad in "set vmap_batch=0" "set vmap_batch=x" "set other=1" "set" "stats extra" "frobnicate" "drop-caches --json"; do
    rc=0
    # shellcheck disable=SC2086
    "$ctl" "$mnt" $bad >/dev/null 2>&1 || rc=$?
    check "'xfsfuse-ctl MNT $bad' is a usage error (exit $rc)" test "$rc" = 2
  done
  rc=0
  out=$("$ctl" "$mnt" set vmap_batch=70000 2>&1) || rc=$?
  check "set vmap_batch=70000 is refused by the daemon (exit $rc): $out" \
    bash -c "test $rc = 1 && grep -q 'want a number, 1..65536' <<<'$out'"
  rc=0
  out=$("$ctl" "$work" stats 2>&1) || rc=$?
  check "not a mount: exit $rc, '$out'" bash -c "test $rc = 1 && grep -q 'not an xfsfuse mount' <<<'$out'"

  # Other users: stats yes, changes no.
  if id nobody >/dev/null 2>&1; then
    check "another user may read stats" \
      bash -c "setpriv --reuid=nobody --regid=nogroup --clear-groups '$ctl' '$mnt' stats >/dev/null"
    for cmd in drop-caches purge "set vmap_batch=8"; do
      rc=0
      # shellcheck disable=SC2086
      out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups "$ctl" "$mnt" $cmd 2>&1) || rc=$?
      check "another user may not $cmd (exit $rc): $out" \
        bash -c "test $rc = 1 && grep -q 'only root and the user who mounted' <<<'$out'"
    done
  else
    echo "note: no user nobody; other users' access not checked"
  fi
  # Any other ioctl reaches the daemon and gets ENOTTY (FS_IOC_GETFLAGS: what lsattr sends).
  v=$(python3 -c '
import errno, fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)
try:
    fcntl.ioctl(fd, 0x80086601, b"\0" * 8)
    print("ok")
except OSError as e:
    print(errno.errorcode[e.errno])' "$mnt")
  check "other ioctls: ENOTTY ($v)" test "$v" = ENOTTY

  fuse_umount "$mnt"
  v=$(stat_counter "$stats" vmap.purges.explicit)
  check "the stats file has the control channel's counters (vmap.purges.explicit $v)" test "${v:-0}" -ge 1
  v=$(stat_counter "$stats" inodes.cached)
  check "the stats file has inodes.cached ($v)" test -n "$v"
}

# For readdirplus=adaptive and always: ls -l and find on a fresh mount with few LOOKUPs; then
# (adaptive) find alone, which must leave the kernel and the node table without the files.
# slab_drops: how many times anyone wrote 2 or 3 to /proc/sys/vm/drop_caches (that evicts the
# kernel's dentries and inodes of a FUSE mount, so the LOOKUPs that follow are not the driver's doing).
slab_drops() { awk '$1 == "drop_slab" { print $2 }' /proc/vmstat; }

mode_bigdir_ls() {
  local img=$1 mnt=$work/big stats=$work/big.stats n t0 t1 mode drops
  [[ -f $img ]] || skip "$img is missing (the images tests build it)"
  for mode in adaptive always; do
    fuse_mount "$img" "$mnt" -o "readdirplus=$mode,stats_file=$stats" || { fail "xfsfuse did not mount $img"; return; }
    drops=$(slab_drops)
    t0=$(date +%s.%N)
    n=$(ls -l "$mnt/bigdir" | wc -l)
    t1=$(date +%s.%N)
    check "$mode: ls -l lists 100,000 entries (+ the total line: $n lines) in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s" \
      test "$n" = 100001
    check "$mode: ls -l shows every entry's attributes" eval '[[ $(ls -l "$mnt/bigdir" | grep -c "^-rw-r--r-- 1 root root 0 ") == 100000 ]]'
    n=$(find "$mnt" | wc -l)
    check "$mode: find lists every path ($n)" test "$n" = 100002
    fuse_umount "$mnt"
    sed 's/^/    /' "$stats" | grep -E 'fuse\.(lookup|getattr|readdir|readdirplus|readdirplus_entries|readdirplus_bare|readdirplus_switches) '
    n=$(stat_counter "$stats" fuse.lookup)
    if [[ $(slab_drops) != "$drops" ]]; then
      echo "note: $mode: another process dropped the kernel's caches meanwhile (/proc/vmstat drop_slab), so its LOOKUPs ($n) say nothing"
    else
      check "$mode: READDIRPLUS filled the attributes: $n LOOKUPs for 100,000 entries (want < 100)" test "$n" -lt 100
    fi
    n=$(stat_counter "$stats" fuse.readdirplus_entries)
    check "$mode: READDIRPLUS returned every entry ($n)" test "$n" -ge 100002
  done
  # find first: no attributes, and the kernel then holds no node of the 100,000 files.
  fuse_mount "$img" "$mnt" -o "stats_file=$stats" || { fail "xfsfuse did not mount $img"; return; }
  n=$(find "$mnt" | wc -l)
  check "adaptive: find first lists every path ($n)" test "$n" = 100002
  fuse_umount "$mnt"
  n=$(stat_counter "$stats" fuse.readdirplus_bare)
  check "adaptive: find's READDIRPLUS replies carried no attributes ($n bare entries)" test "$n" -ge 100002
  n=$(stat_counter "$stats" inodes.held)
  check "adaptive: bare entries gave the kernel no node ($n nodes held at unmount, want < 100)" test "$n" -lt 100
  # find, then ls -l on the same mount: the kernel's cached bare listing is dropped after a few
  # LOOKUPs, and the rest of the listing comes with attributes.
  fuse_mount "$img" "$mnt" -o "stats_file=$stats" || { fail "xfsfuse did not mount $img"; return; }
  drops=$(slab_drops)
  find "$mnt" >/dev/null
  check "adaptive: ls -l after find shows every entry's attributes" eval '[[ $(ls -l "$mnt/bigdir" | grep -c "^-rw-r--r-- 1 root root 0 ") == 100000 ]]'
  fuse_umount "$mnt"
  n=$(stat_counter "$stats" fuse.lookup)
  echo "    fuse.lookup $n, fuse.listing_drops $(stat_counter "$stats" fuse.listing_drops)"
  if [[ $(slab_drops) != "$drops" ]]; then
    echo "note: adaptive: another process dropped the kernel's caches meanwhile, so the LOOKUPs of ls -l after find ($n) say nothing"
  else
    check "adaptive: ls -l after find: $n LOOKUPs for 100,000 entries (want < 5000)" test "$n" -lt 5000
  fi
}

# For readdirplus=adaptive across directories (fs/fuse/node_table.h, attrs_first): rm -rf lists each
# directory whole before it unlinks anything in it, so only the listing verdict spares it a LOOKUP
# per name; find must still get bare listings.
mode_listing_verdict() {
  local img=$1 copy=$work/verdict.img mnt=$work/verdict stats=$work/verdict.stats n d
  cp --sparse=always "$img" "$copy"
  make_tree() {
    fuse_mount "$copy" "$mnt" --as-given -o rw || return 1
    mkdir "$mnt/t"
    for ((d = 0; d < 40; d++)); do
      mkdir "$mnt/t/d$d" && (cd "$mnt/t/d$d" && touch f{1..100})
    done
    fuse_umount "$mnt"
  }
  make_tree || { fail "xfsfuse -o rw did not mount a copy of $img"; return; }
  fuse_mount "$copy" "$mnt" --as-given -o "rw,stats_file=$stats" || { fail "no second rw mount"; return; }
  rm -rf "$mnt/t"
  check "rm -rf removed the tree" test ! -e "$mnt/t"
  fuse_umount "$mnt"
  sed 's/^/    /' "$stats" | grep -E 'fuse\.(lookup|remove|readdirplus_bare|readdirplus_attrs_first) '
  n=$(stat_counter "$stats" fuse.remove)
  check "rm -rf: 4,041 removals ($n)" test "$n" = 4041
  n=$(stat_counter "$stats" fuse.readdirplus_attrs_first)
  check "rm -rf: directories opened with attributes by the verdict ($n, want >= 20)" test "$n" -ge 20
  n=$(stat_counter "$stats" fuse.lookup)
  check "rm -rf: $n LOOKUPs for 4,041 names (want < 1,500: the first directories only)" test "$n" -lt 1500
  make_tree || { fail "no third rw mount"; return; }
  fuse_mount "$copy" "$mnt" -o "stats_file=$stats" || { fail "no read-only mount"; return; }
  n=$(find "$mnt/t" | wc -l)
  check "find lists the tree again ($n paths)" test "$n" = 4041
  fuse_umount "$mnt"
  n=$(stat_counter "$stats" fuse.readdirplus_attrs_first)
  check "find: no directory opened with attributes ($n)" test "$n" = 0
  n=$(stat_counter "$stats" fuse.readdirplus_bare)
  check "find: every entry bare ($n bare entries, want >= 4,041)" test "$n" -ge 4041
  n=$(stat_counter "$stats" fuse.lookup)
  check "find: $n LOOKUPs (want <= 45: the directories it enters)" test "$n" -le 45
}

# FUSE over io_uring (fs/fuse/uring.h): the transport under concurrent writers on different CPUs,
# reads back through the rings, and the fallback when the kernel does not offer it.
mode_uring() {
  local img=$1 ctl=$2 copy=$work/uring.img mnt=$work/uring
  local cpus k n want
  fuse_uring_available || skip "$fuse_uring_missing"
  fuse_uring_set Y
  cpus=$(nproc)
  cp --sparse=always "$img" "$copy"
  head -c 3M /dev/urandom >"$work/big"
  uring_worker() { # K: a writer on CPU K (modulo the CPUs there are)
    local d=$mnt/w$1 i
    mkdir "$d" || return 1
    for ((i = 1; i <= 150; i++)); do printf 'file %d of writer %d\n' "$i" "$1" >"$d/f$i" || return 1; done
    cp "$work/big" "$d/big" &&
      python3 -c 'import os, sys; os.setxattr(sys.argv[1], "user.writer", sys.argv[2].encode())
os.setxattr(sys.argv[1], "user.big", open(sys.argv[3], "rb").read(4000))' "$d/f1" "$1" "$work/big" &&
      mv "$d/f2" "$d/g2" && ln "$d/f3" "$d/h3" && ln -s f4 "$d/s4" && rm "$d/f5" &&
      mkdir "$d/sub" && touch "$d/sub/x" && rm -r "$d/sub" && ls -l "$d" >/dev/null
  }
  fuse_mount "$copy" "$mnt" --as-given -o "rw,io_uring,stats_file=$work/uring1.stats" || { fail "xfsfuse -o rw,io_uring did not mount"; return; }
  local writers=()
  for ((k = 0; k < 2; k++)); do
    taskset -c $((k % cpus)) bash -c "$(declare -f uring_worker); work=$work mnt=$mnt uring_worker $k" &
    writers+=($!)
  done
  for k in "${writers[@]}"; do wait "$k" || fail "a writer failed"; done  # by pid, as in uring_fsync_storm
  fuse_umount "$mnt"
  fuse_mount "$copy" "$mnt" --as-given -o "rw,io_uring,ring_sched=normal,stats_file=$work/uring2.stats" || { fail "no second io_uring mount"; return; }
  for ((k = 0; k < 2; k++)); do
    n=$(find "$mnt/w$k" -type f | wc -l)
    check "writer $k: 151 files and a hard link back after remount ($n)" test "$n" = 151
    check "writer $k: the 3 MiB file reads back equal" cmp -s "$work/big" "$mnt/w$k/big"
    check "writer $k: file 150 reads back" grep -qx "file 150 of writer $k" "$mnt/w$k/f150"
    check "writer $k: its xattrs" python3 -c 'import os, sys
assert os.getxattr(sys.argv[1], "user.writer") == sys.argv[2].encode()
assert os.getxattr(sys.argv[1], "user.big") == open(sys.argv[3], "rb").read(4000)' "$mnt/w$k/f1" "$k" "$work/big"
    check "writer $k: the hard link count" test "$(stat -c %h "$mnt/w$k/f3")" = 2
    check "writer $k: the symlink" test "$(readlink "$mnt/w$k/s4")" = f4
  done
  local t0 rm_ms
  t0=$(date +%s%N)
  rm -rf "$mnt"/w0 "$mnt"/w1
  rm_ms=$((($(date +%s%N) - t0) / 1000000))
  check "the trees are removed" test -z "$(ls "$mnt" | grep '^w[01]$')"
  fuse_umount "$mnt"
  want=$(fuse_uring_possible_cpus)
  for k in 1 2; do
    n=$(stat_counter "$work/uring$k.stats" fuse.uring_queues)
    check "mount $k: one ring queue per possible CPU ($n, want $want)" test "$n" = "$want"
    n=$(stat_counter "$work/uring$k.stats" fuse.uring_requests)
    check "mount $k: the rings served the requests ($n, want > 500)" test "$n" -gt 500
  done
  # The ring threads under SCHED_IDLE while requests flowed (fs/fuse/ring_sched.h; root may leave
  # SCHED_IDLE again), and never with ring_sched=normal.
  n=$(stat_counter "$work/uring1.stats" fuse.ring_sched.idle_turns)
  if python3 -c 'import os; p = os.sched_param(0); os.sched_setscheduler(0, os.SCHED_IDLE, p); os.sched_setscheduler(0, os.SCHED_OTHER, p)' 2>/dev/null; then
    check "mount 1: the ring threads went under SCHED_IDLE ($n times, want >= 1)" test "$n" -ge 1
  else
    echo "SKIP: ring_sched=idle not checked: this process may not leave SCHED_IDLE again (no CAP_SYS_NICE)"
  fi
  n=$(stat_counter "$work/uring2.stats" fuse.ring_sched.idle_turns)
  check "mount 2, ring_sched=normal: never under SCHED_IDLE ($n times)" test "$n" = 0
  # The rm -rf above evicted every file: /dev/fuse, left with the forgets, is read by one thread at
  # a time and at most once a millisecond after a forget (fs/fuse/uring.cc, kForgetPauseNs), so
  # they come batched: at most one read a millisecond of the rm, and a few for the rest of the
  # mount. A sanitizer build may remove so slowly that the bound is above one read a forget; then
  # it shows nothing and is not checked.
  n=$(stat_counter "$work/uring2.stats" fuse.forget)
  k=$(stat_counter "$work/uring2.stats" fuse.forget_requests)
  if ((rm_ms + 10 < n)); then
    check "mount 2: forgets came batched ($k requests for $n forgets in a ${rm_ms} ms rm -rf, want at most $((rm_ms + 10)))" \
      test "$k" -le $((rm_ms + 10))
  else
    echo "SKIP: forget batching not checked: the rm -rf took ${rm_ms} ms for $n forgets, too slow for the pause to show"
  fi
  check "xfs_repair -n is clean after the io_uring mounts" repair_clean "$copy"
  uring_fsync_behind "$img" "$ctl"
  uring_fsync_storm "$img"
  fuse_uring_set N
  fuse_mount "$copy" "$mnt" --as-given -o "rw,io_uring,stats_file=$work/uring3.stats" || { fail "no mount with enable_uring=N"; return; }
  echo fallback >"$mnt/fallback"
  check "without enable_uring: served through /dev/fuse" grep -qx fallback "$mnt/fallback"
  fuse_umount "$mnt"
  check "without enable_uring: no ring queue" test "$(stat_counter "$work/uring3.stats" fuse.uring_queues)" = 0
  check "without enable_uring: xfsfuse says why" grep -q "does not offer FUSE over io_uring" "$work/daemon.log"
  # Without the option xfsfuse uses the rings whenever enable_uring is Y, and says nothing when it
  # is N; noio_uring keeps it on /dev/fuse.
  fuse_mount "$copy" "$mnt" --as-given -o "rw,stats_file=$work/uring4.stats" || { fail "no default mount with enable_uring=N"; return; }
  echo default >"$mnt/default"
  fuse_umount "$mnt"
  check "by default, with enable_uring=N: no ring queue" test "$(stat_counter "$work/uring4.stats" fuse.uring_queues)" = 0
  check "by default, with enable_uring=N: nothing said about it" \
    test "$(grep -c "does not offer FUSE over io_uring" "$work/daemon.log")" = 1
  fuse_uring_set Y
  fuse_mount "$copy" "$mnt" --as-given -o "rw,stats_file=$work/uring5.stats" || { fail "no default mount with enable_uring=Y"; return; }
  check "by default, with enable_uring=Y: the file written through /dev/fuse reads back through the rings" grep -qx default "$mnt/default"
  fuse_umount "$mnt"
  n=$(stat_counter "$work/uring5.stats" fuse.uring_queues)
  check "by default, with enable_uring=Y: one ring queue per possible CPU ($n, want $want)" test "$n" = "$want"
  fuse_mount "$copy" "$mnt" --as-given -o "rw,noio_uring,stats_file=$work/uring6.stats" || { fail "no noio_uring mount"; return; }
  ls "$mnt" >/dev/null
  fuse_umount "$mnt"
  check "noio_uring, with enable_uring=Y: no ring queue" test "$(stat_counter "$work/uring6.stats" fuse.uring_queues)" = 0
  fuse_uring_set N
}

# uring_fsync_behind IMG CTL: an fsync waits for the disk, so a ring's thread hands it to a helper
# (fs/fuse/uring.cc, waits_for_disk) and serves the requests behind it from the same CPU meanwhile.
# The copy of IMG sits on a kernel XFS that is then frozen (fsfreeze) and the file changed (touch):
# the fsync's log write into the image waits until the thaw; a getxattr from the fsync's CPU must
# be answered before that.
# Skipped (with a note) without loop devices or XFS in the kernel.
uring_fsync_behind() {
  local img=$1 ctl=$2 host=$work/fsync-host mnt=$work/fsync-mnt pid gpid i n rc answered waiting
  [[ -x $ctl ]] || { fail "$ctl is not an executable"; return; }
  truncate -s 512M "$work/fsync-host.img"
  if ! mkfs.xfs -q "$work/fsync-host.img" || ! kernel_mount "$work/fsync-host.img" "$host" rw; then
    echo "SKIP: fsync behind a frozen disk not checked: no mkfs.xfs, loop device or XFS in the kernel"
    return
  fi
  cp --sparse=always "$img" "$host/image"
  fuse_mount "$host/image" "$mnt" --as-given -o "rw,io_uring,stats_file=$work/uring-fsync.stats" ||
    { fail "no io_uring mount of the image on the kernel's XFS"; return; }
  echo data >"$mnt/synced"
  touch "$mnt/asked"
  python3 -c 'import os, sys; os.setxattr(sys.argv[1], "user.k", b"v")' "$mnt/asked"
  fsfreeze -f "$host"
  frozen=$host
  # A change after the freeze: its transaction is in the log xfsfuse has yet to write.
  touch -m -d @1000000000 "$mnt/synced"
  taskset -c 0 python3 -c 'import os, sys; fd = os.open(sys.argv[1], os.O_WRONLY); os.fsync(fd)' "$mnt/synced" &
  pid=$!
  # Until the fsync is in xfsfuse's hands (its counter, asked from the other CPU's ring).
  for ((i = 0; i < 100; i++)); do
    n=$(taskset -c $(($(nproc) > 1 ? 1 : 0)) "$ctl" "$mnt" stats | awk '$1 == "fuse.fsync" { print $2 }')
    [[ $n == 1 ]] && break
    sleep 0.1
  done
  check "the fsync reached xfsfuse (fuse.fsync $n)" test "$n" = 1
  # A request that reached a ring cannot be killed before it is answered, so the getxattr runs in
  # the background and the disk is thawed after at most 20 s either way.
  taskset -c 0 python3 -c 'import os, sys; print(os.getxattr(sys.argv[1], "user.k").decode())' "$mnt/asked" \
    >"$work/fsync-getxattr.out" &
  gpid=$!
  for ((i = 0; i < 200; i++)); do
    kill -0 "$gpid" 2>/dev/null || break
    sleep 0.1
  done
  answered=yes waiting=yes
  kill -0 "$gpid" 2>/dev/null && answered=no
  kill -0 "$pid" 2>/dev/null || waiting=no
  fsfreeze -u "$host"
  frozen=
  rc=0
  wait "$gpid" || rc=$?
  check "a getxattr from the fsync's CPU is answered while the fsync waits ($answered; exit $rc, got '$(cat "$work/fsync-getxattr.out")')" \
    test "$answered:$rc:$(cat "$work/fsync-getxattr.out")" = yes:0:v
  check "the fsync waited for the frozen disk meanwhile ($waiting)" test "$waiting" = yes
  rc=0
  wait "$pid" || rc=$?
  check "the fsync returns 0 after the thaw (got $rc)" test "$rc" = 0
  fuse_umount "$mnt"
  n=$(stat_counter "$work/uring-fsync.stats" fuse.uring_handed_off)
  check "the fsync went to a helper (fuse.uring_handed_off $n)" test "$n" = 1
  check "xfs_repair -n is clean after the frozen fsync" repair_clean "$host/image"
  umount "$host"
}

# uring_fsync_storm IMG: for 3 s, four writers (two per CPU) append 4 KiB and fsync or fdatasync
# after each, beside two that create and unlink in a directory and fsync it: every fsync and
# fsyncdir goes through a helper (fuse.uring_handed_off = fuse.fsync), every byte is there after a
# remount, xfs_repair -n is clean (and, in sanitizer builds, the daemon reports nothing).
uring_fsync_storm() {
  local copy=$work/storm.img mnt=$work/storm k n size cpus pid pids=()
  cpus=$(nproc)
  cp --sparse=always "$1" "$copy"
  fuse_mount "$copy" "$mnt" --as-given -o "rw,io_uring,stats_file=$work/storm.stats" || { fail "no io_uring mount for the fsync storm"; return; }
  for ((k = 0; k < 4; k++)); do
    taskset -c $((k % cpus)) python3 -c '
import os, sys, time
fd, n, t0 = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644), 0, time.time()
while time.time() - t0 < 3:
    os.write(fd, b"x" * 4096)
    (os.fdatasync if n % 2 else os.fsync)(fd)
    n += 1
print(n)' "$mnt/f$k" >"$work/storm.$k" &
    pids+=($!)
  done
  for ((k = 0; k < 2; k++)); do
    taskset -c $((k % cpus)) python3 -c '
import os, sys, time
d, n, t0 = sys.argv[1], 0, time.time()
os.mkdir(d)
while time.time() - t0 < 3:
    p = os.path.join(d, "e%d" % (n % 100))
    if os.path.exists(p):
        os.unlink(p)
    else:
        open(p, "w").write("e")
    dfd = os.open(d, os.O_RDONLY)
    os.fsync(dfd)
    os.close(dfd)
    n += 1' "$mnt/d$k" &
    pids+=($!)
  done
  # By pid: `wait -n` may miss children that end together and then wait for the daemon.
  for pid in "${pids[@]}"; do wait "$pid" || fail "an fsync storm process failed"; done
  fuse_umount "$mnt"
  n=$(stat_counter "$work/storm.stats" fuse.uring_handed_off)
  check "fsync storm: every fsync went to a helper ($n of $(stat_counter "$work/storm.stats" fuse.fsync), want > 100)" \
    test "$n" = "$(stat_counter "$work/storm.stats" fuse.fsync)" -a "$n" -gt 100
  fuse_mount "$copy" "$mnt" || { fail "no read-only mount after the fsync storm"; return; }
  for ((k = 0; k < 4; k++)); do
    n=$(cat "$work/storm.$k")
    size=$(stat -c %s "$mnt/f$k")
    check "fsync storm: writer $k's $n appends are all there ($size bytes)" test "$size" = $((n * 4096))
  done
  fuse_umount "$mnt"
  check "xfs_repair -n is clean after the fsync storm" repair_clean "$copy"
}

# acl_view PATH...: each path's xattr names in listxattr's order, then each value in hex (or the
# errno name getxattr gave), as the caller sees them.
acl_view() {
  python3 - "$@" <<'PY'
import errno, os, sys
for p in sys.argv[1:]:
    names = os.listxattr(p, follow_symlinks=False)
    print(p, "names", *names)
    for n in names + ["system.posix_acl_access", "system.posix_acl_default"]:
        try:
            print(p, n, os.getxattr(p, n, follow_symlinks=False).hex())
        except OSError as e:
            print(p, n, errno.errorcode[e.errno])
PY
}

# acl_mode_steps MNT: on a new script m in MNT (mode 0755, stat()ed so that the kernel caches the
# mode), set an access ACL the mode can say and that takes every x bit away (0644), execute m at
# once, stat it, then set an ACL with a mask (group bits 6: 0760) and stat again; prints the modes
# in octal and what the exec did.  After each change the kernel must neither judge by nor show the
# mode it cached before it.
acl_mode_steps() {
  python3 - "$1/m" <<'PY'
import os, struct, subprocess, sys
U = 0xffffffff
def acl(ents): return struct.pack("<I", 2) + b"".join(struct.pack("<HHI", t, p, i) for t, p, i in ents)
p = sys.argv[1]
with open(p, "w") as f: f.write("#!/bin/sh\nexit 0\n")
os.chmod(p, 0o755)
out = ["%o" % (os.stat(p).st_mode & 0o7777)]
os.setxattr(p, "system.posix_acl_access", acl([(1, 6, U), (4, 4, U), (0x20, 4, U)]))
try:
    subprocess.run([p], check=True); out.append("ran")
except PermissionError:
    out.append("refused")
out.append("%o" % (os.stat(p).st_mode & 0o7777))
os.setxattr(p, "system.posix_acl_access", acl([(1, 7, U), (2, 4, 1000), (4, 4, U), (0x10, 6, U), (0x20, 0, U)]))
out.append("%o" % (os.stat(p).st_mode & 0o7777))
print(" ".join(out))
PY
}

mode_acl() {
  local img=$work/acl.img kmnt=$work/acl-kernel mnt=$work/acl loop paths=(f d d/sub d/new g plain r1 r2 w)
  [[ -e /dev/loop-control ]] || skip "no loop devices: the ACLs are set through the kernel's XFS"
  truncate -s 512M "$img"
  mkfs.xfs -q -f "$img"
  loop=$(losetup -f --show "$img") || skip "losetup failed: no loop device free"
  loops+=("$loop")
  mkdir -p "$kmnt"
  mount -t xfs "$loop" "$kmnt" 2>/dev/null || skip "the kernel cannot mount XFS here"
  mounts+=("$kmnt")
  # Access ACLs with named users, groups and a mask; default ACLs, one inherited; 300 named users
  # (a 3,604-byte value: a leaf-form attr fork, a remote value); a file with only a user xattr.
  (cd "$kmnt" && python3 - <<'PY'
import os, struct
U = 0xffffffff
def acl(ents): return struct.pack("<I", 2) + b"".join(struct.pack("<HHI", t, p, i) for t, p, i in ents)
for p in ("f", "g", "plain"): open(p, "w").write(p)
os.mkdir("d")
os.setxattr("f", "system.posix_acl_access", acl([(1, 6, U), (2, 4, 1000), (4, 4, U), (8, 2, 50), (0x10, 6, U), (0x20, 0, U)]))
os.setxattr("d", "system.posix_acl_default", acl([(1, 7, U), (2, 5, 1002), (4, 5, U), (0x10, 5, U), (0x20, 1, U)]))
os.setxattr("d", "system.posix_acl_access", acl([(1, 7, U), (2, 7, 1001), (4, 5, U), (0x10, 7, U), (0x20, 5, U)]))
os.mkdir("d/sub")
open("d/new", "w").close()
os.setxattr("g", "system.posix_acl_access", acl([(1, 6, U)] + [(2, 4, 2000 + k) for k in range(300)] + [(4, 4, U), (0x10, 4, U), (0x20, 4, U)]))
os.setxattr("plain", "user.note", b"no ACL")
# For nobody (65534): r1 readable only through a named entry, r2 not although other may read,
# w a directory it may write into only through a named entry.
for p in ("r1", "r2"): open(p, "w").write(p)
os.mkdir("w")
os.chmod("r1", 0o600); os.chmod("r2", 0o604); os.chmod("w", 0o755)
os.setxattr("r1", "system.posix_acl_access", acl([(1, 6, U), (2, 4, 65534), (4, 0, U), (0x10, 4, U), (0x20, 0, U)]))
os.setxattr("r2", "system.posix_acl_access", acl([(1, 6, U), (2, 0, 65534), (4, 0, U), (0x10, 4, U), (0x20, 4, U)]))
os.setxattr("w", "system.posix_acl_access", acl([(1, 7, U), (2, 7, 65534), (4, 5, U), (0x10, 7, U), (0x20, 5, U)]))
PY
  ) || { fail "the kernel did not take the ACLs"; return; }
  acl_access() { # DIR: what nobody may do there, one line each
    local r
    for r in r1 r2; do
      if setpriv --reuid=nobody --regid=nogroup --clear-groups cat "$1/$r" >/dev/null 2>&1; then echo "$r: read"; else echo "$r: refused"; fi
    done
    if setpriv --reuid=nobody --regid=nogroup --clear-groups touch "$1/w/by-nobody" 2>/dev/null; then echo "w: created"; else echo "w: refused"; fi
    rm -f "$1/w/by-nobody"
  }
  acl_access "$kmnt" >"$work/acl-kernel-access"
  # acl_views DIR OUT: acl_view of the paths in DIR as root (OUT-root) and as nobody (OUT-nobody).
  acl_views() {
    (cd "$1" && acl_view "${paths[@]}") >"$2-root"
    (cd "$1" && setpriv --reuid=nobody --regid=nogroup --clear-groups bash -c "$(declare -f acl_view); acl_view ${paths[*]}") >"$2-nobody"
  }
  acl_views "$kmnt" "$work/acl-kernel"
  acl_mode_steps "$kmnt" >"$work/acl-kernel-modes"
  rm -f "$kmnt/m"
  umount "$kmnt"
  check "the kernel's XFS: an access ACL sets the mode (755, exec refused at 644, then 760)" \
    test "$(cat "$work/acl-kernel-modes")" = "755 refused 644 760"
  check "the kernel's XFS lists the ACLs under system.posix_acl_* (f)" grep -q '^f names system.posix_acl_access trusted.SGI_ACL_FILE$' "$work/acl-kernel-root"
  fuse_mount "$img" "$mnt" -o allow_other || { fail "xfsfuse did not mount the ACL image"; return; }
  acl_views "$mnt" "$work/acl"
  same "ACL names and values as root: xfsfuse = the kernel" "$work/acl-kernel-root" "$work/acl-root"
  same "ACL names and values as nobody: xfsfuse = the kernel" "$work/acl-kernel-nobody" "$work/acl-nobody"
  fuse_umount "$mnt"
  check "the kernel let nobody read r1 and create in w through named entries only, not read r2" \
    test "$(cat "$work/acl-kernel-access")" = $'r1: read\nr2: refused\nw: created'
  fuse_mount "$img" "$mnt" --as-given -o rw,allow_other || { fail "xfsfuse -o rw did not mount the ACL image"; return; }
  acl_access "$mnt" >"$work/acl-access"
  same "what nobody may do by the ACLs, read-write mount: xfsfuse = the kernel" "$work/acl-kernel-access" "$work/acl-access"
  # Root removes r1's ACL by the name XFS stores it under: the kernel must forget the ACL it
  # cached when nobody read r1 above (as the kernel's XFS forgets its own).
  python3 -c 'import os, sys; os.removexattr(sys.argv[1], "trusted.SGI_ACL_FILE")' "$mnt/r1"
  check "trusted.SGI_ACL_FILE removed: nobody may no longer read r1" \
    bash -c '! setpriv --reuid=nobody --regid=nogroup --clear-groups cat "$1" >/dev/null 2>&1' _ "$mnt/r1"
  acl_mode_steps "$mnt" >"$work/acl-modes"
  same "an access ACL sets the mode the next exec and stat see: xfsfuse = the kernel" "$work/acl-kernel-modes" "$work/acl-modes"
  rm -f "$mnt/m"
  fuse_umount "$mnt"
  # -o noacl: the driver judges by the mode bits alone (r1 0600, r2 0604, w 0755 root's).
  fuse_mount "$img" "$mnt" --as-given -o rw,allow_other,noacl || { fail "xfsfuse -o noacl did not mount"; return; }
  acl_access "$mnt" >"$work/acl-access-noacl"
  check "-o noacl: nobody is judged by the mode bits alone" \
    test "$(cat "$work/acl-access-noacl")" = $'r1: refused\nr2: read\nw: refused'
  # Without FUSE_POSIX_ACL the kernel passes system.posix_acl_* through as plain xattrs and marks
  # only the ctime stale: it would exec by the mode it cached unless the driver drops it
  # (fs/fuse/ops_xattr.cc).
  acl_mode_steps "$mnt" >"$work/acl-modes-noacl"
  same "-o noacl: an access ACL sets the mode the next exec and stat see" "$work/acl-kernel-modes" "$work/acl-modes-noacl"
  rm -f "$mnt/m"
  fuse_umount "$mnt"
  check "xfs_repair -n is clean" repair_clean "$img"
}

case $mode in
  compare) (($# == 2)) || usage; mode_compare "$1" "$2" ;;
  cli) (($# == 1)) || usage; mode_cli "$1" ;;
  ctl) (($# == 2)) || usage; mode_ctl "$1" "$2" ;;
  bigdir-ls) (($# == 1)) || usage; mode_bigdir_ls "$1" ;;
  listing-verdict) (($# == 1)) || usage; mode_listing_verdict "$1" ;;
  uring) (($# == 2)) || usage; mode_uring "$1" "$2" ;;
  acl) (($# == 0)) || usage; mode_acl ;;
  *) usage ;;
esac

if compgen -G "$work/sanitizer*" >/dev/null; then
  fail "sanitizer reports from xfsfuse:"
  cat "$work"/sanitizer* | head -60 | sed 's/^/    /'
fi
if ((failures)); then
  if [[ -s $work/daemon.log ]]; then
    echo "stderr of the xfsfuse daemons:"
    head -40 "$work/daemon.log" | sed 's/^/    /'
  fi
  echo "$mode: $failures check(s) failed"
  exit 1
fi
echo "$mode: all checks passed"
