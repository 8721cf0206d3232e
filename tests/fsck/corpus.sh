#!/usr/bin/env bash
# corpus.sh FSCK OUTDIR [--quick] [--sample K] [NAME-GLOB...] — the corruption corpus: xfsfuse-fsck -n against
# xfs_repair -n on images corrupted with xfs_db.
#
# Builds one small base image (mkfs.xfs -p from a protofile written with images/lib.sh: short-form,
# block, leaf and node directories — the node one with its data fork in btree format —, regular
# files, an unwritten preallocation, an inline symlink, a device, a FIFO; then xattrs in short, leaf
# and node form, remote values and a bmbt attr fork, set with xfs_db attr_set; 320 MiB sparse, no
# root), then for each case: a sparse copy of the base, xfs_db -x commands on it (targeted `write`s to one
# field of one structure, with xfs_db recomputing the CRC unless `write -c`; or `blocktrash` with a
# fixed seed), then xfs_repair -n -f and xfsfuse-fsck -n on the copy, each under a timeout.
#
# Verdicts. xfs_repair -n: exit 0 = clean, 1 = problems; "bail" when it could not process the
# filesystem (it never reached Phase 2, exited otherwise, or died of a signal before reporting
# anything; dying after reporting problems counts as problems, noted). xfsfuse-fsck -n: exit 0 =
# clean, 8 = operational, 1 = problems if it printed a problem line that it does not print for the
# base image, else "base-only" (while the base itself is not clean, its findings say nothing about
# the corruption; base-only counts as clean). Status of a case:
#   ok         both clean; both found problems; xfs_repair bailed and we exited 8 (neither can
#              read it: noted) or 1
#   MISS       xfs_repair found problems or bailed, and we said clean; or xfs_repair found problems
#              on a filesystem it could read and we exited 8
#   FALSE      xfs_repair -n says clean (exit 0, output as on the base) and we found problems or
#              exited 8
#   AMBIGUOUS  xfs_repair -n exit 0 but it printed lines it does not print for the base (e.g. a
#              verifier's "Metadata corruption detected"), and we found problems: listed, not failed
#   CRASH      we died of a signal; HANG: we outran the timeout; SANITIZER: a sanitizer report
#   BROKEN     the xfs_db commands left the image unchanged (the case itself is wrong)
#   SCRATCH    xfsfuse-fsck -n --scratch --mem-limit 64 (state in RocksDB) gave another exit status
#              or other lines than in memory
# Writes OUTDIR/corpus.tsv (one row per case: name, commands, both exit codes and verdicts, status,
# note, first new line of each tool's findings) and OUTDIR/corpus-logs/NAME.{repair,fsck,fsck-err,db}
# for every case that is not ok or has a note. Corrupted copies are removed as the run goes.
#   --quick      every targeted write, 3 blocktrash seeds instead of 27 blocktrash cases
#   --sample K   run base.clean and every K-th other case, in the order they are listed (sanitizer
#                builds: tests/fsck/CMakeLists.txt says which)
#   NAME-GLOB    run only the cases whose name matches one of the globs (e.g. 'agf.*')
# Environment: CORPUS_TIMEOUT (seconds per tool run, default 60), CORPUS_JOBS (cases run side by
# side, default one per CPU: each case has its own directory and image copy).
# Exit: 0 every case ok or AMBIGUOUS, 1 some case not ("FAIL: ..."), 2 usage, 77 skipped (no tool).
set -euo pipefail
export LC_ALL=C

usage() { echo "usage: corpus.sh FSCK OUTDIR [--quick] [--sample K] [NAME-GLOB...]" >&2; exit 2; }
(($# >= 2)) || usage
fsck=$1
outdir=$2
shift 2
quick=0 sample=1
globs=()
while (($#)); do
  case $1 in
    --quick) quick=1 ;;
    --sample)
      (($# >= 2)) && [[ $2 =~ ^[1-9][0-9]*$ ]] || usage
      sample=$2
      shift
      ;;
    -*) usage ;;
    *) globs+=("$1") ;;
  esac
  shift
done
for t in mkfs.xfs xfs_db xfs_repair timeout python3; do
  command -v "$t" >/dev/null || { echo "SKIP: no $t (Debian: xfsprogs, coreutils, python3)"; exit 77; }
done
[[ -x $fsck ]] || { echo "corpus.sh: $fsck is not executable" >&2; exit 2; }
mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)
tmo=${CORPUS_TIMEOUT:-60}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
IMG_PROG=corpus.sh
# shellcheck source=images/lib.sh
. "$here/../../images/lib.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/xfsfuse-corpus.XXXXXX")
trap 'rm -rf "$work"' EXIT
logs=$outdir/corpus-logs
rm -rf "$logs"
mkdir -p "$logs"
# Sanitizer reports go to files (each case points them into its own directory, see run_case).
declare -A san_opts=()
for v in ASAN_OPTIONS UBSAN_OPTIONS TSAN_OPTIONS; do
  san_opts[$v]=${!v:-}
  export "$v=log_path=$work/sanitizer:${!v:-}"
done

