# shellcheck shell=bash disable=SC2034  # a kernel-crash.sh case; it reads the case_* settings
# log-wrap: more log than the log holds, with the smallest log mkfs.xfs allows for 64 KiB directory
# blocks: 8,000 files created in 40 directories, then their modes changed, 1,000 at a time (each
# inode logged again in each checkpoint), until the head has wrapped past the end of the log and
# the tail has not: the live part of the log, which the replay reads, crosses the log's end.
case_size=128M
case_log=2200b
case_wrap=yes

# churn SYSFS: the kernel's head and tail LSNs (cycle:block) are in SYSFS/log_{head,tail}_lsn.
churn() {
  python3 - "$1" <<'PY'
import os, sys
def lsn(which):
    with open(f"{sys.argv[1]}/log_{which}_lsn") as f:
        cycle, block = f.read().split(":")
        return int(cycle), int(block)
log_bbs = 2200 * 8
for d in range(40):
    os.mkdir(f"d{d}")
    for i in range(200):
        with open(f"d{d}/file-{i:04d}", "w") as f:
            f.write(f"{d} {i}\n")
for p in range(400):
    for n in range(1000):
        f = (p * 1000 + n) % 8000
        os.chmod(f"d{f // 200}/file-{f % 200:04d}", 0o600 + (p * 1000 + n) // 8000 % 64)
    head, tail = lsn("head"), lsn("tail")
    print(f"pass {p}: head {head} tail {tail}")
    # The head a cycle ahead of the tail, which is 1 MiB or more from the end (it does not
    # follow the head across before the shutdown).
    if head[0] > tail[0] and tail[1] < log_bbs - 2048:
        sys.exit(0)
print("the head never got a cycle ahead of the tail", file=sys.stderr)
sys.exit(1)
PY
}

run_case() {
  local dev
  dev=$(findmnt -rn -o SOURCE -T .)
  op churn "/sys/fs/xfs/${dev##*/}/log"
}

# The live log crosses the end: xfs_logprint's head block is below its tail block.
check_log() {
  image_logprint "$1" -t | awk '/log tail: .* head: / { print; ok = $5 + 0 < $3 + 0 } END { exit !ok }'
}
