# shellcheck shell=bash disable=SC2034  # a difftest.sh case; it reads the case_* settings
# links: hard links (link counts, which times change, the errors of link(2): an existing name,
# a directory, a missing source or parent, a parent that is a file) and symlinks of every
# layout: targets of 1, 60, 336 (the last inline one) and 337 bytes (remote), 1023 (the longest)
# and 1024 (ENAMETOOLONG), relative and absolute, dangling, followed, in a block-form directory;
# then names removed until one is left.

pylink() { python3 -c 'import os, sys; os.link(sys.argv[1], sys.argv[2])' "$@" 2>&1 | tail -1; }
target() { printf "%${1}s" '' | tr ' ' "${2:-t}"; }

run_case() {
  local i n
  op mkdir d e
  op rwtool pwrite d/f 0 10000 --tag f
  changes d ln d/f d/g
  changes d/f ln d/f e/h
  op stat -c '%n %h %s' d/f d/g e/h
  op ln d/f d/g
  op pylink d e/d
  op pylink d/nope d/x
  op pylink d/f nodir/x
  op pylink d/f d/f/x
  changes d/g rm d/f
  op stat -c '%n %h' d/g e/h

  for n in 1 60 336 337 1023; do changes . ln -s "$(target "$n")" "s$n"; done
  op ln -s "$(target 1024)" s1024
  op stat -c '%n %s %h %a %F' s1 s60 s336 s337 s1023
  op readlink s337
  changes d ln -s ../e/h d/rel
  op ln -s /nonexistent/nowhere abs
  op cat d/rel
  op cat abs
  op ln -s x d/g
  op ln -s x nodir/y
  op ln -s "$(target 300 u)" d/long
  op readlink d/long

  for ((i = 0; i < 120; i++)); do printf -v n 'link-with-a-longer-name-%03d' "$i"; ln e/h "d/$n"; done
  op stat -c '%n %h' e/h
  op ls d
  for ((i = 0; i < 120; i += 2)); do printf -v n 'link-with-a-longer-name-%03d' "$i"; rm "d/$n"; done
  changes e/h rm d/g
  op stat -c '%n %h' e/h
  op ls d
}