# --- the base image -----------------------------------------------------------------------------
base=$work/base.img
build_base() {
  local src=$work/src
  mkdir "$src"
  : >"$src/empty"
  printf x >"$src/one"
  gen_text "$src/small" 1000 small
  gen_text "$src/1m" 1048576 onemeg
  spec_open "$work/spec"
  spec_add / dir 0755 0 0 -
  # block form: one 64 KiB directory block
  spec_add /block dir 0755 0 0 -
  local i
  for ((i = 1; i <= 60; i++)); do spec_add "/block/b$i" reg 0644 0 0 "$src/empty"; done
  spec_add /block/sub dir 0755 0 0 -
  spec_add /files dir 0755 0 0 -
  spec_add /files/chr chr 0644 0 0 1:3
  spec_add /files/fifo fifo 0644 0 0 -
  spec_add /files/link lnk 0777 0 0 ../block/b1
  spec_add /files/onemeg reg 0644 0 0 "$src/1m"
  spec_add /files/prealloc prealloc 0644 0 0 40m
  spec_add /files/small reg 0644 0 0 "$src/small"
  # leaf form: 3,000 entries, 2 data blocks and a leaf block
  spec_add /leaf dir 0755 0 0 -
  awk -v s="$src/empty" 'BEGIN { for (i = 0; i < 3000; i++)
    printf "/leaf/leaf-entry-%05d-abcdefghij\treg\t0644\t0\t0\t%s\n", i, s }' >&7
  # node form: 17,000 names of 126 bytes, 44 data blocks, a da node over LEAFN blocks, a free
  # index block; 49 extents, so the data fork is a bmbt. Its inodes make AG 1's inobt two levels.
  spec_add /node dir 0755 0 0 -
  awk -v s="$src/empty" 'BEGIN { f = "abcdefghijklmnopqrstuvwxyz0123456789"; f = f f f f
    for (i = 0; i < 17000; i++) printf "/node/node-entry-%05d-%s\treg\t0644\t0\t0\t%s\n", i, substr(f, 1, 110), s }' >&7
  # short form
  spec_add /sf dir 0755 0 0 -
  spec_add /sf/a reg 0644 0 0 "$src/one"
  spec_add /sf/bb reg 0644 0 0 "$src/small"
  spec_add /sf/sub dir 0755 0 0 -
  # extended attributes (set below with xfs_db attr_set: protofiles carry none)
  spec_add /xattr dir 0755 0 0 -
  local f
  for f in sf leaf node remote bt bt2; do spec_add "/xattr/$f" reg 0644 0 0 "$src/empty"; done
  spec_close
  spec_to_proto "$work/spec" "$work/proto"
  truncate -s 320M "$base"
  mkfs.xfs -f -q -b size=4096 -i size=512,sparse=1,nrext64=0 -d agcount=4 \
    -m crc=1,finobt=1,reflink=1,rmapbt=0,bigtime=1,inobtcount=1,uuid=c0a9e500-0000-4000-8000-0000000c0a9e \
    -n size=65536,ftype=1 -p "$work/proto" "$base" >"$work/mkfs.log" 2>&1 ||
    { cat "$work/mkfs.log"; echo "FAIL: mkfs.xfs could not build the base image"; exit 1; }
  rm -rf "$src"
  # xattrs: short form (three namespaces) on /xattr/sf; a leaf block and a 3-block remote value on
  # /xattr/leaf; a da node over 11 leaves (400 attrs) on /xattr/node; remote values of 5 and 17
  # blocks (trusted) and a local one on /xattr/remote. xfs_db fills values with 'v'.
  local a=(-c 'path /xattr/sf' -c 'attr_set -v 10 one' -c 'attr_set -r -v 20 two' -c 'attr_set -s -v 5 three')
  a+=(-c 'path /xattr/leaf')
  for ((i = 1; i <= 30; i++)); do a+=(-c "attr_set -v 60 leafattr$i"); done
  a+=(-c 'attr_set -v 10000 bigvalue' -c 'path /xattr/node')
  for ((i = 1; i <= 400; i++)); do a+=(-c "attr_set -v 40 nodeattr-name-$i"); done
  a+=(-c 'path /xattr/remote' -c 'attr_set -v 20000 r1' -c 'attr_set -r -v 65536 r2' -c 'attr_set -v 300 small')
  # one-block remote values set in turn on /xattr/bt and /xattr/bt2: their blocks interleave, so
  # each attr fork maps 41 extents and /xattr/bt's is a bmbt (root in the inode, one leaf block)
  for ((i = 1; i <= 40; i++)); do a+=(-c 'path /xattr/bt' -c "attr_set -v 4000 rv$i" -c 'path /xattr/bt2' -c "attr_set -v 4000 rv$i"); done
  xfs_db -x "${a[@]}" "$base" >"$work/attr.log" 2>&1 && ! grep -q . "$work/attr.log" ||
    { cat "$work/attr.log"; echo "FAIL: xfs_db could not set the base image's xattrs"; exit 1; }
}
t0=$(date +%s)
build_base

# --- targets, read from the base ------------------------------------------------------------------
db() { xfs_db -r "$@" "$base"; }
# dbval CMD... FIELD: the value of FIELD after the locating commands.
dbval() {
  local args=() field=${*: -1} c
  for c in "${@:1:$#-1}"; do args+=(-c "$c"); done
  db "${args[@]}" -c "print $field" | awk -v f="$field = " 'index($0, f) == 1 { print substr($0, length(f) + 1); exit }'
}
ino_of() { dbval "path $1" v3.inumber; }
# The first extent of PATH's data fork: "startoff startblock blockcount".
first_extent() { db -c "path $1" -c bmap | awk '$1 == "data" { print $3, $5, $8; exit }'; }
read -r _ onemeg_fsb _ < <(first_extent /files/onemeg)
read -r _ small_fsb _ < <(first_extent /files/small)
bt2_attr_fsb=$(db -c 'path /xattr/bt2' -c 'bmap -a' | awk '$1 == "attr" { print $5; exit }')
# A free inode: the first free one of the finobt record in AG 3.
agblklog=$(dbval 'sb 0' agblklog)
inopblog=$(dbval 'sb 0' inopblog)
free_ino=$(db -c 'agi 3' -c 'addr free_root' -c 'print recs[1]' | awk -F'[][,]' '/^1:/ {
  start = $2; mask = $6; sub(/^0x/, "", mask); n = length(mask)
  for (i = 0; i < 64; i++) { d = index("0123456789abcdef", substr(mask, n - int(i / 4), 1)) - 1
    if (int(d / 2 ^ (i % 4)) % 2) { print start + i; exit } } }')
[[ -n $free_ino ]] || { echo "FAIL: no free inode in AG 3's finobt"; exit 1; }
free_ino=$(((3 << (agblklog + inopblog)) + free_ino))
onemeg_ino=$(ino_of /files/onemeg)
block_ino=$(ino_of /block)
sf_ino=$(ino_of /sf)
leaf_blk=8388608 # first leaf/da-node directory block, in fs blocks (XFS_DIR2_LEAF_OFFSET / 4096)
free_blk=16777216 # first free-index directory block (XFS_DIR2_FREE_OFFSET / 4096)
for v in onemeg_fsb small_fsb bt2_attr_fsb free_ino onemeg_ino block_ino sf_ino; do
  [[ ${!v} =~ ^[0-9]+$ ]] || { echo "FAIL: could not read $v from the base image (got '${!v}')"; exit 1; }
done

# same_image A B: exit 0 if the two sparse files hold the same bytes (compares only the union of
# their data ranges, SEEK_DATA/SEEK_HOLE: a 320 MiB cmp per case would be most of the run time).
same_image() {
  python3 - "$1" "$2" <<'PY'
import os, sys
def ranges(fd):
    end, off, out = os.fstat(fd).st_size, 0, []
    while off < end:
        try:
            d = os.lseek(fd, off, os.SEEK_DATA)
        except OSError:  # ENXIO: no data past off
            break
        off = os.lseek(fd, d, os.SEEK_HOLE)
        out.append((d, off))
    return out
a, b = (os.open(p, os.O_RDONLY) for p in sys.argv[1:3])
if os.fstat(a).st_size != os.fstat(b).st_size:
    sys.exit(1)
merged = []
for s, e in sorted(ranges(a) + ranges(b)):
    if merged and s <= merged[-1][1]:
        merged[-1][1] = max(merged[-1][1], e)
    else:
        merged.append([s, e])
for s, e in merged:
    while s < e:
        n = min(e - s, 1 << 20)
        if os.pread(a, n, s) != os.pread(b, n, s):
            sys.exit(1)
        s += n
PY
}

