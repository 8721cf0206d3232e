#!/usr/bin/env bash
# check-image.sh [--kernel-compare | --compare-only] NAME IMG - build a test image and check it.
#
#   NAME  demo | bigdir  built with images/make-image (no root needed)
#         kernel         built with images/make-kernel-image (root + loop devices, else exit 77)
#   IMG   where to build it (OUT.img; the manifests land next to it)
#
# Always: the builder succeeds, `xfs_repair -n` exits 0, the manifest is well formed, and xfs_db
# confirms each directory really is in the format it was built for (see check_dir_format) and the
# other structures the image is meant to exercise are there.
#
# --kernel-compare (and always for NAME=kernel): then mount the image read-only through the kernel
# and compare what it shows (type, mode, uid, gid, size, rdev, symlink target, SHA-1 of content; and
# extended attributes for kernel) with the manifest the builder derived from its spec. Needs root
# and loop devices: exit 77 with "SKIP: <reason>" without them.
# --compare-only: only that comparison, on an IMG built before (ctest runs it after the build test).
#
# Exit codes: 0 all checks passed; 1 a check failed (each failure printed as "FAIL: ..."); 2 usage;
# 77 skipped.
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
images=$(cd "$here/../../images" && pwd)
IMG_PROG=check-image
# shellcheck source=images/lib.sh
. "$images/lib.sh"

usage() { echo "usage: check-image.sh [--kernel-compare | --compare-only] demo|bigdir|kernel OUT.img" >&2; exit 2; }
compare=0
build=1
case ${1:-} in
  --kernel-compare) compare=1; shift ;;
  --compare-only) compare=1; build=0; shift ;;
esac
(($# == 2)) || usage
name=$1
img=$2
case $name in demo | bigdir | kernel) ;; *) usage ;; esac

failures=0
fail() { printf 'FAIL: %s\n' "$*"; failures=$((failures + 1)); }
ok() { printf 'ok: %s\n' "$*"; }
check() { # check DESCRIPTION COMMAND...: run COMMAND; pass if it exits 0
  local what=$1
  shift
  if "$@"; then ok "$what"; else fail "$what"; fi
}
skip() { printf 'SKIP: %s\n' "$*"; exit 77; }

for t in xfs_db xfs_repair awk sort; do
  command -v "$t" >/dev/null 2>&1 || { echo "FAIL: missing tool $t (Debian: xfsprogs)"; exit 1; }
done
if ((compare)) || [[ $name == kernel ]]; then
  [[ $(id -u) == 0 ]] || skip "the kernel comparison needs root (mount)"
  [[ -e /dev/loop-control ]] || skip "no loop device support"
fi

manifest=$img.manifest

# --- xfs_db helpers -----------------------------------------------------------------------------
db() { # db CMD...: run xfs_db commands read-only on the image
  local args=() c
  for c in "$@"; do args+=(-c "$c"); done
  xfs_db -r "${args[@]}" "$img" 2>&1
}
# field PATH FIELD [BLOCKCMD]: value of FIELD of inode PATH (or of the block BLOCKCMD selects,
# e.g. "dblock 0"), as xfs_db prints it after "FIELD = ".
field() {
  local cmds=("path $1")
  [[ -n ${3:-} ]] && cmds+=("$3")
  db "${cmds[@]}" "print $2" | awk -v f="$2" '$1 == f && $2 == "=" { sub(/^[^=]*= /, ""); print; exit }'
}
sb() { db 'sb 0' "print $1" | awk '{ print $3 }'; }
# init_geometry: superblock values the checks need (call once the image exists).
init_geometry() {
  blocklog=$(sb blocklog)
  dirblkfsbs=$((1 << $(sb dirblklog)))   # file system blocks per directory block
  # Directory address spaces (XFS_DIR2_LEAF_OFFSET, XFS_DIR2_FREE_OFFSET) in file system blocks.
  leafoff=$(((32 << 30) >> blocklog))
  freeoff=$(((64 << 30) >> blocklog))
}

