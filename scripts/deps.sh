# scripts/deps.sh — sourced by ./run.sh and ./test.sh: installs the Debian
# packages xfsfuse needs when they are missing (as root, with apt-get), or says
# which are missing and stops.
XFSFUSE_PACKAGES=(cmake g++ pkg-config libfuse3-dev fuse3 librocksdb-dev catch2 xfsprogs xfslibs-dev
  libisal-dev libjemalloc-dev liburing-dev nlohmann-json3-dev libbenchmark-dev python3 gnuplot-nox dpkg-dev man-db clang-14 libclang-rt-14-dev
  libcap2-bin)

xfsfuse_ensure_deps() {
  local missing=() p
  for p in "${XFSFUSE_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "xfsfuse: missing Debian packages: ${missing[*]}" >&2
    echo "xfsfuse: run as root, or: sudo apt-get install ${missing[*]}" >&2
    return 1
  fi
  echo "xfsfuse: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

# xfsfuse_build DIR [CMAKE ARGS...]: configure and build into DIR.
xfsfuse_build() {
  local dir=$1
  shift
  cmake -S . -B "$dir" "$@" >/dev/null
  cmake --build "$dir" -j"$(nproc)"
}
