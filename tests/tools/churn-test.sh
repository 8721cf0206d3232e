#!/usr/bin/env bash
# churn-test.sh CHURN XFSFUSE - xfsfuse-churn end to end, on a small image.
#
# Runs `xfsfuse-churn --files 5000 --traversals 2 --policies eager,lazy,lazy-noref --threads 2
# [--kernel] --json OUT --plot OUT.png` (two walker threads, so TSan sees them; --kernel when loop
# devices and the kernel's XFS are there) and checks: exit 0, the table, the JSON's documented keys (README "xfsfuse-churn"), 2 traversals
# per run that all saw 5001 entries (/d and its 5000 files), mappings made under every policy,
# and what must hold whatever the timing: eager parks nothing (vmap.lazy_unmaps == 0) and neither
# eager nor lazy hands out a page a parked alias still maps (vmap.stale_alias_reuse == 0). The
# ratio lazy/eager and lazy-noref's stale reuses depend on timing and memory: reported, not
# checked. Also: the PNG starts with the PNG signature, nothing stays mounted, the tool's
# temporary directory is gone, usage errors exit 2, --kernel is refused to other users, and (in
# sanitizer builds) no process left a sanitizer report.
# Needs root and /dev/fuse (else "SKIP: <reason>", exit 77).
# Exit: 0 passed, 1 a check failed ("FAIL: ..."), 2 usage, 77 skipped.
set -uo pipefail
export LC_ALL=C