# dir_spaces PATH: "DATA LEAF FREE": how many directory blocks the directory maps in each of its
# three address spaces (data from 0, leaf/node from 32 GiB, free index from 64 GiB), from the
# data fork's extent map (`bmap` lines: "data offset O startblock S (A/B) count C flag F").
dir_spaces() {
  db "path $1" bmap | awk -v lo="$leafoff" -v fo="$freeoff" -v per="$dirblkfsbs" '
    $1 == "data" && $2 == "offset" { if ($3 >= fo) f += $8; else if ($3 >= lo) l += $8; else d += $8 }
    END { printf "%d %d %d\n", d / per, l / per, f / per }'
}

# check_dir_format PATH local|block|leaf|node
#
# How the format is told apart, robustly, with xfs_db only:
#   local  the inode's data fork format (core.format) is "local": entries live in the inode.
#   block  the data fork (extents or btree) maps exactly one directory block, at offset 0, and
#          nothing in the leaf or free-index spaces; that block's magic is XDB3 (0x58444233).
#   leaf   two or more data blocks (magic XDD3 at offset 0), exactly one block in the leaf space
#          whose magic is the LEAF1 0x3df1, and no free-index block.
#   node   two or more data blocks, three or more blocks in the leaf space (a da node plus at least
#          two LEAFN blocks), at least one free-index block (magic XDF3, 0x58444633). The first
#          block of the leaf space is the da btree root: magic 0x3ebe, level >= 1.
# The extent map is independent of how blocks are laid out on disk (one extent or sixteen per
# directory block), and the magics confirm that the blocks are what their offsets say.
check_dir_format() {
  local path=$1 want=$2 fmt spaces d l f m lvl
  fmt=$(field "$path" core.format)
  if [[ $want == local ]]; then
    check "$path is short form (core.format $fmt)" test "$fmt" = "1 (local)"
    return
  fi
  if [[ $fmt != "2 (extents)" && $fmt != "3 (btree)" ]]; then
    fail "$path: core.format is '$fmt', expected extents or btree for a $want directory"
    return
  fi
  spaces=$(dir_spaces "$path")
  read -r d l f <<<"$spaces"
  case $want in
    block)
      m=$(field "$path" bhdr.hdr.magic "dblock 0")
      check "$path is block form (data/leaf/free blocks $spaces, magic $m)" \
        test "$d $l $f $m" = "1 0 0 0x58444233" ;;
    leaf)
      m=$(field "$path" dhdr.hdr.magic "dblock 0")/$(field "$path" lhdr.info.hdr.magic "dblock $leafoff")
      check "$path is leaf form (data/leaf/free blocks $spaces, magics $m)" \
        test "$d" -ge 2 -a "$l $f $m" = "1 0 0x58444433/0x3df1" ;;
    node)
      m=$(field "$path" dhdr.hdr.magic "dblock 0")/$(field "$path" nhdr.info.hdr.magic "dblock $leafoff")/$(field "$path" fhdr.hdr.magic "dblock $freeoff")
      lvl=$(field "$path" nhdr.level "dblock $leafoff")
      check "$path is node form (data/leaf/free blocks $spaces, magics $m, da level ${lvl:-?})" \
        test "$d" -ge 2 -a "$l" -ge 3 -a "$f" -ge 1 -a "$m" = "0x58444433/0x3ebe/0x58444633" -a "${lvl:-0}" -ge 1 ;;
    *) fail "check_dir_format: unknown format $want" ;;
  esac
}

# check_hash_family DIR PREFIX COUNT: DIR has COUNT entries starting with PREFIX, all with one
# name hash (xfs_db `ls` prints offset, inode, type, hash, name length, name).
check_hash_family() {
  local got
  got=$(db "ls $1" | awk -v p="$2" 'index($6, p) == 1 { n++; h[$4] = 1 } END { k = 0; for (x in h) k++; print n + 0, k }')
  check "$1: $3 names starting '$2' share one hash (names, distinct hashes: $got)" test "$got" = "$3 1"
}

# check_extents PATH WHAT MIN [FLAG]: the data fork of PATH has at least MIN extents (and, with
# FLAG 0 or 1, at least one extent with that unwritten flag).
check_extents() {
  local n
  n=$(db "path $1" bmap | awk -v fl="${4:-}" '$1 == "data" { n++; if (fl == "" || $10 == fl) m++ } END { print (m ? n : 0) + 0 }')
  check "$1: $2 (extents: $n, want >= $3)" test "$n" -ge "$3"
}

