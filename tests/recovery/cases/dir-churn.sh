# shellcheck shell=bash disable=SC2034  # a kernel-crash.sh case; it reads the case_* settings
# dir-churn: mkdir/rmdir churn: 400 rounds of a three-deep chain made and removed, a directory
# filled with 300 subdirectories (its link count) and emptied every other one, before and after a
# sync; inode chunks allocated and freed in the log.
case_size=128M

run_case() {
  local i
  op mkdir p
  for ((i = 0; i < 200; i++)); do mkdir -p "c/x$i/y/z"; rmdir "c/x$i/y/z" "c/x$i/y"; ((i % 4)) && rmdir "c/x$i"; done
  for ((i = 0; i < 300; i++)); do mkdir "p/sub$i"; done
  durable
  for ((i = 0; i < 300; i += 2)); do rmdir "p/sub$i"; done
  for ((i = 200; i < 400; i++)); do mkdir -p "c/x$i/y/z"; rmdir "c/x$i/y/z" "c/x$i/y"; ((i % 5)) && rmdir "c/x$i"; done
  op mkdir p/sub0 p/new
  op stat -c '%n %h' p c
}
