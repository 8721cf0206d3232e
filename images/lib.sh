# shellcheck shell=bash
# images/lib.sh - helpers shared by make-image and make-kernel-image (sourced, not run).
#
# An image is described by a SPEC: a TSV file, one line per path, in depth-first order (every
# directory line is followed by all of that directory's contents before anything else):
#
#   path  type  mode  uid  gid  arg
#
#   type  dir | reg | prealloc | lnk | chr | blk | fifo       (protofile and kernel images)
#         sock | falloc | hardlink | rm                     (kernel images only)
#   mode  4 octal digits: permission bits plus setuid (4000), setgid (2000), sticky (1000; kernel
#         images only)
#   arg   reg: source file; falloc: source file (the file is fallocated to its size first, then
#         the source's data ranges are written: unwritten extents where the source has holes);
#         prealloc: size for mkfs's "r" type (e.g. 200m); lnk: target; chr/blk: MAJOR:MINOR;
#         hardlink: the existing path it links to (uid, gid, mode ignored); rm: - (removes an
#         earlier path of the spec); others: -
#
# From a spec come the protofile that mkfs.xfs -p reads (spec_to_proto) and the expected manifest
# (spec_to_manifest, format in images/README.md). Both are derived from the spec only; nothing here
# reads an image back.

IMG_EMPTY_SHA1=da39a3ee5e6b4b0d3255bfef95601890afd80709

img_log() { printf '%s: %s\n' "${IMG_PROG:-images}" "$*" >&2; }
img_die() { img_log "error: $*"; exit 1; }

