# shellcheck shell=bash disable=SC2034  # a kernel-crash.sh case; it reads the case_* settings
# symlinks: symbolic links with inline targets (1 to 300 bytes) and remote ones (400 to 1023
# bytes, in their own blocks), 250 of them in one directory, some removed and replaced after a
# sync.
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
