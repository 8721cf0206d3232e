#!/usr/bin/env bash
# ./test.sh — installs what is missing, builds and runs every test with ctest:
# the plain build, then ASan+UBSan and TSan builds of the same suite (FUSE
# worker threads make concurrency bugs real; both stay cheap, see README).
#   XFSFUSE_SANITIZERS=0 ./test.sh   plain build only (a quick local run)
# Then a fuzz smoke stage: the libFuzzer build (clang, ASan+UBSan) of the fuzz
# targets only, each run briefly (docs/fuzzing.md).
#   XFSFUSE_FUZZ_SMOKE=0 ./test.sh   skips it
# Warnings are errors when CI is set.
set -euo pipefail
cd "$(dirname "$0")"
. scripts/deps.sh
xfsfuse_ensure_deps

werror=OFF
[ -n "${CI:-}" ] && werror=ON
builds=("build:")
[ "${XFSFUSE_SANITIZERS:-1}" != 0 ] && builds+=("build-address:address" "build-thread:thread")

for b in "${builds[@]}"; do
  dir=${b%%:*} san=${b#*:}
  echo "== $dir${san:+ (SANITIZE=$san)}"
  args=(-DWERROR=$werror -DSANITIZE="$san")
  [ -n "$san" ] && args+=(-DXFSFUSE_BENCH=OFF)
  t0=$SECONDS
  xfsfuse_build "$dir" "${args[@]}"
  t1=$SECONDS
  # As many tests at once as there are CPUs: the ones that mount (loop devices, FUSE, the fuse
  # module's enable_uring) hold the resource lock xfsfuse_loop_devices and run one at a time.
  (cd "$dir" && ctest --output-on-failure --timeout 900 -j"$(nproc)")
  echo "== $dir: built in $((t1 - t0)) s, tests ran $((SECONDS - t1)) s (CI total so far $SECONDS s)"
done

if [ "${XFSFUSE_FUZZ_SMOKE:-1}" != 0 ]; then
  echo "== build-fuzz (libFuzzer, ASan+UBSan): ${XFSFUSE_FUZZ_SECONDS:-10} s a target"
  cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 -DXFSFUSE_FUZZ=ON \
    -DWERROR=$werror -DXFSFUSE_BENCH=OFF >/dev/null
  cmake --build build-fuzz -j2 --target fuzz_targets
  tests/fuzz/run.sh "${XFSFUSE_FUZZ_SECONDS:-10}"
  echo "== build-fuzz done (CI total $SECONDS s)"
fi
