#!/usr/bin/env bash
# tests/fuzz/make-seeds.sh OUTDIR [BUILD_DIR] — seed corpora for every fuzz
# target, one directory each (OUTDIR/TARGET), kept out of git.
# A block target's seeds are the real metadata blocks of its family in the
# harness's two seed images (mkfs.xfs -p, see seed_image.cc), each prefixed
# with the two bytes that name the image and the block (harness.h): the
# targets write them themselves (XFSFUSE_FUZZ_DUMP_SEEDS), so a seed lands at
# the place it came from.  The image target's seeds are its two bare images.
# BUILD_DIR (default build-fuzz) holds the fuzz programs, libFuzzer or replay
# builds alike.  Exit status: 0, 1 (a target failed), 2 (usage).
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 OUTDIR [BUILD_DIR]" >&2; exit 2; }
out=$1 build=${2:-build-fuzz}
bin=$build/tests/fuzz
one=$(mktemp)
trap 'rm -f "$one"' EXIT
printf '\0\0' >"$one"
for t in sb ag inode bmbt agbtree danode dir attr symlink; do
  mkdir -p "$out/$t"
  XFSFUSE_FUZZ_DUMP_SEEDS=$out/$t "$bin/fuzz_$t" "$one" >/dev/null 2>&1 || { echo "fuzz_$t failed" >&2; exit 1; }
done
mkdir -p "$out/image"
printf '\0' >"$out/image/dir4k"
printf '\1' >"$out/image/dir64k"
for t in "$out"/*; do echo "$(basename "$t"): $(ls "$t" | wc -l) seeds"; done
