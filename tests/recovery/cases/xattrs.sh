# shellcheck shell=bash disable=SC2034  # a kernel-crash.sh case; it reads the case_* settings
# xattrs: extended attributes from short form to leaf and node form (600 names on one file),
# remote values (20 KiB, 64 KiB), replaced and removed around a sync, on files, a directory and a
# symlink; one file's attributes all removed again.
case_size=128M

run_case() {
  local i
  op mkdir x
  op touch x/short x/gone
  op ln -s f x/link
  {
    echo "pwrite x/f 0 1000 --tag f"
    for ((i = 0; i < 5; i++)); do echo "setxattr x/short user.s$i 20 --tag s$i"; done
    for ((i = 0; i < 300; i++)); do echo "setxattr x/f user.name-$i $((i % 90 + 1)) --tag n$i"; done
    for ((i = 0; i < 30; i++)); do echo "setxattr x/gone user.g$i 100"; done
    echo "setxattr x/f user.remote 20k --tag r"
  } | rwbatch
  durable
  {
    for ((i = 300; i < 600; i++)); do echo "setxattr x/f user.name-$i 40 --tag m$i"; done
    for ((i = 0; i < 300; i += 3)); do echo "removexattr x/f user.name-$i"; done
    echo "setxattr x/f user.remote 64k --tag r2 --replace"
    echo "setxattr x user.dir 200 --tag dir"
    echo "setxattr x/link trusted.onlink 50 --tag l"
    echo "setxattr x/short user.s1 60 --tag s1b --replace"
    echo "removexattr x/short user.s3"
    for ((i = 0; i < 30; i++)); do echo "removexattr x/gone user.g$i"; done
  } | rwbatch
}

# x/f's attribute fork is a tree of several blocks after the replay (node form); x/gone's fork
# format (all its names removed) is printed, to be the same on A and C.
check_image() {
  xfs_db -r -c 'path /x/f' -c 'bmap -a' "$1" | awk '{ print; n += $(NF - 2) } END { exit n < 2 }' &&
    xfs_db -r -c 'path /x/gone' -c 'p core.aformat' "$1"
}