# --- the cases ------------------------------------------------------------------------------------
# add NAME XFS_DB_COMMAND...: one case; the commands run in one xfs_db -x invocation.
names=() cmds=()
listed=0 # cases that passed the globs, for --sample
add() {
  local n=$1 g m=1
  shift
  if ((${#globs[@]})); then
    m=0
    # shellcheck disable=SC2053 # $g is a glob
    for g in "${globs[@]}"; do [[ $n == $g ]] && m=1; done
  fi
  ((m)) || return 0
  if [[ $n != base.clean ]]; then
    listed=$((listed + 1))
    ((listed % sample == 0)) || return 0
  fi
  local IFS=$'\x1f'
  names+=("$n")
  cmds+=("$*")
}

add base.clean 'sb 0' # no write: the base image itself, both must say clean

# primary superblock
add sb.magicnum 'sb 0' 'write -d magicnum 0x58465300'
add sb.agcount 'sb 0' 'write -d agcount 5'
add sb.agblocks 'sb 0' 'write -d agblocks 20000'
add sb.dblocks 'sb 0' 'write -d dblocks 90000'
add sb.rootino 'sb 0' 'write -d rootino 131'
add sb.uuid 'sb 0' 'write -d uuid 11111111-2222-4333-8444-555555555555'
add sb.logstart 'sb 0' 'write -d logstart 100'
add sb.crc 'sb 0' 'write -c crc 0x12345678'
add sb.versionnum 'sb 0' 'write -d versionnum 0xb4a4'
add sb.features-incompat 'sb 0' 'write -d features_incompat 0x100b'
add sb.inprogress 'sb 0' 'write -d inprogress 1'
add sb.imax-pct 'sb 0' 'write -d imax_pct 200'
add sb.dirblklog 'sb 0' 'write -d dirblklog 3'
add sb.logblocks 'sb 0' 'write -d logblocks 16000'
add sb.rbmino 'sb 0' 'write -d rbmino 132'
add sb.features2 'sb 0' 'write -d bad_features2 0x18b'
# secondary superblock 1
add sb1.agblocks 'sb 1' 'write -d agblocks 20000'
add sb1.dblocks 'sb 1' 'write -d dblocks 90000'
add sb1.uuid 'sb 1' 'write -d uuid 11111111-2222-4333-8444-555555555555'
add sb1.magicnum 'sb 1' 'write -d magicnum 0'
add sb1.crc 'sb 1' 'write -c crc 0x12345678'
add sb1.agcount 'sb 1' 'write -d agcount 5'
add sb1.rootino 'sb 1' 'write -d rootino 131'
add sb1.icount 'sb 1' 'write -d icount 12345' # secondary counters mean nothing: no finding expected
add sb1.fdblocks 'sb 1' 'write -d fdblocks 12345'
add sb3.blocksize 'sb 3' 'write -d blocksize 8192'
# superblock counters
add sb.icount 'sb 0' 'write -d icount 13000'
add sb.ifree 'sb 0' 'write -d ifree 7'
add sb.fdblocks 'sb 0' 'write -d fdblocks 12345'
# AGF
add agf.freeblks 'agf 3' 'write -d freeblks 9000'
add agf.longest 'agf 3' 'write -d longest 9000'
add agf.flcount 'agf 3' 'write -d flcount 3'
add agf.btreeblks 'agf 3' 'write -d btreeblks 2'
add agf.magicnum 'agf 3' 'write -d magicnum 0x58414700'
add agf.seqno 'agf 3' 'write -d seqno 2'
add agf.length 'agf 3' 'write -d length 20000'
add agf.bnoroot 'agf 3' 'write -d bnoroot 3'
add agf.crc 'agf 3' 'write -c crc 0x12345678'
add agf.cntroot 'agf 3' 'write -d cntroot 20479'
add agf.bnolevel 'agf 3' 'write -d bnolevel 2'
add agf.flfirst 'agf 3' 'write -d flfirst 100'
add agf.uuid 'agf 3' 'write -d uuid 11111111-2222-4333-8444-555555555555'
add agf.refcntblocks 'agf 3' 'write -d refcntblocks 2'
add agf.refcntlevel 'agf 3' 'write -d refcntlevel 2'
add refcountbt.numrecs 'agf 3' 'addr refcntroot' 'write -d numrecs 1'
add refcountbt.magic 'agf 3' 'addr refcntroot' 'write -d magic 0x52334644'
add refcountbt.crc 'agf 3' 'addr refcntroot' 'write -c crc 0x12345678'
# AGI
add agi.count 'agi 1' 'write -d count 10048'
add agi.freecount 'agi 1' 'write -d freecount 51'
add agi.unlinked0 'agi 1' 'write -d unlinked[0] 14208'
add agi.magicnum 'agi 1' 'write -d magicnum 0x58414700'
add agi.seqno 'agi 1' 'write -d seqno 3'
add agi.root 'agi 1' 'write -d root 6'
add agi.crc 'agi 1' 'write -c crc 0x12345678'
add agi.level 'agi 1' 'write -d level 3'
add agi.ino-blocks 'agi 1' 'write -d ino_blocks 7'
add agi.fino-blocks 'agi 1' 'write -d fino_blocks 3'
add agi.free-root 'agi 1' 'write -d free_root 20479'
add agi.newino 'agi 1' 'write -d newino 3'
add agi.dirino 'agi 1' 'write -d dirino 14208'
add agi.length 'agi 1' 'write -d length 20000'
# AGFL
add agfl.bno 'agfl 3' 'write -d bno[1] 200'
add agfl.bno-inuse 'agfl 3' 'write -d bno[2] 1'
add agfl.magicnum 'agfl 3' 'write -d magicnum 0x5841464d'
add agfl.crc 'agfl 3' 'write -c crc 0x12345678'
# free space btrees (single-level here: mkfs -p leaves too few free extents for a key)
add bnobt.blockcount 'agf 3' 'addr bnoroot' 'write -d recs[2].blockcount 9000'
add bnobt.startblock 'agf 3' 'addr bnoroot' 'write -d recs[2].startblock 10000'
add bnobt.numrecs 'agf 3' 'addr bnoroot' 'write -d numrecs 1'
add bnobt.magic 'agf 3' 'addr bnoroot' 'write -d magic 0x41423343'
add bnobt.crc 'agf 3' 'addr bnoroot' 'write -c crc 0x12345678'
add cntbt.blockcount 'agf 3' 'addr cntroot' 'write -d recs[2].blockcount 9000'
add cntbt.startblock 'agf 3' 'addr cntroot' 'write -d recs[1].startblock 12'
add cntbt.numrecs 'agf 3' 'addr cntroot' 'write -d numrecs 1'
add cntbt.order 'agf 3' 'addr cntroot' 'write -d recs[1].blockcount 9999'
add cntbt.crc 'agf 3' 'addr cntroot' 'write -c crc 0x12345678'
# inode btrees: AG 1's inobt has a root node over two leaves
inoleaf=('agi 1' 'addr root' 'addr ptrs[1]')
add inobt.freecount "${inoleaf[@]}" 'write -d recs[2].freecount 3'
add inobt.free "${inoleaf[@]}" 'write -d recs[2].free 0x10'
add inobt.startino "${inoleaf[@]}" 'write -d recs[2].startino 256'
add inobt.numrecs "${inoleaf[@]}" 'write -d numrecs 100'
add inobt.crc "${inoleaf[@]}" 'write -c crc 0x12345678'
add inobt.holemask "${inoleaf[@]}" 'write -d recs[2].holemask 0xff00'
add inobt.count "${inoleaf[@]}" 'write -d recs[2].count 32'
add inobt.order "${inoleaf[@]}" 'write -d recs[3].startino 320'
add inobt.rightsib "${inoleaf[@]}" 'write -d rightsib 0xffffffff'
add inobt.leftsib "${inoleaf[@]}" 'write -d leftsib 7'
add inobt.key 'agi 1' 'addr root' 'write -d keys[2].startino 11264'
add inobt.ptr 'agi 1' 'addr root' 'write -d ptrs[2] 3'
add inobt.root-numrecs 'agi 1' 'addr root' 'write -d numrecs 1'
add inobt.root-leftsib 'agi 1' 'addr root' 'write -d leftsib 7'
add inobt.single-leftsib 'agi 3' 'addr root' 'write -d leftsib 7'
add finobt.freecount 'agi 3' 'addr free_root' 'write -d recs[1].freecount 50'
add finobt.free 'agi 3' 'addr free_root' 'write -d recs[1].free 0xffffffffffff0000'
add finobt.startino 'agi 3' 'addr free_root' 'write -d recs[1].startino 192'
add finobt.numrecs 'agi 3' 'addr free_root' 'write -d numrecs 0'
add finobt.crc 'agi 3' 'addr free_root' 'write -c crc 0x12345678'
# inodes
add inode.nblocks 'path /files/onemeg' 'write -d core.nblocks 255'
add inode.nextents 'path /files/onemeg' 'write -d core.nextents 2'
add inode.mode-dir 'path /files/small' 'write -d core.mode 040644'
add inode.mode-free 'path /files/small' 'write -d core.mode 0'
add inode.nlink 'path /files/small' 'write -d core.nlinkv2 2'
add inode.nlink-dir 'path /block' 'write -d core.nlinkv2 2'
add inode.dir-size 'path /block' 'write -d core.size 4096'
add inode.size-huge 'path /files/small' 'write -d core.size 9223372036854775000'
add inode.magic 'path /files/small' 'write -d core.magic 0x4950'
add inode.ino 'path /files/small' "write -d v3.inumber $onemeg_ino"
add inode.forkoff 'path /files/onemeg' 'write -d core.forkoff 40'
add inode.format 'path /files/chr' 'write -d core.format 2'
add inode.uuid 'path /files/small' 'write -d v3.uuid 11111111-2222-4333-8444-555555555555'
add inode.crc 'path /files/small' 'write -c v3.crc 0x12345678'
add inode.root-mode 'sb 0' 'addr rootino' 'write -d core.mode 0100755'
add inode.version 'path /files/small' 'write -d core.version 2'
add inode.realtime-flag 'path /files/small' 'write -d core.realtime 1'
add inode.nsec 'path /files/small' 'write -d core.mtime.nsec 2000000000'
add inode.extsize 'path /files/small' 'write -d core.extsize 16'
add inode.aformat 'path /files/small' 'write -d core.aformat 3'
add inode.naextents 'path /files/small' 'write -d core.naextents 1'
add inode.next-unlinked 'path /files/small' 'write -d next_unlinked 5'
add inode.reflink-dir 'path /block' 'write -d v3.reflink 1'
add inode.cowextsize 'path /files/small' 'write -d v3.cowextsize 16'
add inode.chr-size 'path /files/chr' 'write -d core.size 10'
add inode.fifo-nblocks 'path /files/fifo' 'write -d core.nblocks 1'
add inode.rbmino-mode 'sb 0' 'addr rbmino' 'write -d core.mode 040755'
add inode.node-nblocks 'path /node' 'write -d core.nblocks 480'
add inode.dir-size-big 'path /leaf' 'write -d core.size 1048576'
add inode.sf-size 'path /sf' 'write -d core.size 30'
add inode.dir-nlink-zero 'path /sf/sub' 'write -d core.nlinkv2 0'
add inode.file-nlink-zero 'path /sf/a' 'write -d core.nlinkv2 0'
# extents and bmbt
add bmx.crosslink 'path /files/small' "write -d u3.bmx[0].startblock $onemeg_fsb"
add bmx.past-eofs 'path /files/onemeg' 'write -d u3.bmx[0].startblock 4294967000'
add bmx.blockcount 'path /files/small' 'write -d u3.bmx[0].blockcount 2'
add bmx.overlap 'path /files/onemeg' "write -d u3.bmx[0].startblock $((onemeg_fsb - 1))"
add bmx.unwritten-dir 'path /block' 'write -d u3.bmx[0].extentflag 1'
add bmx.startoff 'path /files/prealloc' 'write -d u3.bmx[0].startoff 4503599627370000'
add bmx.agbno-past-ag 'path /files/small' "write -d u3.bmx[0].startblock $((3 << agblklog | 30000))"
add bmx.zero-length 'path /files/small' 'write -d u3.bmx[0].blockcount 0'
add bmbt.level 'path /node' 'write -d u3.bmbt.level 2'
add bmbt.block-level 'path /node' 'addr u3.bmbt.ptrs[1]' 'write -d level 1'
add bmbt.sibling 'path /node' 'addr u3.bmbt.ptrs[1]' "write -d rightsib $small_fsb"
add bmbt.rec-order 'path /node' 'addr u3.bmbt.ptrs[1]' 'write -d recs[5].startoff 1'
add bmbt.key 'path /node' 'write -d u3.bmbt.keys[1].startoff 5'
add bmbt.ptr 'path /node' "write -d u3.bmbt.ptrs[1] $small_fsb"
add bmbt.numrecs 'path /node' 'addr u3.bmbt.ptrs[1]' 'write -d numrecs 28'
add bmbt.rec-startblock 'path /node' 'addr u3.bmbt.ptrs[1]' "write -d recs[3].startblock $onemeg_fsb"
add bmbt.owner 'path /node' 'addr u3.bmbt.ptrs[1]' "write -d owner $block_ino"
add bmbt.crc 'path /node' 'addr u3.bmbt.ptrs[1]' 'write -c crc 0x12345678'
# short-form directories
add sf.inumber-free 'path /sf' "write -d u3.sfdir3.list[0].inumber.i4 $free_ino"
add sf.inumber-bad 'path /sf' 'write -d u3.sfdir3.list[0].inumber.i4 4000000000'
add sf.ftype 'path /sf' 'write -d u3.sfdir3.list[0].filetype 2'
add sf.parent 'path /sf' "write -d u3.sfdir3.hdr.parent.i4 $block_ino"
add sf.count 'path /sf' 'write -d u3.sfdir3.hdr.count 2'
add sf.namelen 'path /sf' 'write -d u3.sfdir3.list[1].namelen 0'
add sf.offset 'path /sf' 'write -d u3.sfdir3.list[1].offset 0x10'
add sf.name-slash 'path /sf' 'write -d u3.sfdir3.list[1].name "b/"'
add sf.dup-name 'path /sf' 'write -d u3.sfdir3.list[1].name "a"' 'write -d u3.sfdir3.list[1].namelen 1'
add sf.i8count 'path /sf' 'write -d u3.sfdir3.hdr.i8count 1'
add sf.root-parent 'sb 0' 'addr rootino' "write -d u3.sfdir3.hdr.parent.i4 $block_ino"
add sf.dir-loop 'path /sf' "write -d u3.sfdir3.list[2].inumber.i4 $sf_ino"
add sf.subdir-parent 'path /sf/sub' "write -d u3.sfdir3.hdr.parent.i4 $block_ino"
# block directory
add block.namelen 'path /block' 'dblock 0' 'write -d bu[3].namelen 3'
add block.bestfree 'path /block' 'dblock 0' 'write -d bhdr.bestfree[0].length 0xf9c0'
add block.dotdot 'path /block' 'dblock 0' "write -d bu[1].inumber $onemeg_ino"
add block.dot 'path /block' 'dblock 0' 'write -d bu[0].inumber 128'
add block.tag 'path /block' 'dblock 0' 'write -d bu[4].tag 0x88'
add block.inumber-free 'path /block' 'dblock 0' "write -d bu[5].inumber $free_ino"
add block.ftype 'path /block' 'dblock 0' 'write -d bu[5].filetype 7'
add block.magic 'path /block' 'dblock 0' 'write -d bhdr.hdr.magic 0x58444234'
add block.crc 'path /block' 'dblock 0' 'write -c bhdr.hdr.crc 0x12345678'
add block.name 'path /block' 'dblock 0' 'write -d bu[3].name "zz"'
add block.leaf-hash 'path /block' 'dblock 0' 'write -d bleaf[5].hashval 0x3100'
add block.leaf-address 'path /block' 'dblock 0' 'write -d bleaf[5].address 0x13'
add block.tail-count 'path /block' 'dblock 0' 'write -d btail.count 62'
add block.tail-stale 'path /block' 'dblock 0' 'write -d btail.stale 1'
add block.free-length 'path /block' 'dblock 0' 'write -d bu[63].length 0xf9c8'
add block.owner 'path /block' 'dblock 0' "write -d bhdr.hdr.owner $onemeg_ino"
add block.bno 'path /block' 'dblock 0' 'write -d bhdr.hdr.bno 8'
add block.uuid 'path /block' 'dblock 0' 'write -d bhdr.hdr.uuid 11111111-2222-4333-8444-555555555555'
add block.subdir-dotdot 'path /block/sub' "write -d u3.sfdir3.hdr.parent.i4 $sf_ino"
# leaf directory
add leaf.hash 'path /leaf' "dblock $leaf_blk" 'write -d lents[5].hashval 0x1'
add leaf.address 'path /leaf' "dblock $leaf_blk" 'write -d lents[5].address 0x9'
add leaf.bests 'path /leaf' "dblock $leaf_blk" 'write -d lbests[1] 0x2000'
add leaf.count 'path /leaf' "dblock $leaf_blk" 'write -d lhdr.count 3001'
add leaf.data-bestfree 'path /leaf' 'dblock 16' 'write -d dhdr.bestfree[0].length 0x10'
add leaf.data-inumber 'path /leaf' 'dblock 0' "write -d du[7].inumber $free_ino"
add leaf.stale 'path /leaf' "dblock $leaf_blk" 'write -d lhdr.stale 1'
add leaf.forw 'path /leaf' "dblock $leaf_blk" 'write -d lhdr.info.hdr.forw 16'
add leaf.magic 'path /leaf' "dblock $leaf_blk" 'write -d lhdr.info.hdr.magic 0x3dff'
add leaf.data-magic 'path /leaf' 'dblock 16' 'write -d dhdr.hdr.magic 0x58444233'
add leaf.crc 'path /leaf' "dblock $leaf_blk" 'write -c lhdr.info.crc 0x12345678'
# node directory
add node.key-hash 'path /node' "dblock $leaf_blk" 'write -d nbtree[0].hashval 0x10'
add node.key-before 'path /node' "dblock $leaf_blk" 'write -d nbtree[1].before 16'
add node.level 'path /node' "dblock $leaf_blk" 'write -d nhdr.level 2'
add node.free-bests 'path /node' "dblock $free_blk" 'write -d fbests[3] 0x100'
add node.free-nvalid 'path /node' "dblock $free_blk" 'write -d fhdr.nvalid 20'
add node.leafn-hash 'path /node' "dblock $((leaf_blk + 16))" 'write -d lents[10].hashval 0x2'
add node.data-crc 'path /node' 'dblock 32' 'write -c dhdr.hdr.crc 0x12345678'
add node.count 'path /node' "dblock $leaf_blk" 'write -d nhdr.count 1'
add node.leafn-back 'path /node' "dblock $((leaf_blk + 16))" 'write -d lhdr.info.hdr.back 0'
add node.leafn-count 'path /node' "dblock $((leaf_blk + 16))" 'write -d lhdr.count 5000'
add node.free-firstdb 'path /node' "dblock $free_blk" 'write -d fhdr.firstdb 1'
add node.free-nused 'path /node' "dblock $free_blk" 'write -d fhdr.nused 25'
add node.data-bestfree 'path /node' 'dblock 0' 'write -d dhdr.bestfree[0].length 0x50'
add node.root-forw 'path /node' "dblock $leaf_blk" 'write -d nhdr.info.hdr.forw 16'
add node.root-back 'path /node' "dblock $leaf_blk" 'write -d nhdr.info.hdr.back 16'
add node.crc 'path /node' "dblock $leaf_blk" 'write -c nhdr.info.crc 0x12345678'
add node.free-crc 'path /node' "dblock $free_blk" 'write -c fhdr.hdr.crc 0x12345678'
# symlink (inline)
add symlink.size-zero 'path /files/link' 'write -d core.size 0'
add symlink.size-big 'path /files/link' 'write -d core.size 2000'
add symlink.format 'path /files/link' 'write -d core.format 2'
add symlink.nul 'path /files/link' 'write -d u3.symlink "../\000lock/b1"'
add symlink.nblocks 'path /files/link' 'write -d core.nblocks 1'
# xattrs (verdicts checked against xfs_repair -n 6.1; what it does not look at is a warning of ours:
# duplicate short-form names, a remote block's owner / offset / bytes, remote values sharing blocks)
xs=('path /xattr/sf') xl=('path /xattr/leaf' 'ablock 0') xn=('path /xattr/node' 'ablock 0') xr=('path /xattr/remote')
add attr.sf-totsize "${xs[@]}" 'write -d a.sfattr.hdr.totsize 58'
add attr.sf-count "${xs[@]}" 'write -d a.sfattr.hdr.count 2'
add attr.sf-namelen "${xs[@]}" 'write -d a.sfattr.list[0].namelen 0'
add attr.sf-valuelen "${xs[@]}" 'write -d a.sfattr.list[2].valuelen 50'
add attr.sf-dup-name "${xs[@]}" 'write -d a.sfattr.list[2].secure 0' 'write -d a.sfattr.list[2].namelen 3' \
  'write -d a.sfattr.list[2].valuelen 7' 'write -d a.sfattr.list[2].name "one"'
add attr.leaf-hash "${xl[@]}" 'write -d entries[5].hashval 0x2b5f020a'
add attr.leaf-hash-order "${xl[@]}" 'write -d entries[5].hashval 0x1'
add attr.leaf-name "${xl[@]}" 'write -d nvlist[0].name "leafattr30"'
add attr.leaf-usedbytes "${xl[@]}" 'write -d hdr.usedbytes 2000'
add attr.leaf-firstused "${xl[@]}" 'write -d hdr.firstused 100'
add attr.leaf-freemap-size "${xl[@]}" 'write -d hdr.freemap[0].size 4000'
add attr.leaf-freemap-align "${xl[@]}" 'write -d hdr.freemap[0].base 330'
add attr.leaf-nameidx "${xl[@]}" 'write -d entries[3].nameidx 4094'
add attr.leaf-count "${xl[@]}" 'write -d hdr.count 200'
add attr.leaf-local-flag "${xl[@]}" 'write -d entries[21].local 1'
add attr.leaf-namelen "${xl[@]}" 'write -d nvlist[0].namelen 9'
add attr.leaf-valuelen "${xl[@]}" 'write -d nvlist[0].valuelen 59'
add attr.leaf-owner "${xl[@]}" 'write -d hdr.info.owner 128'
add attr.leaf-bno "${xl[@]}" 'write -d hdr.info.bno 8'
add attr.leaf-magic "${xl[@]}" 'write -d hdr.info.hdr.magic 0x3bef'
add attr.leaf-crc "${xl[@]}" 'write -c hdr.info.crc 0x1234' # xfs_repair -n: CRC error, exit 0
add attr.leaf-remote-valueblk "${xl[@]}" 'write -d nvlist[21].valueblk 2'
add attr.leaf-remote-valueblk-far "${xl[@]}" 'write -d nvlist[21].valueblk 60'
add attr.leaf-remote-valuelen "${xl[@]}" 'write -d nvlist[21].valuelen 0'
add attr.node-key "${xn[@]}" 'write -d btree[3].hashval 0x56015d71'
add attr.node-key-order "${xn[@]}" 'write -d btree[3].hashval 0x1'
add attr.node-before "${xn[@]}" 'write -d btree[3].before 7'
add attr.node-before-root "${xn[@]}" 'write -d btree[3].before 0'
add attr.node-before-past "${xn[@]}" 'write -d btree[3].before 100'
add attr.node-level "${xn[@]}" 'write -d hdr.level 2'
add attr.node-count "${xn[@]}" 'write -d hdr.count 10'
add attr.node-forw "${xn[@]}" 'write -d hdr.info.hdr.forw 3'
add attr.node-back "${xn[@]}" 'write -d hdr.info.hdr.back 3'
add attr.node-crc "${xn[@]}" 'write -c hdr.info.crc 0x1234' # xfs_repair -n: CRC error, exit 0
add attr.node-leaf-forw 'path /xattr/node' 'ablock 1' 'write -d hdr.info.hdr.forw 4'
add attr.node-leaf-back 'path /xattr/node' 'ablock 10' 'write -d hdr.info.hdr.back 4'
add attr.node-leaf-hash 'path /xattr/node' 'ablock 10' 'write -d entries[0].hashval 0x56011d70'
add attr.remote-magic "${xr[@]}" 'ablock 1' 'write -d hdr.magic 0x5841524e'
add attr.remote-bno "${xr[@]}" 'ablock 2' 'write -d hdr.bno 8'
add attr.remote-crc "${xr[@]}" 'ablock 3' 'write -c hdr.crc 0x1234'
add attr.remote-offset "${xr[@]}" 'ablock 2' 'write -d hdr.offset 0'
add attr.remote-bytes "${xr[@]}" 'ablock 2' 'write -d hdr.bytes 4000'
add attr.remote-owner "${xr[@]}" 'ablock 2' 'write -d hdr.owner 128'
add attr.remote-valuelen "${xr[@]}" 'ablock 0' 'write -d nvlist[1].valuelen 65535'
add attr.remote-overlap "${xr[@]}" 'ablock 0' 'write -d nvlist[1].valueblk 3'
add attr.remote-valueblk-root "${xr[@]}" 'ablock 0' 'write -d nvlist[0].valueblk 0'
add attr.naextents "${xr[@]}" 'write -d core.naextents 2'
# POSIX ACLs: an SGI_ACL_FILE added to /xattr/sf's short form (its fourth entry), XFS's form (be32
# count, 12-byte entries {tag, id, perm, pad}; docs/format.md "POSIX ACLs"). xfs_repair -n judges
# the count, each entry's tag and permission bits, the base entries, the mask and repeated names;
# not the order nor the value's length (a length the count does not bear out is our warning only).
be_esc() { # V N: V as N big-endian bytes, escaped for xfs_db write
  local i s=
  for ((i = $2 - 1; i >= 0; i--)); do s+=$(printf '\\%03o' $((($1 >> (8 * i)) & 255))); done
  printf '%s' "$s"
}
acl_case() { # NAME EXTRA TAG:PERM[:ID]...: a case storing that ACL, EXTRA zero bytes after it
  local name=$1 extra=$2 e tag perm id v i
  shift 2
  v=$(be_esc $# 4)
  for e; do
    IFS=: read -r tag perm id <<<"$e"
    v+=$(be_esc "$tag" 4)$(be_esc "${id:-4294967295}" 4)$(be_esc "$perm" 2)$(be_esc 0 2)
  done
  for ((i = 0; i < extra; i++)); do v+='\000'; done
  add "$name" "${xs[@]}" "attr_set -r -v $((4 + 12 * $# + extra)) SGI_ACL_FILE" "write -d a.sfattr.list[3].value \"$v\""
}
acl_case attr.acl-valid 0 1:6 2:4:1000 4:4 16:6 32:0
acl_case attr.acl-order 0 4:4 1:6 32:0
acl_case attr.acl-length 4 1:6 4:4 32:4
acl_case attr.acl-perm 0 1:8 4:4 32:0
acl_case attr.acl-tag 0 1:6 4:4 64:4 32:0
acl_case attr.acl-no-mask 0 1:6 2:4:1000 4:4 32:0
acl_case attr.acl-two-owners 0 1:6 1:6 4:4 32:0
acl_case attr.acl-same-user 0 1:6 2:4:7 2:5:7 4:4 16:6 32:0
acl_case attr.acl-no-other 0 1:6 4:4
add attr.acl-count "${xs[@]}" 'attr_set -r -v 28 SGI_ACL_FILE'  # filled with 'v': 1,987,475,062 entries
add attr.nblocks "${xr[@]}" 'write -d core.nblocks 22'
add attr.forkoff-zero "${xr[@]}" 'write -d core.forkoff 0'
add attr.forkoff-big "${xr[@]}" 'write -d core.forkoff 60'
add attr.aformat 'path /xattr/leaf' 'write -d core.aformat 1'
add attr.extent-crosslink "${xr[@]}" "write -d a.bmx[0].startblock $onemeg_fsb"
add attr.extent-blockcount 'path /xattr/leaf' 'write -d a.bmx[0].blockcount 3'
xb=('path /xattr/bt' 'addr a.bmbt.ptrs[1]')
add attr.bmbt-owner "${xb[@]}" 'write -d owner 128'
add attr.bmbt-crc "${xb[@]}" 'write -c crc 0x1234'
add attr.bmbt-rec-order "${xb[@]}" 'write -d recs[3].startoff 1'
add attr.bmbt-numrecs "${xb[@]}" 'write -d numrecs 30'
add attr.bmbt-crosslink "${xb[@]}" "write -d recs[3].startblock $bt2_attr_fsb"
add attr.bmbt-nblocks 'path /xattr/bt' 'write -d core.nblocks 41'
add attr.bmbt-remote-magic 'path /xattr/bt' 'ablock 3' 'write -d hdr.magic 0'

# blocktrash: random bits in randomly chosen metadata blocks (CRCs left stale)
seeds=(1 2 3 4 5 6 7 8 9 10)
((quick)) && seeds=(1 2 3)
for s in "${seeds[@]}"; do add "trash.seed$s" blockget "blocktrash -s $s -n 8 -x 1 -y 8 -3"; done
if ((!quick)); then
  # one type at a time (blocktrash's own type names)
  for t in btbno btcnt btino btfino inode dir attr; do
    add "trash.$t" blockget "blocktrash -s 42 -n 2 -x 1 -y 16 -3 -t $t"
  done
  # attr blocks (leaves, da nodes, remote values), the reproduction of issue 16 and more seeds
  for s in 1 2 3 4 5 6; do add "trash.attr-seed$s" blockget "blocktrash -s $s -n 2 -x 1 -y 16 -3 -t attr"; done
  # AG 0's header block (4 KiB: sb, AGF, AGI, AGFL sectors): bits past the start of each sector
  add trash.sector-sb blockget 'blocktrash -s 43 -n 1 -x 8 -y 16 -3 -t sb -o 400'
  add trash.sector-agf blockget 'blocktrash -s 43 -n 1 -x 8 -y 16 -3 -t sb -o 4200'
  add trash.sector-agi blockget 'blocktrash -s 43 -n 1 -x 8 -y 16 -3 -t sb -o 8400'
  add trash.sector-agfl blockget 'blocktrash -s 43 -n 1 -x 8 -y 16 -3 -t sb -o 12600'
fi

# --- running them ---------------------------------------------------------------------------------
# The clean base's xfs_repair -n output, to tell warnings on an image it still calls clean.
# Lines that differ between runs (none today) would have to be filtered here.
timeout "$tmo" xfs_repair -n -f "$base" >"$work/base.repair" 2>&1 || true
# first_finding FILE: the first line of xfs_repair's output that the clean base does not print.
first_finding() { grep -vxF -f "$work/base.repair" "$1" | grep -v '^ *$' | head -1 || true; }
# Our findings on the base image: a case counts as found by us only for problem lines the base
# does not get (while the base itself is not clean, its findings say nothing about a corruption).
timeout "$tmo" "$fsck" -n "$base" >"$work/base.fsck" 2>/dev/null || true
new_findings() { grep -vxF -f "$work/base.fsck" "$1" || true; }

# run_case I: case I in its own directory $work/c.I (image, outputs, sanitizer logs, scratch), so
# that cases run side by side (CORPUS_JOBS, default: one per CPU). Leaves there: line (the table
# row printed), row (the TSV row), status, and fail / ambiguous when the case is one.
run_case() {
  local i=$1 w=$work/c.$1 name c args x note status rrc repair frc ours scratch_diff src rfirst ffirst
  mkdir -p "$w"
  for x in ASAN_OPTIONS UBSAN_OPTIONS TSAN_OPTIONS; do export "$x=log_path=$w/sanitizer:${san_opts[$x]}"; done
  name=${names[i]}
  IFS=$'\x1f' read -r -a c <<<"${cmds[i]}"
  args=()
  for x in "${c[@]}"; do args+=(-c "$x"); done
  local img=$w/case.img
  cp --sparse=always "$base" "$img"
  xfs_db -x "${args[@]}" "$img" >"$w/db.out" 2>&1 || true
  note=
  status=
  if [[ $name != base.clean ]] && same_image "$base" "$img"; then status=BROKEN note="xfs_db changed nothing"; fi
  # xfs_repair -n
  rrc=0
  timeout "$tmo" xfs_repair -n -f "$img" >"$w/repair.out" 2>&1 || rrc=$?
  if ((rrc == 124)); then
    repair=hang
  elif ((rrc >= 128)) && grep -q '^Phase 2 ' "$w/repair.out" && [[ -n $(first_finding "$w/repair.out") ]]; then
    repair=problems note="xfs_repair -n died of signal $((rrc - 128)) after reporting problems"
  elif ! grep -q '^Phase 2 ' "$w/repair.out" || ((rrc != 0 && rrc != 1)); then
    repair=bail
    ((rrc < 128)) || note="xfs_repair -n died of signal $((rrc - 128))"
  elif ((rrc == 1)); then
    repair=problems
  else
    repair=clean
    [[ -z $(first_finding "$w/repair.out") ]] || note="warn: xfs_repair exit 0 with output the base does not get"
  fi
  # xfsfuse-fsck -n
  frc=0
  timeout "$tmo" "$fsck" -n "$img" >"$w/fsck.out" 2>"$w/fsck.err" || frc=$?
  case $frc in
    0) ours=clean ;;
    1) if [[ $name == base.clean || -n $(new_findings "$w/fsck.out") ]]; then ours=problems; else ours="base-only"; fi ;;
    8) ours=operational ;;
    124) ours=hang ;;
    *) ours="exit$frc" ;;
  esac
  # Out of core (--scratch, RocksDB) must say exactly the same.
  scratch_diff=
  if [[ -z $status ]] && ((frc == 0 || frc == 1)); then
    mkdir -p "$w/scratch"
    src=0
    timeout "$tmo" "$fsck" -n --scratch "$w/scratch" --mem-limit 64 "$img" >"$w/scratch.out" 2>/dev/null || src=$?
    if ((src != frc)) || ! cmp -s "$w/fsck.out" "$w/scratch.out"; then
      scratch_diff="--scratch exit $src (in memory $frc), first difference: $(diff "$w/fsck.out" "$w/scratch.out" | sed -n 2p)"
    fi
  fi
  rm -rf "$img" "$w/scratch"
  if [[ -n $status ]]; then
    :
  elif [[ -n $scratch_diff ]]; then
    status=SCRATCH note=$scratch_diff
  elif compgen -G "$w/sanitizer*" >/dev/null; then
    status=SANITIZER note="$(cat "$w"/sanitizer* | grep -m1 -E 'ERROR|WARNING|runtime error' || true)"
  elif ((frc == 124)); then
    status=HANG note="xfsfuse-fsck ran over ${tmo}s"
  elif ((frc >= 128 || (frc != 0 && frc != 1 && frc != 8))); then
    status=CRASH note="xfsfuse-fsck exit $frc"
  elif [[ $repair == hang ]]; then
    status=AMBIGUOUS note="xfs_repair -n ran over ${tmo}s"
  elif [[ $repair == clean && -n $note ]]; then
    [[ $ours == clean || $ours == base-only ]] && status=ok || status=AMBIGUOUS
  elif [[ $repair == clean ]]; then
    [[ $ours == clean || $ours == base-only ]] && status=ok || status=FALSE
  elif [[ $repair == bail ]]; then
    case $ours in
      clean | base-only) status=MISS ;;
      operational) status=ok note="both cannot read it${note:+; $note}" ;;
      *) status=ok ;;
    esac
  else
    case $ours in
      problems) status=ok ;;
      clean | base-only) status=MISS ;;
      operational) status=MISS note="xfs_repair read the filesystem; we exited 8${note:+; $note}" ;;
    esac
  fi
  rfirst=$(first_finding "$w/repair.out")
  if [[ $name == base.clean ]]; then ffirst=$(head -1 "$w/fsck.out"); else ffirst=$(new_findings "$w/fsck.out" | head -1); fi
  [[ -n $ffirst ]] || ffirst=$(head -1 "$w/fsck.err")
  echo "$status" >"$w/status"
  printf '%-24s %-9s %-11s %-9s %s\n' "$name" "$repair" "$ours" "$status" "$note" >"$w/line"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$(IFS=';'; echo "${c[*]}")" "$rrc" "$repair" "$frc" "$ours" \
    "$status" "$note" "$rfirst" "$ffirst" | tr -d '\r' >"$w/row"
  if [[ $status != ok || -n $note ]]; then
    cp "$w/repair.out" "$logs/$name.repair"
    cp "$w/fsck.out" "$logs/$name.fsck"
    cp "$w/fsck.err" "$logs/$name.fsck-err"
    cp "$w/db.out" "$logs/$name.db"
    compgen -G "$w/sanitizer*" >/dev/null && cat "$w"/sanitizer* >"$logs/$name.sanitizer"
  fi
  [[ $status != AMBIGUOUS ]] || echo "$name: $note; xfs_repair -n: $rfirst; xfsfuse-fsck -n: $ffirst" >"$w/ambiguous"
  [[ $status == ok || $status == AMBIGUOUS ]] ||
    echo "$name: $status (xfs_repair -n: $repair, xfsfuse-fsck -n: $ours)${note:+ — $note}" >"$w/fail"
  rm -f "$w/repair.out" "$w/fsck.out" "$w/fsck.err" "$w/db.out" "$w/scratch.out"
}