(($# == 2)) || { echo "usage: churn-test.sh XFSFUSE-CHURN XFSFUSE" >&2; exit 2; }
churn=$1 xfsfuse=$2
skip() { echo "SKIP: $*"; exit 77; }
[[ $(id -u) == 0 ]] || skip "needs root (kernel cache drops, loop mounts)"
[[ -c /dev/fuse ]] || skip "no /dev/fuse"
for t in fusermount3 mkfs.xfs xfs_db gnuplot python3; do
  command -v "$t" >/dev/null || { echo "FAIL: $t not installed (Debian: fuse3 xfsprogs gnuplot-nox python3)"; exit 1; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/xfsfuse-churn-test.XXXXXX")
cleanup() {
  local m
  for m in $(awk -v w="$work/" 'index($2, w) == 1 { print $2 }' /proc/mounts); do umount -l "$m" || true; done
  rm -rf "$work"
}
trap cleanup EXIT
# Sanitizer builds: reports of xfsfuse-churn and of every xfsfuse it starts land in $work/sanitizer.*.
for v in ASAN_OPTIONS UBSAN_OPTIONS TSAN_OPTIONS; do export "$v=log_path=$work/sanitizer:${!v:-}"; done

fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }

kernel=(--kernel)
if [[ ! -e /dev/loop-control ]] || ! { grep -qw xfs /proc/filesystems || modprobe xfs 2>/dev/null; }; then
  kernel=()
  echo "note: no loop devices or no XFS in the kernel: running without --kernel"
fi

# Usage errors and the refusal of --kernel to other users exit 2, before anything runs.
"$churn" --traversals 0 >"$work/usage.out" 2>&1
rc=$?
[[ $rc == 2 ]] && grep -q -- '--traversals' "$work/usage.out" && ok "--traversals 0: exit 2 with a message" ||
  fail "--traversals 0: exit $rc: $(cat "$work/usage.out")"
if command -v setpriv >/dev/null; then
  setpriv --reuid=65534 --regid=65534 --clear-groups "$churn" --kernel >"$work/user.out" 2>&1
  rc=$?
  [[ $rc == 2 ]] && grep -q 'needs root' "$work/user.out" && ok "--kernel refused to uid 65534" ||
    fail "--kernel as uid 65534: exit $rc: $(cat "$work/user.out")"
fi

json=$work/out.json png=$work/out.png
TMPDIR=$work "$churn" --files 5000 --traversals 2 --policies eager,lazy,lazy-noref --threads 2 "${kernel[@]}" \
  --xfsfuse "$xfsfuse" --json "$json" --plot "$png" >"$work/table.out" 2>"$work/stderr.out"
rc=$?
cat "$work/table.out"
sed 's/^/stderr: /' "$work/stderr.out"
[[ $rc == 0 ]] && ok "xfsfuse-churn exited 0" || fail "xfsfuse-churn exited $rc"
grep -q '^eager  *sum ' "$work/table.out" && grep -q 'unmapping syscalls, lazy / eager' "$work/table.out" &&
  ok "table with summary rows and the lazy/eager ratio" || fail "the table lacks summary rows or the ratio"
[[ -z $(ls -d "$work"/xfsfuse-churn.* 2>/dev/null) ]] && ok "temporary directory removed" ||
  fail "left behind: $(ls -d "$work"/xfsfuse-churn.*)"
! grep -q " $work/" /proc/mounts && ok "nothing left mounted" || fail "still mounted: $(grep " $work/" /proc/mounts)"
[[ $(head -c 8 "$png" 2>/dev/null | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]] &&
  ok "PNG written ($(stat -c %s "$png") bytes)" || fail "$png is not a PNG"

python3 - "$json" "${#kernel[@]}" <<'PY' || fails=$((fails + 1))
import json, sys

path, kernel = sys.argv[1], sys.argv[2] == "1"
fails = []
def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        fails.append(what)
def keys(obj, names, where):
    missing = [k for k in names if k not in obj]
    check(not missing, f"{where} has keys {', '.join(names)}" + (f" (missing {missing})" if missing else ""))

j = json.load(open(path))
check(j.get("version") == 1 and j.get("tool") == "xfsfuse-churn", "version 1, tool xfsfuse-churn")
keys(j, ["version", "tool", "config", "host", "runs", "lazy_eager_unmap_ratio"], "report")
keys(j["config"], ["files", "traversals", "policies", "batch", "threads", "vmap_all", "cache_mb", "image",
                   "image_temporary", "kernel", "xfsfuse", "uid", "root"], "config")
keys(j["host"], ["nproc", "kernel", "loadavg"], "host")
want = ["eager", "lazy", "lazy-noref"] + (["kernel"] if kernel else [])
check([r["policy"] for r in j["runs"]] == want, f"runs {want}")
phase = ["ms", "kernel_ms", "driver_ms", "tlb_shootdowns", "ctxt_daemon", "ctxt_system", "counters"]
cycle = ["maps", "map_syscalls", "unmap_syscalls", "purges", "alias_reuses", "stale_alias_reuse",
         "tlb_shootdowns", "ctxt_daemon", "ctxt_system"]
trav = ["index", "wall_ms", "entries", "tlb_shootdowns", "ctxt_daemon", "ctxt_system", "loadavg", "counters",
        "drop", "cycle", "after"]
for r in j["runs"]:
    p = r["policy"]
    fuse = p != "kernel"
    keys(r, ["policy", "ok", "error", "mount_options", "daemon_options", "traversals", "summary"], p)
    check(r["ok"] is True and r["error"] is None, f"{p}: completed")
    ts = r["traversals"]
    check([t["index"] for t in ts] == [1, 2], f"{p}: 2 traversals")
    for t in ts:
        w = f"{p} traversal {t['index']}"
        keys(t, trav, w)
        keys(t["drop"], phase, w + " drop")
        keys(t["cycle"], cycle, w + " cycle")
        check(t["entries"] == 5001, f"{w}: 5001 entries (got {t['entries']})")
        check(t["wall_ms"] > 0 and isinstance(t["ctxt_system"], int), f"{w}: wall_ms and ctxt_system")
        check(t["drop"]["kernel_ms"] is not None and (t["drop"]["driver_ms"] is None) == (not fuse),
              f"{w}: the kernel's drop timed (root), the driver's on xfsfuse only")
        if not fuse:
            check(t["counters"] is None and t["ctxt_daemon"] is None and t["cycle"]["maps"] is None,
                  f"{w}: driver counters are null")
            continue
        c, d = t["counters"], t["drop"]["counters"]
        keys(c, ["vmap.maps", "vmap.map_syscalls", "vmap.unmap_syscalls", "vmap.purge_syscalls",
                 "vmap.lazy_unmaps", "vmap.alias_reuses", "vmap.stale_alias_reuse", "cache.lookups"], w + " counters")
        check(isinstance(t["ctxt_daemon"], int), f"{w}: ctxt_daemon")
        check(t["cycle"]["maps"] > 0 and t["cycle"]["map_syscalls"] > 0, f"{w}: buffers were mapped through vmap slots")
        cy = t["cycle"]
        check(cy["unmap_syscalls"] == c["vmap.unmap_syscalls"] + c["vmap.purge_syscalls"] +
              d["vmap.unmap_syscalls"] + d["vmap.purge_syscalls"], f"{w}: cycle unmap_syscalls = drop + walk")
        if p == "eager":
            check(c["vmap.lazy_unmaps"] == 0 and d["vmap.lazy_unmaps"] == 0, f"{w}: vmap.lazy_unmaps == 0")
        if p in ("eager", "lazy"):
            check(c["vmap.stale_alias_reuse"] == 0 and d["vmap.stale_alias_reuse"] == 0,
                  f"{w}: vmap.stale_alias_reuse == 0")
    s = r["summary"]
    keys(s, ["traversals", "entries", "wall_ms_sum", "wall_ms_median", "loadavg_median", "drop_driver_ms_median",
             "tlb_shootdowns", "ctxt_daemon", "ctxt_system", "counters", "drop", "cycle"], p + " summary")
    if fuse:
        o = r["daemon_options"]
        check(o.get("vmap") == p and o.get("vmap_all") is True, f"{p}: the daemon ran with vmap={p},vmap_all")
        check(s["cycle"]["maps"] == sum(t["cycle"]["maps"] for t in ts), f"{p}: summary sums the traversals")
runs = {r["policy"]: r for r in j["runs"]}
print("measured (not checked): unmapping syscalls lazy/eager = %s, lazy-noref stale_alias_reuse = %s" % (
    j["lazy_eager_unmap_ratio"], runs["lazy-noref"]["summary"]["cycle"]["stale_alias_reuse"]))
sys.exit(1 if fails else 0)
PY

if ls "$work"/sanitizer.* >/dev/null 2>&1; then
  fail "sanitizer reports:"
  cat "$work"/sanitizer.*
fi
((fails == 0)) || { echo "$fails check(s) failed"; exit 1; }
echo "all checks passed"
