#!/usr/bin/env bash
# churn-dirstress-test.sh CHURN XFSFUSE FSCK [POOLS] - xfsfuse-churn --workload dirstress end to end.
#
# Runs `xfsfuse-churn --workload dirstress --policies eager,lazy,lazy-noref --pools POOLS
# [--kernel] --json OUT --plot OUT.png -- -p 2 -n 1 -f 3000 -s 7` (6,000 inodes in about 190
# inode clusters, so eager makes about 190 unmapping syscalls with vmap_all — 184-194 in three
# runs beside a parallel test suite — since drop-caches writes dirty buffers back before it
# drops; before that, what the log still held dirty stayed mapped, and a loaded CI run saw 51,
# failing the >= 64 check below); fewer files would
# leave too few to compare, and the ASan+UBSan build runs it in about 20 s, so sanitizer builds
# use the same counts; POOLS is default,vmap_all unless given: the TSan build passes vmap_all, the
# pool the checks below are about, which halves its 6 minutes there) and checks: exit 0, the table, the JSON's documented keys (README
# "xfsfuse-churn"), one run per (pool, policy) in order (and the kernel's when loop devices and
# the kernel's XFS are there), each with the workload's calls and xfsfuse-fsck -n's verdict clean,
# and the issue's invariants as far as they hold by construction: with vmap_all, where eager
# unmaps every multi-page buffer it mapped, eager makes >= 64 unmapping syscalls, lazy purges once
# per 64 parked areas and makes fewer syscalls than eager (1/64 is reported: without alias
# reuse it is lazy's best case, docs/performance.md); stale_alias_reuse == 0 under eager and lazy on
# both pools; eager parks nothing.  lazy-noref's stale reuses and the default pool's scattered
# allocations are reported, not checked (they depend on timing and memory).
# Also: usage errors exit 2, nothing stays mounted, the temporary directory is gone, the PNG starts
# with the PNG signature, and no process left a sanitizer report.
# Needs root and /dev/fuse (else "SKIP: <reason>", exit 77).
# Exit: 0 passed, 1 a check failed ("FAIL: ..."), 2 usage, 77 skipped.
set -uo pipefail
export LC_ALL=C