jobs_max=${CORPUS_JOBS:-$(nproc)}
for i in "${!names[@]}"; do
  while (($(jobs -rp | wc -l) >= jobs_max)); do wait -n || true; done
  run_case "$i" &
done
wait

tsv=$outdir/corpus.tsv
printf 'name\tcommands\trepair_rc\trepair\tfsck_rc\tfsck\tstatus\tnote\trepair_first\tfsck_first\n' >"$tsv"
declare -A count=()
failures=() ambiguous=()
printf '%-24s %-9s %-11s %-9s %s\n' CASE REPAIR FSCK STATUS NOTE
for i in "${!names[@]}"; do
  w=$work/c.$i
  if [[ ! -f $w/status ]]; then  # the case's shell died before its verdict
    count[CRASH]=$((${count[CRASH]:-0} + 1))
    failures+=("${names[i]}: the case did not finish (corpus.sh error)")
    continue
  fi
  status=$(<"$w/status")
  count[$status]=$((${count[$status]:-0} + 1))
  cat "$w/line"
  cat "$w/row" >>"$tsv"
  [[ ! -f $w/ambiguous ]] || ambiguous+=("$(<"$w/ambiguous")")
  [[ ! -f $w/fail ]] || failures+=("$(<"$w/fail")")
done

echo
summary=
for k in ok MISS FALSE CRASH HANG SANITIZER BROKEN SCRATCH AMBIGUOUS; do summary+="$k ${count[$k]:-0}, "; done
echo "corpus: ${#names[@]} cases in $(($(date +%s) - t0)) s: ${summary%, } (table: $tsv, logs: $logs)"
((${#ambiguous[@]} == 0)) || printf 'ambiguous (not counted as failures): %s\n' "${ambiguous[@]}"
if ((${#failures[@]})); then
  printf 'FAIL: %s\n' "${failures[@]}"
  exit 1
fi
echo "all cases agree"
