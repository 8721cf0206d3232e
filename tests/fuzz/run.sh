#!/usr/bin/env bash
# tests/fuzz/run.sh SECONDS [TARGET...] — runs every fuzz target (or the ones
# named: sb ag inode bmbt agbtree danode dir attr symlink image log) for SECONDS
# each, from the libFuzzer build in $FUZZ_BUILD (default build-fuzz, made
# with -DXFSFUSE_FUZZ=ON; this script builds nothing), and prints executions
# per second and coverage (cov / ft) per target.
# Corpus: $FUZZ_BUILD/fuzz-corpus/TARGET (grows run after run), seeded from
# $FUZZ_BUILD/fuzz-seeds (tests/fuzz/make-seeds.sh, run when missing), the
# seeds in git and the regression inputs.  A crash is written to
# tests/fuzz/regressions/TARGET/ (libFuzzer's crash-/leak-/timeout- file),
# where ctest replays it from then on.
# Exit status: 0, 1 (a target crashed or failed), 2 (usage).
set -uo pipefail
[ $# -ge 1 ] && [ "$1" -gt 0 ] 2>/dev/null || { echo "usage: $0 SECONDS [TARGET...]" >&2; exit 2; }
secs=$1
shift
here=$(cd "$(dirname "$0")" && pwd)
build=${FUZZ_BUILD:-build-fuzz}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(sb ag inode bmbt agbtree danode dir attr symlink image log)
[ -d "$build/fuzz-seeds" ] || "$here/make-seeds.sh" "$build/fuzz-seeds" "$build" >/dev/null || exit 1
status=0
printf '%-9s %8s %8s %8s %8s %s\n' target seconds execs exec/s cov ft
for t in "${targets[@]}"; do
  corpus=$build/fuzz-corpus/$t regress=$here/regressions/$t
  mkdir -p "$corpus" "$regress"
  dirs=("$corpus" "$regress")
  [ -d "$build/fuzz-seeds/$t" ] && dirs+=("$build/fuzz-seeds/$t")  # the log target has none: its seeds are in git
  [ -d "$here/seeds/$t" ] && dirs+=("$here/seeds/$t")
  log=$build/fuzz-$t.log
  # Block targets: up to a 64 KiB block and its two bytes.  The image target:
  # edits of a few bytes each, so no slow growth of the input length.
  lenopts=(-max_len=65538)
  [ "$t" = image ] && lenopts=(-max_len=512 -len_control=0)
  "$build/tests/fuzz/fuzz_$t" -max_total_time="$secs" -print_final_stats=1 "${lenopts[@]}" -timeout=30 \
    -rss_limit_mb=3072 -artifact_prefix="$regress/" "${dirs[@]}" >"$log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1)
  cov=$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  printf '%-9s %8s %8s %8s %8s %s\n' "$t" "$secs" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}"
  if [ $rc -ne 0 ]; then
    echo "fuzz_$t: exit $rc, see $log; inputs in $regress:" >&2
    grep -E '^(==[0-9]+==ERROR|SUMMARY|artifact_prefix|Test unit written)' "$log" | head -5 >&2
    status=1
  fi
done
exit $status
