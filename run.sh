#!/usr/bin/env bash
# ./run.sh — installs what is missing, builds, and runs the main job.
# Until the FUSE driver can mount an image, the main job is the vmap demo:
# simulated directory traversals under the eager, lazy and lazy-noref unmap
# policies, with every counter printed side by side.  Arguments go to
# xfsfuse-vmap-demo (try --help).
set -euo pipefail
cd "$(dirname "$0")"
. scripts/deps.sh
xfsfuse_ensure_deps
xfsfuse_build build >/dev/null
exec ./build/tools/xfsfuse-vmap-demo "$@"
