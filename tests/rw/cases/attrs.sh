# shellcheck shell=bash disable=SC2034  # a difftest.sh case; it reads the case_* settings
# attrs: chmod, chown (setuid and setgid cleared as the kernel clears them: setgid only with group
# execute; kept on directories), utimens through touch -d, -m, -a (including pre-1970 and bigtime
# dates) and to "now", with which times each change touches.

showattrs() { stat -c '%n %a %u %g' "$@"; }
showtimes() { stat -c '%n atime %x mtime %y' "$@"; }

run_case() {
  op rwtool pwrite f 0 100 --tag f
  op rwtool pwrite g 0 100 --tag g
  changes f chmod 4755 f
  changes f chown 1000:1000 f
  op showattrs f
  op chmod 6775 f
  changes f chown 2000:3000 f
  op showattrs f
  op chmod 6755 f
  op chown 2000:3000 f                 # the same owner: the bits still go
  op showattrs f
  op chmod 2745 g
  op chown :3000 g                     # setgid without group execute stays
  op showattrs g
  op chmod 1640 g
  op chown 4000 g
  op showattrs g

  op chmod 2755 .
  op chown 5:6 .                       # a directory keeps setgid
  op showattrs .
  op chmod 0755 .
  op chown 0:0 .

  changes f touch -d '2001-02-03 04:05:06.123456789' f
  op showtimes f
  op touch -m -d '1999-12-31 23:59:59.5' f
  op touch -a -d '2010-01-01' f
  op showtimes f
  op touch -d '1901-12-14 00:00:00' f
  op showtimes f
  op touch -d '2400-01-01 00:00:00.000000001' f
  op showtimes f
  changes g touch g
  changes g chmod 0644 g
  changes g rwtool pwrite g 0 1 --tag g2
}
