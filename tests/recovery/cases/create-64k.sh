# shellcheck shell=bash disable=SC2034  # a kernel-crash.sh case; it reads the case_* settings
# create-64k: files with data created in 64 KiB-block directories: one grown to leaf form (3,000
# names, synced), one to node form (9,000 names: more leaf entries than one 64 KiB leaf holds)
# after the sync, so its data, free-index and node blocks exist only in the log.
case_size=192M
case_log=6000b

# mkfiles DIR FIRST COUNT: COUNT files of 1-4000 bytes of pattern, created in one process.
mkfiles() {
  python3 - "$@" "$RWTOOL" <<'PY'
import importlib.util, os, sys
spec = importlib.util.spec_from_file_location("rwtool", sys.argv[4])
rw = importlib.util.module_from_spec(spec)
spec.loader.exec_module(rw)
d, first, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for i in range(first, first + count):
    with open(f"{d}/file-with-a-name-{i:06d}", "wb") as f:
        f.write(rw.pattern(f"c{i}", 0, 1 + i * 37 % 4000))
PY
}

run_case() {
  op mkdir leaf node
  op mkfiles leaf 0 3000
  durable
  op mkfiles node 0 9000
  op mkfiles leaf 3000 200
}

# The directory is in node form after the replay: it has a free-index block (the free space
# section starts at byte 64 GiB of a directory: block 16777216 of 4 KiB).
dir_is_node() {
  xfs_db -r -c "path /$2" -c bmap "$1" | awk '{ print } $3 >= 16777216 { node = 1 } END { exit !node }'
}
check_image() { dir_is_node "$1" node; }
