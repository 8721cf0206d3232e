#!/usr/bin/env bash
# fsck-images.sh FSCK IMG... — xfsfuse-fsck against xfs_repair -n on clean images, and its command
# line. For each IMG: xfs_repair -n's exit status and xfsfuse-fsck -n's must both be 0 (clean), the
# --json output must parse and say clean, and the image must be unchanged (sha1 before and after).
# --scratch must give the same lines. Then: without -n it refuses (exit 8, image untouched), a missing image and a non-XFS file exit 8, a bad option 16,
# and (root) --scratch on a full tmpfs says the database failed and exits 8 without a verdict.
# Exit: 0 passed, 1 a check failed ("FAIL: ..."), 2 usage, 77 skipped (no xfs_repair).
set -euo pipefail
(($# >= 2)) || { echo "usage: fsck-images.sh FSCK IMG..." >&2; exit 2; }
fsck=$1
shift
command -v xfs_repair >/dev/null || { echo "SKIP: no xfs_repair"; exit 77; }
failures=0
fail() { printf 'FAIL: %s\n' "$*"; failures=$((failures + 1)); }
ok() { printf 'ok: %s\n' "$*"; }
work=$(mktemp -d "${TMPDIR:-/tmp}/xfsfuse-fsck.XXXXXX")
trap 'rm -rf "$work"' EXIT

for img in "$@"; do
  [[ -f $img ]] || { fail "$img is missing (the images tests build it)"; continue; }
  name=$(basename "$img")
  before=$(sha1sum <"$img")
  rc=0
  xfs_repair -n -f "$img" >"$work/repair.out" 2>&1 || rc=$?
  [[ $rc == 0 ]] && ok "$name: xfs_repair -n: clean" || fail "$name: xfs_repair -n exit $rc (the image should be clean)"
  rc=0
  "$fsck" -n "$img" >"$work/fsck.out" 2>"$work/fsck.err" || rc=$?
  if [[ $rc == 0 ]]; then
    ok "$name: xfsfuse-fsck -n: clean ($(tail -1 "$work/fsck.err"))"
  else
    fail "$name: xfsfuse-fsck -n exit $rc, xfs_repair -n 0; first problems:"
    head -20 "$work/fsck.out" | sed 's/^/    /'
    sed 's/^/    stderr: /' "$work/fsck.err" | head -5
  fi
  rc=0
  "$fsck" -n --json "$img" >"$work/fsck.json" 2>/dev/null || rc=$?
  if python3 -c 'import json, sys; j = json.load(open(sys.argv[1])); sys.exit(0 if j["clean"] and j["problems"] == [] and j["version"] == 1 else 1)' "$work/fsck.json"; then
    ok "$name: --json parses and says clean (exit $rc)"
  else
    fail "$name: --json output (exit $rc) does not parse or does not say clean"
  fi
  # Out of core: the same lines with the state in RocksDB under a 64 MB limit.
  mkdir -p "$work/scratch"
  rc2=0
  "$fsck" -n --scratch "$work/scratch" --mem-limit 64 "$img" >"$work/scratch.out" 2>"$work/scratch.err" || rc2=$?
  if [[ $rc2 == "$rc" ]] && diff -q "$work/fsck.out" "$work/scratch.out" >/dev/null; then
    ok "$name: --scratch --mem-limit 64: the same verdict and lines (exit $rc2)"
  else
    fail "$name: --scratch exit $rc2 (in memory $rc), or other lines"
    diff "$work/fsck.out" "$work/scratch.out" | head -10 | sed 's/^/    /'
    sed 's/^/    stderr: /' "$work/scratch.err" | head -60
  fi
  [[ -z $(ls -A "$work/scratch") ]] && ok "$name: the scratch database was removed" || fail "$name: scratch left behind"
  [[ $(sha1sum <"$img") == "$before" ]] && ok "$name: image unchanged" || fail "$name: the image changed"
done

img=$1
before=$(sha1sum <"$img")
rc=0
out=$("$fsck" "$img" 2>&1) || rc=$?
[[ $rc == 8 && $out == *"repair is not implemented"* ]] && ok "without -n: refused, exit 8" || fail "without -n: exit $rc: $out"
[[ $(sha1sum <"$img") == "$before" ]] && ok "without -n: image unchanged" || fail "without -n: the image changed"
rc=0
"$fsck" -n "$work/no-such.img" >/dev/null 2>&1 || rc=$?
[[ $rc == 8 ]] && ok "missing image: exit 8" || fail "missing image: exit $rc"
head -c 1048576 /dev/urandom >"$work/junk.img"
rc=0
out=$("$fsck" -n "$work/junk.img" 2>&1) || rc=$?
[[ $rc == 8 ]] && ok "not XFS: exit 8 ($out)" || fail "not XFS: exit $rc: $out"
rc=0
"$fsck" -n --bogus "$img" >/dev/null 2>&1 || rc=$?
[[ $rc == 16 ]] && ok "bad option: exit 16 (fsck(8): usage error)" || fail "bad option: exit $rc"
# A scratch directory that fills up: the database failure is said, and the run ends with exit 8 and
# no verdict, on bigdir.img if given (its ranges and rows outgrow 256 KiB), else the last image.
big=${@: -1}
for img in "$@"; do [[ $(basename "$img") == bigdir.img ]] && big=$img; done
if [[ $(id -u) == 0 ]] && mkdir -p "$work/tiny" && mount -t tmpfs -o size=256k tmpfs "$work/tiny" 2>/dev/null; then
  trap 'umount "$work/tiny" 2>/dev/null || true; rm -rf "$work"' EXIT
  rc=0
  "$fsck" -n --scratch "$work/tiny" --mem-limit 8 "$big" >"$work/full.out" 2>"$work/full.err" || rc=$?
  if [[ $rc == 8 && ! -s $work/full.out ]] && grep -q "scratch database failed: .*No space left on device" "$work/full.err" &&
    grep -q "no verdict" "$work/full.err"; then
    ok "--scratch on a full disk: said, exit 8, no verdict"
  else
    fail "--scratch on a full disk: exit $rc; stdout $(wc -l <"$work/full.out") lines; stderr: $(head -c 400 "$work/full.err")"
  fi
  [[ -z $(ls -A "$work/tiny") ]] && ok "--scratch on a full disk: the database was removed" || fail "full scratch left behind"
  umount "$work/tiny"
else
  echo "SKIP: --scratch on a full disk (needs root to mount a 256 KiB tmpfs)"
fi

((failures == 0)) || { echo "$failures check(s) failed"; exit 1; }
echo "all checks passed"
