# shellcheck shell=bash disable=SC2034  # a difftest.sh case; it reads the case_* settings
# perms: what callers other than root may do, and each refusal with the kernel's errno: search and
# write permission on directories (a group member and a stranger), the sticky bit on unlink and
# rename, open for read and append, truncate, chmod and chown by non-owners (set-group-ID dropped
# from a chmod by someone outside the group), explicit and "now" times, user., trusted. and
# security. attributes, hard links (fs.protected_hardlinks as the host has it: the same kernel
# judges both mounts) and exec. uid 1000 is in groups 1000 and 50; uid 2000 only in 2000. The
# xfsfuse peer mounts with allow_other, so that they may use it.
# needs: dirs
case_xfsfuse_opts=allow_other
case_tools=(setpriv /usr/bin/python3)

u() { setpriv --reuid=1000 --regid=1000 --groups=50 "$@"; }
v() { setpriv --reuid=2000 --regid=2000 --clear-groups "$@"; }
# urw / vrw ARGS...: rwtool.py as uid 1000 / 2000 (python3 by its full path: root's PATH may name
# a shim other users cannot read).
urw() { u /usr/bin/python3 "$RWTOOL" "$@"; }
vrw() { v /usr/bin/python3 "$RWTOOL" "$@"; }
showp() { stat -c '%n %a %u %g %s %h' "$@"; }

run_case() {
  op mkdir pub priv sticky grp
  op chmod 0777 pub
  op chmod 0700 priv
  op chmod 1777 sticky
  op chown 0:50 grp
  op chmod 0770 grp
  op touch priv/secret

  # Directories: search and write.
  op u ls priv
  op u cat priv/secret
  op u touch priv/x
  op u mkdir grp/sub
  op v mkdir grp/sub2
  op u touch pub/a
  op v touch pub/b
  op v rm pub/a
  op chmod 0555 pub
  op u rm pub/b
  op u touch pub/c
  op chmod 0777 pub
  op showp pub/b grp/sub

  # The sticky bit: only the file's owner, the directory's owner or root remove or rename.
  op u touch sticky/ua
  op v touch sticky/vb
  op v rm sticky/ua
  op v mv sticky/ua pub/
  op u mv sticky/ua sticky/ub
  op u mv sticky/vb sticky/vc
  op v mv sticky/vb pub/vb
  op rm sticky/ub
  op showp sticky/vb pub/vb

  # Files: read, append, truncate.
  op touch f0
  op chown 1000:50 f0
  op chmod 0640 f0
  op v cat f0
  op u cat f0
  op u sh -c 'echo x >> f0'
  op chmod 0440 f0
  op u sh -c 'echo y >> f0'
  op u truncate -s 0 f0
  op chmod 0460 f0
  op u sh -c 'echo z >> f0'          # the owner's bits decide, not the group's
  op showp f0

  # chmod and chown: the owner only; the group only to one of the owner's own.
  op v chmod 0777 f0
  op u chmod 0644 f0
  op u chown 2000 f0
  op u chgrp 1000 f0
  op u chgrp 2000 f0
  op u chmod 2755 f0                 # in the file's group (1000): set-group-ID stays
  op showp f0
  op chown :60 f0
  op u chmod 2755 f0                 # outside group 60: set-group-ID dropped, no error
  op showp f0
  op u chown 1000:50 f0

  # Times: explicit values need the owner; "now" also write permission.
  op v touch -d '2001-01-01 00:00:00' f0
  op chmod 0666 f0
  op v touch f0
  op chmod 0644 f0
  op v touch f0
  op u touch -d '2001-01-01 00:00:00' f0
  op stat -c '%n %y' f0

  # Extended attributes.
  op urw setxattr f0 user.a 10
  op vrw setxattr f0 user.b 10
  op urw setxattr f0 trusted.t 10
  op urw setxattr f0 security.s 10
  op rwtool setxattr f0 trusted.t 10
  op rwtool setxattr f0 security.s 10
  op u /usr/bin/python3 -c 'import os; print(sorted(os.listxattr("f0")))'   # trusted. names hidden
  op u /usr/bin/python3 -c 'import os; print(os.getxattr("f0", "trusted.t"))'
  op u /usr/bin/python3 -c 'import os; print(os.getxattr("f0", "security.s"))'
  op urw removexattr f0 trusted.t
  op vrw removexattr f0 user.a
  op urw removexattr f0 user.a
  op urw setxattr sticky user.d 10   # a sticky directory: only its owner or root
  op rwtool setxattr sticky user.d 10

  # New inodes in a set-group-ID directory of a group uid 1000 is not in: the directory's group,
  # set-group-ID on new directories, taken from a new file that asks for it with group execute.
  op mkdir sg
  op chown 0:60 sg
  op chmod 2777 sg
  op u mkdir sg/d
  op u touch sg/f
  op u /usr/bin/python3 -c 'import os; os.umask(0); os.close(os.open("sg/x", os.O_CREAT | os.O_WRONLY, 0o2775))'
  op u /usr/bin/python3 -c 'import os; os.umask(0); os.mknod("sg/p", 0o12775)'   # a fifo asking for it
  op showp sg/d sg/f sg/x sg/p

  # A directory moved to another parent needs write permission on itself (its ".." changes).
  op mkdir pub2
  op chmod 0777 pub2
  op u mkdir pub/ud
  op v mv pub/ud pub/ud2
  op v mv pub/ud2 pub2/ud
  op u mv pub/ud2 pub2/ud
  op showp pub2/ud

  # What needs a capability: device nodes (CAP_MKNOD) and whiteouts; an O_TMPFILE file linked in.
  op u mknod pub/cdev c 1 3
  op u mkfifo pub/fifo
  op u touch pub/w1 pub/w2
  op urw rename pub/w1 pub/w3 --whiteout
  op urw rename pub/w1 pub/w2 --exchange
  op urw tmpfile pub 3 --mode 640 --link pub/fromtmp
  op showp pub/fifo pub/w1 pub/w2 pub/fromtmp

  # Hard links and exec.
  op v ln f0 pub/hard
  op u ln f0 pub/hard2
  op showp f0
  op sh -c 'printf "#!/bin/sh\necho ran\n" > run.sh'
  op chmod 0744 run.sh
  op u sh -c ./run.sh
  op chmod 0755 run.sh
  op u sh -c ./run.sh
  op chmod 0700 grp
  op u ls grp
  op u ls -d grp/sub
}
