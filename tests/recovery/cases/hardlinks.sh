# shellcheck shell=bash disable=SC2034  # a kernel-crash.sh case; it reads the case_* settings
# hardlinks: link counts in the log: files linked from several directories (up to 100 names),
# originals removed, links added and removed after a sync, a file's last name removed.
case_size=128M

run_case() {
  local i
  op mkdir a b c
  printf '%s\n' 'pwrite a/f 0 30000 --tag f' 'pwrite a/g 0 500 --tag g' | rwbatch
  for ((i = 0; i < 100; i++)); do ln a/f "b/link-$i"; done
  op ln a/g c/g1
  op ln a/g c/g2
  durable
  op rm a/f
  for ((i = 0; i < 100; i += 4)); do rm "b/link-$i"; done
  op ln b/link-1 c/after-sync
  op rm a/g c/g1 c/g2
  op rwtool pwrite a/h 0 100 --tag h
  op ln a/h b/h
  op stat -c '%n %h' b/link-1 a/h
}