# img_need_tools TOOL...: fail (exit 1) naming every missing tool.
img_need_tools() {
  local t missing=()
  for t in "$@"; do command -v "$t" >/dev/null 2>&1 || missing+=("$t"); done
  ((${#missing[@]} == 0)) || img_die "missing tools: ${missing[*]} (Debian: xfsprogs coreutils mawk)"
}

# spec_open FILE: start a spec; spec_add appends to it through file descriptor 7.
spec_open() { exec 7>"$1"; }
spec_close() { exec 7>&-; }
# spec_add PATH TYPE MODE UID GID ARG
spec_add() { printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "$6" >&7; }

# gen_text FILE SIZE TAG: exactly SIZE bytes of 64-byte text records "TAG@OFFSET:fill...\n", so every
# 64-byte piece of every file is distinct and names its own offset (a misplaced block shows).
gen_text() {
  LC_ALL=C awk -v n="$2" -v tag="$3" 'BEGIN {
    fill = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ+-"
    fill = fill fill
    for (off = 0; off < n; off += 64) {
      r = sprintf("%s@%d:", tag, off)
      r = r substr(fill, (off / 64) % 64 + 1, 63 - length(r)) "\n"
      if (off + 64 > n) r = substr(r, 1, n - off)
      printf "%s", r
    }
  }' >"$1"
  [[ $(stat -c %s "$1") == "$2" ]] || img_die "gen_text $1: wrong size"
}

# gen_bytes FILE: the 256 byte values 0..255 in order.
gen_bytes() {
  local i s=""
  for ((i = 0; i < 256; i++)); do s+=$(printf '\\x%02x' "$i"); done
  printf '%b' "$s" >"$1"
}

# repeat_to LEN PATTERN: PATTERN repeated and cut to exactly LEN bytes (LEN <= 4096).
repeat_to() {
  local s=$2
  while ((${#s} < $1)); do s+=$s; done
  printf '%s' "${s:0:$1}"
}

# hash_family PREFIX NBITS COUNT: COUNT names that all have the same XFS directory name hash.
# The hash folds the name 4 bytes at a time: h = rol32(h, 28) ^ (c0<<21 | c1<<14 | c2<<7 | c3).
# Flipping bit 4 of byte j of one 4-byte chunk and bit 0 of byte j of the next chunk changes the
# two chunks' contributions by the same amount after the rotation, so the hash is unchanged. With
# base letter 'b' (0x62) the flipped letters are c, r, s. Names: PREFIX (length a multiple of 4)
# followed by ceil(NBITS/4)+1 chunks; name i flips the pairs named by the bits of i.
hash_family() {
  LC_ALL=C awk -v prefix="$1" -v nbits="$2" -v count="$3" 'BEGIN {
    if (length(prefix) % 4) { print "hash_family: prefix length must be a multiple of 4" > "/dev/stderr"; exit 1 }
    nch = int((nbits + 3) / 4) + 1
    for (i = 0; i < count; i++) {
      for (p = 0; p < nch * 4; p++) code[p] = 98
      v = i
      for (b = 0; b < nbits; b++) {
        if (v % 2) { k = int(b / 4); j = b % 4; code[k * 4 + j] += 16; code[(k + 1) * 4 + j] += 1 }
        v = int(v / 2)
      }
      s = prefix
      for (p = 0; p < nch * 4; p++) s = s sprintf("%c", code[p])
      print s
    }
  }'
}

# name_of_len LEN: a distinct, readable name of exactly LEN bytes ("n042_" + filler when LEN >= 5).
name_of_len() {
  local filler=abcdefghijklmnopqrstuvwxyz0123456789
  if (($1 < 5)); then printf '%s' "${filler:0:$1}"; return; fi
  printf '%s' "$(printf 'n%03d_' "$1")$(repeat_to $(($1 - 5)) "$filler")"
}

# spec_to_proto SPEC PROTO: write the mkfs.xfs protofile for SPEC. Symlink targets are limited to
# PROTO_SYMLINK_MAX bytes (default 336, what fits inline in a 512-byte v5 inode): mkfs.xfs 6.1 writes
# the block of a longer ("remote") symlink without the v5 header and CRC, which xfs_repair rejects.
spec_to_proto() {
  LC_ALL=C awk -F '\t' -v maxlnk="${PROTO_SYMLINK_MAX:-336}" '
    function fail(msg) { printf "spec line %d (%s): %s\n", NR, $1, msg > "/dev/stderr"; bad = 1; exit 1 }
    function modestr(type, mode,   c, m) {
      c = (type == "dir") ? "d" : (type == "reg") ? "-" : (type == "prealloc") ? "r" : \
          (type == "lnk") ? "l" : (type == "chr") ? "c" : (type == "blk") ? "b" : \
          (type == "fifo") ? "p" : ""
      if (c == "") fail("type " type " cannot be made by a protofile")
      if (mode !~ /^[0-7][0-7][0-7][0-7]$/) fail("mode must be 4 octal digits")
      m = substr(mode, 1, 1) + 0
      if (m % 2) fail("the sticky bit cannot be set by a protofile")
      return c ((m >= 4) ? "u" : "-") ((m % 4 >= 2) ? "g" : "-") substr(mode, 2, 3)
    }
    function indent(d,   s) { s = ""; while (d-- > 0) s = s "  "; return s }
    NF != 6 { fail("expected 6 tab-separated fields, got " NF) }
    NR == 1 {
      if ($1 != "/" || $2 != "dir") fail("first line must be the root directory")
      print "xfsfuse-image"; print "0 0"
      print modestr($2, $3) " " $4 " " $5
      stack[0] = "/"; depth = 1
      next
    }
    {
      path = $1
      if (path !~ /^\/./ || path ~ /\/$/ || path ~ /\/\//) fail("bad path")
      name = path; sub(/.*\//, "", name)
      parent = substr(path, 1, length(path) - length(name) - 1)
      if (parent == "") parent = "/"
      if (name ~ /[ \t\n]/ || name == "$" || name ~ /^:/ || name == "." || name == "..")
        fail("name cannot be expressed in a protofile")
      if (length(name) > 255) fail("name longer than 255 bytes")
      while (depth > 0 && stack[depth - 1] != parent) { print indent(depth - 1) "$"; depth-- }
      if (depth == 0) fail("parent directory not open: spec not in depth-first order")
      line = indent(depth) name " " modestr($2, $3) " " $4 " " $5
      if ($2 == "reg" || $2 == "prealloc") line = line " " $6
      else if ($2 == "lnk") {
        if ($6 ~ /[ \t]/ || $6 == "") fail("bad symlink target")
        if (length($6) > maxlnk) fail("symlink target longer than " maxlnk " bytes (see PROTO_SYMLINK_MAX)")
        line = line " " $6
      } else if ($2 == "chr" || $2 == "blk") {
        if ($6 !~ /^[0-9]+:[0-9]+$/) fail("rdev must be MAJOR:MINOR")
        split($6, d, ":"); line = line " " d[1] " " d[2]
      }
      print line
      if ($2 == "dir") stack[depth++] = path
    }
    END {
      if (bad) exit 1
      while (depth > 0) { print indent(depth - 1) "$"; depth-- }
    }' "$1" >"$2"
}

# spec_to_manifest MANIFEST SPEC...: the expected manifest (see images/README.md), sorted by path.
# Several specs are read in order as one (a kernel image is built in phases).
spec_to_manifest() {
  local out=$1 table
  shift
  table=$(mktemp)
  # Size and SHA-1 of every distinct regular-file source: "source<TAB>size<TAB>sha1".
  LC_ALL=C awk -F '\t' '$2 == "reg" || $2 == "falloc" { print $6 }' "$@" | LC_ALL=C sort -u |
    while IFS= read -r src; do
      printf '%s\t%s\t%s\n' "$src" "$(stat -c %s "$src")" "$(sha1sum <"$src" | cut -d' ' -f1)"
    done >"$table"
  {
    printf '#path\ttype\tmode\tuid\tgid\tsize\trdev\ttarget\tsha1\n'
    LC_ALL=C awk -F '\t' -v OFS='\t' -v empty="$IMG_EMPTY_SHA1" '
      FILENAME == ARGV[1] { size[$1] = $2; sha[$1] = $3; next }
      {
        type = $2; sz = 0; rdev = "-"; tgt = "-"; h = "-"
        if (type == "rm") { delete row[$1]; next }
        if (type == "hardlink") {
          if (!($6 in row)) { printf "spec: hardlink %s to unknown %s\n", $1, $6 > "/dev/stderr"; exit 1 }
          r = row[$6]; sub(/^[^\t]*/, "", r); row[$1] = $1 r; next
        }
        if (type == "dir") sz = "-"
        else if (type == "reg" || type == "falloc") { type = "reg"; sz = size[$6]; h = sha[$6] }
        else if (type == "prealloc") { type = "reg"; h = empty }
        else if (type == "lnk") { sz = length($6); tgt = $6 }
        else if (type == "chr" || type == "blk") rdev = $6
        row[$1] = $1 OFS type OFS $3 OFS $4 OFS $5 OFS sz OFS rdev OFS tgt OFS h
      }
      END { for (p in row) print row[p] }' "$table" "$@" | LC_ALL=C sort -t "$(printf '\t')" -k1,1
  } >"$out"
  rm -f "$table"
}

# dir_block_runs IMG PATH: for each 64 KiB directory block (or any dirblksize) of directory PATH in
# IMG, print "DIRBLOCK_FSB_OFFSET RUNS", where RUNS is the number of physically discontiguous runs
# of file system blocks the directory block is made of (1 = contiguous). Reads `xfs_db bmap`, whose
# lines are "data offset O startblock S (AG/AGBNO) count C flag F".
dir_block_runs() {
  local dirblkfsbs
  dirblkfsbs=$(xfs_db -r -c 'sb 0' -c 'print dirblklog' "$1" | awk '{ print 2 ^ $3 }')
  xfs_db -r -c "path $2" -c 'bmap' "$1" | LC_ALL=C awk -v per="$dirblkfsbs" '
    $1 == "data" && $2 == "offset" {
      off = $3; start = $5; n = $8
      for (i = 0; i < n; i++) {
        b = int((off + i) / per)
        if (!(b in runs)) { runs[b] = 1; order[++nb] = b }
        else if (start + i != last[b] + 1) runs[b]++
        last[b] = start + i
      }
    }
    END { for (k = 1; k <= nb; k++) print order[k] * per, runs[order[k]] }'
}
