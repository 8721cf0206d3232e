# shellcheck shell=bash disable=SC2034  # a kernel-crash.sh case; it reads the case_* settings
# symlinks: 250 symbolic links in one directory with targets of 1 to 1,023 bytes (inline in the
# inode up to a few hundred bytes, remote in their own blocks beyond), relative and absolute ones;
# after a sync a fifth removed, 25 made again with longer (remote) targets, more added.
case_size=128M

target() { printf "%${1}s" '' | tr ' ' "${2:-t}"; }

run_case() {
  local i
  op mkdir s
  for ((i = 0; i < 250; i++)); do ln -s "$(target $((i * 4 % 1023 + 1)) "$((i % 10))")" "s/l$i"; done
  op ln -s ../s/l1 rel
  op ln -s /absolute/nowhere abs
  durable
  for ((i = 0; i < 250; i += 5)); do rm "s/l$i"; done
  for ((i = 0; i < 250; i += 10)); do ln -s "$(target $((1023 - i)) x)" "s/l$i"; done
  op ln -s "$(target 900 r)" s/remote-after-sync
  op ln -s short s/inline-after-sync
  op rm rel
}
