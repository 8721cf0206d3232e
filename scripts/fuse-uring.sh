# scripts/fuse-uring.sh — sourced by tests and benchmarks that run xfsfuse -o io_uring: the fuse
# module's enable_uring parameter (the kernel offers FUSE over io_uring only while it is Y;
# docs/fuse-io-uring.md), set for a run and put back as it was found.
#
#   fuse_uring_available        0 when this kernel has the parameter and it may be written
#   fuse_uring_missing          why not, for a SKIP line
#   fuse_uring_set Y|N          sets it; the value found the first time is kept for restore
#   fuse_uring_restore          puts that value back (nothing when never set)
#   fuse_uring_possible_cpus    the ring queues xfsfuse makes: one per possible CPU
fuse_uring_param=/sys/module/fuse/parameters/enable_uring
fuse_uring_saved=
fuse_uring_available() { [[ -w $fuse_uring_param ]]; }
fuse_uring_missing="the kernel has no FUSE over io_uring ($fuse_uring_param: Linux 6.14+, CONFIG_FUSE_IO_URING)"
fuse_uring_set() {
  [[ -n $fuse_uring_saved ]] || fuse_uring_saved=$(cat "$fuse_uring_param")
  echo "$1" >"$fuse_uring_param"
}
fuse_uring_restore() {
  [[ -z $fuse_uring_saved ]] || echo "$fuse_uring_saved" >"$fuse_uring_param"
  fuse_uring_saved=
}
fuse_uring_possible_cpus() {
  awk -F, '{ n = 0; for (i = 1; i <= NF; i++) { split($i, r, "-"); n += (r[2] == "" ? 1 : r[2] - r[1] + 1) } print n }' \
    /sys/devices/system/cpu/possible
}