check_field() { # check_field PATH FIELD EXPECTED
  local v
  v=$(field "$1" "$2")
  check "$1: $2 = $3 (got $v)" test "$v" = "$3"
}

# --- manifest -----------------------------------------------------------------------------------
check_manifest() {
  local bad
  bad=$(awk -F '\t' 'NR == 1 { if ($0 !~ /^#path\t/) print "no header"; next }
                     NF != 9 { print "line " NR ": " NF " fields" }
                     $1 <= prev { print "line " NR ": not sorted or duplicate: " $1 }
                     { prev = $1 }' "$manifest" | head -5)
  check "manifest is well formed ($(($(wc -l <"$manifest") - 1)) paths)" test -z "$bad"
  [[ -z $bad ]] || printf '    %s\n' "$bad"
}
# --- kernel comparison --------------------------------------------------------------------------
# tree_view and xattr_view (tree-view.sh) read the mount; tests/fuse reads xfsfuse mounts with them.
# shellcheck source=tests/images/tree-view.sh
. "$here/tree-view.sh"

# --- build, repair, structure ------------------------------------------------------------------
# build_image: run the builder (its exit 77 is ours), then xfs_repair -n.
build_image() {
  local t0 rc
  rm -f "$img".{repair.log,kernel-view,kernel-diff,kernel-xattrs,kernel-xattrs-diff}
  t0=$(date +%s.%N)
  rc=0
  if [[ $name == kernel ]]; then
    "$images/make-kernel-image" "$name" "$img" || rc=$?
  else
    "$images/make-image" --force "$name" "$img" || rc=$?
  fi
  ((rc != 77)) || exit 77
  ((rc == 0)) || { echo "FAIL: building $name exited $rc"; exit 1; }
  printf 'ok: built %s in %s s\n' "$img" "$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')"

  if xfs_repair -n "$img" >"$img.repair.log" 2>&1; then
    ok "xfs_repair -n exits 0"
  else
    fail "xfs_repair -n exits non-zero; its complaints:"
    grep -vE 'host filesystem geometry|sector size mismatch|image and the host|^ +- |^Phase|^$' \
      "$img.repair.log" | head -40 | sed 's/^/    /'
  fi
}

# check_structure: what each image was built to contain is really there, per xfs_db.
check_structure() {
  local d lens n runs m
  case $name in
    demo)
      for d in / /sf /sf/empty-dir /devs /links; do check_dir_format "$d" local; done
      check_dir_format /block block
      check_dir_format /leaf leaf
      check_dir_format /hashrun leaf
      check_dir_format /node node
      check_hash_family /block hcbk 16
      check_hash_family /leaf hclf 16
      check_hash_family /node hcnd 16
      check_hash_family /hashrun run- 2000
      lens=$(db "ls /block" | awk '$6 != "." && $6 != ".." { if ($5 == length($6)) seen[$5] = 1 }
                                 END { for (i = 1; i <= 255; i++) n += (i in seen); print n + 0 }')
      check "/block holds names of every length 1..255 ($lens lengths)" test "$lens" = 255
      check_field /links/inline-336 core.format "1 (local)"
      check_field /links/inline-336 core.size 336
      check_field /files/big.bin core.size 8388731
      check_field /files/setugid core.mode 0106755
      check_field /files/biguid core.uid 4000000000
      check_field /devs/blk-max u3.dev 0x7ffffff
      check_extents /files/prealloc-200m "preallocated past EOF in several unwritten extents" 2 1
      check_field /files/prealloc-200m core.size 0
      ;;
    bigdir)
      check_dir_format /bigdir node
      n=$(db "ls /bigdir" | awk '$6 ~ /^f[0-9][0-9][0-9][0-9][0-9][0-9]$/ { n++ } END { print n + 0 }')
      check "/bigdir holds 100000 entries f000000..f099999 (found $n)" test "$n" = 100000
      check "manifest lists / + /bigdir + 100000 files" test "$(($(wc -l <"$manifest") - 1))" = 100002
      ;;
    kernel)
      runs=$(dir_block_runs "$img" /frag | awk '$2 > 1 { n++ } END { print n + 0 }')
      check "/frag: directory blocks made of several discontiguous extents: $runs (want >= 1)" test "$runs" -ge 1
      check_dir_format /frag leaf
      check_dir_format /holes leaf
      check_extents /files/fragmented "content in many extents" 8
      check_extents /files/sparse "data extents around holes" 3
      check_extents /files/falloc "unwritten extents" 2 1
      check_field /hardlinks/a/original core.nlinkv2 3
      check_field /socket core.mode 0140755
      check_field /sticky core.mode 041777
      check_field /symlinks/remote-1023 core.format "2 (extents)"
      check_field /symlinks/remote-1023 core.size 1023
      check_field /xattr/shortform core.aformat "1 (local)"
      check_field /xattr/leaf core.aformat "2 (extents)"
      m=$(field /xattr/leaf hdr.info.hdr.magic "ablock 0")
      check "/xattr/leaf: attr fork block 0 is an attr leaf (magic $m, want 0x3bee)" test "$m" = 0x3bee
      m=$(field /xattr/node hdr.info.hdr.magic "ablock 0")
      check "/xattr/node: attr fork block 0 is a da node (magic $m, want 0x3ebe)" test "$m" = 0x3ebe
      # attr leaf entries print as "N:[hashval,nameidx,incomplete,root,secure,local]"
      m=$(db "path /xattr/collide" "ablock 0" "print entries" |
        awk -F '[][,:]' '/^[0-9]+:\[0x/ { n++; h[$3] = 1 } END { k = 0; for (x in h) k++; print n + 0, k }')
      check "/xattr/collide: 18 attrs in one leaf with 2 hash values (got attrs, hashes: $m)" test "$m" = "18 2"
      m=$(field /xattr/remote hdr.magic "ablock 1")
      check "/xattr/remote: attr fork block 1 is a remote value block (magic $m, want XARM 0x5841524d)" \
        test "$m" = 0x5841524d
      ;;
  esac
}