(($# == 3 || $# == 4)) || { echo "usage: churn-dirstress-test.sh XFSFUSE-CHURN XFSFUSE XFSFUSE-FSCK [POOLS]" >&2; exit 2; }
churn=$1 xfsfuse=$2 fsck=$3 pools=${4:-default,vmap_all}
skip() { echo "SKIP: $*"; exit 77; }
[[ $(id -u) == 0 ]] || skip "needs root (kernel cache drops, loop mounts)"
[[ -c /dev/fuse ]] || skip "no /dev/fuse"
for t in fusermount3 mkfs.xfs gnuplot python3; do
  command -v "$t" >/dev/null || { echo "FAIL: $t not installed (Debian: fuse3 xfsprogs gnuplot-nox python3)"; exit 1; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/xfsfuse-churn-ds-test.XXXXXX")
cleanup() {
  local m
  for m in $(awk -v w="$work/" 'index($2, w) == 1 { print $2 }' /proc/mounts); do umount -l "$m" || true; done
  rm -rf "$work"
}
trap cleanup EXIT
for v in ASAN_OPTIONS UBSAN_OPTIONS TSAN_OPTIONS; do export "$v=log_path=$work/sanitizer:${!v:-}"; done

fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }

kernel=(--kernel)
if [[ ! -e /dev/loop-control ]] || ! { grep -qw xfs /proc/filesystems || modprobe xfs 2>/dev/null; }; then
  kernel=()
  echo "note: no loop devices or no XFS in the kernel: running without --kernel"
fi

# Usage errors exit 2 before anything runs: traverse-only options, dirstress's own parser, -d.
usage() {
  local what=$1 want=$2
  shift 2
  "$churn" "$@" >"$work/usage.out" 2>&1
  local rc=$?
  [[ $rc == 2 ]] && grep -q -- "$want" "$work/usage.out" && ok "$what: exit 2 with a message" ||
    fail "$what: exit $rc: $(cat "$work/usage.out")"
}
usage "--files with dirstress" "--files: not an option of --workload dirstress" --workload dirstress --files 5
usage "-- with traverse" "arguments after -- are for --workload dirstress" -- -p 2
usage "--pools with traverse" "--pools is for --workload dirstress" --pools default
usage "--pools bogus" "--pools: unknown name 'bogus'" --workload dirstress --pools bogus
usage "dirstress -p 0" "-p wants a number" --workload dirstress -- -p 0
usage "dirstress -d" "runs the workload in the root" --workload dirstress -- -d /tmp

files=3000
json=$work/out.json png=$work/out.png
TMPDIR=$work "$churn" --workload dirstress --policies eager,lazy,lazy-noref --pools "$pools" "${kernel[@]}" \
  --xfsfuse "$xfsfuse" --fsck "$fsck" --json "$json" --plot "$png" -- -p 2 -n 1 -f "$files" -s 7 \
  >"$work/table.out" 2>"$work/stderr.out"
rc=$?
cat "$work/table.out"
sed 's/^/stderr: /' "$work/stderr.out"
[[ $rc == 0 ]] && ok "xfsfuse-churn --workload dirstress exited 0" || fail "xfsfuse-churn exited $rc"
grep -q '^eager  *vmap_all ' "$work/table.out" &&
  grep -q 'unmapping syscalls, lazy / eager (pool vmap_all)' "$work/table.out" &&
  ok "table with a row per run and the lazy/eager ratio" || fail "the table lacks rows or the ratio"
[[ -z $(ls -d "$work"/xfsfuse-churn.* 2>/dev/null) ]] && ok "temporary directory removed" ||
  fail "left behind: $(ls -d "$work"/xfsfuse-churn.*)"
! grep -q " $work/" /proc/mounts && ok "nothing left mounted" || fail "still mounted: $(grep " $work/" /proc/mounts)"
[[ $(head -c 8 "$png" 2>/dev/null | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]] &&
  ok "PNG written ($(stat -c %s "$png") bytes)" || fail "$png is not a PNG"

python3 - "$json" "${#kernel[@]}" "$files" "$pools" <<'PY' || fails=$((fails + 1))
import json, sys

path, kernel, files, pools = sys.argv[1], sys.argv[2] == "1", int(sys.argv[3]), sys.argv[4].split(",")
fails = []
def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        fails.append(what)
def keys(obj, names, where):
    missing = [k for k in names if k not in obj]
    check(not missing, f"{where} has keys {', '.join(names)}" + (f" (missing {missing})" if missing else ""))

j = json.load(open(path))
check(j.get("version") == 1 and j.get("tool") == "xfsfuse-churn" and j.get("workload") == "dirstress",
      "version 1, tool xfsfuse-churn, workload dirstress")
keys(j, ["version", "tool", "workload", "config", "host", "runs", "lazy_eager_unmap_ratio"], "report")
keys(j["config"], ["workload", "policies", "pools", "batch", "cache_mb", "image_bytes", "mkfs", "kernel", "xfsfuse",
                   "fsck", "uid", "root", "dirstress"], "config")
keys(j["config"]["dirstress"], ["args", "nprocs", "nfiles", "procs_per_dir", "seed", "keep", "check", "create_only",
                                "threads", "verify"], "config.dirstress")
d = j["config"]["dirstress"]
check((d["nprocs"], d["nfiles"], d["procs_per_dir"], d["seed"]) == (2, files, 1, 7),
      "the dirstress options passed through")
keys(j["host"], ["nproc", "kernel", "loadavg"], "host")
keys(j["lazy_eager_unmap_ratio"], pools, "lazy_eager_unmap_ratio")
want = [(p, pool) for pool in pools for p in ("eager", "lazy", "lazy-noref")]
want += [("kernel", None)] if kernel else []
check([(r["policy"], r["pool"]) for r in j["runs"]] == want, f"runs {want}")
phase = ["ms", "kernel_ms", "driver_ms", "tlb_shootdowns", "ctxt_daemon", "ctxt_system", "counters"]
cycle = ["maps", "map_syscalls", "unmap_syscalls", "purges", "alias_reuses", "stale_alias_reuse", "scattered_maps",
         "scattered_allocs", "tlb_shootdowns", "ctxt_daemon", "ctxt_system"]
runs = {}
for r in j["runs"]:
    name = r["policy"] + ("/" + r["pool"] if r["pool"] else "")
    runs[name] = r
    fuse = r["policy"] != "kernel"
    keys(r, ["policy", "pool", "ok", "error", "mount_options", "daemon_options", "wall_ms", "loadavg", "unmount_ms",
             "workload", "drop", "cycle", "after", "dirstress", "fsck"], name)
    check(r["ok"] is True and r["error"] is None, f"{name}: completed")
    keys(r["workload"], phase, name + " workload")
    keys(r["drop"], phase, name + " drop")
    keys(r["cycle"], cycle, name + " cycle")
    keys(r["fsck"], ["verdict", "exit_status", "output"], name + " fsck")
    check(r["fsck"]["verdict"] == "clean" and r["fsck"]["exit_status"] == 0, f"{name}: xfsfuse-fsck -n clean")
    keys(r["dirstress"], ["ops", "errors", "ops_per_second", "workers_failed", "exit_status", "verify"],
         name + " dirstress")
    check(r["dirstress"]["ops"] >= 2 * files and r["dirstress"]["workers_failed"] == 0,
          f"{name}: dirstress made >= {2 * files} calls, no worker failed (ops {r['dirstress']['ops']})")
    check(r["wall_ms"] > 0 and r["unmount_ms"] is not None, f"{name}: wall_ms and unmount_ms")
    if not fuse:
        check(r["cycle"]["maps"] is None and r["after"] is None and r["daemon_options"] is None,
              f"{name}: driver counters are null")
        continue
    o = r["daemon_options"]
    check(o.get("vmap") == r["policy"] and o.get("vmap_all") == (r["pool"] == "vmap_all") and o.get("rw") is True,
          f"{name}: the daemon ran rw with vmap={r['policy']}, vmap_all={r['pool'] == 'vmap_all'}")
    c, dc = r["workload"]["counters"], r["drop"]["counters"]
    keys(c, ["vmap.maps", "vmap.map_syscalls", "vmap.unmap_syscalls", "vmap.purge_syscalls", "vmap.lazy_unmaps",
             "vmap.alias_reuses", "vmap.stale_alias_reuse", "vmap.scattered_maps", "pool.scattered_allocs",
             "cache.lookups"], name + " counters")
    cy = r["cycle"]
    check(cy["maps"] > 0, f"{name}: buffers were mapped")
    check(cy["unmap_syscalls"] == c["vmap.unmap_syscalls"] + c["vmap.purge_syscalls"] +
          dc["vmap.unmap_syscalls"] + dc["vmap.purge_syscalls"], f"{name}: cycle unmap_syscalls = workload + drop")
    if r["policy"] == "eager":
        check(c["vmap.lazy_unmaps"] + dc["vmap.lazy_unmaps"] == 0, f"{name}: vmap.lazy_unmaps == 0")
    if r["policy"] in ("eager", "lazy"):
        check(cy["stale_alias_reuse"] == 0, f"{name}: stale_alias_reuse == 0")
eager, lazy = runs["eager/vmap_all"]["cycle"]["unmap_syscalls"], runs["lazy/vmap_all"]["cycle"]["unmap_syscalls"]
# Every buffer is mapped once and unmapped once (no re-reads, so no alias reuse): lazy purges once
# per `batch` parked areas with at least one syscall each, so lazy/eager is bounded below by about
# 1/batch, and 1/64 is not guaranteed (docs/performance.md).  What must hold: one purge per 64 parked
# areas (plus one), and purges saving syscalls at all.  How many depends on how the purged slots
# lie: at this size one purge was split into 7 runs in one CI run and 11 in another (12 vs 94),
# and since the log keeps changed buffers pinned until their group commit the parked slots
# interleave more (2 purges in 58 runs against eager's 75 under ASan), so the check asks for
# purges to save syscalls, and reports how many.
lz = runs["lazy/vmap_all"]
lazy_unmaps = sum(lz[p]["counters"]["vmap.lazy_unmaps"] for p in ("workload", "drop"))
every_n = sum(lz[p]["counters"]["vmap.purges.every_n"] for p in ("workload", "drop"))
check(eager >= 64, f"vmap_all: eager made >= 64 unmapping syscalls ({eager})")
check(every_n <= lazy_unmaps // 64 + 1,
      f"vmap_all: lazy purged once per 64 parked areas ({every_n} purges, {lazy_unmaps} parked)")
check(lazy < eager, f"vmap_all: lazy's unmapping syscalls ({lazy}) < eager's ({eager})")
print(f"measured (not checked): lazy's unmapping syscalls {lazy} vs eager's / 64 = {eager / 64:.1f}")
print("measured (not checked): lazy/eager unmap ratio %s; lazy-noref stale_alias_reuse %s" % (
      j["lazy_eager_unmap_ratio"], {pool: runs["lazy-noref/" + pool]["cycle"]["stale_alias_reuse"] for pool in pools}))
if "default" in pools:
    print("measured (not checked): scattered allocs on the default pool %s" %
          [runs[p + "/default"]["cycle"]["scattered_allocs"] for p in ("eager", "lazy", "lazy-noref")])
sys.exit(1 if fails else 0)
PY

if ls "$work"/sanitizer.* >/dev/null 2>&1; then
  fail "sanitizer reports:"
  cat "$work"/sanitizer.*
fi
((fails == 0)) || { echo "$fails check(s) failed"; exit 1; }
echo "all checks passed"