if ((build)); then
  build_image
  init_geometry
  check_manifest
  check_structure
else
  [[ -f $img && -f $manifest ]] || { echo "FAIL: $img or $manifest missing: build it first"; exit 1; }
fi

if ((compare)) || [[ $name == kernel ]]; then
  mnt=$(mktemp -d "${TMPDIR:-/tmp}/check-image.XXXXXX")
  loopdev=
  cleanup() {
    if mountpoint -q "$mnt"; then umount "$mnt" || umount -l "$mnt" || true; fi
    [[ -z $loopdev ]] || losetup -d "$loopdev" 2>/dev/null || true
    rmdir "$mnt" 2>/dev/null || true
  }
  trap cleanup EXIT
  loopdev=$(losetup -r -f --show "$img") || skip "cannot attach a loop device"
  mount -t xfs -o ro "$loopdev" "$mnt" || skip "cannot mount $img through a loop device"
  tree_view "$mnt" >"$img.kernel-view" || fail "walking the mounted image failed (errors above)"
  if diff <(tail -n +2 "$manifest") "$img.kernel-view" >"$img.kernel-diff"; then
    ok "the kernel shows exactly the manifest ($(wc -l <"$img.kernel-view") paths)"
  else
    fail "the kernel's view differs from the manifest (< manifest, > kernel; full diff: $img.kernel-diff)"
    head -20 "$img.kernel-diff" | sed 's/^/    /'
  fi
  if [[ -f $img.xattrs ]]; then
    xattr_view "$mnt" >"$img.kernel-xattrs"
    if diff <(tail -n +2 "$img.xattrs" | sort) "$img.kernel-xattrs" >"$img.kernel-xattrs-diff"; then
      ok "the kernel shows exactly the xattr manifest ($(wc -l <"$img.kernel-xattrs") attributes)"
    else
      fail "the kernel's xattrs differ from the xattr manifest (full diff: $img.kernel-xattrs-diff)"
      head -20 "$img.kernel-xattrs-diff" | sed 's/^/    /'
    fi
  fi
fi

if ((failures)); then
  echo "$name: $failures check(s) failed"
  exit 1
fi
echo "$name: all checks passed"
